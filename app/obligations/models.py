from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Index
from sqlmodel import Field, SQLModel

from app.core.types import EnumString, UTCDateTime, utcnow
from app.obligations.schemas import ObligationKind, ObligationStatus, Party


class Obligation(SQLModel, table=True):
    """A duty with a due date, derived from the registry's data, never typed in by hand.

    `key` names what the obligation is derived from (kind, object, period), so deriving it
    again finds the same row instead of adding a second one.
    """

    __tablename__ = "obligations"
    # The reminder pass reads open obligations by due date: this index keeps it independent
    # of how many are stored.
    __table_args__ = (Index("ix_obligations_status_due_on", "status", "due_on"),)

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    key: str = Field(max_length=200, unique=True)
    kind: ObligationKind = Field(sa_type=EnumString(ObligationKind, 40), index=True)
    party: Party = Field(sa_type=EnumString(Party, 10))  # whose duty it is
    # Both empty for the company's own duties (a filing counted over every engagement).
    vendor_id: uuid.UUID | None = Field(default=None, foreign_key="vendors.id", index=True)
    engagement_id: uuid.UUID | None = Field(default=None, foreign_key="engagements.id", index=True)
    agreement_id: uuid.UUID | None = Field(default=None, foreign_key="agreements.id")
    attestation_id: uuid.UUID | None = Field(default=None, foreign_key="attestations.id")  # the notice it answers
    owner_id: uuid.UUID | None = Field(default=None, foreign_key="users.id", index=True)
    due_on: date = Field(index=True)
    # In a year whose holidays are not announced yet: recomputed when the calendar is.
    provisional: bool = False
    # The date a working-day count starts from (e.g. when faces reached 100,000).
    basis_on: date | None = None
    status: ObligationStatus = Field(
        default=ObligationStatus.open, sa_type=EnumString(ObligationStatus, 20), index=True
    )
    closed_by: str = Field(default="", max_length=100)  # attestation:<id>, user:<e-mail>, data:<field>
    closed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    note: str = Field(default="", max_length=4000)  # the waiver's reason, or the completion's reference
    rule_id: str = Field(max_length=10)
    article: str = Field(max_length=100)
    # The vendor's last refused attempt, so its obligations list says why it is still open.
    last_rejection: str = Field(default="", max_length=4000)
    # A standard contract's facts as filed (or to be re-filed): a later change is measured against them.
    facts: dict[str, Any] | None = Field(default=None, sa_type=JSON)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
