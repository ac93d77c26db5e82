"""委托处理 Engagements: list, detail, and the form whose before-you-buy check shows the
findings a proposal would raise before anything is saved."""

from __future__ import annotations

import uuid
from typing import Any
from urllib.parse import urlencode

from litestar import Controller, Request, get, post
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect, Template

from app.audit import services as audit
from app.audit.schemas import AuditObject
from app.core.deps import CurrentActor, DbSession, Settle
from app.core.schemas import MAX_PAGE
from app.engagements import services, taxonomy
from app.engagements.schemas import (
    DataSubject,
    EngagementCreate,
    EngagementProposal,
    EngagementStatus,
    EngagementUpdate,
    Equipment,
    LegalBasis,
    ProcessingMethod,
    VenueType,
)
from app.findings import services as findings
from app.obligations import services as obligations
from app.obligations.kinds import SPECS
from app.pages.lookups import all_vendors, user_names, vendor_names
from app.pages.questionnaires import section as questionnaire_section
from app.pages.web import Errors, errors_of, page, see_other

PAGE_SIZES = (20, 50, 100)
TEXT = (
    "name",
    "purpose",
    "purpose_en",
    "consent_evidence",
    "separate_consent_evidence",
    "guardian_consent_evidence",
    "pipia_reference",
    "retention_note",
    "retention_note_en",
)
DATES = ("pipia_date", "start_date", "end_date")
FLAGS = ("consent_obtained", "separate_consent_obtained", "guardian_consent_obtained", "leaves_china")


def _form_data(form: Any) -> dict[str, Any]:
    """The engagement as the form sent it (blanks absent); one venue and one storage location."""
    data: dict[str, Any] = {name: str(form.get(name, "")).strip() for name in TEXT}
    data["vendor_id"] = str(form.get("vendor_id", "")).strip() or None
    data["processing_methods"] = form.getall("processing_methods", [])
    data["pi_categories"] = form.getall("pi_categories", [])
    data["data_subjects"] = form.getall("data_subjects", [])
    for name in FLAGS:
        data[name] = form.get(name) == "on"
    for name in DATES:
        data[name] = str(form.get(name, "")).strip() or None
    for name in ("individuals_count", "retention_days"):
        value = str(form.get(name, "")).replace(",", "").strip()
        data[name] = value or None
    data["legal_basis"] = str(form.get("legal_basis", "")) or None
    data["status"] = str(form.get("status", "proposed"))
    data["owner_id"] = str(form.get("owner_id", "")).strip() or None
    venue = str(form.get("venue_description", "")).strip()
    if venue:
        data["venues"] = [
            {
                "description": venue,
                "description_en": str(form.get("venue_description_en", "")).strip(),
                "venue_type": str(form.get("venue_type", "other")),
                "venue_count": str(form.get("venue_count", "1")).strip() or "1",
                "public_place": form.get("venue_public_place") == "on",
                "equipment": str(form.get("venue_equipment", "none")),
                "equipment_count": str(form.get("venue_equipment_count", "0")).strip() or "0",
                "purpose_public_security": form.get("venue_public_security") == "on",
                "signage_posted": form.get("venue_signage_posted") == "on",
            }
        ]
    country = str(form.get("storage_country", "")).strip().upper()
    if country:
        data["storage_locations"] = [
            {"country": country, "region": str(form.get("storage_region", "")).strip() or None}
        ]
    return {key: value for key, value in data.items() if value is not None}


def _field_errors(errors: Errors) -> Errors:
    # venues.0.equipment_count -> venue_equipment_count, beside its field
    for key in list(errors.fields):
        for prefix, name in (("venues.0.", "venue_"), ("storage_locations.0.", "storage_")):
            if key.startswith(prefix):
                errors.fields[name + key.removeprefix(prefix)] = errors.fields.pop(key)
        if key.count(".") == 1 and key.split(".")[1].isdigit():  # pi_categories.0 -> pi_categories
            errors.fields.setdefault(key.split(".")[0], errors.fields.pop(key))
    # A rule over the whole venue or location stands beside its first field.
    for whole, field in (("venues", "venue_description"), ("storage_locations", "storage_country")):
        if whole in errors.fields:
            errors.fields.setdefault(field, errors.fields.pop(whole))
    return errors


