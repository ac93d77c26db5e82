from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import JSON, UniqueConstraint, false
from sqlmodel import Field, SQLModel

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


class VendorKey(SQLModel, table=True):
    """A vendor's credential for /api/vendor/: reaches that vendor's objects and nothing else."""

    __tablename__ = "vendor_keys"

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    vendor_id: uuid.UUID = Field(foreign_key="vendors.id", index=True)
    name: str = Field(max_length=100)
    key_hash: str = Field(max_length=64, unique=True)
    hint: str = Field(max_length=20)
    allowed_networks: list[str] = Field(default_factory=list, sa_type=JSON)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    created_by_id: uuid.UUID | None = Field(default=None, foreign_key="users.id")
    expires_at: datetime = Field(sa_type=UTCDateTime)
    last_used_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    revoked_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # A sandbox key (dpv_test_...): what it sends is marked as a test and changes no record.
    test: bool = Field(default=False, sa_column_kwargs={"server_default": false()})
