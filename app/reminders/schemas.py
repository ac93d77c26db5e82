from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, ConfigDict


class ReminderPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: uuid.UUID
    obligation_id: uuid.UUID
    step: str
    recipient: str
    status: str
    message_id: uuid.UUID | None
    queued_at: datetime
    sent_at: datetime | None


class DeadLetter(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: uuid.UUID
    recipient: str
    attempts: int
    created_at: datetime
    last_error: str
