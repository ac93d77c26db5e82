"""Every table, so that Alembic and the tests see the whole schema from one import."""

from typing import Any

from sqlmodel import SQLModel

from app.accounts.models import ApiToken, PasswordReset, User, WebSession
from app.agreements.models import Agreement, AgreementDocument
from app.attestations.models import Attestation, EvidenceFile
from app.audit.models import AuditEntry, AuditHead
from app.contacts.models import ContactLink, ContactSession, VendorContact
from app.core.models import IdempotencyRecord
from app.engagements.models import Engagement, SubProcessor
from app.findings.models import Finding
from app.handler.models import AuditOrder, HandlerProfile
from app.obligations.models import Obligation
from app.questionnaires.models import Questionnaire, QuestionnaireFile
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
    "AuditOrder",
    "CalendarFeed",
    "CalendarOverride",
    "ChatRobot",
    "ContactLink",
    "ContactSession",
    "Engagement",
    "EvidenceFile",
    "Finding",
    "HandlerProfile",
    "IdempotencyRecord",
    "Obligation",
    "OutboxMessage",
    "PasswordReset",
    "Questionnaire",
    "QuestionnaireFile",
    "Reminder",
    "SubProcessor",
    "User",
    "Vendor",
    "VendorContact",
    "VendorKey",
    "WebSession",
    "WebhookDelivery",
    "WebhookEndpoint",
    "WebhookEvent",
]


def metadata() -> Any:
    """All tables: importing this module imported every model."""
    return SQLModel.metadata
