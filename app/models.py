"""Every table, so that Alembic and the tests see the whole schema from one import."""

from typing import Any

from sqlmodel import SQLModel

from app.accounts.models import ApiToken, PasswordReset, User, WebSession
from app.agreements.models import Agreement, AgreementDocument
from app.attestations.models import Attestation, EvidenceFile
from app.audit.models import AuditEntry, AuditHead
from app.core.models import IdempotencyRecord
from app.engagements.models import Engagement, SubProcessor
from app.findings.models import Finding
from app.handler.models import HandlerProfile
from app.obligations.models import Obligation
from app.reminders.models import CalendarFeed, ChatRobot, OutboxMessage, Reminder
from app.vendors.models import Vendor, VendorKey
from app.webhooks.models import WebhookDelivery, WebhookEndpoint, WebhookEvent
from app.workdays.models import CalendarOverride

__all__ = [
    "Agreement",
    "AgreementDocument",
    "ApiToken",
    "Attestation",
    "AuditEntry",
    "AuditHead",
    "CalendarFeed",
    "CalendarOverride",
    "ChatRobot",
    "Engagement",
    "EvidenceFile",
    "Finding",
    "HandlerProfile",
    "IdempotencyRecord",
    "Obligation",
    "OutboxMessage",
    "PasswordReset",
    "Reminder",
    "SubProcessor",
    "User",
    "Vendor",
    "VendorKey",
    "WebSession",
    "WebhookDelivery",
    "WebhookEndpoint",
    "WebhookEvent",
]


def metadata() -> Any:
    """All tables: importing this module imported every model."""
    return SQLModel.metadata
