"""The settle step: the one place a write lands.

Every writer (the API's handlers, the CLI, the demo, the worker) calls `settle` where it
would have committed. It takes what the write marked on the session (app/core/changes.py),
re-derives what depends on it, in the same transaction, and commits once:

    obligations  (deadlines from engagements, agreements, the calendar, attestations)
    findings     (the PIPL rules over all of that, with their history)
    reminders    (queued for what is due now; cancelled for what a person or an attestation closed)
    webhooks     (the events of all that, each recorded once, with a delivery per subscribed endpoint)

It sits above the domains it calls; no domain imports it (handlers receive it as a
dependency), so the layers point one way. The commit is explicit: a response is built only
after the write has landed.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from datetime import datetime
from functools import partial

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.agreements.models import Agreement
from app.attestations.models import Attestation
from app.audit import chain
from app.core.changes import Changes, take
from app.core.types import utcnow
from app.engagements.models import Engagement
from app.findings import services as findings
from app.obligations import services as obligations
from app.reminders import services as reminders
from app.webhooks import services as webhooks


async def settle(session: AsyncSession, *, now: datetime | None = None) -> None:
    """Re-derive obligations, findings and reminders for what was marked; then commit."""
    await derive(session, now=now)
    # The audit entries last, so the chain's head is locked for the commit only (app/audit/chain.py).
    await session.flush()
    chain.add_pending(session)
    await session.commit()


async def derive(session: AsyncSession, *, now: datetime | None = None) -> None:
    """Re-derive what was marked so far, without committing: for a writer whose next step
    reads what this one derived (the demo reviews an attestation against the obligation its
    agreement opened) and that must still land whole, with one `settle` at its end."""
    changes = take(session)
    if changes:
        started = utcnow()
        await _derive(session, changes, now or utcnow())
        # The events of this write and of what it derived, in its transaction (an outbox).
        await webhooks.record(session, changes, since=started)


def bound(session: AsyncSession) -> Callable[[], Awaitable[None]]:
    """`settle` for one session: what a request handler receives as its `settle` dependency."""
    return partial(settle, session)


async def _derive(session: AsyncSession, changes: Changes, now: datetime) -> None:
    # Derived rows of a removed engagement go before the engagement's own row is flushed away.
    with session.no_autoflush:
        for engagement_id in changes.removed_engagements:
            await reminders.delete_for_engagement(session, engagement_id)
            await obligations.delete_for_engagement(session, engagement_id)
            await findings.delete_for_engagement(session, engagement_id)
    await session.flush()
    derived = await obligations.follow_attestations(session, changes.attestations)
    await session.flush()
    # What the law counts over the whole company, read once for the obligations and the findings.
    totals = await obligations.company_totals(session)
    if changes.calendar:
        due = await obligations.sync(session, totals=totals)
        await findings.refresh_all(session, changes.reason, totals=totals)
    else:
        engagement_ids = await _engagements_of(session, changes)
        due = await obligations.sync(session, engagement_ids, totals=totals)
        if changes.handler or changes.removed_engagements:
            # The company's profile, or its totals without a removed engagement, judge every one.
            await findings.refresh_all(session, changes.reason, totals=totals)
        else:
            await findings.refresh(session, engagement_ids, changes.reason, totals=totals)
    await reminders.cancel_queued(session, derived.closed | changes.closed_obligations)
    await reminders.queue_due(session, derived.due + due, now)
    for obligation, step in derived.notices:
        await reminders.queue_notice(session, obligation, step, now)
    for mail in changes.mail:
        reminders.queue_message(session, recipient=mail.recipient, subject=mail.subject, body=mail.body, now=now)


async def _engagements_of(session: AsyncSession, changes: Changes) -> set[uuid.UUID]:
    """Every engagement whose obligations or findings the marked changes can move."""
    found = set(changes.engagements) - changes.removed_engagements
    for model, ids in ((Agreement, changes.agreements), (Attestation, changes.attestations)):
        if ids:
            found |= set(await session.scalars(select(col(model.engagement_id)).where(col(model.id).in_(list(ids)))))
    if changes.vendors:
        query = select(col(Engagement.id)).where(col(Engagement.vendor_id).in_(list(changes.vendors)))
        found |= set(await session.scalars(query))
    return found
