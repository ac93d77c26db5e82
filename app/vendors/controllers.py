from __future__ import annotations

import uuid
from typing import Annotated

from litestar import Controller, delete, get, patch, post
from litestar.params import FromPath, FromQuery, JSONBody, QueryParameter

from app.core.deps import CurrentActor, DbSession, Settle
from app.core.schemas import Limit, Offset, Page, SearchText, from_row
from app.vendors import services
from app.vendors.schemas import (
    VendorCreate,
    VendorKeyCreate,
    VendorKeyIssued,
    VendorKeyPublic,
    VendorPublic,
    VendorStatus,
    VendorUpdate,
)

SORT_HELP = "One of " + ", ".join(services.SORT_COLUMNS) + "; prefix - for descending."


class VendorController(Controller):
    path = "/api/vendors"
    tags = ("vendors",)

    @get("/", summary="List vendors")
    async def list_vendors(
        self,
        db_session: DbSession,
        status: FromQuery[VendorStatus | None] = None,
        owner_id: FromQuery[uuid.UUID | None] = None,
        country: Annotated[
            str | None, QueryParameter(pattern="^[A-Za-z]{2}$", description="ISO 3166-1 alpha-2.")
        ] = None,
        q: SearchText = None,
        sort: Annotated[str, QueryParameter(description=SORT_HELP)] = "legal_name_zh",
        limit: Limit = 50,
        offset: Offset = 0,
    ) -> Page[VendorPublic]:
        where = services.VendorFilter(status=status, owner_id=owner_id, country=country, q=q)
        rows, total = await services.get_all(db_session, where=where, sort=sort, limit=limit, offset=offset)
        return Page(
            items=[from_row(VendorPublic, row) for row in rows],
            total=total,
            limit=limit,
            offset=offset,
        )

    @post("/", summary="Register a vendor")
    async def create_vendor(
        self, db_session: DbSession, settle: Settle, actor: CurrentActor, data: JSONBody[VendorCreate]
    ) -> VendorPublic:
        vendor = await services.create(db_session, data=data, actor=actor)
        await settle()
        return VendorPublic.model_validate(vendor)

    @get("/{vendor_id:uuid}", summary="Get a vendor")
    async def get_vendor(self, db_session: DbSession, vendor_id: FromPath[uuid.UUID]) -> VendorPublic:
        return VendorPublic.model_validate(await services.get(db_session, vendor_id=vendor_id))

    @patch("/{vendor_id:uuid}", summary="Change a vendor (owner or admin)")
    async def update_vendor(
        self,
        db_session: DbSession,
        settle: Settle,
        actor: CurrentActor,
        vendor_id: FromPath[uuid.UUID],
        data: JSONBody[VendorUpdate],  # type: ignore[valid-type]
    ) -> VendorPublic:
        vendor = await services.update(db_session, vendor_id=vendor_id, patch=data, actor=actor)
        await settle()
        return VendorPublic.model_validate(vendor)

    @delete("/{vendor_id:uuid}", summary="Delete a vendor without engagements (owner or admin)")
    async def delete_vendor(
        self, db_session: DbSession, settle: Settle, actor: CurrentActor, vendor_id: FromPath[uuid.UUID]
    ) -> None:
        await services.delete(db_session, vendor_id=vendor_id, actor=actor)
        await settle()


class VendorKeyController(Controller):
    path = "/api/vendors/{vendor_id:uuid}/keys"
    tags = ("vendors",)

    @get("/", summary="A vendor's API keys (prefix, expiry, last use; never the key)")
    async def list_keys(
        self,
        db_session: DbSession,
        actor: CurrentActor,
        vendor_id: FromPath[uuid.UUID],
        limit: Limit = 50,
        offset: Offset = 0,
    ) -> Page[VendorKeyPublic]:
        where = services.VendorKeyFilter(vendor_id=vendor_id)
        rows, total = await services.get_keys(db_session, where=where, actor=actor, limit=limit, offset=offset)
        return Page(items=[VendorKeyPublic.model_validate(r) for r in rows], total=total, limit=limit, offset=offset)

    @post("/", summary="Issue a key for this vendor (admin, DPO or the vendor's owner); shown once")
    async def issue_key(
        self,
        db_session: DbSession,
        settle: Settle,
        actor: CurrentActor,
        vendor_id: FromPath[uuid.UUID],
        data: JSONBody[VendorKeyCreate],
    ) -> VendorKeyIssued:
        key, row = await services.issue_key(db_session, vendor_id=vendor_id, data=data, actor=actor)
        await settle()
        return VendorKeyIssued.model_validate({**VendorKeyPublic.model_validate(row).model_dump(), "key": key})

    @delete("/{key_id:uuid}", summary="Revoke a vendor key, at once on every instance")
    async def revoke_key(
        self,
        db_session: DbSession,
        settle: Settle,
        actor: CurrentActor,
        vendor_id: FromPath[uuid.UUID],
        key_id: FromPath[uuid.UUID],
    ) -> None:
        await services.revoke_key(db_session, vendor_id=vendor_id, key_id=key_id, actor=actor)
        await settle()
