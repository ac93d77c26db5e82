from __future__ import annotations

import uuid
from datetime import date
from typing import Annotated

from litestar import Controller, Response, get, post
from litestar.params import FromPath, FromQuery, JSONBody, QueryParameter

from app.core import conditional
from app.core.deps import CurrentActor, DbSession, Settle
from app.core.queries import get_or_404
from app.core.schemas import Limit, Offset, Page
from app.obligations import services
from app.obligations.models import Obligation
from app.obligations.schemas import (
    Completion,
    ObligationKind,
    ObligationPublic,
    Party,
    StatusFilter,
    VendorObligation,
    Waiver,
)


class ObligationController(Controller):
    path = "/api/obligations"
    tags = ("obligations",)

    @get("/", summary="Obligations derived from the registry, earliest due first")
    async def list_obligations(
        self,
        db_session: DbSession,
        vendor_id: FromQuery[uuid.UUID | None] = None,
        engagement_id: FromQuery[uuid.UUID | None] = None,
        agreement_id: FromQuery[uuid.UUID | None] = None,
        owner_id: FromQuery[uuid.UUID | None] = None,
        kind: FromQuery[ObligationKind | None] = None,
        status: FromQuery[StatusFilter | None] = None,
        party: FromQuery[Party | None] = None,
        due_before: FromQuery[date | None] = None,
        due_after: FromQuery[date | None] = None,
        overdue: FromQuery[bool | None] = None,
        company: Annotated[
            bool | None, QueryParameter(description="true: only the company's own duties (no engagement)")
        ] = None,
        limit: Limit = 50,
        offset: Offset = 0,
    ) -> Page[ObligationPublic]:
        if overdue:
            status = StatusFilter.overdue
        where = services.ObligationFilter(
            vendor_id=vendor_id,
            engagement_id=engagement_id,
            agreement_id=agreement_id,
            owner_id=owner_id,
            kind=kind,
            status=status,
            party=party,
            due_before=due_before,
            due_after=due_after,
            company=company,
        )
        rows, total = await services.get_all(db_session, where=where, limit=limit, offset=offset)
        return Page(items=[services.public(row) for row in rows], total=total, limit=limit, offset=offset)

    @get("/{obligation_id:uuid}", summary="One obligation")
    async def get_obligation(self, db_session: DbSession, obligation_id: FromPath[uuid.UUID]) -> ObligationPublic:
        return services.public(await get_or_404(db_session, Obligation, obligation_id, "obligation"))

    @post("/{obligation_id:uuid}/waive", status_code=200, summary="Waive with a reason (its owner, the DPO, admin)")
    async def waive(
        self,
        db_session: DbSession,
        settle: Settle,
        actor: CurrentActor,
        obligation_id: FromPath[uuid.UUID],
        data: JSONBody[Waiver],
    ) -> ObligationPublic:
        obligation = await services.waive(db_session, obligation_id=obligation_id, reason=data.reason, actor=actor)
        await settle()
        return services.public(obligation)

    @post(
        "/{obligation_id:uuid}/complete",
        status_code=200,
        summary="Mark done a filing or decision no data shows, with its reference",
    )
    async def complete(
        self,
        db_session: DbSession,
        settle: Settle,
        actor: CurrentActor,
        obligation_id: FromPath[uuid.UUID],
        data: JSONBody[Completion],
    ) -> ObligationPublic:
        obligation = await services.complete(
            db_session, obligation_id=obligation_id, reference=data.reference, actor=actor
        )
        await settle()
        return services.public(obligation)


class VendorObligationController(Controller):
    path = "/obligations"
    tags = ("vendor API",)

    @get(
        "/",
        summary="What you owe us and by when (open obligations, earliest due first)",
        operation_id="list_obligations",
        response_headers=[conditional.ETAG],
        responses=conditional.NOT_MODIFIED,
    )
    async def list_obligations(
        self,
        db_session: DbSession,
        actor: CurrentActor,
        updated_since: conditional.UpdatedSince = None,
        if_none_match: conditional.IfNoneMatch = None,
        limit: Limit = 50,
        offset: Offset = 0,
    ) -> Response[Page[VendorObligation]]:
        where = services.ObligationFilter.owed_by(actor.vendor, conditional.since(updated_since))
        rows, total = await services.get_all(db_session, where=where, limit=limit, offset=offset)
        states = await services.vendor_states(db_session, rows)
        items = [services.for_vendor(r, states[r.id]) for r in rows]
        page = Page[VendorObligation](items=items, total=total, limit=limit, offset=offset)
        return conditional.respond(page, if_none_match)
