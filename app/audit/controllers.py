from __future__ import annotations

from typing import Annotated

from litestar import Controller, get
from litestar.params import QueryParameter

from app.audit import services
from app.audit.schemas import AuditEntryPublic
from app.core.actor import Role
from app.core.deps import CurrentActor, DbSession
from app.core.fields import NO_CONTROL_CHARACTERS
from app.core.schemas import Limit, Offset, Page


class AuditController(Controller):
    path = "/api/audit"
    tags = ("audit",)

    @get("/", summary="The audit trail, newest first (admin, DPO, auditor)")
    async def list_entries(
        self,
        db_session: DbSession,
        actor: CurrentActor,
        object_type: Annotated[str | None, QueryParameter(max_length=40, pattern=NO_CONTROL_CHARACTERS)] = None,
        object_id: Annotated[str | None, QueryParameter(max_length=64, pattern=NO_CONTROL_CHARACTERS)] = None,
        limit: Limit = 50,
        offset: Offset = 0,
    ) -> Page[AuditEntryPublic]:
        actor.require_role(Role.dpo, Role.auditor)
        where = services.AuditFilter(object_type=object_type, object_id=object_id)
        rows, total = await services.get_all(db_session, where=where, limit=limit, offset=offset)
        return Page(
            items=[AuditEntryPublic.model_validate(row) for row in rows],
            total=total,
            limit=limit,
            offset=offset,
        )
