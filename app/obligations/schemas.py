from __future__ import annotations

import uuid
from datetime import date, datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict


class ObligationKind(StrEnum):
    deletion_attestation = "deletion_attestation"
    periodic_attestation = "periodic_attestation"
    sub_processor_consent = "sub_processor_consent"
    incident_review = "incident_review"


class ObligationStatus(StrEnum):
    open = "open"
    done = "done"
    waived = "waived"


class Party(StrEnum):
    vendor = "vendor"
    handler = "handler"


class ObligationPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: uuid.UUID
    kind: ObligationKind
    party: Party
    vendor_id: uuid.UUID
    engagement_id: uuid.UUID
    agreement_id: uuid.UUID | None
    attestation_id: uuid.UUID | None
    owner_id: uuid.UUID | None
    due_on: date
    status: ObligationStatus
    overdue: bool
    closed_by: str
    closed_at: datetime | None
    rule_id: str
    article: str
    what_zh: str
    what_en: str
    last_rejection: str


class VendorObligation(BaseModel):
    """What a vendor owes, as its own API shows it."""

    id: uuid.UUID
    kind: ObligationKind
    engagement_id: uuid.UUID
    agreement_id: uuid.UUID | None
    due_on: date
    overdue: bool
    what_zh: str
    what_en: str
    attestation_kind: str
    last_rejection: str
