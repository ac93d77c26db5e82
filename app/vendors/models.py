from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import UniqueConstraint
from sqlmodel import Field

from app.core.types import UTCDateTime, utcnow
from app.vendors.schemas import VendorBase


class Vendor(VendorBase, table=True):
    __tablename__ = "vendors"
    __table_args__ = (UniqueConstraint("country", "registration_number"),)

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    unified_social_credit_code: str | None = Field(default=None, max_length=18, unique=True)
    owner_id: uuid.UUID | None = Field(default=None, foreign_key="users.id", index=True)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
