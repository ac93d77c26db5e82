"""发现 Findings and 审计 Audit: the open findings by severity with their history, and the
audit trail (filtered by object; the DPO or an admin runs the chain check)."""

from __future__ import annotations

import uuid
from typing import Any
from urllib.parse import urlencode

from litestar import Controller, Request, get, post
from litestar.params import FromQuery
from litestar.response import Template

from app.audit import chain
from app.audit import services as audit
from app.core.actor import Role
from app.core.deps import CurrentActor, DbSession
from app.findings import services as findings
from app.findings.schemas import FindingStatus, Severity
from app.pages.lookups import engagement_names, vendor_names
from app.pages.web import page

PAGE_SIZES = (20, 50, 100)


def _uuid(value: str | None) -> uuid.UUID | None:
    try:
        return uuid.UUID(value) if value else None
    except ValueError:
        return None


class RecordPages(Controller):
    include_in_schema = False

    @get("/findings")
    async def list_findings(
        self,
        request: Request[Any, Any, Any],
        db_session: DbSession,
        severity: FromQuery[str | None] = None,
        status: FromQuery[str | None] = "open",
        vendor_id: FromQuery[str | None] = None,
        limit: FromQuery[int] = 20,
        offset: FromQuery[int] = 0,
    ) -> Template:
        limit = limit if limit in PAGE_SIZES else PAGE_SIZES[0]
        offset = max(0, offset)
        chosen = Severity(severity) if severity in set(Severity) else None
        state = FindingStatus(status) if status in set(FindingStatus) else None
        where = findings.FindingFilter(severity=chosen, status=state, vendor_id=_uuid(vendor_id))
        rows, total = await findings.get_all(db_session, where=where, limit=limit, offset=offset, worst_first=True)
        params = {"severity": chosen or "", "status": state or "", "vendor_id": vendor_id or "", "limit": limit}

        def url(**change: Any) -> str:
            return "/findings?" + urlencode({**params, **change})

        return page(
            request,
            "findings.html",
            nav="findings",
            rows=rows,
            total=total,
            limit=limit,
            offset=offset,
            severity=chosen or "",
            status=state or "",
            severities=list(Severity),
            url=url,
            page_sizes=PAGE_SIZES,
            vendors=await vendor_names(db_session, [row.vendor_id for row in rows]),
            engagements=await engagement_names(db_session, [row.engagement_id for row in rows]),
        )

    @get("/audit")
    async def trail(
        self,
        request: Request[Any, Any, Any],
        db_session: DbSession,
        actor: CurrentActor,
        object_type: FromQuery[str | None] = None,
        object_id: FromQuery[str | None] = None,
        limit: FromQuery[int] = 50,
        offset: FromQuery[int] = 0,
    ) -> Template:
        actor.require_role(Role.dpo, Role.auditor)
        return await _trail(request, db_session, object_type, object_id, limit, offset)

    @post("/audit/verify")
    async def verify(self, request: Request[Any, Any, Any], db_session: DbSession, actor: CurrentActor) -> Template:
        actor.require_role(Role.dpo)
        report = await chain.verify(db_session)
        return await _trail(request, db_session, None, None, 50, 0, report)


async def _trail(
    request: Request[Any, Any, Any],
    session: Any,
    object_type: str | None,
    object_id: str | None,
    limit: int,
    offset: int,
    report: chain.Verification | None = None,
) -> Template:
    limit = limit if limit in (50, 100, 200) else 50
    offset = max(0, offset)
    object_type = (object_type or "").strip()[:40] or None
    object_id = (object_id or "").strip()[:64] or None
    where = audit.AuditFilter(object_type=object_type, object_id=object_id)
    rows, total = await audit.get_all(session, where=where, limit=limit, offset=offset)
    params = {"object_type": object_type or "", "object_id": object_id or "", "limit": limit}

    def url(**change: Any) -> str:
        return "/audit?" + urlencode({**params, **change})

    ids = [_uuid(row.object_id) for row in rows]
    return page(
        request,
        "audit.html",
        nav="audit",
        rows=rows,
        total=total,
        limit=limit,
        offset=offset,
        object_type=object_type or "",
        object_id=object_id or "",
        url=url,
        report=report,
        names={
            str(key): name
            for key, name in {**await vendor_names(session, ids), **await engagement_names(session, ids)}.items()
        },
    )
