"""Every table, so that Alembic and the tests see the whole schema from one import."""

from app.accounts.models import ApiToken, User
from app.agreements.models import Agreement, AgreementDocument
from app.audit.models import AuditEntry
from app.engagements.models import Engagement, SubProcessor
from app.handler.models import HandlerProfile
from app.vendors.models import Vendor

__all__ = [
    "Agreement",
    "AgreementDocument",
    "ApiToken",
    "AuditEntry",
    "Engagement",
    "HandlerProfile",
    "SubProcessor",
    "User",
    "Vendor",
]
