"""受托方 Vendors: list with search, filters, sort and pages; detail; create and edit."""

from __future__ import annotations

import uuid
from typing import Any
from urllib.parse import urlencode

from litestar import Controller, Request, get, post
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect, Template
from sqlalchemy.ext.asyncio import AsyncSession

from app.agreements import services as agreements
from app.audit import services as audit
from app.audit.schemas import AuditObject
from app.contacts import services as contacts
from app.contacts.schemas import ContactInvite
from app.core.actor import Actor
from app.core.deps import CurrentActor, DbSession, Settle
from app.core.errors import PermissionDeniedError
from app.core.schemas import MAX_PAGE
from app.core.settings import Settings
from app.engagements import services as engagements
from app.findings import services as findings
from app.obligations import services as obligations
from app.obligations.kinds import SPECS
from app.obligations.schemas import StatusFilter
from app.pages.lookups import active_users, engagement_names, user_names
from app.pages.web import Errors, errors_of, page, see_other
from app.vendors import services
from app.vendors.schemas import VendorCreate, VendorKeyCreate, VendorStatus, VendorUpdate

PAGE_SIZES = (20, 50, 100)
TEXT_FIELDS = (
    "legal_name_zh",
    "legal_name_en",
    "country",
    "unified_social_credit_code",
    "registration_number",
    "address",
    "website",
)


def _form_data(form: Any) -> dict[str, Any]:
    """The vendor as the form sent it: blanks are absent, one contact."""
    data: dict[str, Any] = {name: str(form.get(name, "")).strip() for name in TEXT_FIELDS}
    for optional in ("unified_social_credit_code", "registration_number"):
        if not data[optional]:
            data[optional] = None
    data["country"] = (data["country"] or "CN").upper()
    data["status"] = str(form.get("status", "prospective"))
    owner = str(form.get("owner_id", "")).strip()
    data["owner_id"] = owner or None
    contact = {key: str(form.get(f"contact_{key}", "")).strip() for key in ("name", "email", "role", "phone")}
    data["contacts"] = [contact] if contact["name"] or contact["email"] else []
    return data


def _contact_errors(errors: Any) -> Any:
    # contacts.0.email -> contact_email, so that the message stands beside its field
    for key in list(errors.fields):
        if key.startswith("contacts.0."):
            errors.fields["contact_" + key.split(".")[2]] = errors.fields.pop(key)
    return errors


