from __future__ import annotations

import uuid

from litestar import Controller, Response, get
from litestar.params import FromQuery
from litestar.response import Stream

from app.audit import services as audit
from app.audit.schemas import AuditAction, AuditObject
from app.core.actor import Role
from app.core.deps import CurrentActor, DbSession, Settle, Storage
from app.core.downloads import content_disposition
from app.core.types import utcnow
from app.exports import pack, register


class ExportController(Controller):
    path = "/api/exports"
    tags = ("exports",)

    @get("/register.csv", summary="The processing register as CSV (UTF-8): words in the language asked, then codes")
    async def register_csv(
        self,
        db_session: DbSession,
        vendor_id: FromQuery[uuid.UUID | None] = None,
        lang: FromQuery[register.RegisterLanguage] = register.RegisterLanguage.zh,
    ) -> Response[bytes]:
        data = register.to_csv(await register.rows(db_session, vendor_id, lang))
        return Response(
            data,
            media_type="text/csv",  # Litestar adds "; charset=utf-8"
            headers={"Content-Disposition": content_disposition("processing-register.csv")},
        )

    @get("/register.xlsx", summary="The processing register as an Excel workbook: words, and a sheet of codes")
    async def register_xlsx(
        self,
        db_session: DbSession,
        vendor_id: FromQuery[uuid.UUID | None] = None,
        lang: FromQuery[register.RegisterLanguage] = register.RegisterLanguage.zh,
    ) -> Response[bytes]:
        data = register.to_xlsx(await register.rows(db_session, vendor_id, lang))
        return Response(
            data,
            media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            headers={"Content-Disposition": content_disposition("processing-register.xlsx")},
        )

    @get("/evidence-pack", summary="The evidence pack for an inspection: one ZIP, streamed (DPO, auditor, admin)")
    async def evidence_pack(
        self,
        db_session: DbSession,
        settle: Settle,
        storage: Storage,
        actor: CurrentActor,
        vendor_id: FromQuery[uuid.UUID | None] = None,
    ) -> Stream:
        actor.require_role(Role.dpo, Role.auditor)
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
            pack.stream(title, entries),  # a sync iterator: Litestar reads it in a worker thread
            media_type="application/zip",
            headers={"Content-Disposition": content_disposition(name), "X-Content-Type-Options": "nosniff"},
        )
