"""工作台 Dashboard: what is late or due soon, the worst open findings, vendors by risk."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from litestar import Controller, Request, get
from litestar.response import Redirect, Template

from app.core import clock
from app.core.deps import DbSession
from app.findings import services as findings
from app.findings.schemas import FindingStatus, Severity
from app.obligations import services as obligations
from app.obligations.kinds import SPECS
from app.obligations.schemas import StatusFilter
from app.pages.lookups import engagement_names, vendor_names
from app.pages.web import page, see_other

SOON_DAYS = 30


class DashboardPages(Controller):
    include_in_schema = False

    @get("/")
    async def home(self) -> Redirect:
        return see_other("/dashboard")  # without a session the middleware sends the browser to sign in

    @get("/dashboard")
    async def dashboard(self, request: Request[Any, Any, Any], db_session: DbSession) -> Template:
        today = clock.today()
        due, due_total = await obligations.get_all(
            db_session,
            where=obligations.ObligationFilter(status=StatusFilter.open, due_before=today + timedelta(days=SOON_DAYS)),
            limit=20,
        )
        worst = []
        for severity in (Severity.critical, Severity.high):
            rows, _ = await findings.get_all(
                db_session,
                where=findings.FindingFilter(severity=severity, status=FindingStatus.open),
                limit=20,
                worst_first=True,
            )
            worst += rows
        board = await findings.dashboard(db_session, top=10)
        vendors = await vendor_names(
            db_session,
            [o.vendor_id for o in due] + [f.vendor_id for f in worst] + [r.vendor_id for r in board.vendors_by_risk],
        )
        engagements = await engagement_names(
            db_session, [o.engagement_id for o in due] + [f.engagement_id for f in worst]
        )
        return page(
            request,
            "dashboard.html",
            nav="dashboard",
            today=today,
            due=due,
            due_total=due_total,
            specs=SPECS,
            worst=worst,
            board=board,
            vendors=vendors,
            engagements=engagements,
            soon_days=SOON_DAYS,
        )
