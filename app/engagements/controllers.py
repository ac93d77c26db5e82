from __future__ import annotations

import uuid
from typing import Annotated

from litestar import Controller, delete, get, patch, post
from litestar.params import FromPath, FromQuery, JSONBody, QueryParameter

from app.core.deps import CurrentActor, DbSession, Settle
from app.core.schemas import Limit, Offset, Page, SearchText, from_row
from app.engagements import services, taxonomy
from app.engagements.models import Engagement, SubProcessor
from app.engagements.schemas import (
    EngagementCreate,
    EngagementPublic,
    EngagementStatus,
    EngagementUpdate,
    SubProcessorCreate,
    SubProcessorPublic,
    SubProcessorUpdate,
)
from app.engagements.taxonomy import PICategory

SORT_HELP = "One of " + ", ".join(services.SORT_COLUMNS) + "; prefix - for descending."


def _public(engagement: Engagement, subs: list[SubProcessor]) -> EngagementPublic:
    return from_row(EngagementPublic, engagement, sub_processors=[from_row(SubProcessorPublic, sub) for sub in subs])


async def _present(session: DbSession, engagement: Engagement) -> EngagementPublic:
    subs = await services.sub_processors_of(session, [engagement.id])
    return _public(engagement, subs[engagement.id])


class EngagementController(Controller):
    path = "/api/engagements"
    tags = ("engagements",)

    @get("/", summary="List engagements")
    async def list_engagements(
        self,
        db_session: DbSession,
        status: FromQuery[EngagementStatus | None] = None,
        owner_id: FromQuery[uuid.UUID | None] = None,
        vendor_id: FromQuery[uuid.UUID | None] = None,
        sensitive: Annotated[
            bool | None, QueryParameter(description="Only engagements with (or without) sensitive PI.")
        ] = None,
        q: SearchText = None,
        sort: Annotated[str, QueryParameter(description=SORT_HELP)] = "name",
        limit: Limit = 50,
        offset: Offset = 0,
    ) -> Page[EngagementPublic]:
        where = services.EngagementFilter(
            status=status, owner_id=owner_id, vendor_id=vendor_id, sensitive=sensitive, q=q
        )
        rows, total = await services.get_all(db_session, where=where, sort=sort, limit=limit, offset=offset)
        subs = await services.sub_processors_of(db_session, [row.id for row in rows])
        return Page(
            items=[_public(row, subs[row.id]) for row in rows],
            total=total,
            limit=limit,
            offset=offset,
        )

    @post("/", summary="Register an engagement of a vendor")
    async def create_engagement(
        self, db_session: DbSession, settle: Settle, actor: CurrentActor, data: JSONBody[EngagementCreate]
    ) -> EngagementPublic:
        engagement = await services.create(db_session, data=data, actor=actor)
        await settle()
        return await _present(db_session, engagement)

    @get("/{engagement_id:uuid}", summary="Get an engagement with its sub-processors")
    async def get_engagement(self, db_session: DbSession, engagement_id: FromPath[uuid.UUID]) -> EngagementPublic:
        return await _present(db_session, await services.get(db_session, engagement_id=engagement_id))

    @patch("/{engagement_id:uuid}", summary="Change an engagement (owner or admin)")
    async def update_engagement(
        self,
        db_session: DbSession,
        settle: Settle,
        actor: CurrentActor,
        engagement_id: FromPath[uuid.UUID],
        data: JSONBody[EngagementUpdate],  # type: ignore[valid-type]
    ) -> EngagementPublic:
        engagement = await services.update(db_session, engagement_id=engagement_id, patch=data, actor=actor)
        await settle()
        return await _present(db_session, engagement)

    @delete(
        "/{engagement_id:uuid}",
        summary="Delete an engagement and its sub-processors (owner or admin)",
    )
    async def delete_engagement(
        self, db_session: DbSession, settle: Settle, actor: CurrentActor, engagement_id: FromPath[uuid.UUID]
    ) -> None:
        await services.delete(db_session, engagement_id=engagement_id, actor=actor)
        await settle()

    @get("/{engagement_id:uuid}/sub-processors", summary="List an engagement's sub-processors")
    async def list_sub_processors(
        self, db_session: DbSession, engagement_id: FromPath[uuid.UUID], limit: Limit = 50, offset: Offset = 0
    ) -> Page[SubProcessorPublic]:
        where = services.SubProcessorFilter(engagement_id=engagement_id)
        rows, total = await services.get_sub_processors(db_session, where=where, limit=limit, offset=offset)
        return Page(items=[SubProcessorPublic.model_validate(r) for r in rows], total=total, limit=limit, offset=offset)

    @post("/{engagement_id:uuid}/sub-processors", summary="Add a sub-processor (转委托)")
    async def add_sub_processor(
        self,
        db_session: DbSession,
        settle: Settle,
        actor: CurrentActor,
        engagement_id: FromPath[uuid.UUID],
        data: JSONBody[SubProcessorCreate],
    ) -> SubProcessorPublic:
        sub = await services.add_sub_processor(db_session, engagement_id=engagement_id, data=data, actor=actor)
        await settle()
        return SubProcessorPublic.model_validate(sub)

    @get(
        "/{engagement_id:uuid}/sub-processors/{sub_processor_id:uuid}",
        summary="Get a sub-processor",
    )
    async def get_sub_processor(
        self, db_session: DbSession, engagement_id: FromPath[uuid.UUID], sub_processor_id: FromPath[uuid.UUID]
    ) -> SubProcessorPublic:
        sub = await services.get_sub_processor(
            db_session, engagement_id=engagement_id, sub_processor_id=sub_processor_id
        )
        return SubProcessorPublic.model_validate(sub)

    @patch(
        "/{engagement_id:uuid}/sub-processors/{sub_processor_id:uuid}",
        summary="Change a sub-processor",
    )
    async def update_sub_processor(
        self,
        db_session: DbSession,
        settle: Settle,
        actor: CurrentActor,
        engagement_id: FromPath[uuid.UUID],
        sub_processor_id: FromPath[uuid.UUID],
        data: JSONBody[SubProcessorUpdate],  # type: ignore[valid-type]
    ) -> SubProcessorPublic:
        sub = await services.update_sub_processor(
            db_session,
            engagement_id=engagement_id,
            sub_processor_id=sub_processor_id,
            patch=data,
            actor=actor,
        )
        await settle()
        return SubProcessorPublic.model_validate(sub)

    @delete(
        "/{engagement_id:uuid}/sub-processors/{sub_processor_id:uuid}",
        summary="Remove a sub-processor",
    )
    async def delete_sub_processor(
        self,
        db_session: DbSession,
        settle: Settle,
        actor: CurrentActor,
        engagement_id: FromPath[uuid.UUID],
        sub_processor_id: FromPath[uuid.UUID],
    ) -> None:
        await services.delete_sub_processor(
            db_session, engagement_id=engagement_id, sub_processor_id=sub_processor_id, actor=actor
        )
        await settle()


class PICategoryController(Controller):
    path = "/api/pi-categories"
    tags = ("engagements",)

    @get("/", summary="The PI category taxonomy, with which categories are sensitive (PIPL art. 28)")
    async def list_categories(self) -> list[PICategory]:
        return list(taxonomy.categories().values())
