"""Engagement rules: consistency of what is declared, ownership, sub-processors, audit."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from pydantic import BaseModel
from sqlalchemy import delete as sql_delete
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.accounts import services as accounts
from app.audit import services as audit
from app.audit.schemas import AuditAction, AuditObject
from app.core import clock
from app.core.actor import Actor
from app.core.changes import mark
from app.core.errors import FieldErrors, InvalidReferenceError, NotFoundError
from app.core.queries import get_or_404, order_by, paginate, where_contains, where_equal
from app.core.schemas import merge_patch
from app.engagements import taxonomy
from app.engagements.models import Engagement, SubProcessor
from app.engagements.schemas import (
    DataSubject,
    EngagementBase,
    EngagementCreate,
    EngagementStatus,
    SubProcessorCreate,
)
from app.vendors.models import Vendor

SORT_COLUMNS = {
    "name": col(Engagement.name),
    "status": col(Engagement.status),
    "start_date": col(Engagement.start_date),
    "end_date": col(Engagement.end_date),
    "individuals_count": col(Engagement.individuals_count),
    "created_at": col(Engagement.created_at),
    "updated_at": col(Engagement.updated_at),
}


@dataclass(frozen=True)
class EngagementFilter:
    status: EngagementStatus | None = None
    owner_id: uuid.UUID | None = None
    vendor_id: uuid.UUID | None = None
    sensitive: bool | None = None
    q: str | None = None


def processes_sensitive_pi(categories: list[str], subjects: list[DataSubject]) -> bool:
    """Sensitive PI under PIPL art. 28: a sensitive category, or any minor under 14."""
    return bool(taxonomy.sensitive(categories)) or DataSubject.minors_under_14 in subjects


def check_consistency(data: EngagementBase) -> None:
    errors = FieldErrors()
    if data.start_date and data.end_date and data.end_date < data.start_date:
        errors.add(
            "end_date",
            f"{data.end_date} is before start_date {data.start_date}",
            zh=f"结束日期 {data.end_date} 早于开始日期 {data.start_date}",
        )
    if data.pipia_reference and data.pipia_date is None:
        errors.add(
            "pipia_date",
            "a PIPIA reference needs the date of the assessment",
            zh="填写了个人信息保护影响评估编号，请同时填写评估日期",
        )
    if data.pipia_retained_until and data.pipia_date is None:
        errors.add(
            "pipia_date", "required when pipia_retained_until is given", zh="填写了评估报告保存期限，请同时填写评估日期"
        )
    if data.pipia_date and data.pipia_retained_until and data.pipia_retained_until < data.pipia_date:
        errors.add(
            "pipia_retained_until",
            f"{data.pipia_retained_until} is before pipia_date {data.pipia_date}",
            zh=f"评估报告保存至 {data.pipia_retained_until}，早于评估日期 {data.pipia_date}",
        )
    if data.individuals_count_as_of and data.individuals_count is None:
        errors.add(
            "individuals_count",
            "required when individuals_count_as_of is given",
            zh="填写了人数统计日期，请同时填写涉及个人数",
        )
    for prefix, what in (("consent", "同意"), ("separate_consent", "单独同意"), ("guardian_consent", "监护人同意")):
        if getattr(data, f"{prefix}_evidence") and not getattr(data, f"{prefix}_obtained"):
            errors.add(
                f"{prefix}_evidence",
                f"evidence given but {prefix}_obtained is false",
                zh=f"填写了{what}的证据，但未勾选已取得{what}",
            )
    abroad = [loc.country for loc in data.storage_locations if loc.country != "CN"]
    if not data.leaves_china:
        if abroad:
            errors.add(
                "leaves_china",
                f"data stored in {', '.join(abroad)} leaves China: set leaves_china to true",
                zh=f"数据存储于 {'、'.join(abroad)}，属于个人信息出境，请勾选“个人信息出境”",
            )
        if data.cross_border_recipients:
            errors.add(
                "cross_border_recipients",
                "recipients abroad given but leaves_china is false",
                zh="填写了境外接收方，但未勾选“个人信息出境”",
            )
        if data.cross_border_mechanism:
            errors.add(
                "cross_border_mechanism",
                "a transfer mechanism given but leaves_china is false",
                zh="填写了出境机制，但未勾选“个人信息出境”",
            )
    if data.cross_border_effective_on and not data.cross_border_mechanism:
        errors.add(
            "cross_border_effective_on",
            "give the cross_border_mechanism that took effect on this date",
            zh="请填写于该日期生效的出境机制",
        )
    errors.raise_if_any()


async def _check(session: AsyncSession, data: EngagementCreate) -> None:
    check_consistency(data)
    if await session.get(Vendor, data.vendor_id) is None:
        raise InvalidReferenceError("vendor_id", "no vendor has this id", zh="找不到该受托方")
    await accounts.check_owner(session, owner_id=data.owner_id)


def _complete(data: EngagementCreate, actor: Actor) -> EngagementCreate:
    """Defaults that depend on who acts and when: owner, and the date of the estimate."""
    update: dict[str, object] = {}
    if data.owner_id is None:
        update["owner_id"] = actor.user_id
    if data.individuals_count is not None and data.individuals_count_as_of is None:
        update["individuals_count_as_of"] = clock.today()
    return data.model_copy(update=update) if update else data


async def get(session: AsyncSession, *, engagement_id: uuid.UUID) -> Engagement:
    return await get_or_404(session, Engagement, engagement_id, "engagement")


async def get_all(
    session: AsyncSession, *, where: EngagementFilter, sort: str, limit: int, offset: int
) -> tuple[list[Engagement], int]:
    query = where_equal(
        select(Engagement),
        [
            (col(Engagement.status), where.status),
            (col(Engagement.owner_id), where.owner_id),
            (col(Engagement.vendor_id), where.vendor_id),
            (col(Engagement.processes_sensitive_pi), where.sensitive),
        ],
    )
    query = where_contains(query, [col(Engagement.name), col(Engagement.purpose)], where.q)
    query = query.order_by(*order_by(sort, SORT_COLUMNS, Engagement.id))
    return await paginate(session, query, limit=limit, offset=offset)


@dataclass(frozen=True)
class SubProcessorFilter:
    engagement_id: uuid.UUID


async def get_sub_processors(
    session: AsyncSession, *, where: SubProcessorFilter, limit: int, offset: int
) -> tuple[list[SubProcessor], int]:
    """One engagement's sub-processors, by name (a missing engagement is a 404)."""
    await get(session, engagement_id=where.engagement_id)
    query = select(SubProcessor).where(col(SubProcessor.engagement_id) == where.engagement_id)
    return await paginate(
        session, query.order_by(col(SubProcessor.name), col(SubProcessor.id)), limit=limit, offset=offset
    )


