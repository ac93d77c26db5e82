"""The pages for the company's people: server-rendered, Chinese first, plain forms.

An interface like the API's controllers, on the same services: a handler validates the form,
calls a service, and ends a write with `await settle()`. Every form carries the session's
token (`web.check_csrf`, run before each page handler); the JSON API keeps bearer tokens only.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from litestar import Request, Response, Router
from litestar.exceptions import HTTPException, NotFoundException
from litestar.response import Redirect
from litestar.static_files import create_static_files_router

from app.authentication import PortalSignInRequiredError, SignInRequiredError
from app.core.errors import DomainError, TooManyRequestsError
from app.pages import (
    account,
    admin,
    agreements,
    dashboard,
    engagements,
    exports,
    imports,
    obligations,
    questionnaires,
    records,
    review,
    settings,
    vendors,
)
from app.pages.web import STATIC, Message, check_csrf, page


def sign_in_first(_request: Request[Any, Any, Any], exc: SignInRequiredError) -> Response[Any]:
    sign_in = "/portal/sign-in" if isinstance(exc, PortalSignInRequiredError) else "/sign-in"
    return Redirect(path=f"{sign_in}?next={quote(exc.path, safe='/')}", status_code=303)


def _error_page(request: Request[Any, Any, Any], status: int, detail: Message) -> Response[Any]:
    titles = {
        403: ("无权执行此操作", "Not allowed"),
        404: ("找不到该页面或对象", "Not found"),
        409: ("当前状态下不能这样做", "Not possible in this state"),
        429: ("请求过多", "Too many requests"),
    }
    zh, en = titles.get(status, ("请求有误", "Something is wrong with the request"))
    return page(request, "error.html", status_code=status, title_zh=zh, title_en=en, detail=detail)


def domain_error(request: Request[Any, Any, Any], exc: DomainError) -> Response[Any]:
    response = _error_page(request, exc.status_code, Message(exc.detail, exc.detail_zh))
    if isinstance(exc, TooManyRequestsError):
        response.headers["Retry-After"] = str(exc.retry_after)
    return response


def http_error(request: Request[Any, Any, Any], exc: HTTPException) -> Response[Any]:
    return _error_page(request, exc.status_code, Message(str(exc.detail)))


def router() -> Router:
    return Router(
        path="/",
        route_handlers=[
            account.AccountPages,
            dashboard.DashboardPages,
            vendors.VendorPages,
            engagements.EngagementPages,
            obligations.ObligationPages,
            review.ReviewPages,
            questionnaires.QuestionnairePages,
            agreements.AgreementPages,
            records.RecordPages,
            settings.SettingsPages,
            settings.WebhookPages,
            settings.ChatRobotPages,
            admin.AdminPages,
            imports.ImportPages,
            exports.ExportPages,
        ],
        before_request=check_csrf,
        include_in_schema=False,
        exception_handlers={DomainError: domain_error, HTTPException: http_error, NotFoundException: http_error},
    )


def static_files() -> Router:
    return create_static_files_router(path="/static", directories=[STATIC], include_in_schema=False)
