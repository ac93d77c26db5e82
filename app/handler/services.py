from __future__ import annotations

import uuid

import anyio.to_thread
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.audit import services as audit
from app.audit.schemas import AuditAction, AuditObject
from app.core.actor import Actor, Role
from app.core.changes import mark
from app.core.errors import ConflictError, NotFoundError
from app.core.queries import get_or_404, paginate
from app.core.storage import FileStore
from app.core.types import utcnow
from app.core.uploads import CheckedFile
from app.handler.models import PROFILE_ID, AuditOrder, HandlerProfile
from app.handler.schemas import AuditOrderCreate, AuditOrderPublic, AuditReportPublic, HandlerProfileUpdate


async def get(session: AsyncSession) -> HandlerProfile:
    profile = await session.get(HandlerProfile, PROFILE_ID)
    if profile is None:
        raise NotFoundError("the handler profile is not set yet: PUT /api/handler", zh="尚未填写公司信息")
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


def order_public(order: AuditOrder) -> AuditOrderPublic:
    report = None
    if order.report_sha256 is not None and order.report_uploaded_at is not None:
        report = AuditReportPublic(
            filename=order.report_filename,
            content_type=order.report_content_type,
            size=order.report_size or 0,
            sha256=order.report_sha256,
            uploaded_at=order.report_uploaded_at,
        )
    return AuditOrderPublic.model_validate({**order.model_dump(), "report": report})


async def create_audit_order(session: AsyncSession, *, data: AuditOrderCreate, actor: Actor) -> AuditOrder:
    """Record a regulator's order to audit (PIPL art. 64): the settle step opens its obligation."""
    actor.require_role(Role.dpo)
    order = AuditOrder(**data.model_dump())
    session.add(order)
    await session.flush()
    audit.record(session, actor, AuditAction.create, AuditObject.audit_order, order.id, data.model_dump(mode="json"))
    mark(session, f"compliance audit ordered by {order.authority}, recorded by {actor.label}", handler=True)
    return order


async def get_audit_orders(session: AsyncSession, *, limit: int = 50, offset: int = 0) -> tuple[list[AuditOrder], int]:
    query = select(AuditOrder).order_by(col(AuditOrder.deadline), col(AuditOrder.id))
    return await paginate(session, query, limit=limit, offset=offset)


async def get_audit_order(session: AsyncSession, *, order_id: uuid.UUID) -> AuditOrder:
    return await get_or_404(session, AuditOrder, order_id, "audit order")


async def attach_audit_report(
    session: AsyncSession, *, order_id: uuid.UUID, file: CheckedFile, storage: FileStore, actor: Actor
) -> AuditOrder:
    """The audit report: the evidence that closes the order's obligation (settle). Sent once; a
    report already recorded is not replaced, so the evidence the obligation was closed on stays."""
    actor.require_role(Role.dpo)
    order = await get_audit_order(session, order_id=order_id)
    if order.report_sha256 is not None:
        raise ConflictError(
            f"this order's audit report is already recorded ({order.report_filename})",
            zh=f"该要求的审计报告已记录（{order.report_filename}）",
        )
    stored = await anyio.to_thread.run_sync(storage.put, file.data, file.sha256)
    order.report_sha256, order.report_size = stored.sha256, stored.size
    order.report_filename, order.report_content_type = file.filename, file.content_type
    order.report_uploaded_at = utcnow()
    changes = {"report": {"filename": file.filename, "sha256": stored.sha256, "size": stored.size}}
    audit.record(session, actor, AuditAction.update, AuditObject.audit_order, order.id, changes)
    mark(session, f"audit report for {order.authority}'s order recorded by {actor.label}", handler=True)
    return order


async def get_audit_report(
    session: AsyncSession, *, order_id: uuid.UUID, storage: FileStore
) -> tuple[AuditOrder, bytes]:
    order = await get_audit_order(session, order_id=order_id)
    if order.report_sha256 is None:
        raise NotFoundError("no audit report is recorded for this order yet", zh="该要求尚未记录审计报告")
    return order, await anyio.to_thread.run_sync(storage.get, order.report_sha256)
