"""The audit trail: every change to the registry, with who made it and what changed."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel
from pydantic_core import to_jsonable_python
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.audit import chain
from app.audit.models import AuditEntry
from app.audit.schemas import AuditAction, AuditObject
from app.core.actor import Actor
from app.core.queries import paginate, where_equal
from app.core.types import utcnow


def diff(before: Mapping[str, Any], after: Mapping[str, Any]) -> dict[str, Any]:
    """Fields whose value changed, as {field: [old, new]} in JSON form."""
    old, new = to_jsonable_python(dict(before)), to_jsonable_python(dict(after))
    return {key: [old.get(key), new[key]] for key in new if old.get(key) != new[key]}


def record(
    session: AsyncSession,
    actor: Actor,
    action: AuditAction,
    object_type: AuditObject,
    object_id: Any,
    changes: Mapping[str, Any],
) -> None:
    """Record an entry; it commits, or not, with the change it describes, chained to the trail
    as the transaction ends (app/audit/chain.py)."""
    entry = AuditEntry(
        actor_id=actor.user_id,
        actor=actor.label,
        action=action,
        object_type=object_type.value,
        object_id=str(object_id),
        # A sandbox key's action is kept, marked as a test, and left out of the compliance record.
        changes=to_jsonable_python({**changes, "test": True} if actor.test else dict(changes)),
        source=actor.source,
    )
    chain.pending(session).append(entry)


@dataclass(frozen=True)
class AuditFilter:
    object_type: str | None = None
    object_id: str | None = None


async def get_all(
    session: AsyncSession, *, where: AuditFilter, limit: int = 50, offset: int = 0
) -> tuple[list[AuditEntry], int]:
    query = where_equal(
        select(AuditEntry),
        [(col(AuditEntry.object_type), where.object_type), (col(AuditEntry.object_id), where.object_id)],
    )
    query = query.order_by(col(AuditEntry.id).desc())
    return await paginate(session, query, limit=limit, offset=offset)


def apply_update(
    session: AsyncSession, actor: Actor, row: Any, data: BaseModel, object_type: AuditObject
) -> dict[str, Any]:
    """Copy validated `data` onto `row`, stamp it and record what changed; commit is the caller's."""
    values = data.model_dump()
    changes = diff({key: getattr(row, key) for key in values}, values)
    if changes:
        for key in changes:
            setattr(row, key, getattr(data, key))
        row.updated_at = utcnow()
        record(session, actor, AuditAction.update, object_type, row.id, changes)
    return changes
