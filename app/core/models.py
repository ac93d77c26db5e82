"""Core's own tables: what no domain owns (the Idempotency-Key records of app/core/idempotency.py)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, UniqueConstraint
from sqlmodel import Field, SQLModel

from app.core.types import UTCDateTime, utcnow


class IdempotencyRecord(SQLModel, table=True):
    __tablename__ = "idempotency_records"
    __table_args__ = (UniqueConstraint("scope", "key", name="uq_idempotency_scope_key"),)

    id: int | None = Field(default=None, primary_key=True)
    scope: str = Field(max_length=100)  # whose key space: one per vendor
    key: str = Field(max_length=255)
    fingerprint: str = Field(max_length=64)
    status_code: int = 0
    response: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, index=True)
