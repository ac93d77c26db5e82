from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Index
from sqlmodel import Field, SQLModel

from app.core.types import EnumString, UTCDateTime, utcnow
from app.webhooks.schemas import DeliveryStatus, EventType


class WebhookEndpoint(SQLModel, table=True):
    """A URL that hears of events: the company's (vendor_id empty, set by an admin) or a
    vendor's own (registered with its key). The secret signs; it is sealed, not hashed, because
    it must be read to sign (app/core/outbound.py)."""

    __tablename__ = "webhook_endpoints"

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    vendor_id: uuid.UUID | None = Field(default=None, foreign_key="vendors.id", ondelete="CASCADE", index=True)
    url: str = Field(max_length=2000)
    events: list[str] = Field(default_factory=list, sa_type=JSON)
    description: str = Field(default="", max_length=200)
    secret_sealed: str = Field(max_length=500)
    secret_hint: str = Field(max_length=20)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    created_by: str = Field(default="", max_length=200)


class WebhookEvent(SQLModel, table=True):
    """Something that happened, recorded in the transaction that made it happen; `key` names
    it (`agreement.issued:<id>`), so recording it twice is a no-op."""

    __tablename__ = "webhook_events"

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    key: str = Field(max_length=200, unique=True)
    type: EventType = Field(sa_type=EnumString(EventType, 40))
    vendor_id: uuid.UUID | None = Field(default=None, index=True)  # whose it is, for the vendor's endpoints
    data: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class WebhookDelivery(SQLModel, table=True):
    """One event to one endpoint: tried until the receiver answers 2xx or the attempts run out."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (Index("ix_webhook_deliveries_status_next", "status", "next_attempt_at"),)

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    endpoint_id: uuid.UUID = Field(foreign_key="webhook_endpoints.id", ondelete="CASCADE", index=True)
    event_id: uuid.UUID = Field(foreign_key="webhook_events.id", index=True)
    status: DeliveryStatus = Field(default=DeliveryStatus.pending, sa_type=EnumString(DeliveryStatus, 20))
    attempts: int = 0
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    next_attempt_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    delivered_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_status: int | None = None
    last_error: str = Field(default="", max_length=1000)
    redelivery_of: uuid.UUID | None = Field(default=None)  # the delivery this one repeats