async def sub_processors_of(
    session: AsyncSession, engagement_ids: list[uuid.UUID]
) -> dict[uuid.UUID, list[SubProcessor]]:
    """Sub-processors of several engagements in one query (a page of a list)."""
    found: dict[uuid.UUID, list[SubProcessor]] = {engagement_id: [] for engagement_id in engagement_ids}
    if engagement_ids:
        rows = await session.scalars(
            select(SubProcessor)
            .where(col(SubProcessor.engagement_id).in_(engagement_ids))
            .order_by(col(SubProcessor.name), col(SubProcessor.id))
        )
        for row in rows:
            found[row.engagement_id].append(row)
    return found


async def check_create(session: AsyncSession, *, data: EngagementCreate, actor: Actor) -> EngagementCreate:
    """Everything `create` checks, writing nothing: what it would store (an import's preview)."""
    actor.require_writer(creating=True)
    data = _complete(data, actor)
    await _check(session, data)
    return data


async def create(session: AsyncSession, *, data: EngagementCreate, actor: Actor) -> Engagement:
    data = await check_create(session, data=data, actor=actor)
    engagement = Engagement.model_validate(data)
    engagement.processes_sensitive_pi = processes_sensitive_pi(data.pi_categories, data.data_subjects)
    session.add(engagement)
    await session.flush()
    audit.record(session, actor, AuditAction.create, AuditObject.engagement, engagement.id, data.model_dump())
    mark(session, f"engagement created by {actor.label}", engagement=engagement.id, created=True)
    return engagement


async def check_update(
    session: AsyncSession, *, engagement: Engagement, patch: BaseModel, actor: Actor
) -> EngagementCreate:
    """Everything `update` checks, writing nothing: the engagement as it would be (an import's preview)."""
    actor.require_writer(engagement.owner_id)
    data = _complete(merge_patch(engagement, patch, EngagementCreate), actor)
    await _check(session, data)
    return data


async def update(session: AsyncSession, *, engagement_id: uuid.UUID, patch: BaseModel, actor: Actor) -> Engagement:
    engagement = await get(session, engagement_id=engagement_id)
    data = await check_update(session, engagement=engagement, patch=patch, actor=actor)
    if audit.apply_update(session, actor, engagement, data, AuditObject.engagement):
        engagement.processes_sensitive_pi = processes_sensitive_pi(data.pi_categories, data.data_subjects)
        mark(session, f"engagement changed by {actor.label}", engagement=engagement.id)
    return engagement


