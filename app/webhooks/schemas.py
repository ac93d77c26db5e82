from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

from app.core.fields import NO_CONTROL_CHARACTERS

VERSION = "2026-11-29"  # the payloads' version: a change to their shape gets a new date


class EventType(StrEnum):
    vendor_created = "vendor.created"
    vendor_changed = "vendor.changed"
    engagement_created = "engagement.created"
    engagement_changed = "engagement.changed"
    agreement_issued = "agreement.issued"
    agreement_signed = "agreement.signed"
    agreement_terminated = "agreement.terminated"
    attestation_submitted = "attestation.submitted"
    attestation_accepted = "attestation.accepted"
    attestation_rejected = "attestation.rejected"
    finding_raised = "finding.raised"
    finding_resolved = "finding.resolved"
    obligation_opened = "obligation.opened"
    obligation_due = "obligation.due"
    obligation_overdue = "obligation.overdue"


# What a vendor's endpoint may subscribe to: its own duties, reviews and agreements only.
VENDOR_EVENTS = frozenset(
    {
        EventType.obligation_opened,
        EventType.attestation_accepted,
        EventType.attestation_rejected,
        EventType.agreement_issued,
    }
)


class DeliveryStatus(StrEnum):
    pending = "pending"  # to send, or to retry
    delivered = "delivered"  # the receiver answered 2xx
    dead = "dead"  # every attempt failed, or the URL is refused


class EndpointIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: Annotated[str, Field(min_length=8, max_length=2000, pattern=NO_CONTROL_CHARACTERS)]
    events: Annotated[list[EventType], Field(min_length=1, max_length=len(EventType))]
    description: Annotated[str, Field(max_length=200, pattern=NO_CONTROL_CHARACTERS)] = ""


class EndpointPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    url: str
    events: list[EventType]
    description: str
    secret_hint: str
    created_at: datetime
    created_by: str


class EndpointCreated(EndpointPublic):
    secret: str  # signs every delivery (X-DPA-Signature); shown this once


class DeliveryPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    endpoint_id: uuid.UUID
    event_id: uuid.UUID
    event_type: EventType
    status: DeliveryStatus
    attempts: int
    created_at: datetime
    next_attempt_at: datetime
    delivered_at: datetime | None
    last_status: int | None
    last_error: str
    redelivery_of: uuid.UUID | None


class EventPublic(BaseModel):
    """The body of every delivery (documented in the README)."""

    id: uuid.UUID
    type: EventType
    version: str
    created_at: datetime
    data: dict[str, Any]
