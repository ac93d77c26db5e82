"""Several instances: with REDIS_URL set, rate limits and the refused-credential throttle hold
across instances; two `dpa serve` and two `dpa worker` processes on one PostgreSQL database
and one S3-compatible store lose nothing and send nothing twice."""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis
from litestar.testing import TestClient
from sqlalchemy import func, select
from sqlmodel import col

from app.attestations.models import Attestation, EvidenceFile
from app.core.settings import RateLimit, Settings
from app.engagements.models import Engagement
from app.main import create_app
from app.reminders.models import OutboxMessage, Reminder
from app.reminders.schemas import OutboxStatus, ReminderStatus
from app.vendors.models import Vendor
from tests.conftest import Account, MailServer, free_port, run
from tests.factories import engagement_body, pdf, vendor_body
from tests.integration.conftest import Side, deletion
from tests.integration.test_cli import DPA

REDIS_URL = os.environ.get("REDIS_TEST_URL", "redis://127.0.0.1:6379/0")


@pytest.fixture
def redis_prefix() -> Iterator[str]:
    """A key prefix of this test's own on the local Redis (.ci/run starts one), emptied afterwards."""
    client = redis.Redis.from_url(REDIS_URL)
    try:
        client.ping()
    except redis.RedisError as error:
        pytest.fail(f"no Redis answers at {REDIS_URL} ({error}): start one (redis-server), as .ci/run does")
    prefix = f"dpa-test-{uuid.uuid4().hex[:12]}:"
    try:
        yield prefix
    finally:
        keys = list(client.scan_iter(match=f"{prefix}*"))
        if keys:
            client.delete(*keys)
        client.close()


def test_two_apps_on_one_redis_share_the_vendor_limit_and_the_throttle(
    settings: Settings, clean_database: str, redis_prefix: str, vendors: dict[str, Side]
) -> None:
    shared = dataclasses.replace(
        settings,
        redis_url=REDIS_URL,
        redis_prefix=redis_prefix,
        vendor_rate_limit=RateLimit(5, 60),
        auth_failure_limit=RateLimit(3, 60),
    )
    with TestClient(app=create_app(shared)) as one, TestClient(app=create_app(shared)) as two:
        answers = [
            (one if n % 2 else two).get("/api/vendor/obligations", headers=vendors["a"].headers).status_code
            for n in range(8)
        ]
        assert sorted(answers) == [200] * 5 + [429] * 3  # 5 in all, not 5 on each
        assert one.get("/api/vendor/obligations", headers=vendors["b"].headers).status_code == 200  # per key

        bad = {"Authorization": "Bearer dpu_guessed"}
        refused = [(one if n % 2 else two).get("/api/vendors", headers=bad).status_code for n in range(5)]
        assert refused == [401, 401, 401, 429, 429]  # 3 refusals in all, then the address waits everywhere


def test_without_redis_each_process_counts_its_own(
    settings: Settings, clean_database: str, vendors: dict[str, Side]
) -> None:
    alone = dataclasses.replace(settings, vendor_rate_limit=RateLimit(2, 60))
    with TestClient(app=create_app(alone)) as one, TestClient(app=create_app(alone)) as two:
        answers = [c.get("/api/vendor/obligations", headers=vendors["a"].headers).status_code for c in (one, two) * 3]
        assert sorted(answers) == [200] * 4 + [429] * 2


async def _rows(session: Any) -> dict[str, int]:
    found = {}
    for name, table in (
        ("vendors", Vendor),
        ("engagements", Engagement),
        ("attestations", Attestation),
        ("evidence", EvidenceFile),
    ):
        found[name] = int(await session.scalar(select(func.count()).select_from(table)))
    return found


async def _mail_state(session: Any) -> tuple[int, int, list[str]]:
    waiting = await session.scalar(
        select(func.count()).select_from(Reminder).where(col(Reminder.status) == ReminderStatus.queued)
    )
    pending = await session.scalar(
        select(func.count()).select_from(OutboxMessage).where(col(OutboxMessage.status) == OutboxStatus.pending)
    )
    sent = await session.scalars(select(OutboxMessage).where(col(OutboxMessage.status) == OutboxStatus.sent))
    return int(waiting), int(pending), [message.id.hex for message in sent]


