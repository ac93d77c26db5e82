"""The vendor portal (/portal): a vendor's people see what we need from them and send it.

An interface like app/pages, on the same services, the same base template, the same form
tokens and formats. A contact signs in with its own cookie (app.authentication: `dpa_portal`,
sent to /portal only) and acts as its vendor with no role, exactly as the vendor's API key
does: every object is read through the vendor's own filters, so another vendor's id answers
404 as if it did not exist.
"""

from __future__ import annotations

from pathlib import Path

from litestar import Router
from litestar.exceptions import HTTPException, NotFoundException

from app.core.errors import DomainError
from app.core.settings import Settings
from app.pages import domain_error, http_error
from app.pages.web import check_csrf
from app.portal import pages, questionnaires, signin

TEMPLATES = Path(__file__).parent / "templates"


def router(settings: Settings) -> Router:
    return Router(
        path="/portal",
        route_handlers=[signin.PortalSignIn, pages.PortalPages, questionnaires.PortalQuestionnairePages],
        before_request=check_csrf,
        include_in_schema=False,
        exception_handlers={DomainError: domain_error, HTTPException: http_error, NotFoundException: http_error},
        request_max_body_size=settings.upload_max_request_bytes,
    )
