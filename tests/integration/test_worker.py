"""The reminder worker as a user runs it: `dpa reminders run --once` on the demo, one worker
only on SQLite, and several workers on PostgreSQL delivering each reminder exactly once."""

from __future__ import annotations

import os
import subprocess
import time
from collections import Counter
from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from litestar.testing import TestClient
from sqlalchemy import select
from sqlmodel import col

from app.accounts.models import User
from app.core.actor import Role
from app.demo import load as load_demo
from app.engagements.models import Engagement
from app.engagements.schemas import DataSubject, LegalBasis, ProcessingMethod
from app.obligations.models import Obligation
from app.reminders.models import Reminder
from app.reminders.policy import Policy
from app.vendors.models import Vendor
from tests.conftest import MailServer, run
from tests.integration.test_cli import DPA, dpa

YEAR_AHEAD = "2027-11-28T09:00:00+08:00"


def _postgres(url: str) -> bool:
    return url.startswith("postgresql")


def test_the_demo_sends_what_is_due_once_and_a_year_ahead_what_the_policy_says(
    client: TestClient[Any], clean_database: str, tmp_path: Path
) -> None:
    run(load_demo, clean_database)
    outbox = tmp_path / "outbox"
    env = {"OUTBOX_DIR": str(outbox), "SMTP_URL": ""}

    dry = dpa("reminders", "run", "--once", "--dry-run", database_url=clean_database, env=env)
    assert dry.returncode == 0, dry.stderr
    would = [line for line in dry.stdout.splitlines() if line.startswith("would send to ")]
    assert would and not outbox.exists()

    sent = dpa("reminders", "run", "--once", database_url=clean_database, env=env)
    assert sent.returncode == 0, sent.stderr
    lines = [line.replace("sent to", "would send to") for line in sent.stdout.splitlines() if line.startswith("sent")]
    assert sorted(lines) == sorted(would)
    assert len(list(outbox.glob("*.eml"))) == len(would)
    again = dpa("reminders", "run", "--once", database_url=clean_database, env=env)
    assert "0 digests sent" in again.stdout and len(list(outbox.glob("*.eml"))) == len(would)

    ahead = dpa("reminders", "run", "--once", "--now", YEAR_AHEAD, database_url=clean_database, env=env)
    assert ahead.returncode == 0, ahead.stderr
    today = datetime.fromisoformat(YEAR_AHEAD).astimezone(ZoneInfo("Asia/Shanghai")).date()

    async def expected_and_queued(session: Any) -> tuple[set[tuple[str, str]], set[tuple[str, str]]]:
        policy = Policy()
        opened = list(await session.scalars(select(Obligation).where(col(Obligation.status) == "open")))
        expected = {(str(o.id), step) for o in opened if (step := policy.step(o.due_on, today)) is not None}
        later = datetime(2027, 1, 1, tzinfo=ZoneInfo("UTC"))
        rows = await session.scalars(select(Reminder).where(col(Reminder.queued_at) >= later))
        return expected, {(str(r.obligation_id), r.step) for r in rows}

    expected, queued = run(expected_and_queued, clean_database)
    assert expected and queued == expected
    digests = [line for line in ahead.stdout.splitlines() if line.startswith("sent to ")]
    assert digests and len(list(outbox.glob("*.eml"))) == len(would) + len(digests)


@pytest.mark.skipif(_postgres(os.environ.get("DATABASE_URL", "")), reason="SQLite only")
def test_a_second_worker_on_sqlite_refuses_to_start(clean_database: str, tmp_path: Path) -> None:
    env = {**os.environ, "DATABASE_URL": clean_database, "OUTBOX_DIR": str(tmp_path), "SMTP_URL": ""}
    first = subprocess.Popen(  # noqa: S603 - our own command
        [*DPA, "worker"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        assert first.stdout is not None
        assert first.stdout.readline().startswith("dpa worker: reminders to")
        second = dpa("worker", database_url=clean_database, env={"OUTBOX_DIR": str(tmp_path)})
        assert second.returncode == 1
        assert "a worker is already running on this SQLite database" in second.stderr
        assert "use PostgreSQL" in second.stderr and "Traceback" not in second.stderr
        once = dpa("reminders", "run", "--once", database_url=clean_database, env={"OUTBOX_DIR": str(tmp_path)})
        assert once.returncode == 1 and "already running" in once.stderr
    finally:
        first.terminate()
        first.communicate(timeout=20)
    assert first.returncode == 0  # a clean stop on SIGTERM


def _seed_owners(count: int) -> Any:
    """`count` owners, each with one engagement whose PIPIA is overdue (it started without one)."""

    async def go(session: Any) -> None:
        vendor = Vendor(legal_name_zh="批量测试有限公司", unified_social_credit_code="91440101MA59Y8H03P")
        session.add(vendor)
        await session.flush()
        for index in range(count):
            user = User(email=f"owner{index:04d}@load.example", role=Role.owner, name=f"Owner {index}")
            session.add(user)
            await session.flush()
            session.add(
                Engagement(
                    vendor_id=vendor.id,
                    owner_id=user.id,
                    name=f"Cameras {index}",
                    purpose="Showroom analytics",
                    processing_methods=[ProcessingMethod.collection, ProcessingMethod.storage],
                    pi_categories=["contact_details"],
                    data_subjects=[DataSubject.customers],
                    individuals_count=2_000,
                    start_date=date(2025, 6, 2),
                    legal_basis=LegalBasis.consent,
                )
            )
        await session.commit()

    return go


@pytest.mark.skipif(not _postgres(os.environ.get("DATABASE_URL", "")), reason="PostgreSQL only")
@pytest.mark.parametrize("workers", [2, 4])
def test_workers_on_postgresql_deliver_each_of_1000_reminders_once(
    clean_database: str, mail_server: MailServer, workers: int
) -> None:
    run(_seed_owners(1000), clean_database)
    mail_server.handler.delay = 0.005  # a real server takes a moment: the workers overlap
    env = {
        **os.environ,
        "DATABASE_URL": clean_database,
        "SMTP_URL": mail_server.url,
        "WORKER_INTERVAL_SECONDS": "1",
        "LOG_LEVEL": "WARNING",
    }
    processes = [
        subprocess.Popen([*DPA, "worker"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)  # noqa: S603
        for _ in range(workers)
    ]
    try:
        deadline = time.monotonic() + 120
        while len(mail_server.handler.received) < 1000 and time.monotonic() < deadline:
            time.sleep(0.5)
        time.sleep(3)  # a few more passes: nothing more may arrive
    finally:
        for process in processes:
            process.terminate()
        errors = [process.communicate(timeout=30)[1] for process in processes]
    received = mail_server.handler.received
    per_recipient = Counter(recipient for item in received for recipient in item.recipients)
    assert len(per_recipient) == 1000, errors
    assert set(per_recipient.values()) == {1}
    senders = Counter(item.message["X-DPA-Worker"] for item in received)
    assert len(senders) >= 2, senders  # the work was shared
    assert all("Traceback" not in error for error in errors), errors