async def delete(session: AsyncSession, *, engagement_id: uuid.UUID, actor: Actor) -> None:
    engagement = await get(session, engagement_id=engagement_id)
    actor.require_writer(engagement.owner_id)
    audit.record(session, actor, AuditAction.delete, AuditObject.engagement, engagement.id, {"name": engagement.name})
    for sub in (await sub_processors_of(session, [engagement.id]))[engagement.id]:
        audit.record(session, actor, AuditAction.delete, AuditObject.sub_processor, sub.id, {"name": sub.name})
    # One statement, before the engagement's own row goes; what was derived from it goes when it settles.
    await session.execute(sql_delete(SubProcessor).where(col(SubProcessor.engagement_id) == engagement.id))
    mark(session, f"engagement deleted by {actor.label}", removed_engagement=engagement.id)
    await session.delete(engagement)


def check_sub_processor(*, owner_id: uuid.UUID | None, data: SubProcessorCreate, actor: Actor) -> None:
    """Everything adding or changing a sub-processor checks, for an engagement owned by `owner_id`."""
    actor.require_writer(owner_id)
    _check_sub_processor(data)


def _check_sub_processor(data: SubProcessorCreate) -> None:
    errors = FieldErrors()
    if data.handler_consented and data.consented_on is None:
        errors.add(
            "consented_on",
            "the date of the handler's consent is required when handler_consented is true",
            zh="已同意转委托，请填写同意的日期",
        )
    if data.consented_on and not data.handler_consented:
        errors.add("consented_on", "given but handler_consented is false", zh="填写了同意日期，但未勾选已同意转委托")
    if data.region and not data.region.startswith(data.country + "-"):
        errors.add(
            "region",
            f"{data.region} is not in country {data.country}",
            zh=f"地区 {data.region} 不在国家 {data.country} 内",
        )
    errors.raise_if_any()


async def get_sub_processor(
    session: AsyncSession, *, engagement_id: uuid.UUID, sub_processor_id: uuid.UUID
) -> SubProcessor:
    sub = await get_or_404(session, SubProcessor, sub_processor_id, "sub-processor")
    if sub.engagement_id != engagement_id:
        raise NotFoundError("sub-processor not found", zh="找不到该转委托方")  # never confirm it exists elsewhere
    return sub


async def add_sub_processor(
    session: AsyncSession, *, engagement_id: uuid.UUID, data: SubProcessorCreate, actor: Actor
) -> SubProcessor:
    engagement = await get(session, engagement_id=engagement_id)
    check_sub_processor(owner_id=engagement.owner_id, data=data, actor=actor)
    sub = SubProcessor.model_validate({**data.model_dump(), "engagement_id": engagement.id})
    session.add(sub)
    await session.flush()
    audit.record(
        session,
        actor,
        AuditAction.create,
        AuditObject.sub_processor,
        sub.id,
        {**data.model_dump(), "engagement_id": engagement.id},
    )
    mark(session, f"sub-processor added by {actor.label}", engagement=engagement.id)
    return sub


async def update_sub_processor(
    session: AsyncSession,
    *,
    engagement_id: uuid.UUID,
    sub_processor_id: uuid.UUID,
    patch: BaseModel,
    actor: Actor,
) -> SubProcessor:
    engagement = await get(session, engagement_id=engagement_id)
    actor.require_writer(engagement.owner_id)
    sub = await get_sub_processor(session, engagement_id=engagement_id, sub_processor_id=sub_processor_id)
    data = merge_patch(sub, patch, SubProcessorCreate)
    check_sub_processor(owner_id=engagement.owner_id, data=data, actor=actor)
    if audit.apply_update(session, actor, sub, data, AuditObject.sub_processor):
        mark(session, f"sub-processor changed by {actor.label}", engagement=engagement.id)
    return sub


async def delete_sub_processor(
    session: AsyncSession, *, engagement_id: uuid.UUID, sub_processor_id: uuid.UUID, actor: Actor
) -> None:
    engagement = await get(session, engagement_id=engagement_id)
    actor.require_writer(engagement.owner_id)
    sub = await get_sub_processor(session, engagement_id=engagement_id, sub_processor_id=sub_processor_id)
    audit.record(session, actor, AuditAction.delete, AuditObject.sub_processor, sub.id, {"name": sub.name})
    await session.delete(sub)
    mark(session, f"sub-processor removed by {actor.label}", engagement=engagement.id)
