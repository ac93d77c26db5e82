"""The application, assembled: settings, database, authentication, routes, OpenAPI."""

from __future__ import annotations

import html
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import anyio
from litestar import Litestar, MediaType, Request, Response, Router, get
from litestar._openapi.plugin import OpenAPIPlugin  # its cached document is what /schema serves
from litestar.config.app import AppConfig
from litestar.datastructures import MutableScopeHeaders, State
from litestar.di import Provide
from litestar.logging import LoggingConfig
from litestar.middleware import DefineMiddleware
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import OpenAPIRenderPlugin
from litestar.openapi.spec import Components, SecurityScheme
from litestar.routes import HTTPRoute
from litestar.stores.redis import RedisStore
from litestar.stores.registry import StoreRegistry
from litestar.types import Message, Scope
from redis.asyncio import Redis
from sqlalchemy import text

import app
from app import pages, portal, settle
from app.accounts.controllers import UserController
from app.agreements import services as agreements
from app.agreements.controllers import (
    AgreementController,
    TemplateController,
    VendorAgreementController,
    VendorEngagementController,
)
from app.agreements.library import library
from app.attestations.controllers import UPLOAD_JSON_PARTS, AttestationController, VendorAttestationController
from app.audit.controllers import AuditController
from app.authentication import (
    CALENDAR_PATH,
    PUBLIC_PAGES,
    PUBLIC_PATHS,
    RATE_LIMIT_STATE,
    SignInRequiredError,
    TokenAuthenticationMiddleware,
    record_refusals,
)
from app.contacts.controllers import VendorContactController
from app.core import clock, openapi, versioning
from app.core.database import create_engine, create_sessionmaker
from app.core.deps import DbSession, dependencies
from app.core.errors import exception_handlers
from app.core.middleware import RequestBodyGuard, RetryReadOnce, SessionPerRequest
from app.core.oidc import OidcClient
from app.core.ratelimit import FailedAuthentication, MemoryWindows, RateLimiter, RedisWindows, Windows
from app.core.requests import RequestIdFirst, send_request_id
from app.core.settings import RateLimit, Settings
from app.core.storage import open_storage
from app.engagements.controllers import EngagementController, PICategoryController
from app.exports.controllers import ExportController
from app.findings.controllers import FindingController
from app.handler.controllers import AuditOrderController, HandlerController
from app.imports.controllers import ImportController
from app.obligations.controllers import ObligationController, VendorObligationController
from app.questionnaires.controllers import UPLOAD_JSON_PARTS as ANSWER_JSON_PARTS
from app.questionnaires.controllers import QuestionnaireController, VendorQuestionnaireController
from app.questionnaires.library import questionnaires
from app.reminders.controllers import (
    CalendarFeedController,
    CalendarSubscriptionController,
    ChatRobotController,
    ReminderController,
)
from app.vendors.controllers import VendorController, VendorKeyController
from app.webhooks.controllers import VendorWebhookController, WebhookController
from app.workdays.controllers import CalendarController
from app.worker import configure_policy

VERSION = "0.1.0"
# One page of our own renders an OpenAPI document (no CDN, which mainland China often blocks):
# the vendor API's at /api/vendor/docs, the internal one at /schema.
DOCS_PAGE = (Path(__file__).parent / "api_docs.html").read_text(encoding="utf-8")
log = logging.getLogger(__name__)


@get("/health", tags=["health"], summary="Liveness and database reachability; no credential needed")
async def health(state: State) -> Response[dict[str, str]]:
    try:
        async with state.sessionmaker() as session:
            await session.execute(text("SELECT 1"))
    except Exception:
        return Response(
            {"status": "unavailable", "database": "unreachable"},
            status_code=503,
            media_type=MediaType.JSON,
        )
    return Response({"status": "ok", "database": "ok", "version": VERSION}, media_type=MediaType.JSON)


@get("/api/vendor/openapi.json", include_in_schema=False, media_type=MediaType.JSON)
async def vendor_openapi(state: State) -> dict[str, Any]:
    """The vendor API's own OpenAPI document: public, like any API's reference."""
    document: dict[str, Any] = state.vendor_openapi
    return document


@get("/api/vendor/docs", include_in_schema=False, media_type=MediaType.HTML)
async def vendor_docs() -> str:
    """The vendor document as a page, rendered by a few lines of our own script (no CDN)."""
    return DOCS_PAGE


