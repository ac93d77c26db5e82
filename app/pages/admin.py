"""设置 Settings, the company's part: the working-day calendar's overrides, the company profile
(the PI handler), and the company page (its own duties and findings, counted over every vendor)."""

from __future__ import annotations

from datetime import date
from typing import Any

from litestar import Controller, Request, get, post
from litestar.params import FromPath
from litestar.response import Redirect, Template
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.actor import Actor, Role
from app.core.deps import CurrentActor, DbSession, Settle
from app.core.errors import NotFoundError
from app.core.schemas import MAX_PAGE
from app.findings import services as findings
from app.handler import services as handler
from app.handler.schemas import HandlerProfileUpdate
from app.pages.web import Errors, Message, errors_of, page, see_other
from app.workdays import services as workdays
from app.workdays.schemas import OverrideSet

COMPANY_ROWS = 20  # the engagements feeding each count, largest first: the page stays small at 10,000
PROFILE_TEXT = (
    "legal_name_zh",
    "legal_name_en",
    "unified_social_credit_code",
    "address",
    "pi_protection_officer_name",
)
PROFILE_OPTIONAL = ("pi_protection_officer_email", "individuals_total_as_of", "last_compliance_audit_on")
PROFILE_FLAGS = ("is_ciio", "automotive_data_processor")


def _may_edit_profile(actor: Actor) -> bool:
    return actor.role in (Role.admin, Role.dpo)  # as handler.services.put requires


class AdminPages(Controller):
    include_in_schema = False

    @get("/settings/calendar")
    async def calendar(self, request: Request[Any, Any, Any], db_session: DbSession, actor: CurrentActor) -> Template:
        return await _calendar(request, db_session, actor)

    @post("/settings/calendar")
    async def set_day(
        self, request: Request[Any, Any, Any], db_session: DbSession, settle: Settle, actor: CurrentActor
    ) -> Template | Redirect:
        form = await request.form()
        data = {key: str(form.get(key, "")).strip() for key in ("day", "working", "note")}
        errors = Errors()
        day: date | None = None
        try:
            day = date.fromisoformat(data["day"])
        except ValueError:
            errors.fields["day"] = Message("choose a date (YYYY-MM-DD)", "请选择日期")
        if data["working"] not in ("yes", "no"):
            errors.fields["working"] = Message("choose a working day or a day off", "请选择工作日或休息日")
        if not data["note"]:
            # The page asks why, so the next admin (and the audit trail) knows; the API leaves it optional.
            errors.fields["note"] = Message("give the reason", "请写明原因")
        if errors or day is None:
            return await _calendar(request, db_session, actor, errors, 400, data)
        try:
            override = OverrideSet.model_validate({"working": data["working"] == "yes", "note": data["note"]})
            await workdays.set_override(db_session, day=day, data=override, actor=actor)
        except Exception as error:  # beside its field; errors_of re-raises a bug
            await db_session.rollback()
            status = getattr(error, "status_code", 400)
            return await _calendar(request, db_session, actor, errors_of(error), status, data)
        await settle()
        return see_other(f"/settings/calendar?set={day.isoformat()}")

    @post("/settings/calendar/{day:date}/remove")
    async def remove_day(
        self, db_session: DbSession, settle: Settle, actor: CurrentActor, day: FromPath[date]
    ) -> Redirect:
        await workdays.delete_override(db_session, day=day, actor=actor)
        await settle()
        return see_other("/settings/calendar")

    @get("/settings/company")
    async def profile(self, request: Request[Any, Any, Any], db_session: DbSession, actor: CurrentActor) -> Template:
        return await _profile(request, db_session, actor)

    @post("/settings/company")
    async def save_profile(
        self, request: Request[Any, Any, Any], db_session: DbSession, settle: Settle, actor: CurrentActor
    ) -> Template | Redirect:
        form = await request.form()
        data: dict[str, Any] = {key: str(form.get(key, "")).strip() for key in PROFILE_TEXT}
        data |= {key: str(form.get(key, "")).strip() or None for key in PROFILE_OPTIONAL}
        data |= {key: form.get(key) == "on" for key in PROFILE_FLAGS}
        # Counts may be typed with separators, as the pages show them: 431,623.
        data["individuals_total"] = str(form.get("individuals_total", "")).replace(",", "").strip() or "0"
        try:
            await handler.put(db_session, data=HandlerProfileUpdate.model_validate(data), actor=actor)
        except Exception as error:  # beside its field; errors_of re-raises a bug
            await db_session.rollback()
            status = getattr(error, "status_code", 400)
            return await _profile(request, db_session, actor, errors_of(error), status, data)
        await settle()
        return see_other("/settings/company?saved=1")

    @get("/company")
    async def company(self, request: Request[Any, Any, Any], db_session: DbSession) -> Template:
        view = await findings.company_view(db_session)
        try:
            profile = await handler.get(db_session)
        except NotFoundError:
            profile = None
        return page(
            request,
            "company.html",
            nav="company",
            view=view,
            profile=profile,
            top=COMPANY_ROWS,
        )


async def _calendar(
    request: Request[Any, Any, Any],
    session: AsyncSession,
    actor: Actor,
    errors: Errors | None = None,
    status_code: int = 200,
    data: dict[str, str] | None = None,
) -> Template:
    rows, total = await workdays.get_overrides(session, where=workdays.OverrideFilter(), limit=MAX_PAGE)
    return page(
        request,
        "calendar_overrides.html",
        status_code=status_code,
        nav="settings",
        rows=rows,
        total=total,
        may_edit=actor.role == Role.admin,
        saved=request.query_params.get("set", ""),
        data=data or {"working": "no"},
        errors=errors or Errors(),
    )


async def _profile(
    request: Request[Any, Any, Any],
    session: AsyncSession,
    actor: Actor,
    errors: Errors | None = None,
    status_code: int = 200,
    data: dict[str, Any] | None = None,
) -> Template:
    if data is None:
        try:
            data = (await handler.get(session)).model_dump()
        except NotFoundError:
            data = {}
    return page(
        request,
        "company_profile.html",
        status_code=status_code,
        nav="settings",
        data=data,
        may_edit=_may_edit_profile(actor),
        saved=request.query_params.get("saved") == "1" and not errors,
        errors=errors or Errors(),
    )
