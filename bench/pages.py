"""The pages, rendered server-side: median time and weight of each main page.

Two data sets in fresh SQLite files: the demo, then the demo with --vendors more vendors (each
with --per-vendor engagements, a camera engagement among them, so findings and obligations grow
too). Each page is fetched ROUNDS times in process through Litestar (the session cookie and
its database look-up included). Goal (issue 12): median < 100 ms, weight < 200 kB without fonts.
Run: .venv/bin/python bench/pages.py [--vendors 1000 --per-vendor 10]
"""

from __future__ import annotations

import argparse
import asyncio
import re
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from litestar.testing import TestClient

from app.accounts import signin
from app.accounts.services import get_by_email
from app.core.actor import CLI_ACTOR
from app.core.credit_code import check_character
from app.core.database import create_engine, create_sessionmaker, upgrade
from app.core.settings import Settings
from app.demo import load
from app.engagements import services as engagements
from app.engagements.schemas import EngagementCreate
from app.main import create_app
from app.settle import settle
from app.vendors import services as vendors
from app.vendors.schemas import VendorCreate

ROUNDS = 15
ADMIN = "admin@xingchi-auto.example"
PASSWORD = "bench password 1"  # noqa: S105 - a throw-away database
PAGES = [
    "/dashboard",
    "/vendors",
    "/vendors?q=%E6%B5%8B%E8%AF%95",
    "/engagements",
    "/obligations?status=open",
    "/obligations/calendar",
    "/findings",
    "/review",
    "/agreements",
    "/engagements/new",
]


def credit_code(serial: int) -> str:
    first17 = f"91310000MB{serial:07d}"
    return first17 + check_character(first17)


async def seed(url: str, more_vendors: int, per_vendor: int) -> None:
    engine = create_engine(url)
    try:
        async with create_sessionmaker(engine)() as session:
            await load(session)
        async with create_sessionmaker(engine)() as session:
            user = await get_by_email(session, email=ADMIN)
            assert user is not None
            user.password_hash = signin.hash_password(PASSWORD)
            await settle(session)
        for start in range(0, more_vendors, 50):  # in batches: one settle (findings, deadlines) each
            async with create_sessionmaker(engine)() as session:
                for number in range(start, min(start + 50, more_vendors)):
                    vendor = await vendors.create(
                        session,
                        data=VendorCreate(
                            legal_name_zh=f"测试{number:05d}有限公司", unified_social_credit_code=credit_code(number)
                        ),
                        actor=CLI_ACTOR,
                    )
                    for index in range(per_vendor):
                        camera = index == 0
                        body: dict[str, Any] = {
                            "vendor_id": vendor.id,
                            "name": f"Engagement {number:05d}-{index:02d}",
                            "purpose": "Host the customer database and its backups.",
                            "processing_methods": ["storage", "transmission"],
                            "pi_categories": ["facial_recognition"] if camera else ["contact_details"],
                            "data_subjects": ["customers"],
                            "individuals_count": 150_000 if camera else 1000 + index,
                            "legal_basis": "consent",
                            "consent_obtained": True,
                        }
                        await engagements.create(session, data=EngagementCreate.model_validate(body), actor=CLI_ACTOR)
                await settle(session)
    finally:
        await engine.dispose()


def measure(url: str, directory: Path) -> dict[str, tuple[float, int]]:
    settings = Settings(database_url=url, storage_url=f"file:{directory / 'evidence'}", secret_key="b" * 40)
    figures = {}
    with TestClient(app=create_app(settings)) as client:
        form = client.get("/sign-in").text
        token = re.search(r'name="_csrf" value="([0-9a-f]+)"', form)
        assert token
        client.post("/sign-in", data={"_csrf": token.group(1), "email": ADMIN, "password": PASSWORD})
        for path in PAGES:
            timings, size = [], 0
            for _ in range(ROUNDS):
                start = time.perf_counter()
                answer = client.get(path)
                timings.append(time.perf_counter() - start)
                assert answer.status_code == 200, (path, answer.status_code)
                size = len(answer.content)
            figures[path] = (statistics.median(timings) * 1000, size)
        assets = sum(len(client.get(asset).content) for asset in ("/static/style.css", "/static/pages.js"))
    figures["(style.css + pages.js)"] = (0.0, assets)
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--vendors", type=int, default=200)
    parser.add_argument("--per-vendor", type=int, default=5)
    options = parser.parse_args()
    results = {}
    for label, more in (("demo", 0), (f"demo + {options.vendors} vendors", options.vendors)):
        with tempfile.TemporaryDirectory() as tmp:
            url = f"sqlite+aiosqlite:///{Path(tmp) / 'bench.db'}"
            upgrade(url)
            asyncio.run(seed(url, more, options.per_vendor))
            results[label] = measure(url, Path(tmp))
    labels = list(results)
    print(f"{'page':32} " + "  ".join(f"{label:>28}" for label in labels))
    for path in results[labels[0]]:
        cells = [f"{results[label][path][0]:8.1f} ms {results[label][path][1] / 1024:8.1f} kB" for label in labels]
        print(f"{path:32} " + "  ".join(f"{cell:>28}" for cell in cells))
    worst = max(ms for figures in results.values() for ms, _ in figures.values())
    heaviest = max(size for figures in results.values() for _, size in figures.values()) / 1024
    print(f"slowest median {worst:.1f} ms (goal < 100 ms); heaviest page {heaviest:.1f} kB (goal < 200 kB)")


if __name__ == "__main__":
    main()