class DocsPage(OpenAPIRenderPlugin):
    """The internal document at /schema, on the same page of our own as the vendor's."""

    def render(self, request: Request[Any, Any, Any], openapi_schema: dict[str, Any]) -> bytes:
        source = html.escape(self.get_openapi_json_route(request), quote=True)
        return DOCS_PAGE.replace('data-document="openapi.json"', f'data-document="{source}"', 1).encode()


def create_app(settings: Settings | None = None, *, warm_renderer: bool | None = None) -> Litestar:
    """The app. `warm_renderer`: start the PDF worker at start-up, so the first agreement a
    person downloads is not a cold start; by default when the settings come from the
    environment (dpa serve), not for an app built with explicit settings (the tests)."""
    warm = settings is None if warm_renderer is None else warm_renderer
    settings = settings or Settings.from_env()
    clock.configure(settings.tz)
    configure_policy(settings)
    library()  # a broken clause library stops the start, not the first contract
    questionnaires()  # and so does a broken (or edited published) questionnaire

    # What the instances share: with REDIS_URL, in Redis (Litestar's stores and the rate-limit
    # windows, under one prefix); without, in this process.
    redis = Redis.from_url(settings.redis_url) if settings.redis_url else None
    windows: Windows = RedisWindows(redis, settings.redis_prefix) if redis else MemoryWindows()
    stores = (
        StoreRegistry(default_factory=RedisStore(redis, namespace=f"{settings.redis_prefix}store").with_namespace)
        if redis
        else None
    )

    @asynccontextmanager
    async def database(application: Litestar) -> AsyncIterator[None]:
        engine = create_engine(settings.database_url)
        application.state.engine = engine
        application.state.sessionmaker = create_sessionmaker(engine)
        application.state.settings = settings
        application.state.storage = open_storage(settings.storage_url)
        try:
            async with anyio.create_task_group() as tasks:
                tasks.start_soon(_record_refusals_every_minute, application.state)
                if warm:
                    tasks.start_soon(_warm_renderer, application.state)
                yield
                tasks.cancel_scope.cancel()
            await _record_refusals(application.state, everything=True)
        finally:
            await engine.dispose()
            if redis is not None:
                await redis.aclose()

    # What a vendor's key reaches; uploads get their own body limit (UPLOAD_MAX_REQUEST_MB).
    # Version 1 is documented; the paths without it answer the same, deprecated (app.core.versioning).
    vendor_controllers = [
        VendorEngagementController,
        VendorAgreementController,
        VendorObligationController,
        VendorAttestationController,
        VendorQuestionnaireController,
        VendorWebhookController,
    ]
    vendor_api = Router(
        path=versioning.V1, route_handlers=vendor_controllers, request_max_body_size=settings.upload_max_request_bytes
    )
    vendor_alias = Router(
        path=versioning.VENDOR_ROOT,
        route_handlers=vendor_controllers,
        request_max_body_size=settings.upload_max_request_bytes,
        include_in_schema=False,
    )

    return Litestar(
        route_handlers=[
            health,
            UserController,
            HandlerController,
            AuditOrderController,
            VendorController,
            EngagementController,
            PICategoryController,
            AuditController,
            TemplateController,
            AgreementController,
            VendorKeyController,
            VendorContactController,
            AttestationController,
            QuestionnaireController,
            ObligationController,
            ReminderController,
            ChatRobotController,
            WebhookController,
            CalendarSubscriptionController,
            CalendarFeedController,
            CalendarController,
            FindingController,
            ExportController,
            ImportController,
            vendor_openapi,
            vendor_docs,
            vendor_api,
            vendor_alias,
            pages.router(),
            portal.router(settings),
            pages.static_files(),
        ],
        template_config=pages.web.template_config(portal.TEMPLATES),
        state=State(
            {
                # Single sign-on over OpenID Connect, where configured (its discovery read at the first sign-in).
                "oidc": OidcClient(settings.oidc) if settings.oidc else None,
                "vendor_rate_limiter": RateLimiter(settings.vendor_rate_limit, windows, name="credential"),
                "failed_authentication": FailedAuthentication(settings.auth_failure_limit, windows),
                # Failed sign-ins to the pages: per account, and per address (which may try several accounts).
                "signin_by_account": RateLimiter(settings.signin_failure_limit, windows, name="signin-account"),
                "signin_by_address": RateLimiter(
                    RateLimit(settings.signin_failure_limit.requests * 5, settings.signin_failure_limit.period_seconds),
                    windows,
                    name="signin-address",
                ),
            }
        ),
        lifespan=[database],
        stores=stores,
        dependencies={**dependencies, "settle": Provide(_provide_settle, sync_to_thread=False)},
        middleware=[
            RequestIdFirst,  # outermost: the request's id and its log line's clock start first
            RetryReadOnce,  # a retried read gets a session of its own
            SessionPerRequest,
            DefineMiddleware(RequestBodyGuard, timeout=settings.body_timeout),
            DefineMiddleware(TokenAuthenticationMiddleware, exclude=PUBLIC_PATHS + PUBLIC_PAGES),
        ],
        exception_handlers={**exception_handlers, SignInRequiredError: pages.sign_in_first},
        openapi_config=OpenAPIConfig(
            title="dpa: PIPL entrusted-processing registry",
            version=VERSION,
            description=app.__doc__,
            path="/schema",
            render_plugins=[DocsPage(path=["/", "/docs"])],
            security=[{"BearerToken": []}],
            components=Components(
                security_schemes={
                    "BearerToken": SecurityScheme(
                        type="http",
                        scheme="bearer",
                        description="A user's API token (dpu_…), or a vendor's key (dpv_…) for /api/vendor/.",
                    )
                }
            ),
        ),
        logging_config=LoggingConfig(
            root={"level": settings.log_level, "handlers": ["queue_listener"]},
            log_exceptions="never",  # internal_error_handler logs what matters,
        ),
        on_app_init=[_no_debug],
        on_startup=[_document_every_answer, _list_allowed_methods],
        before_send=[_allow_every_method, _rate_limit_headers, send_request_id, versioning.announce_deprecation],
    )


