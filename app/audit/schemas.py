from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlmodel import SQLModel


class AuditAction(StrEnum):
    create = "create"
    update = "update"
    delete = "delete"


class AuditEntryPublic(SQLModel):
    id: int
    at: datetime
    actor_id: uuid.UUID | None
    actor: str
    action: str
    object_type: str
    object_id: str
    changes: dict[str, Any]
