from __future__ import annotations

import uuid
from typing import Annotated

from litestar import Controller, get, post
from litestar.params import FromPath, FromQuery, JSONBody, QueryParameter

from app.core.deps import DbSession
from app.core.fields import NO_CONTROL_CHARACTERS
from app.core.queries import get_or_404
from app.core.schemas import Limit, Offset, Page
from app.engagements import services as engagements
from app.engagements.models import Engagement
from app.engagements.schemas import EngagementProposal
from app.findings import services
from app.findings.schemas import CompanyView, Dashboard, FindingPublic, FindingStatus, Severity


class FindingController(Controller):
    path = "/api"
    tags = ("findings",)

    @get("/findings", summary="Findings of every engagement: the PIPL rules that hold (open by default)")
    async def list_findings(
        self,
        db_session: DbSession,
        vendor_id: FromQuery[uuid.UUID | None] = None,
        engagement_id: FromQuery[uuid.UUID | None] = None,
        rule_id: Annotated[str | None, QueryParameter(max_length=10, pattern=NO_CONTROL_CHARACTERS)] = None,
        severity: FromQuery[Severity | None] = None,
        status: FromQuery[FindingStatus | None] = FindingStatus.open,
        limit: Limit = 50,
        offset: Offset = 0,
    ) -> Page[FindingPublic]:
        where = services.FindingFilter(
            engagement_id=engagement_id, vendor_id=vendor_id, rule_id=rule_id, severity=severity, status=status
        )
        rows, total = await services.get_all(db_session, where=where, limit=limit, offset=offset)
        return Page(items=[FindingPublic.model_validate(r) for r in rows], total=total, limit=limit, offset=offset)

    @get(
        "/engagements/{engagement_id:uuid}/findings",
        summary="One engagement's findings: the open ones, worst first, then the resolved ones, newest first",
    )
    async def engagement_findings(
        self, db_session: DbSession, engagement_id: FromPath[uuid.UUID], limit: Limit = 50, offset: Offset = 0
    ) -> Page[FindingPublic]:
        await get_or_404(db_session, Engagement, engagement_id, "engagement")
        where = services.FindingFilter(engagement_id=engagement_id, status=None)
        rows, total = await services.get_all(db_session, where=where, limit=limit, offset=offset, worst_first=True)
        return Page(items=[FindingPublic.model_validate(r) for r in rows], total=total, limit=limit, offset=offset)

    @post(
        "/engagements/check",
        status_code=200,
        summary="Before you buy: the findings a proposed engagement would raise (nothing is stored)",
    )
    async def check(self, db_session: DbSession, data: JSONBody[EngagementProposal]) -> list[FindingPublic]:
        engagements.check_consistency(data)
        return await services.check(db_session, data)

    @get(
        "/company",
        summary="The company as a whole: faces stored and PI sent abroad this year, counted over every "
        "engagement, the duties they call for, and which engagements feed each count",
    )
    async def company(self, db_session: DbSession) -> CompanyView:
        return await services.company_view(db_session)

    @get("/dashboard", summary="Open findings by severity, the most overdue obligations, vendors by risk")
    async def dashboard(self, db_session: DbSession) -> Dashboard:
        return await services.dashboard(db_session)