def _list_allowed_methods(application: Litestar) -> None:
    """Litestar writes a path's OPTIONS answer when the path's first handler registers and keeps it
    as later handlers join the route, so its Allow header missed their methods (GET, often)."""
    application.state["allowed_methods"] = {
        route.path_format: ", ".join(sorted(route.methods))
        for route in application.routes
        if isinstance(route, HTTPRoute)
    }


async def _allow_every_method(message: Message, scope: Scope) -> None:
    if message["type"] == "http.response.start" and scope.get("method") == "OPTIONS":
        allowed = scope["litestar_app"].state["allowed_methods"].get(scope.get("path_template"))
        if allowed:
            MutableScopeHeaders.from_message(message)["Allow"] = allowed


async def _rate_limit_headers(message: Message, scope: Scope) -> None:
    """A vendor key's X-RateLimit-* on each answer it gets (authentication counted the request)."""
    figures = scope.get("state", {}).get(RATE_LIMIT_STATE)
    if message["type"] == "http.response.start" and figures is not None:
        headers = MutableScopeHeaders.from_message(message)
        for name, value in zip(("Limit", "Remaining", "Reset"), figures, strict=True):
            headers[f"X-RateLimit-{name}"] = str(value)


async def _record_refusals_every_minute(state: State) -> None:
    while True:
        await anyio.sleep(60)
        await _record_refusals(state)


async def _record_refusals(state: State, *, everything: bool = False) -> None:
    try:
        await record_refusals(state, everything=everything)
    except Exception as error:  # the database may be down: these counts are lost, the next are not
        log.warning("could not record refused credentials: %s", error)


def _provide_settle(db_session: DbSession) -> Callable[[], Awaitable[None]]:
    """Each handler that writes ends with `await settle()`: derive, then commit, once."""
    return settle.bound(db_session)


def _document_every_answer(application: Litestar) -> None:
    # Litestar builds the document once and serves that dict; complete it before the first request.
    document = application.plugins.get(OpenAPIPlugin).provide_openapi_schema()
    openapi.complete(document, PUBLIC_PATHS, UPLOAD_JSON_PARTS | ANSWER_JSON_PARTS, (f"^{CALENDAR_PATH}",))
    application.state.vendor_openapi = openapi.vendor_document(document)


def _no_debug(config: AppConfig) -> AppConfig:
    # A traceback never reaches a client, whatever the environment says.
    config.debug = False
    return config


async def _warm_renderer(state: State) -> None:
    """In the background: the server answers at once while the PDF worker starts. The seconds
    it took are kept in the app's state (`renderer_warm_seconds`) and logged."""
    try:
        seconds = await agreements.warm_renderer()
    except Exception:  # a renderer that cannot start is reported by the first render, with its reason
        log.exception("the PDF renderer could not be warmed")
        return
    state.renderer_warm_seconds = seconds
    log.info("PDF renderer warm in %.1f s", seconds)