def _wait_for(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"{url} exited: {log.read_text()[-2000:]}")
        try:
            if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    pytest.fail(f"{url} did not answer: {log.read_text()[-2000:]}")


@pytest.mark.skipif(
    not os.environ.get("DATABASE_URL", "").startswith("postgres"),
    reason="PostgreSQL only: SQLite takes one server per database file",
)
def test_two_servers_and_two_workers_lose_nothing_send_nothing_twice_and_share_the_rate_limit(
    clean_database: str,
    demo: dict[str, Any],
    vendors: dict[str, Side],
    admin: Account,
    make_user: Any,
    s3_bucket: str,
    mail_server: MailServer,
    redis_prefix: str,
    tmp_path: Path,
) -> None:
    limit = 40
    env = {
        **os.environ,
        "DATABASE_URL": clean_database,
        "STORAGE_URL": f"s3://{s3_bucket}/evidence",
        "REDIS_URL": REDIS_URL,
        "REDIS_PREFIX": redis_prefix,
        "SECRET_KEY": "k" * 40,
        "VENDOR_RATE_LIMIT": f"{limit}/minute",
        "SMTP_URL": mail_server.url,
        "WORKER_INTERVAL_SECONDS": "1",
        "LOG_LEVEL": "WARNING",
    }
    owners = [make_user("owner") for _ in range(8)]
    before = run(_rows, clean_database)
    ports = [free_port(), free_port()]
    servers = [f"http://127.0.0.1:{port}" for port in ports]
    processes: list[tuple[subprocess.Popen[bytes], Path]] = []

    def start(*args: str, name: str) -> subprocess.Popen[bytes]:
        log = tmp_path / f"{name}.log"
        with log.open("wb") as out:
            process = subprocess.Popen([*DPA, *args], env=env, stdout=out, stderr=subprocess.STDOUT)  # noqa: S603
        processes.append((process, log))
        return process

    try:
        for index, port in enumerate(ports):
            start("serve", "--host", "127.0.0.1", "--port", str(port), name=f"serve{index}")
        for index in range(2):
            start("worker", name=f"worker{index}")
        for (process, log), url in zip(processes[:2], servers, strict=True):
            _wait_for(url, process, log)

        # A bounded mixed load through both servers at once.
        headers = admin.headers
        a, b = vendors["a"], vendors["b"]

        def create_vendor_and_engagement(n: int) -> tuple[int, int]:
            server = servers[n % 2]
            made = httpx.post(f"{server}/api/vendors", json=vendor_body(), headers=headers, timeout=60)
            if made.status_code != 201:
                return made.status_code, 0
            body = engagement_body(made.json()["id"], name=f"Load {n}", owner_id=owners[n % len(owners)].id)
            engaged = httpx.post(f"{servers[(n + 1) % 2]}/api/engagements", json=body, headers=headers, timeout=60)
            return made.status_code, engaged.status_code

        def read(n: int) -> int:
            path = ("/api/vendors", "/api/obligations", "/api/engagements")[n % 3]
            return httpx.get(f"{servers[n % 2]}{path}", headers=headers, timeout=60).status_code

        documents = [pdf(f"deletion {index}") for index in range(12)]

        def upload(n: int) -> tuple[str, int, str]:
            # Uploads 12-15 repeat the keys of 0-3 on the other server: a retry landing elsewhere.
            index = n if n < 12 else n - 12
            metadata = json.dumps(deletion(a.engagement_id, records_deleted=1000 + index))
            parts: list[tuple[str, Any]] = [
                ("metadata", (None, metadata)),
                ("files", ("deletion.pdf", documents[index], "application/pdf")),
            ]
            answer = httpx.post(
                f"{servers[(n + (n >= 12)) % 2]}/api/vendor/attestations",
                files=parts,
                headers={**a.headers, "Idempotency-Key": f"load-{index}"},
                timeout=60,
            )
            found = answer.json().get("id", "") if answer.status_code == 201 else answer.text
            return f"load-{index}", answer.status_code, found

        def probe(n: int) -> tuple[int, int]:
            answer = httpx.get(f"{servers[n % 2]}/api/vendor/obligations", headers=b.headers, timeout=60)
            return n % 2, answer.status_code

        with ThreadPoolExecutor(max_workers=8) as pool:
            # All submitted before any is awaited: creates, reads, uploads and probes interleave.
            creating = [pool.submit(create_vendor_and_engagement, n) for n in range(16)]
            reading = [pool.submit(read, n) for n in range(30)]
            uploading = [pool.submit(upload, n) for n in range(16)]
            probing = [pool.submit(probe, n) for n in range(limit + 20)]
            created = [future.result() for future in creating]
            reads = [future.result() for future in reading]
            uploads = [future.result() for future in uploading]
            probes = [future.result() for future in probing]

        assert created == [(201, 201)] * 16
        assert set(reads) == {200}
        assert {status for _, status, _ in uploads} == {201}, uploads
        by_key: dict[str, set[str]] = {}
        for key, _, attestation_id in uploads:
            by_key.setdefault(key, set()).add(attestation_id)
        assert all(len(ids) == 1 for ids in by_key.values()), by_key  # a retry on the other server: the same one
        # The vendor limit holds over both servers together: `limit` answers, not `limit` from each.
        granted = Counter(server for server, status in probes if status == 200)
        assert sum(granted.values()) == limit and len(granted) == 2, granted
        assert Counter(status for _, status in probes) == {200: limit, 429: 20}

        # Nothing lost, nothing doubled.
        after = run(_rows, clean_database)
        assert after == {
            "vendors": before["vendors"] + 16,
            "engagements": before["engagements"] + 16,
            "attestations": before["attestations"] + len(by_key),
            "evidence": before["evidence"] + len(by_key),
        }
        for key, ids in by_key.items():
            (attestation_id,) = ids
            files = httpx.get(f"{servers[0]}/api/attestations/{attestation_id}", headers=headers, timeout=60)
            assert files.status_code == 200, (key, files.text)

        # The workers send every reminder due, each once.
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            waiting, pending, sent = run(_mail_state, clean_database)
            if not waiting and not pending and sent:
                break
            time.sleep(1)
        time.sleep(3)  # a few more passes: nothing more may arrive
        waiting, pending, sent = run(_mail_state, clean_database)
        assert (waiting, pending) == (0, 0)
    finally:
        for process, _ in processes:
            process.terminate()
        for process, _ in processes:
            process.wait(timeout=30)
    logs = "\n".join(log.read_text() for _, log in processes)
    assert "Traceback" not in logs, logs[-4000:]
    received = mail_server.handler.received
    digests = Counter(str(item.message["Message-ID"]).strip("<>").split("@")[0] for item in received)
    assert set(digests.values()) == {1}, digests  # no digest twice
    assert set(digests) == set(sent)  # every digest sent reached the server
    recipients = {recipient for item in received for recipient in item.recipients}
    assert {owner.email for owner in owners} <= recipients  # the new engagements' owners heard
    assert len(Counter(item.message["X-DPA-Worker"] for item in received)) >= 1


def test_a_redis_that_stops_answering_is_a_503_not_a_500(
    settings: Settings, clean_database: str, vendors: dict[str, Side]
) -> None:
    gone = dataclasses.replace(settings, redis_url=f"redis://127.0.0.1:{free_port()}/0")
    with TestClient(app=create_app(gone)) as client:
        answer = client.get("/api/vendor/obligations", headers=vendors["a"].headers)
        assert answer.status_code == 503, answer.text
        assert "REDIS_URL" in answer.json()["detail"]
        assert client.get("/health").status_code == 200  # the database is fine: the instance stays in rotation