class EngagementPages(Controller):
    path = "/engagements"
    include_in_schema = False

    @get("/")
    async def list_engagements(
        self,
        request: Request[Any, Any, Any],
        db_session: DbSession,
        q: FromQuery[str | None] = None,
        status: FromQuery[str | None] = None,
        sensitive: FromQuery[str | None] = None,
        sort: FromQuery[str] = "name",
        limit: FromQuery[int] = 20,
        offset: FromQuery[int] = 0,
    ) -> Template:
        limit = limit if limit in PAGE_SIZES else PAGE_SIZES[0]
        offset = max(0, offset)
        if sort.lstrip("-") not in services.SORT_COLUMNS:
            sort = "name"
        chosen = EngagementStatus(status) if status in set(EngagementStatus) else None
        only_sensitive = {"yes": True, "no": False}.get(sensitive or "")
        where = services.EngagementFilter(status=chosen, sensitive=only_sensitive, q=(q or "").strip()[:100] or None)
        rows, total = await services.get_all(db_session, where=where, sort=sort, limit=limit, offset=offset)
        vendors = await vendor_names(db_session, [row.vendor_id for row in rows])
        params = {"q": q or "", "status": chosen or "", "sensitive": sensitive or "", "sort": sort, "limit": limit}

        def url(**change: Any) -> str:
            return "/engagements?" + urlencode({**params, **change})

        return page(
            request,
            "engagements/list.html",
            nav="engagements",
            rows=rows,
            total=total,
            limit=limit,
            offset=offset,
            q=q or "",
            status=chosen or "",
            sensitive=sensitive or "",
            sort=sort,
            statuses=list(EngagementStatus),
            vendors=vendors,
            url=url,
            page_sizes=PAGE_SIZES,
        )

    @get("/new")
    async def new_form(
        self, request: Request[Any, Any, Any], db_session: DbSession, vendor_id: FromQuery[str | None] = None
    ) -> Template:
        data: dict[str, Any] = {"vendor_id": vendor_id or "", "status": "proposed", "legal_basis": "consent"}
        return await _form(request, db_session, data)

    @post("/new")
    async def create(
        self, request: Request[Any, Any, Any], db_session: DbSession, settle: Settle, actor: CurrentActor
    ) -> Template | Redirect:
        form = await request.form()
        data = _form_data(form)
        checking = form.get("action") != "save"
        try:
            if checking:  # the before-you-buy check: nothing is stored
                proposal = EngagementProposal.model_validate(data)
                services.check_consistency(proposal)
                raised = await findings.check(db_session, proposal)
                return await _form(request, db_session, data, checked=raised)
            engagement = await services.create(db_session, data=EngagementCreate.model_validate(data), actor=actor)
        except Exception as error:  # a refusal is shown beside its field; errors_of re-raises a bug
            await db_session.rollback()
            return await _form(request, db_session, data, error=error)
        await settle()
        return see_other(f"/engagements/{engagement.id}")

    @get("/{engagement_id:uuid}/edit")
    async def edit_form(
        self, request: Request[Any, Any, Any], db_session: DbSession, engagement_id: FromPath[uuid.UUID]
    ) -> Template:
        engagement = await services.get(db_session, engagement_id=engagement_id)
        data = engagement.model_dump()
        data["venues"] = [venue.model_dump() for venue in engagement.venues]
        data["storage_locations"] = [location.model_dump() for location in engagement.storage_locations]
        return await _form(request, db_session, data, engagement_id=engagement_id)

    @post("/{engagement_id:uuid}/edit")
    async def update(
        self,
        request: Request[Any, Any, Any],
        db_session: DbSession,
        settle: Settle,
        actor: CurrentActor,
        engagement_id: FromPath[uuid.UUID],
    ) -> Template | Redirect:
        form = await request.form()
        data = _form_data(form)
        engagement = await services.get(db_session, engagement_id=engagement_id)
        # The form edits the first venue and storage location; the others stay as they are.
        for name in ("venues", "storage_locations"):
            kept = [item.model_dump(mode="json") for item in getattr(engagement, name)[1:]]
            if name in data and kept:
                data[name] = data[name] + kept
        try:
            if form.get("action") != "save":  # check the engagement as it would be after the change
                merged = {**engagement.model_dump(mode="json"), **data}
                proposal = EngagementProposal.model_validate(merged)
                services.check_consistency(proposal)
                raised = await findings.check(db_session, proposal)
                return await _form(request, db_session, data, checked=raised, engagement_id=engagement_id)
            await services.update(
                db_session, engagement_id=engagement_id, patch=EngagementUpdate.model_validate(data), actor=actor
            )
        except Exception as error:  # a refusal is shown beside its field; errors_of re-raises a bug
            await db_session.rollback()
            return await _form(request, db_session, data, error=error, engagement_id=engagement_id)
        await settle()
        return see_other(f"/engagements/{engagement_id}")

    @post("/check")
    async def live_check(self, request: Request[Any, Any, Any], db_session: DbSession) -> Template:
        """The before-you-buy check while the form is filled in (pages.js sends the form here as it
        changes): the findings as a fragment of the page, or what is still missing. Stores nothing."""
        data = _form_data(await request.form())
        try:
            proposal = EngagementProposal.model_validate(data)
            services.check_consistency(proposal)
            raised = await findings.check(db_session, proposal)
        except Exception as error:  # an unfinished form: say what is missing; errors_of re-raises a bug
            return page(request, "engagements/_check.html", checked=None, missing=errors_of(error))
        return page(request, "engagements/_check.html", checked=raised, missing=None)

    @get("/{engagement_id:uuid}")
    async def detail(
        self, request: Request[Any, Any, Any], db_session: DbSession, engagement_id: FromPath[uuid.UUID]
    ) -> Template:
        return await render_detail(request, db_session, engagement_id)


