"""协议 Agreements: generate one from an engagement, its coverage of the legal requirements, issue
it, download its documents. Only the move the agreement's state allows now is offered."""

from __future__ import annotations

import uuid
from typing import Any

from litestar import Controller, Request, Response, get, post
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect, Template

from app.agreements import services
from app.agreements.schemas import AgreementCreate, Termination
from app.core import clock
from app.core.deps import CurrentActor, DbSession, Settle, Storage
from app.core.downloads import file_response
from app.core.errors import DomainError, field_error
from app.core.schemas import MAX_PAGE
from app.engagements import services as engagements
from app.pages.lookups import engagement_names, user_names, vendor_names
from app.pages.web import Errors, errors_of, page, see_other

TERMS = ("term_start", "term_end", "notice_days", "deletion_days", "incident_notice_hours")
SIGNED_COPY_LIMIT = 20 * 1024 * 1024
# What the page offers in each state; the service decides again (and the role) when it is asked.
MOVES = {
    "draft": ("issue",),
    "issued": ("sign", "terminate"),
    "signed": ("activate", "terminate"),
    "active": ("terminate", "new-version"),
    "expired": ("new-version",),
    "terminated": ("new-version",),
}


class AgreementPages(Controller):
    path = "/agreements"
    include_in_schema = False

    @get("/")
    async def list_agreements(self, request: Request[Any, Any, Any], db_session: DbSession) -> Template:
        rows, total = await services.get_all(
            db_session, where=services.AgreementFilter(), sort="-created_at", limit=MAX_PAGE, offset=0
        )
        return page(
            request,
            "agreements/list.html",
            nav="agreements",
            rows=rows,
            total=total,
            vendors=await vendor_names(db_session, [row.vendor_id for row in rows]),
            engagements=await engagement_names(db_session, [row.engagement_id for row in rows]),
        )

    @get("/new")
    async def new_form(
        self, request: Request[Any, Any, Any], db_session: DbSession, engagement_id: FromQuery[uuid.UUID]
    ) -> Template:
        data = {
            "engagement_id": str(engagement_id),
            "notice_days": 30,
            "deletion_days": 30,
            "incident_notice_hours": 24,
        }
        return await _form(request, db_session, data)

    @post("/new")
    async def create(
        self, request: Request[Any, Any, Any], db_session: DbSession, settle: Settle, actor: CurrentActor
    ) -> Template | Redirect:
        form = await request.form()
        data: dict[str, Any] = {name: str(form.get(name, "")).strip() for name in ("engagement_id", *TERMS)}
        try:
            agreement = await services.create(
                db_session, data=AgreementCreate.model_validate({k: v for k, v in data.items() if v}), actor=actor
            )
        except Exception as error:  # a refusal is shown beside its field; errors_of re-raises a bug
            await db_session.rollback()
            return await _form(request, db_session, data, error)
        await settle()
        return see_other(f"/agreements/{agreement.id}")

    @get("/{agreement_id:uuid}")
    async def detail(
        self, request: Request[Any, Any, Any], db_session: DbSession, agreement_id: FromPath[uuid.UUID]
    ) -> Template:
        return await _detail(request, db_session, agreement_id)

    @post("/{agreement_id:uuid}/issue")
    async def issue(
        self,
        request: Request[Any, Any, Any],
        db_session: DbSession,
        settle: Settle,
        actor: CurrentActor,
        storage: Storage,
        agreement_id: FromPath[uuid.UUID],
    ) -> Template | Redirect:
        try:
            await services.issue(db_session, agreement_id=agreement_id, storage=storage, actor=actor)
        except DomainError as error:
            await db_session.rollback()
            return await _detail(request, db_session, agreement_id, errors_of(error), error.status_code)
        await settle()
        return see_other(f"/agreements/{agreement_id}")

    @post("/{agreement_id:uuid}/move")
    async def move(
        self,
        request: Request[Any, Any, Any],
        db_session: DbSession,
        settle: Settle,
        actor: CurrentActor,
        agreement_id: FromPath[uuid.UUID],
    ) -> Template | Redirect:
        """Activate, terminate (with a date and a reason), or start a new version."""
        form = await request.form()
        move = str(form.get("move", ""))
        target = agreement_id
        try:
            if move == "activate":
                await services.activate(db_session, agreement_id=agreement_id, actor=actor)
            elif move == "terminate":
                data = Termination.model_validate(
                    {"ended_on": str(form.get("ended_on", "")) or None, "reason": str(form.get("reason", "")).strip()}
                )
                await services.terminate(db_session, agreement_id=agreement_id, data=data, actor=actor)
            elif move == "new-version":
                target = (await services.new_version(db_session, agreement_id=agreement_id, actor=actor)).id
            else:
                raise field_error("move", "not a move an agreement makes", zh="协议没有这一步操作")
        except Exception as error:  # shown on the page; errors_of re-raises a bug
            await db_session.rollback()
            status_code = getattr(error, "status_code", 400)
            return await _detail(request, db_session, agreement_id, errors_of(error), status_code)
        await settle()
        return see_other(f"/agreements/{target}")

    @post("/{agreement_id:uuid}/sign", request_max_body_size=SIGNED_COPY_LIMIT)
    async def sign(
        self,
        request: Request[Any, Any, Any],
        db_session: DbSession,
        settle: Settle,
        actor: CurrentActor,
        storage: Storage,
        agreement_id: FromPath[uuid.UUID],
    ) -> Template | Redirect:
        """Upload the signed copy (a PDF)."""
        form = await request.form()
        upload = form.get("file")
        try:
            # No file: the service still decides first whether this user may sign it now.
            content = b"" if upload is None or isinstance(upload, str) else await upload.read()
            await services.sign(db_session, agreement_id=agreement_id, signed_pdf=content, storage=storage, actor=actor)
        except Exception as error:  # shown on the page; errors_of re-raises a bug
            await db_session.rollback()
            status_code = getattr(error, "status_code", 400)
            return await _detail(request, db_session, agreement_id, errors_of(error), status_code)
        await settle()
        return see_other(f"/agreements/{agreement_id}")

    @get("/{agreement_id:uuid}/documents/{document_id:uuid}")
    async def download(
        self,
        db_session: DbSession,
        storage: Storage,
        actor: CurrentActor,
        agreement_id: FromPath[uuid.UUID],
        document_id: FromPath[uuid.UUID],
        inline: FromQuery[bool] = False,
    ) -> Response[bytes]:
        document, content = await services.get_document(
            db_session, agreement_id=agreement_id, document_id=document_id, storage=storage, actor=actor
        )
        return file_response(
            content,
            content_type=document.content_type,
            filename=document.filename,
            sha256=document.sha256,
            inline=inline,
        )


