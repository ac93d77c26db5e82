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
    submit = "submit"  # a vendor sent an attestation
    review = "review"  # accepted or rejected
    download = "download"  # a vendor fetched a file
    auth_failed = "auth_failed"
    export = "export"  # an evidence pack left the building


class AuditEntryPublic(SQLModel):
    id: int
    at: datetime
    actor_id: uuid.UUID | None
    actor: str
    action: AuditAction
    object_type: str
    object_id: str
    changes: dict[str, Any]
    source: str | None
