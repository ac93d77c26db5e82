"""Idempotency-Key (as Stripe defines it) for POSTs a client may retry.

The same key with the same request returns the first response and changes nothing; the
same key with a different request is refused (422). The record is inserted first, in the
transaction that does the work, under a unique (scope, key): of two concurrent requests
with one key, the database lets one commit; the other's insert fails (PostgreSQL makes it
wait for the first to finish; SQLite has one writer), it rolls back and returns what the
first stored. Records are kept for RETENTION, then purged as new ones come in.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.core.changes import discard
from app.core.errors import UnprocessableError, field_error
from app.core.models import IdempotencyRecord
from app.core.types import utcnow

HEADER = "Idempotency-Key"
KEY_PATTERN = re.compile(r"^[\x21-\x7e]{1,255}$")  # printable ASCII, no spaces
RETENTION = timedelta(hours=48)  # the promise is 24 hours; keep twice that


@dataclass(frozen=True)
class Outcome:
    status_code: int
    body: dict[str, Any]
    replayed: bool = False


def check_key(raw: str | None) -> str | None:
    if raw is None:
        return None
    if not KEY_PATTERN.match(raw):
        raise field_error(
            HEADER,
            "must be 1 to 255 printable ASCII characters without spaces (a UUID is ideal)",
            zh="须为 1 至 255 个可打印的 ASCII 字符，不含空格（最好用 UUID）",
        )
    return raw


def fingerprint(request: Any) -> str:
    """SHA-256 of a canonical JSON form of what the request asks for."""
    canonical = json.dumps(request, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


async def _replay(session: AsyncSession, scope: str, key: str, digest: str) -> Outcome | None:
    query = select(IdempotencyRecord).where(col(IdempotencyRecord.scope) == scope, col(IdempotencyRecord.key) == key)
    record = (await session.scalars(query)).first()
    if record is None:
        return None
    if record.fingerprint != digest:
        raise UnprocessableError(
            f"{HEADER} {key!r} was already used for a different request; use a new key",
            code="idempotency_key_reused",
            zh=f"{HEADER} {key!r} 已用于另一个请求；请换一个新的",
        )
    return Outcome(record.status_code, record.response, replayed=True)


async def run(
    session: AsyncSession,
    *,
    scope: str,
    key: str | None,
    request: Any,
    work: Callable[[], Awaitable[Outcome]],
    settle: Callable[[], Awaitable[None]],
) -> Outcome:
    """Do `work` (which must not commit) once per (scope, key), then `settle` (which commits)."""
    if key is None:
        outcome = await work()
        await settle()
        return outcome
    digest = fingerprint(request)
    prior = await _replay(session, scope, key, digest)
    if prior is not None:
        return prior
    try:
        await session.execute(
            delete(IdempotencyRecord).where(
                col(IdempotencyRecord.scope) == scope, col(IdempotencyRecord.created_at) < utcnow() - RETENTION
            )
        )
        record = IdempotencyRecord(scope=scope, key=key, fingerprint=digest)
        session.add(record)
        await session.flush()  # claims the key now; a concurrent twin waits or fails here
        outcome = await work()
        record.status_code, record.response = outcome.status_code, outcome.body
        await settle()
    except IntegrityError:
        await session.rollback()
        discard(session)  # the twin's work landed; ours did not
        prior = await _replay(session, scope, key, digest)
        if prior is None:
            raise
        return prior
    return outcome
