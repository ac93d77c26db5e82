from __future__ import annotations

import uuid

from litestar import Controller, get
from litestar.params import FromQuery

from app.core.deps import CurrentActor, DbSession
from app.core.schemas import Limit, Offset, Page
from app.obligations import services
from app.obligations.schemas import ObligationKind, ObligationPublic, ObligationStatus, Party, VendorObligation


class ObligationController(Controller):
    path = "/api/obligations"
    tags = ("obligations",)

    @get("/", summary="Obligations derived from agreements and attestations, earliest due first")
    async def list_obligations(
        self,
        db_session: DbSession,
        vendor_id: FromQuery[uuid.UUID | None] = None,
        engagement_id: FromQuery[uuid.UUID | None] = None,
        kind: FromQuery[ObligationKind | None] = None,
        status: FromQuery[ObligationStatus | None] = None,
        party: FromQuery[Party | None] = None,
        limit: Limit = 50,
        offset: Offset = 0,
    ) -> Page[ObligationPublic]:
        rows, total = await services.get_all(
            db_session,
            vendor_id=vendor_id,
            engagement_id=engagement_id,
            kind=kind,
            status=status,
            party=party,
            limit=limit,
            offset=offset,
        )
        return Page(items=[services.public(row) for row in rows], total=total, limit=limit, offset=offset)


class VendorObligationController(Controller):
    path = "/obligations"
    tags = ("vendor API",)

    @get("/", summary="What you owe us and by when (open obligations, earliest due first)")
    async def list_obligations(self, db_session: DbSession, actor: CurrentActor) -> list[VendorObligation]:
        rows = await services.open_for_vendor(db_session, vendor_id=actor.vendor)
        return [services.for_vendor(row) for row in rows]
