"""The reminder worker: its own process (`dpa worker`), or one pass (`dpa reminders run --once`).

Each pass queues what is due, batches it per recipient and sends what is due; once a day
(and at start) every obligation is derived again, so that a newly announced year of
holidays or a date that came and went is taken into account. On PostgreSQL any number of
workers may run; on SQLite, which has one writer and no SKIP LOCKED, a second worker refuses
to start.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from datetime import date, datetime, timedelta
from functools import partial
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from app.attestations import services as attestations
from app.core import clock, outbound
from app.core.changes import mark
from app.core.database import create_sessionmaker
from app.core.locks import AlreadyRunning, hold, sqlite_lock_path
from app.core.settings import Settings
from app.core.storage import FileStore, open_storage
from app.core.types import utcnow
from app.reminders import chat, services
from app.reminders.mail import CollectingTransport, DirectoryTransport, SmtpTransport
from app.reminders.policy import Policy, configure
from app.settle import settle
from app.webhooks import services as webhooks

log = logging.getLogger(__name__)
REFRESH_LOCK = 4_242_002  # the advisory lock id of the daily derivation
ORPHAN_AGE = timedelta(days=1)  # an unreferenced file this old is no upload in flight


class WorkerError(RuntimeError):
    """The worker cannot start; the message says why and what to do."""


def configure_policy(settings: Settings) -> None:
    configure(
        Policy(
            days_before=settings.reminder_days_before,
            overdue_every=settings.reminder_overdue_every,
            escalate_after=settings.reminder_escalate_after,
        )
    )


def transport_for(settings: Settings) -> services.Transport:
    if settings.smtp is not None:
        return SmtpTransport(settings.smtp)
    return DirectoryTransport(Path(settings.outbox_dir))


@contextmanager
def single_worker(settings: Settings) -> Iterator[None]:
    """On SQLite, hold a lock file beside the database for as long as the worker runs."""
    try:
        with hold(sqlite_lock_path(settings.database_url, "worker"), "dpa worker"):
            yield
    except AlreadyRunning as running:
        raise WorkerError(
            f"a worker is already running on this SQLite database ({running.holder}); SQLite allows one worker. "
            "Stop it first, or use PostgreSQL to run several"
        ) from None


async def refresh(engine: AsyncEngine, storage: FileStore) -> None:
    """Derive every obligation again and sweep orphaned files; on PostgreSQL one worker at a
    time (the others skip)."""
    async with create_sessionmaker(engine)() as session:
        lock = text("SELECT pg_try_advisory_xact_lock(:id)")
        if engine.dialect.name == "postgresql" and not await session.scalar(lock, {"id": REFRESH_LOCK}):
            return
        # As if the calendar changed: every deadline and finding is derived again.
        mark(session, "daily recomputation", calendar=True)
        # Files a failed or killed upload left behind: personal data nobody could list or delete.
        await attestations.sweep_orphans(session, storage, older_than=ORPHAN_AGE)
        await settle(session)


async def one_pass(
    engine: AsyncEngine, settings: Settings, *, now: datetime | None = None, dry_run: bool = False
) -> services.Report:
    transport = CollectingTransport() if dry_run else transport_for(settings)
    now = now or utcnow()
    robots = chat.ChatSender(
        sealing_key=outbound.sealing_key(settings),
        allow_private=settings.webhook_allow_private,
        base_url=settings.base_url,
        dry_run=dry_run,
    )
    send = partial(
        services.send_one,
        transport=transport,
        now=now,
        sender=settings.mail_from,
        base_url=settings.base_url,
        reply_to=settings.mail_reply_to,
        robots=robots,
    )
    async with create_sessionmaker(engine)() as session:
        report = services.Report(queued=await services.prepare(session, now))
        if dry_run:
            # Render what would go out, and change nothing.
            try:
                while await send(session, report=report):
                    pass
            finally:
                await session.rollback()
            return report
        await webhooks.record_due(session, now)
        await settle(session)
        # Each digest's outcome lands on its own, right after the server answered.
        while await send(session, report=report):
            await settle(session)
    hooks = webhooks.DeliveryReport()
    await deliver_webhooks(engine, settings, now=now, report=hooks)
    if hooks.delivered or hooks.retried or hooks.dead:
        log.info("webhooks: %d delivered, %d to retry, %d dead", hooks.delivered, hooks.retried, hooks.dead)
    return report


async def deliver_webhooks(
    engine: AsyncEngine, settings: Settings, *, now: datetime, report: webhooks.DeliveryReport
) -> None:
    """Every delivery that is due, each outcome landing on its own right after the answer."""
    deliver = partial(
        webhooks.deliver_one,
        now=now,
        base_url=settings.base_url,
        sealing_key=outbound.sealing_key(settings),
        allow_private=settings.webhook_allow_private,
        max_attempts=settings.webhook_max_attempts,
        report=report,
    )
    async with create_sessionmaker(engine)() as session:
        while await deliver(session):
            await settle(session)


async def run_forever(engine: AsyncEngine, settings: Settings, stop: asyncio.Event) -> None:
    refreshed: date | None = None
    while not stop.is_set():
        try:
            today = clock.today()
            if refreshed != today:
                await refresh(engine, open_storage(settings.storage_url))
                refreshed = today
            report = await one_pass(engine, settings)
            if report.sent or report.retried or report.dead:
                log.info(
                    "reminders: %d queued, %d sent, %d to retry, %d dead",
                    report.queued,
                    len(report.sent),
                    report.retried,
                    report.dead,
                )
        except Exception:
            # A database restart must not end the worker: log, wait, try again.
            log.exception("reminder pass failed; retrying after the interval")
        with suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=settings.worker_interval)
