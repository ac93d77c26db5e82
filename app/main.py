"""The application, assembled: settings, database, authentication, routes, OpenAPI."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

import anyio
from litestar import Litestar, MediaType, Response, Router, get
from litestar._openapi.plugin import OpenAPIPlugin  # its cached document is what /schema serves
from litestar.config.app import AppConfig
from litestar.datastructures import State
from litestar.di import Provide
from litestar.logging import LoggingConfig
from litestar.middleware import DefineMiddleware
from litestar.openapi import OpenAPIConfig
from litestar.openapi.spec import Components, SecurityScheme
from sqlalchemy import text

import app
from app import settle
from app.accounts.controllers import UserController
from app.agreements.controllers import AgreementController, TemplateController, VendorAgreementController
from app.agreements.library import library
from app.attestations.controllers import AttestationController, VendorAttestationController
from app.audit.controllers import AuditController
from app.authentication import PUBLIC_PATHS, TokenAuthenticationMiddleware, record_refusals
from app.core import clock, openapi
from app.core.database import create_engine, create_sessionmaker
from app.core.deps import DbSession, dependencies
from app.core.errors import exception_handlers
from app.core.middleware import RequestBodyGuard, RetryReadOnce, SessionPerRequest
from app.core.ratelimit import FailedAuthentication, RateLimiter
from app.core.settings import Settings
from app.core.storage import open_storage
from app.engagements.controllers import EngagementController, PICategoryController, VendorEngagementController
from app.exports.controllers import ExportController
from app.findings.controllers import FindingController
from app.handler.controllers import HandlerController
from app.obligations.controllers import ObligationController, VendorObligationController
from app.reminders.controllers import ReminderController
from app.vendors.controllers import VendorController, VendorKeyController
from app.workdays.controllers import CalendarController
from app.worker import configure_policy

VERSION = "0.1.0"
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


def create_app(settings: Settings | None = None) -> Litestar:
    settings = settings or Settings.from_env()
    clock.configure(settings.tz)
    configure_policy(settings)
    library()  # a broken clause library stops the start, not the first contract

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
                yield
                tasks.cancel_scope.cancel()
            await _record_refusals(application.state, everything=True)
        finally:
            await engine.dispose()

    # What a vendor's key reaches; uploads get their own body limit (UPLOAD_MAX_REQUEST_MB).
    vendor_api = Router(
        path="/api/vendor",
        route_handlers=[
            VendorEngagementController,
            VendorAgreementController,
            VendorObligationController,
            VendorAttestationController,
        ],
        request_max_body_size=settings.upload_max_request_bytes,
    )

    return Litestar(
        route_handlers=[
            health,
            UserController,
            HandlerController,
            VendorController,
            EngagementController,
            PICategoryController,
            AuditController,
            TemplateController,
            AgreementController,
            VendorKeyController,
            AttestationController,
            ObligationController,
            ReminderController,
            CalendarController,
            FindingController,
            ExportController,
            vendor_api,
        ],
        state=State(
            {
                "vendor_rate_limiter": RateLimiter(settings.vendor_rate_limit),
                "failed_authentication": FailedAuthentication(settings.auth_failure_limit),
            }
        ),
        lifespan=[database],
        dependencies={**dependencies, "settle": Provide(_provide_settle, sync_to_thread=False)},
        middleware=[
            RetryReadOnce,  # outermost: a retried read gets a session of its own
            SessionPerRequest,
            DefineMiddleware(RequestBodyGuard, timeout=settings.body_timeout),
            DefineMiddleware(TokenAuthenticationMiddleware, exclude=PUBLIC_PATHS),
        ],
        exception_handlers=exception_handlers,
        openapi_config=OpenAPIConfig(
            title="dpa: PIPL entrusted-processing registry",
            version=VERSION,
            description=app.__doc__,
            path="/schema",
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
        on_startup=[_document_every_answer],
    )


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
    openapi.complete(application.plugins.get(OpenAPIPlugin).provide_openapi_schema(), PUBLIC_PATHS)


def _no_debug(config: AppConfig) -> AppConfig:
    # A traceback never reaches a client, whatever the environment says.
    config.debug = False
    return config
