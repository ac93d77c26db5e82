"""The audit trail as a hash chain (as Certificate Transparency does): each entry carries the
hash of the one before it, over a canonical form of the entry, so an entry edited, removed
or moved in the database breaks the chain at that point and `dpa audit verify` names it.

Entries are chained when they are flushed. A one-row head (`audit_head`) holds the last
sequence number and hash; updating it first takes a row lock on PostgreSQL and the write
lock on SQLite, so concurrent writers append one after the other and the chain stays one.

A transaction's entries wait in `session.info` and join the session only at its end
(`add_pending`, called by the settle step just before it commits): the head is then locked
for the last flush and the commit only, not for the whole write and everything derived from
it, so concurrent writers on PostgreSQL wait for one another's commits, not their work. A
rollback drops them, as it drops the change they describe.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import event, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session
from sqlmodel import col

# GENESIS is imported from here by migration 0005 too.
from app.audit.models import GENESIS as GENESIS
from app.audit.models import AuditEntry, AuditHead

PENDING = "audit_pending"  # session.info key: entries in the order they were recorded


def canonical(entry: AuditEntry) -> bytes:
    fields = {
        "seq": entry.seq,
        "at": entry.at.isoformat(),
        "actor_id": str(entry.actor_id) if entry.actor_id else None,
        "actor": entry.actor,
        "action": entry.action,
        "object_type": entry.object_type,
        "object_id": entry.object_id,
        "changes": entry.changes,
        "source": entry.source,
    }
    return json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def entry_hash(previous: str, entry: AuditEntry) -> str:
    return hashlib.sha256(previous.encode() + canonical(entry)).hexdigest()


def pending(session: AsyncSession) -> list[AuditEntry]:
    entries: list[AuditEntry] = session.info.setdefault(PENDING, [])
    return entries


def add_pending(session: AsyncSession) -> None:
    """The transaction's entries join the session; the next flush chains them (_chain)."""
    session.add_all(session.info.get(PENDING, []))


@event.listens_for(Session, "after_soft_rollback")
def _drop_pending(session: Session, _previous: Any) -> None:
    session.info.pop(PENDING, None)  # entries of changes that did not land


@event.listens_for(Session, "before_flush")
def _chain(session: Session, _context: Any, _instances: Any) -> None:
    queued: list[AuditEntry] = session.info.get(PENDING, [])
    new = [entry for entry in queued if entry in session.new]
    if not new:
        return
    connection = session.connection()
    head = AuditHead.__table__  # type: ignore[attr-defined]
    # Take the head first: this is what serialises concurrent writers.
    taken = connection.execute(update(head).where(head.c.id == 1).values(last_seq=head.c.last_seq))
    if taken.rowcount == 0:
        connection.execute(insert(head).values(id=1, last_seq=0, last_hash=GENESIS))
    seq, previous = connection.execute(select(head.c.last_seq, head.c.last_hash).where(head.c.id == 1)).one()
    for entry in new:
        seq += 1
        entry.seq, entry.prev_hash = seq, previous
        entry.hash = previous = entry_hash(previous, entry)
    connection.execute(update(head).where(head.c.id == 1).values(last_seq=seq, last_hash=previous))
    session.info[PENDING] = [entry for entry in queued if entry not in new]


@dataclass
class Verification:
    intact: int = 0  # entries checked and found in place before the first break
    problem: str | None = None  # the first break in the chain, named


async def _entries(session: AsyncSession, batch: int = 5_000) -> AsyncIterator[AuditEntry]:
    last = 0
    while True:
        query = select(AuditEntry).where(col(AuditEntry.seq) > last).order_by(col(AuditEntry.seq)).limit(batch)
        rows = list(await session.scalars(query))
        if not rows:
            return
        for row in rows:
            yield row
        last = rows[-1].seq or last
        session.expunge_all()


async def verify(session: AsyncSession) -> Verification:
    report = Verification()
    expected_seq, previous = 1, GENESIS
    async for entry in _entries(session):
        where = f"entry {entry.id} (seq {entry.seq})"
        if entry.seq != expected_seq:
            report.problem = f"seq {expected_seq} is missing before {where}: an entry was removed or renumbered"
            return report
        if entry.prev_hash != previous:
            report.problem = f"{where} does not follow the entry before it: an entry was removed or moved"
            return report
        if entry.hash != entry_hash(previous, entry):
            report.problem = f"{where} was altered: its content no longer matches its hash"
            return report
        expected_seq, previous = expected_seq + 1, entry.hash
        report.intact += 1
    unchained = await session.scalar(select(col(AuditEntry.id)).where(col(AuditEntry.seq).is_(None)).limit(1))
    if unchained is not None:
        report.problem = f"entry {unchained} has no place in the chain: it was inserted around it"
        return report
    head = await session.get(AuditHead, 1)
    last_seq, last_hash = (head.last_seq, head.last_hash) if head else (0, GENESIS)
    if (last_seq, last_hash) != (expected_seq - 1, previous):
        report.problem = (
            f"the chain should end at seq {last_seq}, but ends at seq {expected_seq - 1}: the last entries were removed"
        )
    return report
