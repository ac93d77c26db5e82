from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from app.audit import services as audit
from app.audit.schemas import AuditAction, AuditObject
from app.core.actor import Actor, Role
from app.core.changes import mark
from app.core.errors import NotFoundError
from app.handler.models import PROFILE_ID, HandlerProfile
from app.handler.schemas import HandlerProfileUpdate


async def get(session: AsyncSession) -> HandlerProfile:
    profile = await session.get(HandlerProfile, PROFILE_ID)
    if profile is None:
        raise NotFoundError("the handler profile is not set yet: PUT /api/handler")
    return profile


async def put(session: AsyncSession, *, data: HandlerProfileUpdate, actor: Actor) -> HandlerProfile:
    """Create or replace the profile; the DPO keeps it current along with admins."""
    actor.require_role(Role.dpo)
    profile = await session.get(HandlerProfile, PROFILE_ID)
    values = data.model_dump()
    if profile is None:
        profile = HandlerProfile(**values)
        session.add(profile)
        audit.record(session, actor, AuditAction.create, AuditObject.handler, PROFILE_ID, values)
    else:
        audit.apply_update(session, actor, profile, data, AuditObject.handler)
    # The handler's size and CIIO status feed the cross-border and officer rules of every engagement.
    mark(session, f"handler profile changed by {actor.label}", handler=True)
    return profile
