from __future__ import annotations

from litestar import Controller, get, put
from litestar.params import JSONBody

from app.core.deps import CurrentActor, DbSession, Settle
from app.handler import services
from app.handler.schemas import HandlerProfilePublic, HandlerProfileUpdate


class HandlerController(Controller):
    path = "/api/handler"
    tags = ("handler",)

    @get("/", summary="The PI handler's profile (the company this registry serves)")
    async def get_profile(self, db_session: DbSession) -> HandlerProfilePublic:
        return HandlerProfilePublic.model_validate(await services.get(db_session))

    @put("/", summary="Set the PI handler's profile (admin, DPO)")
    async def put_profile(
        self, db_session: DbSession, settle: Settle, actor: CurrentActor, data: JSONBody[HandlerProfileUpdate]
    ) -> HandlerProfilePublic:
        profile = await services.put(db_session, data=data, actor=actor)
        await settle()
        return HandlerProfilePublic.model_validate(profile)