class VendorPages(Controller):
    path = "/vendors"
    include_in_schema = False

    @get("/")
    async def list_vendors(
        self,
        request: Request[Any, Any, Any],
        db_session: DbSession,
        q: FromQuery[str | None] = None,
        status: FromQuery[str | None] = None,
        sort: FromQuery[str] = "legal_name_zh",
        limit: FromQuery[int] = 20,
        offset: FromQuery[int] = 0,
    ) -> Template:
        limit = limit if limit in PAGE_SIZES else PAGE_SIZES[0]
        offset = max(0, offset)
        if sort.lstrip("-") not in services.SORT_COLUMNS:
            sort = "legal_name_zh"
        chosen = VendorStatus(status) if status in set(VendorStatus) else None
        where = services.VendorFilter(status=chosen, q=(q or "").strip()[:100] or None)
        rows, total = await services.get_all(db_session, where=where, sort=sort, limit=limit, offset=offset)
        owners = await user_names(db_session, [row.owner_id for row in rows])
        params = {"q": q or "", "status": chosen or "", "sort": sort, "limit": limit}

        def url(**change: Any) -> str:
            return "/vendors?" + urlencode({**params, **change})

        return page(
            request,
            "vendors/list.html",
            nav="vendors",
            rows=rows,
            total=total,
            limit=limit,
            offset=offset,
            q=q or "",
            status=chosen or "",
            sort=sort,
            statuses=list(VendorStatus),
            owners=owners,
            url=url,
            page_sizes=PAGE_SIZES,
        )

    @get("/new")
    async def new_form(self, request: Request[Any, Any, Any], db_session: DbSession) -> Template:
        return await _form(request, db_session, None, {"country": "CN", "status": "prospective", "contacts": []})

    @post("/new")
    async def create(
        self, request: Request[Any, Any, Any], db_session: DbSession, settle: Settle, actor: CurrentActor
    ) -> Template | Redirect:
        data = _form_data(await request.form())
        try:
            vendor = await services.create(db_session, data=VendorCreate.model_validate(data), actor=actor)
        except Exception as error:  # a refusal is shown beside its field; errors_of re-raises a bug
            await db_session.rollback()
            return await _form(request, db_session, None, data, error)
        await settle()
        return see_other(f"/vendors/{vendor.id}")

    @get("/{vendor_id:uuid}")
    async def detail(
        self,
        request: Request[Any, Any, Any],
        db_session: DbSession,
        actor: CurrentActor,
        vendor_id: FromPath[uuid.UUID],
    ) -> Template:
        return await _detail(request, db_session, actor, vendor_id)

    @post("/{vendor_id:uuid}/keys")
    async def issue_key(
        self,
        request: Request[Any, Any, Any],
        db_session: DbSession,
        settle: Settle,
        actor: CurrentActor,
        vendor_id: FromPath[uuid.UUID],
    ) -> Template:
        """A key for the vendor's API, shown once on the page that answers."""
        form = await request.form()
        networks = [part.strip() for part in str(form.get("allowed_networks", "")).split(",") if part.strip()]
        try:
            data = VendorKeyCreate.model_validate(
                {"name": str(form.get("name", "")).strip(), "allowed_networks": networks, "test": "test" in form}
            )
            key, _ = await services.issue_key(db_session, vendor_id=vendor_id, data=data, actor=actor)
        except Exception as error:  # beside its field; errors_of re-raises a bug
            await db_session.rollback()
            status_code = getattr(error, "status_code", 400)
            return await _detail(request, db_session, actor, vendor_id, errors_of(error), status_code)
        await settle()
        return await _detail(request, db_session, actor, vendor_id, issued=key)

    @post("/{vendor_id:uuid}/keys/{key_id:uuid}/revoke")
    async def revoke_key(
        self,
        db_session: DbSession,
        settle: Settle,
        actor: CurrentActor,
        vendor_id: FromPath[uuid.UUID],
        key_id: FromPath[uuid.UUID],
    ) -> Redirect:
        await services.revoke_key(db_session, vendor_id=vendor_id, key_id=key_id, actor=actor)
        await settle()
        return see_other(f"/vendors/{vendor_id}")

    @post("/{vendor_id:uuid}/contacts")
    async def invite_contact(
        self,
        request: Request[Any, Any, Any],
        db_session: DbSession,
        settle: Settle,
        actor: CurrentActor,
        vendor_id: FromPath[uuid.UUID],
    ) -> Template:
        """Invite a person of the vendor to the portal: the link goes by e-mail, never on the page."""
        form = await request.form()
        settings: Settings = request.app.state.settings
        try:
            await contacts.may_manage(db_session, vendor_id=vendor_id, actor=actor)  # a refusal before a field error
            data = ContactInvite.model_validate(
                {"email": str(form.get("email", "")).strip(), "name": str(form.get("contact_name", "")).strip()}
            )
            await contacts.invite(db_session, vendor_id=vendor_id, data=data, actor=actor, base_url=settings.base_url)
        except Exception as error:  # beside its field; errors_of re-raises a bug
            await db_session.rollback()
            found = errors_of(error)
            if "name" in found.fields:
                found.fields["contact_name"] = found.fields.pop("name")
            status_code = getattr(error, "status_code", 400)
            return await _detail(request, db_session, actor, vendor_id, status_code=status_code, contact_errors=found)
        await settle()
        return await _detail(request, db_session, actor, vendor_id, invited=data.email)

    @post("/{vendor_id:uuid}/contacts/{contact_id:uuid}/reinvite")
    async def reinvite_contact(
        self,
        request: Request[Any, Any, Any],
        db_session: DbSession,
        settle: Settle,
        actor: CurrentActor,
        vendor_id: FromPath[uuid.UUID],
        contact_id: FromPath[uuid.UUID],
    ) -> Template:
        settings: Settings = request.app.state.settings
        contact, _ = await contacts.reinvite(
            db_session, vendor_id=vendor_id, contact_id=contact_id, actor=actor, base_url=settings.base_url
        )
        await settle()
        return await _detail(request, db_session, actor, vendor_id, invited=contact.email)

    @post("/{vendor_id:uuid}/contacts/{contact_id:uuid}/disable")
    async def disable_contact(
        self,
        db_session: DbSession,
        settle: Settle,
        actor: CurrentActor,
        vendor_id: FromPath[uuid.UUID],
        contact_id: FromPath[uuid.UUID],
    ) -> Redirect:
        await contacts.disable(db_session, vendor_id=vendor_id, contact_id=contact_id, actor=actor)
        await settle()
        return see_other(f"/vendors/{vendor_id}#contacts")

    @get("/{vendor_id:uuid}/edit")
    async def edit_form(
        self, request: Request[Any, Any, Any], db_session: DbSession, vendor_id: FromPath[uuid.UUID]
    ) -> Template:
        vendor = await services.get(db_session, vendor_id=vendor_id)
        data = vendor.model_dump()
        data["contacts"] = [c.model_dump() for c in vendor.contacts]
        return await _form(request, db_session, vendor_id, data)

    @post("/{vendor_id:uuid}/edit")
    async def update(
        self,
        request: Request[Any, Any, Any],
        db_session: DbSession,
        settle: Settle,
        actor: CurrentActor,
        vendor_id: FromPath[uuid.UUID],
    ) -> Template | Redirect:
        data = _form_data(await request.form())
        vendor = await services.get(db_session, vendor_id=vendor_id)
        if len(vendor.contacts) > 1 and data["contacts"]:  # the form edits the first contact; the rest stay
            data["contacts"] = data["contacts"] + [c.model_dump() for c in vendor.contacts[1:]]
        try:
            await services.update(db_session, vendor_id=vendor_id, patch=VendorUpdate.model_validate(data), actor=actor)
        except Exception as error:  # a refusal is shown beside its field; errors_of re-raises a bug
            await db_session.rollback()
            return await _form(request, db_session, vendor_id, data, error)
        await settle()
        return see_other(f"/vendors/{vendor_id}")


