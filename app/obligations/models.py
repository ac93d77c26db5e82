from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import String
from sqlmodel import Field, SQLModel

from app.core.types import UTCDateTime, utcnow


class Obligation(SQLModel, table=True):
    """A duty with a due date, derived from the registry's data, never typed in by hand.

    `key` names what the obligation is derived from (kind, object, period), so deriving it
    again finds the same row instead of adding a second one.
    """

    __tablename__ = "obligations"

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    key: str = Field(max_length=200, unique=True)
    kind: str = Field(sa_type=String(40), index=True)
    party: str = Field(sa_type=String(10))  # vendor | handler: whose duty it is
    vendor_id: uuid.UUID = Field(foreign_key="vendors.id", index=True)
    engagement_id: uuid.UUID = Field(foreign_key="engagements.id", index=True)
    agreement_id: uuid.UUID | None = Field(default=None, foreign_key="agreements.id")
    attestation_id: uuid.UUID | None = Field(default=None, foreign_key="attestations.id")  # the notice it answers
    owner_id: uuid.UUID | None = Field(default=None, foreign_key="users.id", index=True)
    due_on: date = Field(index=True)
    status: str = Field(default="open", sa_type=String(20), index=True)
    closed_by: str = Field(default="", max_length=100)  # e.g. attestation:<id>
    closed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    rule_id: str = Field(max_length=10)
    article: str = Field(max_length=100)
    # The vendor's last refused attempt, so its obligations list says why it is still open.
    last_rejection: str = Field(default="", max_length=4000)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
