from __future__ import annotations

import uuid
from dataclasses import dataclass
from functools import partial
from typing import Any

import anyio.to_thread
from litestar import Controller, Request, Response, get, post, put
from litestar.datastructures import UploadFile
from litestar.params import FromPath, JSONBody, MultipartBody

from app.core import uploads
from app.core.deps import CurrentActor, DbSession, Settle, Storage
from app.core.downloads import file_response
from app.core.schemas import Limit, Offset, Page
from app.core.settings import Settings
from app.handler import services
from app.handler.schemas import AuditOrderCreate, AuditOrderPublic, HandlerProfilePublic, HandlerProfileUpdate


class HandlerController(Controller):
    path = "/api/handler"
    tags = ("handler",)

    @get("/", summary="The PI handler's profile (the company this registry serves)")
    async def get_profile(self, db_session: DbSession) -> HandlerProfilePublic:
        return HandlerProfilePublic.model_validate(await services.get(db_session))

    @put("/", summary="Set the PI handler's profile (admin, DPO)")
    async def put_profile(
        self, db_session: DbSession, settle: Settle, actor: CurrentActor, data: JSONBody[HandlerProfileUpdate]
    ) -> HandlerProfilePublic:
        profile = await services.put(db_session, data=data, actor=actor)
        await settle()
        return HandlerProfilePublic.model_validate(profile)


@dataclass
class AuditReportUpload:
    """multipart/form-data: `file`, the audit report (PDF, PNG, JPEG or DOCX)."""

    file: UploadFile


class AuditOrderController(Controller):
    """Compliance audits a regulator ordered (PIPL art. 64); each opens a company obligation due at
    its deadline, which the audit report closes."""

    path = "/api/company/audit-orders"
    tags = ("company",)

    @post("/", status_code=201, summary="Record a regulator's order to audit (admin, DPO)")
    async def create(
        self, db_session: DbSession, settle: Settle, actor: CurrentActor, data: JSONBody[AuditOrderCreate]
    ) -> AuditOrderPublic:
        order = await services.create_audit_order(db_session, data=data, actor=actor)
        await settle()
        return services.order_public(order)

    @get("/", summary="The regulator-ordered audits, earliest deadline first")
    async def list_orders(self, db_session: DbSession, limit: Limit = 50, offset: Offset = 0) -> Page[AuditOrderPublic]:
        rows, total = await services.get_audit_orders(db_session, limit=limit, offset=offset)
        return Page(items=[services.order_public(row) for row in rows], total=total, limit=limit, offset=offset)

    @get("/{order_id:uuid}", summary="One regulator-ordered audit")
    async def get_order(self, db_session: DbSession, order_id: FromPath[uuid.UUID]) -> AuditOrderPublic:
        return services.order_public(await services.get_audit_order(db_session, order_id=order_id))

    @post(
        "/{order_id:uuid}/report",
        status_code=201,
        summary="Send the audit report: it closes the order's obligation (admin, DPO; multipart: file)",
    )
    async def attach_report(
        self,
        request: Request[Any, Any, Any],
        db_session: DbSession,
        settle: Settle,
        actor: CurrentActor,
        storage: Storage,
        order_id: FromPath[uuid.UUID],
        data: MultipartBody[AuditReportUpload],
    ) -> AuditOrderPublic:
        settings: Settings = request.app.state.settings
        upload = data.file
        check = partial(
            uploads.check_file,
            "file",
            upload.filename or "",
            upload.content_type,
            await upload.read(),
            max_bytes=settings.upload_max_file_bytes,
        )
        checked = await anyio.to_thread.run_sync(check)  # a DOCX is decompressed to be checked
        order = await services.attach_audit_report(
            db_session, order_id=order_id, file=checked, storage=storage, actor=actor
        )
        await settle()
        return services.order_public(order)

    @get("/{order_id:uuid}/report", summary="Download the audit report")
    async def download_report(
        self, db_session: DbSession, storage: Storage, order_id: FromPath[uuid.UUID]
    ) -> Response[bytes]:
        order, content = await services.get_audit_report(db_session, order_id=order_id, storage=storage)
        sha256 = order.report_sha256 or ""  # get_audit_report refuses an order without one
        return file_response(
            content, content_type=order.report_content_type, filename=order.report_filename, sha256=sha256
        )
