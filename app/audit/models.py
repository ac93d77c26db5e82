from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Index
from sqlmodel import Field, SQLModel

from app.audit.schemas import AuditAction
from app.core.types import EnumString, UTCDateTime, utcnow

GENESIS = "0" * 64  # the hash before the first entry of the chain


class AuditEntry(SQLModel, table=True):
    """Who changed what, when: written in the same transaction as the change itself."""

    __tablename__ = "audit_entries"
    __table_args__ = (Index("ix_audit_entries_object", "object_type", "object_id"),)

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    # No foreign key: the trail outlives what it describes.
    actor_id: uuid.UUID | None = None
    actor: str = Field(max_length=320)
    action: AuditAction = Field(sa_type=EnumString(AuditAction, 20))
    object_type: str = Field(max_length=40)
    object_id: str = Field(max_length=64)
    changes: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    source: str | None = Field(default=None, max_length=64)  # the client's address
    # The hash chain (app/audit/chain.py): set when the entry is flushed.
    seq: int | None = Field(default=None, unique=True)
    prev_hash: str = Field(default="", max_length=64)
    hash: str = Field(default="", max_length=64)


class AuditHead(SQLModel, table=True):
    """The end of the hash chain (app/audit/chain.py): one row, the last sequence number and hash."""

    __tablename__ = "audit_head"

    id: int = Field(default=1, primary_key=True)
    last_seq: int = 0
    last_hash: str = Field(default=GENESIS, max_length=64)