async def render_detail(
    request: Request[Any, Any, Any],
    db_session: Any,
    engagement_id: uuid.UUID,
    *,
    failed: tuple[uuid.UUID, Errors] | None = None,
    status_code: int = 200,
) -> Template:
    """The engagement's page; `failed`: the questionnaire whose review form failed, and why."""
    engagement = await services.get(db_session, engagement_id=engagement_id)
    found, _ = await findings.get_all(
        db_session,
        where=findings.FindingFilter(engagement_id=engagement_id, status=None),
        limit=MAX_PAGE,
        worst_first=True,
    )
    owed, _ = await obligations.get_all(
        db_session, where=obligations.ObligationFilter(engagement_id=engagement_id), limit=MAX_PAGE
    )
    vendors = await vendor_names(db_session, [engagement.vendor_id])
    owners = await user_names(db_session, [engagement.owner_id])
    history, _ = await audit.get_all(
        db_session,
        where=audit.AuditFilter(object_type=AuditObject.engagement, object_id=str(engagement_id)),
        limit=20,
    )
    return page(
        request,
        "engagements/detail.html",
        status_code=status_code,
        nav="engagements",
        engagement=engagement,
        findings=found,
        obligations=owed,
        history=history,
        vendors=vendors,
        owners=owners,
        specs=SPECS,
        categories=taxonomy.categories(),
        failed=failed[0] if failed else None,
        errors=failed[1] if failed else Errors(),
        **await questionnaire_section(db_session, engagement_id),
    )


async def _form(
    request: Request[Any, Any, Any],
    db_session: Any,
    data: dict[str, Any],
    *,
    error: Exception | None = None,
    checked: list[Any] | None = None,
    engagement_id: uuid.UUID | None = None,
) -> Template:
    context: dict[str, Any] = {}
    status_code = 200
    if error is not None:
        context["errors"] = _field_errors(errors_of(error))
        status_code = getattr(error, "status_code", 400)
    venue = (data.get("venues") or [{}])[0]
    storage = (data.get("storage_locations") or [{}])[0]
    return page(
        request,
        "engagements/form.html",
        status_code=status_code,
        nav="engagements",
        engagement_id=engagement_id,
        data=data,
        venue=venue,
        storage=storage,
        checked=checked,
        vendors=await all_vendors(db_session),
        categories=list(taxonomy.categories().values()),
        methods=list(ProcessingMethod),
        subjects=list(DataSubject),
        bases=list(LegalBasis),
        venue_types=list(VenueType),
        equipment=list(Equipment),
        statuses=list(EngagementStatus),
        **context,
    )
