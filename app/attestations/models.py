from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, false
from sqlmodel import Field, SQLModel

from app.attestations.schemas import AttestationKind, AttestationStatus
from app.core.types import EnumString, UTCDateTime, utcnow


class Attestation(SQLModel, table=True):
    """Proof a vendor sent; never edited after submission except by its review."""

    __tablename__ = "attestations"

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    vendor_id: uuid.UUID = Field(foreign_key="vendors.id", index=True)
    engagement_id: uuid.UUID = Field(foreign_key="engagements.id", index=True)
    kind: AttestationKind = Field(sa_type=EnumString(AttestationKind, 30), index=True)
    status: AttestationStatus = Field(
        default=AttestationStatus.submitted, sa_type=EnumString(AttestationStatus, 20), index=True
    )
    details: dict[str, Any] = Field(sa_type=JSON)
    submitted_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    submitted_by_key_id: uuid.UUID | None = Field(default=None, foreign_key="vendor_keys.id")
    reviewed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    reviewed_by_id: uuid.UUID | None = Field(default=None, foreign_key="users.id")
    review_reason: str = Field(default="", max_length=4000)
    # Sent with a sandbox key: reviewed at once, closes nothing, left out of every record we keep.
    test: bool = Field(default=False, sa_column_kwargs={"server_default": false()})


class EvidenceFile(SQLModel, table=True):
    """One uploaded file; its bytes live in storage under `sha256`."""

    __tablename__ = "evidence_files"

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    attestation_id: uuid.UUID = Field(foreign_key="attestations.id", index=True)
    sha256: str = Field(max_length=64, index=True)
    size: int
    content_type: str = Field(max_length=100)
    filename: str = Field(max_length=255)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