async def _form(
    request: Request[Any, Any, Any], session: Any, data: dict[str, Any], error: Exception | None = None
) -> Template:
    engagement = await engagements.get(session, engagement_id=uuid.UUID(str(data["engagement_id"])))
    return page(
        request,
        "agreements/form.html",
        status_code=getattr(error, "status_code", 400) if error is not None else 200,
        nav="agreements",
        data=data,
        engagement=engagement,
        vendors=await vendor_names(session, [engagement.vendor_id]),
        errors=errors_of(error) if error is not None else Errors(),
    )


async def _detail(
    request: Request[Any, Any, Any],
    session: Any,
    agreement_id: uuid.UUID,
    errors: Errors | None = None,
    status_code: int = 200,
) -> Template:
    agreement = await services.get(session, agreement_id=agreement_id)
    documents, _ = await services.get_documents(
        session, where=services.DocumentFilter(agreement_id=agreement_id), limit=MAX_PAGE, offset=0
    )
    return page(
        request,
        "agreements/detail.html",
        status_code=status_code,
        nav="agreements",
        agreement=agreement,
        coverage=services.coverage(agreement),
        documents=documents,
        moves=MOVES.get(agreement.status, ()),
        preview=next((d for d in reversed(documents) if d.format == "pdf" and d.kind == "generated"), None),
        today=clock.today(),
        vendors=await vendor_names(session, [agreement.vendor_id]),
        engagements=await engagement_names(session, [agreement.engagement_id]),
        owners=await user_names(session, [agreement.owner_id]),
        errors=errors or Errors(),
    )
