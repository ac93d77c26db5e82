"""20 concurrent clients on a mixed read/write load: latency, errors, and no write lost or doubled.

Loads the demo into a fresh database, gives the camera vendor an ended agreement and a key,
then starts `dpa serve` and, for calibration, a bare Litestar app (1 kB of JSON), real
uvicorn servers, one process each. 20 clients (one asyncio process, httpx) run for --seconds,
each request chosen at random:
- 60% reads: GET /api/vendors?limit=5 or GET /api/engagements?limit=50 (a user's token);
- 20% creates: POST /api/vendors (a new vendor each time);
- 20% attestation uploads: POST /api/vendor/attestations, a 64 kB PDF, its own Idempotency-Key.
Rows of vendors and attestations are counted before and after: each must have grown by the
number of 201s exactly. The same 20 clients then load the bare route for as long, to show
what the load generator adds. Prints p50/p99, 5xx and the counts on the last lines.

Run: .venv/bin/python bench/mixed_load.py [--database-url postgresql+asyncpg://.../dpa_bench]
"""

from __future__ import annotations

import asyncio
import io
import json
import os
import random
import statistics
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import date
from typing import Any

import httpx
from list_read import bare_app as bare_app  # the bare route: 1 kB of JSON at /items
from pypdf import PdfWriter
from serving import DPA_SERVE, bare_server, database_argument, fresh_database, server
from sqlalchemy import func, select

from app.agreements import services as agreements
from app.agreements.schemas import AgreementCreate, AgreementStatus
from app.attestations.models import Attestation
from app.core.actor import CLI_ACTOR
from app.core.changes import mark
from app.core.database import create_engine, create_sessionmaker
from app.demo import load as load_demo
from app.engagements.models import Engagement
from app.settle import settle
from app.vendors import services as vendors
from app.vendors.models import Vendor
from app.vendors.schemas import VendorKeyCreate

CLIENTS = 20
PDFS = 64


async def prepare(url: str) -> tuple[str, str, str]:
    """The demo, an ended agreement for the camera vendor, a key for it; the admin's token too."""
    engine = create_engine(url)
    async with create_sessionmaker(engine)() as session:
        _, token = await load_demo(session)
        rows = await session.scalars(select(Engagement))
        engagement = next(row for row in rows if "facial_recognition" in row.pi_categories)
        agreement = await agreements.create(
            session,
            data=AgreementCreate(engagement_id=engagement.id, term_start=date(2026, 1, 5), term_end=date(2027, 1, 4)),
            actor=CLI_ACTOR,
        )
        agreement.status, agreement.ended_on = AgreementStatus.terminated, date(2026, 11, 1)
        mark(session, "benchmark set-up", agreement=agreement.id)
        key, _ = await vendors.issue_key(
            session, vendor_id=engagement.vendor_id, data=VendorKeyCreate(name="bench"), actor=CLI_ACTOR
        )
        await settle(session)
    await engine.dispose()
    return token, key, str(engagement.id)


async def count_rows(url: str) -> tuple[int, int]:
    engine = create_engine(url)
    async with create_sessionmaker(engine)() as session:
        found = (
            await session.scalar(select(func.count()).select_from(Vendor)) or 0,
            await session.scalar(select(func.count()).select_from(Attestation)) or 0,
        )
    await engine.dispose()
    return found


def pdf(index: int) -> bytes:
    writer = PdfWriter()
    writer.add_blank_page(595, 842)
    writer.add_attachment(f"scan-{index}.bin", os.urandom(64 * 1024))
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


Request = Callable[[httpx.AsyncClient], Awaitable[httpx.Response]]


async def run_clients(base: str, choose: Callable[[], tuple[str, Request]], seconds: float) -> dict[str, Any]:
    """CLIENTS clients, each sending one request after the other for `seconds`."""
    latencies: list[float] = []
    statuses: dict[str, list[int]] = {}
    by_kind: dict[str, list[float]] = {}
    deadline = time.perf_counter() + seconds

    async def client() -> None:
        async with httpx.AsyncClient(base_url=base, timeout=60) as http:
            while time.perf_counter() < deadline:
                kind, send = choose()
                start = time.perf_counter()
                response = await send(http)
                latencies.append(time.perf_counter() - start)
                by_kind.setdefault(kind, []).append(latencies[-1])
                statuses.setdefault(kind, []).append(response.status_code)

    await asyncio.gather(*(client() for _ in range(CLIENTS)))
    latencies.sort()
    return {
        "requests": len(latencies),
        "rate": len(latencies) / seconds,
        "p50": statistics.median(latencies) * 1000,
        "p99": _p99(latencies) * 1000,
        "statuses": statuses,
        "p99_by_kind": {kind: _p99(values) * 1000 for kind, values in by_kind.items()},
    }