async def _form(
    request: Request[Any, Any, Any],
    db_session: Any,
    vendor_id: uuid.UUID | None,
    data: dict[str, Any],
    error: Exception | None = None,
) -> Template:
    errors = _contact_errors(errors_of(error)) if error is not None else None
    contacts = data.get("contacts") or []
    return page(
        request,
        "vendors/form.html",
        status_code=(getattr(error, "status_code", 400) if error is not None else 200),
        nav="vendors",
        vendor_id=vendor_id,
        data=data,
        contact=contacts[0] if contacts else {},
        statuses=list(VendorStatus),
        users=await active_users(db_session),
        errors=errors or Errors(),
    )


async def _detail(
    request: Request[Any, Any, Any],
    db_session: AsyncSession,
    actor: Actor,
    vendor_id: uuid.UUID,
    errors: Errors | None = None,
    status_code: int = 200,
    *,
    issued: str = "",
    invited: str = "",
    contact_errors: Errors | None = None,
) -> Template:
    vendor = await services.get(db_session, vendor_id=vendor_id)
    engaged, _ = await engagements.get_all(
        db_session, where=engagements.EngagementFilter(vendor_id=vendor_id), sort="name", limit=MAX_PAGE, offset=0
    )
    found, _ = await findings.get_all(
        db_session, where=findings.FindingFilter(vendor_id=vendor_id), limit=MAX_PAGE, worst_first=True
    )
    owed, _ = await obligations.get_all(
        db_session, where=obligations.ObligationFilter(vendor_id=vendor_id, status=StatusFilter.open), limit=MAX_PAGE
    )
    signed, _ = await agreements.get_all(
        db_session, where=agreements.AgreementFilter(vendor_id=vendor_id), sort="-created_at", limit=MAX_PAGE, offset=0
    )
    try:  # the keys are the DPO's, an admin's and the vendor's owner's business
        keys: list[Any] | None = (
            await services.get_keys(
                db_session, where=services.VendorKeyFilter(vendor_id=vendor_id), actor=actor, limit=MAX_PAGE, offset=0
            )
        )[0]
    except PermissionDeniedError:
        keys = None
    people, _ = await contacts.get_all(
        db_session, where=contacts.ContactFilter(vendor_id=vendor_id), actor=actor, limit=MAX_PAGE
    )
    try:
        may_invite = bool(await contacts.may_manage(db_session, vendor_id=vendor_id, actor=actor))
    except PermissionDeniedError:
        may_invite = False
    names = await engagement_names(db_session, [f.engagement_id for f in found] + [a.engagement_id for a in signed])
    owners = await user_names(db_session, [vendor.owner_id])
    history, _ = await audit.get_all(
        db_session, where=audit.AuditFilter(object_type=AuditObject.vendor, object_id=str(vendor_id)), limit=20
    )
    return page(
        request,
        "vendors/detail.html",
        status_code=status_code,
        nav="vendors",
        vendor=vendor,
        engagements=engaged,
        findings=found,
        obligations=owed,
        agreements=signed,
        names=names,
        owners=owners,
        specs=SPECS,
        keys=keys,
        issued=issued,
        contacts=people,
        may_invite=may_invite,
        invited=invited,
        contact_errors=contact_errors or Errors(),
        history=history,
        errors=errors or Errors(),
    )
