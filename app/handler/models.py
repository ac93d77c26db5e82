from __future__ import annotations

import uuid
from datetime import datetime

from sqlmodel import Field

from app.core.types import UTCDateTime, utcnow
from app.handler.schemas import AuditOrderBase, HandlerProfileBase

PROFILE_ID = 1


class HandlerProfile(HandlerProfileBase, table=True):
    """One row per deployment: the company whose vendors this registry holds."""

    __tablename__ = "handler_profile"

    id: int = Field(default=PROFILE_ID, primary_key=True)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class AuditOrder(AuditOrderBase, table=True):
    """A regulator-ordered compliance audit; its report (stored by SHA-256, like evidence) closes it."""

    __tablename__ = "audit_orders"

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    authority: str = Field(max_length=500)
    reference: str = Field(default="", max_length=500)
    note: str = Field(default="", max_length=4000)
    report_sha256: str | None = Field(default=None, max_length=64)
    report_filename: str = Field(default="", max_length=255)
    report_content_type: str = Field(default="", max_length=100)
    report_size: int | None = None
    report_uploaded_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
