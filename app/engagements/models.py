from __future__ import annotations

import uuid
from datetime import datetime

from sqlmodel import Field

from app.core.types import UTCDateTime, utcnow
from app.engagements.schemas import EngagementBase, SubProcessorBase


class Engagement(EngagementBase, table=True):
    __tablename__ = "engagements"

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    vendor_id: uuid.UUID = Field(foreign_key="vendors.id", index=True)
    owner_id: uuid.UUID | None = Field(default=None, foreign_key="users.id", index=True)
    # Derived from categories and subjects on every write, stored so lists can filter on it.
    processes_sensitive_pi: bool = Field(default=False, index=True)
    # Set when a vendor reports an incident on this engagement (PIPL art. 57).
    incident_reported_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class SubProcessor(SubProcessorBase, table=True):
    __tablename__ = "sub_processors"

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    engagement_id: uuid.UUID = Field(foreign_key="engagements.id", index=True, ondelete="CASCADE")
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
