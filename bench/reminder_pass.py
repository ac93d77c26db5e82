"""One reminder pass (queue what is due, one digest per recipient, send) against the number
of obligations stored and the number due.

For each case a fresh SQLite file gets N stored obligations, D of them due within the
reminder window, owned by 100 people; then one pass runs at a fixed moment and writes its
digests as .eml files (the default transport). The bare reference does the same work by
hand in the same run: one SQL query for the due rows, grouped by owner in Python, one
stdlib e-mail each written to a directory, no outbox, no retries, no dedup.
Target: under 2 s for 100,000 stored with 1,000 due, and a time that follows the number due.
Run: .venv/bin/python bench/reminder_pass.py
"""

from __future__ import annotations

import asyncio
import sqlite3
import tempfile
import time
import uuid
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from sqlalchemy import insert

from app import worker
from app.accounts.models import User
from app.core.database import create_engine, create_sessionmaker, upgrade
from app.core.settings import Settings
from app.engagements.models import Engagement
from app.obligations.models import Obligation
from app.vendors.models import Vendor

NOW = datetime(2026, 11, 28, 1, 0, tzinfo=UTC)  # 09:00 in Shanghai
TODAY = date(2026, 11, 28)
OWNERS = 100
CASES = [(10_000, 1_000), (100_000, 1_000), (100_000, 2_000)]


async def seed(url: str, stored: int, due: int) -> None:
    engine = create_engine(url)
    async with create_sessionmaker(engine)() as session:
        vendor_id = uuid.uuid4()
        await session.execute(
            insert(Vendor).values(
                id=vendor_id, legal_name_zh="基准测试有限公司", unified_social_credit_code="91440101MA59Y8H03P"
            )
        )
        owners = [uuid.uuid4() for _ in range(OWNERS)]
        await session.execute(
            insert(User), [{"id": o, "email": f"owner{i}@bench.example", "role": "owner"} for i, o in enumerate(owners)]
        )
        engagement_id = uuid.uuid4()
        await session.execute(
            insert(Engagement).values(
                id=engagement_id,
                vendor_id=vendor_id,
                name="Bench",
                purpose="Bench",
                processing_methods=["storage"],
                pi_categories=["basic_profile"],
                data_subjects=["customers"],
                legal_basis="contract",
            )
        )
        rows: list[dict[str, Any]] = []
        for index in range(stored):
            # The first `due` fall within the window (some overdue); the rest years ahead.
            due_on = (
                TODAY + timedelta(days=index % 40 - 9) if index < due else TODAY + timedelta(days=400 + index % 900)
            )
            rows.append(
                {
                    "id": uuid.uuid4(),
                    "key": f"bench:{index}",
                    "kind": "facial_recognition_filing",
                    "party": "handler",
                    "vendor_id": vendor_id,
                    "engagement_id": engagement_id,
                    "owner_id": owners[index % OWNERS],
                    "due_on": due_on,
                    "rule_id": "R9",
                    "article": "FR measures",
                }
            )
            if len(rows) == 5_000:
                await session.execute(insert(Obligation), rows)
                rows = []
        if rows:
            await session.execute(insert(Obligation), rows)
        await session.commit()
    await engine.dispose()


async def ours(url: str, outbox: Path) -> tuple[float, int]:
    engine = create_engine(url)
    settings = Settings(database_url=url, outbox_dir=str(outbox))
    start = time.perf_counter()
    report = await worker.one_pass(engine, settings, now=NOW)
    elapsed = time.perf_counter() - start
    await engine.dispose()
    return elapsed, len(report.sent)


def bare(path: Path, outbox: Path) -> tuple[float, int]:
    start = time.perf_counter()
    connection = sqlite3.connect(path)
    horizon = (TODAY + timedelta(days=30)).isoformat()
    rows = connection.execute(
        "SELECT o.id, o.kind, o.due_on, u.email FROM obligations o JOIN users u ON u.id = o.owner_id "
        "WHERE o.status = 'open' AND o.due_on <= ?",
        (horizon,),
    ).fetchall()
    by_owner: dict[str, list[tuple[Any, ...]]] = defaultdict(list)
    for row in rows:
        by_owner[row[3]].append(row)
    outbox.mkdir(parents=True, exist_ok=True)
    for owner, items in by_owner.items():
        message = EmailMessage()
        message["To"], message["Subject"] = owner, f"{len(items)} items due"
        message.set_content("\n".join(f"{kind} due {due_on}" for _, kind, due_on, _ in items))
        (outbox / f"{uuid.uuid4().hex}.eml").write_bytes(message.as_bytes())
    connection.close()
    return time.perf_counter() - start, len(by_owner)


def main() -> None:
    lines = []
    for stored, due in CASES:
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "bench.db"
            url = f"sqlite+aiosqlite:///{path}"
            upgrade(url)
            asyncio.run(seed(url, stored, due))
            plain, plain_digests = bare(path, Path(folder) / "bare")
            elapsed, digests = asyncio.run(ours(url, Path(folder) / "outbox"))
            assert digests == plain_digests == OWNERS, (digests, plain_digests)
            lines.append((stored, due, elapsed, plain))
    print(f"one reminder pass, SQLite, {OWNERS} recipients, digests written as .eml")
    for stored, due, elapsed, plain in lines:
        print(
            f"stored {stored:>7,} due {due:>5,}: ours {elapsed * 1000:7.0f} ms, bare {plain * 1000:5.0f} ms, "
            f"ratio {elapsed / plain:.1f}x"
        )
    base = lines[0][2]
    print(f"100,000 vs 10,000 stored (1,000 due): {lines[1][2] / base:.2f}x the time (target: about 1x)")
    print(f"2,000 vs 1,000 due (100,000 stored): {lines[2][2] / lines[1][2]:.2f}x the time (follows the number due)")
    print(f"100,000 stored, 1,000 due: {lines[1][2]:.2f} s (target < 2 s)")


if __name__ == "__main__":
    main()
