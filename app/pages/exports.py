"""导出 Exports: the register (Excel, CSV) and the evidence pack, through the same services as
/api/exports; the pack is a POST (it is written to the audit trail) and streams."""

from __future__ import annotations

import uuid
from typing import Any

from litestar import Controller, Request, Response, get, post
from litestar.response import Stream, Template

from app.audit import services as audit
from app.audit.schemas import AuditAction, AuditObject
from app.core.actor import Role
from app.core.deps import CurrentActor, DbSession, Settle, Storage
from app.core.downloads import content_disposition
from app.core.types import utcnow
from app.exports import pack, register
from app.pages.lookups import all_vendors
from app.pages.web import page

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _vendor(value: Any) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value)) if value else None
    except ValueError:
        return None


class ExportPages(Controller):
    path = "/exports"
    include_in_schema = False

    @get("/")
    async def exports(self, request: Request[Any, Any, Any], db_session: DbSession) -> Template:
        return page(request, "exports.html", nav="exports", vendors=await all_vendors(db_session))

    @get("/register.xlsx")
    async def register_xlsx(self, request: Request[Any, Any, Any], db_session: DbSession) -> Response[bytes]:
        rows = await register.rows(db_session, _vendor(request.query_params.get("vendor_id")))
        return Response(
            register.to_xlsx(rows),
            media_type=XLSX,
            headers={"Content-Disposition": content_disposition("processing-register.xlsx")},
        )

    @get("/register.csv")
    async def register_csv(self, request: Request[Any, Any, Any], db_session: DbSession) -> Response[bytes]:
        rows = await register.rows(db_session, _vendor(request.query_params.get("vendor_id")))
        return Response(
            register.to_csv(rows),
            media_type="text/csv",
            headers={"Content-Disposition": content_disposition("processing-register.csv")},
        )

    @post("/evidence-pack")
    async def evidence_pack(
        self,
        request: Request[Any, Any, Any],
        db_session: DbSession,
        settle: Settle,
        storage: Storage,
        actor: CurrentActor,
    ) -> Stream:
        actor.require_role(Role.dpo, Role.auditor)
        vendor_id = _vendor((await request.form()).get("vendor_id"))
        title, entries = await pack.plan(db_session, storage, vendor_id)
        audit.record(
            db_session,
            actor,
            AuditAction.export,
            AuditObject.evidence_pack,
            vendor_id or "all",
            {"files": len(entries)},
        )
        await settle()
        name = f"evidence-pack-{utcnow():%Y%m%d}-{'all' if vendor_id is None else vendor_id.hex[:8]}.zip"
        return Stream(
            pack.stream(title, entries),
            media_type="application/zip",
            headers={"Content-Disposition": content_disposition(name), "X-Content-Type-Options": "nosniff"},
        )
