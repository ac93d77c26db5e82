"""审核 Review: attestations awaiting review; accept or reject, with a reason."""

from __future__ import annotations

import uuid
from typing import Any

from litestar import Controller, Request, Response, get, post
from litestar.params import FromPath
from litestar.response import Redirect, Template

from app.attestations import services
from app.attestations.schemas import AttestationStatus
from app.core.deps import CurrentActor, DbSession, Settle, Storage
from app.core.downloads import file_response
from app.core.errors import field_error
from app.core.schemas import MAX_PAGE
from app.pages.lookups import engagement_names, vendor_names
from app.pages.web import Errors, errors_of, page, see_other


class ReviewPages(Controller):
    path = "/review"
    include_in_schema = False

    @get("/")
    async def queue(self, request: Request[Any, Any, Any], db_session: DbSession) -> Template:
        return await _queue(request, db_session)

    @get("/{attestation_id:uuid}/files/{file_id:uuid}")
    async def evidence(
        self,
        db_session: DbSession,
        storage: Storage,
        actor: CurrentActor,
        attestation_id: FromPath[uuid.UUID],
        file_id: FromPath[uuid.UUID],
    ) -> Response[bytes]:
        """The evidence, as the vendor sent it (checked against its SHA-256 on the way out)."""
        file, content = await services.get_file(
            db_session, attestation_id=attestation_id, file_id=file_id, storage=storage, actor=actor
        )
        return file_response(content, content_type=file.content_type, filename=file.filename, sha256=file.sha256)

    @post("/{attestation_id:uuid}")
    async def decide(
        self,
        request: Request[Any, Any, Any],
        db_session: DbSession,
        settle: Settle,
        actor: CurrentActor,
        attestation_id: FromPath[uuid.UUID],
    ) -> Template | Redirect:
        form = await request.form()
        reason = str(form.get("reason", "")).strip()
        try:
            if not reason:
                raise field_error("reason", "Give a reason", zh="请填写理由")
            await services.review(
                db_session,
                attestation_id=attestation_id,
                accept=form.get("decision") == "accept",
                reason=reason,
                actor=actor,
            )
        except Exception as error:  # shown beside the field; errors_of re-raises a bug
            await db_session.rollback()
            status_code = getattr(error, "status_code", 400)
            return await _queue(request, db_session, attestation_id, errors_of(error), status_code)
        await settle()
        return see_other("/review")


async def _queue(
    request: Request[Any, Any, Any],
    session: Any,
    failed: uuid.UUID | None = None,
    errors: Errors | None = None,
    status_code: int = 200,
) -> Template:
    rows, total = await services.get_all(
        session, where=services.AttestationFilter(status=AttestationStatus.submitted), limit=MAX_PAGE
    )
    files = await services.files_of(session, [row.id for row in rows])
    return page(
        request,
        "review.html",
        status_code=status_code,
        nav="review",
        rows=rows,
        total=total,
        files=files,
        checks=await services.checks_of(session, rows),
        failed=failed,
        vendors=await vendor_names(session, [row.vendor_id for row in rows]),
        engagements=await engagement_names(session, [row.engagement_id for row in rows]),
        errors=errors or Errors(),
    )
