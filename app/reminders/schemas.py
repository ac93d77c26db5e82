from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict


class ReminderStatus(StrEnum):
    queued = "queued"  # waits for its digest to go out
    sent = "sent"
    dead = "dead"  # its digest was refused for good
    cancelled = "cancelled"  # its obligation closed before it went out


class OutboxStatus(StrEnum):
    """A digest e-mail's state."""

    pending = "pending"  # to send, or to retry
    sent = "sent"  # the mail server accepted it
    dead = "dead"  # refused for good (5xx), or never got through
    cancelled = "cancelled"  # everything in it closed meanwhile


class ReminderPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: uuid.UUID
    obligation_id: uuid.UUID
    step: str
    recipient: str
    status: ReminderStatus
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


class CalendarSubscriptionPublic(BaseModel):
    """A user's calendar subscription, without its URL (shown once, when created)."""

    model_config = ConfigDict(from_attributes=True)

    hint: str
    created_at: datetime


class CalendarSubscriptionIssued(CalendarSubscriptionPublic):
    url: str  # the private iCalendar URL: shown this once, stored only hashed
