from __future__ import annotations

import uuid
from typing import Any

from litestar import Controller, Request, get, post
from litestar.params import FromPath, JSONBody

from app.contacts import services
from app.contacts.schemas import ContactInvite, ContactInvited, ContactPublic
from app.core.deps import CurrentActor, DbSession, Settle
from app.core.schemas import Limit, Offset, Page
from app.core.settings import Settings


def _invited(contact: Any, expires_at: Any) -> ContactInvited:
    return ContactInvited.model_validate({**services.public(contact).model_dump(), "link_expires_at": expires_at})


class VendorContactController(Controller):
    """A vendor's people with a portal account (/portal): invited by e-mail, listed, disabled."""

    path = "/api/vendors/{vendor_id:uuid}/contacts"
    tags = ("vendors",)

    @get("/", summary="A vendor's portal contacts")
    async def list_contacts(
        self,
        db_session: DbSession,
        actor: CurrentActor,
        vendor_id: FromPath[uuid.UUID],
        limit: Limit = 50,
        offset: Offset = 0,
    ) -> Page[ContactPublic]:
        where = services.ContactFilter(vendor_id=vendor_id)
        rows, total = await services.get_all(db_session, where=where, actor=actor, limit=limit, offset=offset)
        return Page(items=[services.public(row) for row in rows], total=total, limit=limit, offset=offset)

    @post(
        "/",
        summary="Invite a person of the vendor to the portal (procurement, the DPO, an admin or an engagement's "
        "owner): a single-use link to set a password, sent by e-mail",
    )
    async def invite(
        self,
        request: Request[Any, Any, Any],
        db_session: DbSession,
        settle: Settle,
        actor: CurrentActor,
        vendor_id: FromPath[uuid.UUID],
        data: JSONBody[ContactInvite],
    ) -> ContactInvited:
        settings: Settings = request.app.state.settings
        contact, expires = await services.invite(
            db_session, vendor_id=vendor_id, data=data, actor=actor, base_url=settings.base_url
        )
        await settle()
        return _invited(contact, expires)

    @post("/{contact_id:uuid}/reinvite", status_code=200, summary="Send a fresh invitation; re-enables the contact")
    async def reinvite(
        self,
        request: Request[Any, Any, Any],
        db_session: DbSession,
        settle: Settle,
        actor: CurrentActor,
        vendor_id: FromPath[uuid.UUID],
        contact_id: FromPath[uuid.UUID],
    ) -> ContactInvited:
        settings: Settings = request.app.state.settings
        contact, expires = await services.reinvite(
            db_session, vendor_id=vendor_id, contact_id=contact_id, actor=actor, base_url=settings.base_url
        )
        await settle()
        return _invited(contact, expires)

    @post("/{contact_id:uuid}/disable", status_code=200, summary="Disable a contact: its sessions end at once")
    async def disable(
        self,
        db_session: DbSession,
        settle: Settle,
        actor: CurrentActor,
        vendor_id: FromPath[uuid.UUID],
        contact_id: FromPath[uuid.UUID],
    ) -> ContactPublic:
        contact = await services.disable(db_session, vendor_id=vendor_id, contact_id=contact_id, actor=actor)
        await settle()
        return services.public(contact)
