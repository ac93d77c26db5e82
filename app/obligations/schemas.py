from __future__ import annotations

import uuid
from datetime import date, datetime
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from app.attestations.schemas import AttestationKind
from app.core.fields import Text


class ObligationKind(StrEnum):
    renewal_decision = "renewal_decision"
    agreement_expiry = "agreement_expiry"
    deletion_attestation = "deletion_attestation"
    periodic_attestation = "periodic_attestation"
    pipia = "pipia"
    pipia_retention = "pipia_retention"
    facial_recognition_filing = "facial_recognition_filing"
    standard_contract_filing = "standard_contract_filing"
    security_assessment_extension = "security_assessment_extension"
    sub_processor_consent = "sub_processor_consent"
    incident_review = "incident_review"
    incident_regulator_report = "incident_regulator_report"
    # The company's own duties, counted over every engagement.
    facial_recognition_filing_change = "facial_recognition_filing_change"
    facial_recognition_deregistration = "facial_recognition_deregistration"
    pi_officer_report = "pi_officer_report"
    compliance_audit = "compliance_audit"
    minors_audit_report = "minors_audit_report"
    cross_border_certification_renewal = "cross_border_certification_renewal"
    certification_renewal = "certification_renewal"
    face_count_report = "face_count_report"
    standard_contract_refiling = "standard_contract_refiling"
    regulator_ordered_audit = "regulator_ordered_audit"


class ObligationStatus(StrEnum):
    open = "open"
    done = "done"
    waived = "waived"


class StatusFilter(StrEnum):
    open = "open"
    done = "done"
    waived = "waived"
    overdue = "overdue"  # open, and the due date has passed


class VendorState(StrEnum):
    """Where a vendor's duty stands, as the vendor sees it."""

    open = "open"  # nothing sent yet
    submitted = "submitted"  # sent, awaiting our review: no need to send it again
    rejected = "rejected"  # the last one sent was refused (last_rejection says why): send again
    accepted = "accepted"  # met by an attestation we accepted
    closed = "closed"  # met otherwise, or waived


class Party(StrEnum):
    vendor = "vendor"
    handler = "handler"


class ObligationPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: uuid.UUID
    kind: ObligationKind
    party: Party
    vendor_id: uuid.UUID | None = Field(description="Empty for a duty of the company as a whole.")
    engagement_id: uuid.UUID | None = Field(description="Empty for a duty of the company as a whole.")
    agreement_id: uuid.UUID | None
    attestation_id: uuid.UUID | None
    owner_id: uuid.UUID | None
    due_on: date
    provisional: bool = Field(description="Falls in a year whose holidays are not announced yet.")
    basis_on: date | None = Field(
        description="Where a working-day count started (faces reached 100,000), or when a window opens (a "
        "security assessment's extension may be asked for from this day until it is due)."
    )
    status: ObligationStatus
    overdue: bool
    closed_by: str
    closed_at: datetime | None
    note: str
    rule_id: str
    article: str
    what_zh: str
    what_en: str
    last_rejection: str
    facts: dict[str, Any] | None = Field(
        default=None,
        description="A cross-border standard contract's filed facts (recipients, purpose, categories, volume "
        "band, storage abroad), against which a change calls for re-filing.",
    )


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
    attestation_kind: AttestationKind | Literal[""] = Field(description="What you send to meet it; empty if nothing.")
    last_rejection: str
    state: VendorState = Field(
        description="open; submitted (awaiting our review: do not send it again); rejected (see last_rejection); "
        "accepted; closed"
    )


class Waiver(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: Annotated[Text, Field(min_length=1)]


class Completion(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reference: Annotated[Text, Field(min_length=1)] = Field(description="e.g. the filing's receipt number.")