def _p99(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[max(int(len(ordered) * 0.99) - 1, 0)]


def mixed(token: str, key: str, engagement_id: str) -> Callable[[], tuple[str, Request]]:
    user = {"Authorization": f"Bearer {token}"}
    vendor = {"Authorization": f"Bearer {key}"}
    documents = [pdf(index) for index in range(PDFS)]
    metadata = json.dumps(
        {
            "kind": "deletion",
            "engagement_id": engagement_id,
            "records_deleted": 431623,
            "method": "cryptographic_erasure",
            "completed_on": "2026-11-20",
            "backups_covered": True,
            "sub_processors_covered": True,
            "signer_name": "李明",
            "signer_title": "CSO",
        }
    )

    def read(path: str) -> Request:
        return lambda http: http.get(path, headers=user)

    def create(http: httpx.AsyncClient) -> Awaitable[httpx.Response]:
        body = {
            "legal_name_en": f"Load {uuid.uuid4().hex[:12]}",
            "country": "SG",
            "registration_number": uuid.uuid4().hex,
        }
        return http.post("/api/vendors", json=body, headers=user)

    def upload(http: httpx.AsyncClient) -> Awaitable[httpx.Response]:
        files: Any = [
            ("metadata", (None, metadata)),
            ("files", ("deletion.pdf", random.choice(documents), "application/pdf")),  # noqa: S311
        ]
        headers = {**vendor, "Idempotency-Key": str(uuid.uuid4())}
        return http.post("/api/vendor/attestations", files=files, headers=headers)

    def choose() -> tuple[str, Request]:
        roll = random.random()  # noqa: S311 - a load mix, not a secret
        if roll < 0.3:
            return "read vendors", read("/api/vendors?limit=5")
        if roll < 0.6:
            return "read engagements", read("/api/engagements?limit=50")
        if roll < 0.8:
            return "create vendor", create
        return "upload attestation", upload

    return choose


def main() -> None:
    arguments = database_argument(__doc__ or "")
    seconds = max(arguments.seconds, 20)
    with fresh_database(arguments.database_url) as (url, folder):
        token, key, engagement_id = asyncio.run(prepare(url))
        choose = mixed(token, key, engagement_id)
        env = {
            "DATABASE_URL": url,
            "STORAGE_URL": f"file:{folder / 'evidence'}",
            "LOG_LEVEL": "WARNING",
            "VENDOR_RATE_LIMIT": "1000000/minute",
        }
        before = asyncio.run(count_rows(url))
        with (
            server(DPA_SERVE, env, "/health") as ours,
            server(bare_server("list_read", "bare_app"), {}, "/items") as bare,
        ):
            ours_load = asyncio.run(run_clients(ours, choose, seconds))
            bare_load = asyncio.run(
                run_clients(bare, lambda: ("bare", lambda http: http.get("/items")), min(seconds, 10))
            )
        after = asyncio.run(count_rows(url))
    created = [status for status in ours_load["statuses"].get("create vendor", []) if status == 201]
    uploaded = [status for status in ours_load["statuses"].get("upload attestation", []) if status == 201]
    all_statuses = [status for statuses in ours_load["statuses"].values() for status in statuses]
    errors = sum(1 for status in all_statuses if status >= 500)
    print(f"{CLIENTS} clients, {seconds} s, database {url.split(':', 1)[0]}")
    for kind, statuses in sorted(ours_load["statuses"].items()):
        answers = {status: statuses.count(status) for status in sorted(set(statuses))}
        p99 = ours_load["p99_by_kind"][kind]
        print(f"  {kind:<20} {len(statuses):6d} requests  p99 {p99:7.1f} ms  {answers}")
    vendors_ok = after[0] - before[0] == len(created)
    attestations_ok = after[1] - before[1] == len(uploaded)
    print(
        f"vendors      before {before[0]}, after {after[0]}, 201s {len(created)}: "
        f"{'exact' if vendors_ok else 'MISMATCH'}"
    )
    print(
        f"attestations before {before[1]}, after {after[1]}, 201s {len(uploaded)}: "
        f"{'exact' if attestations_ok else 'MISMATCH'}"
    )
    print(f"bare Litestar 1 kB JSON, same clients: {bare_load['rate']:.0f} req/s, p99 {bare_load['p99']:.1f} ms")
    print(
        f"ours mixed: {ours_load['rate']:.0f} req/s, p50 {ours_load['p50']:.1f} ms, p99 {ours_load['p99']:.1f} ms, "
        f"5xx {errors}, writes {'exact' if vendors_ok and attestations_ok else 'LOST OR DOUBLED'}"
    )


if __name__ == "__main__":
    main()
