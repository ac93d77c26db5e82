"""How much the API adds to listing engagements.

Seeds 200 engagements in a fresh SQLite file, then times, in the same run:
- the API: GET /api/engagements?limit=200 through Litestar (in process, auth included);
- the bare library: the same rows read with one SQLAlchemy SELECT and dumped to JSON.
Prints the medians and their ratio on the last lines. Run: .venv/bin/python bench/list_engagements.py
"""

from __future__ import annotations

import asyncio
import json
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from litestar.testing import TestClient
from sqlalchemy import text

from app.accounts import services as accounts
from app.accounts.schemas import Role, UserCreate
from app.core.actor import CLI_ACTOR
from app.core.database import create_engine, create_sessionmaker, upgrade
from app.core.settings import Settings
from app.engagements import services as engagements
from app.engagements.schemas import EngagementCreate
from app.main import create_app
from app.vendors import services as vendors
from app.vendors.schemas import VendorCreate

ROWS = 200
ROUNDS = 30


async def seed(url: str) -> str:
    engine = create_engine(url)
    async with create_sessionmaker(engine)() as session:
        _, token = await accounts.create(
            session, data=UserCreate(email="bench@example.com", role=Role.admin), actor=CLI_ACTOR
        )
        vendor = await vendors.create(
            session,
            data=VendorCreate(legal_name_zh="基准测试有限公司", unified_social_credit_code="91440101MA59Y8H03P"),
            actor=CLI_ACTOR,
        )
        for index in range(ROWS):
            data = EngagementCreate.model_validate(
                {
                    "vendor_id": vendor.id,
                    "name": f"Engagement {index:03d}",
                    "purpose": "Host the customer database and its backups.",
                    "processing_methods": ["storage", "transmission"],
                    "pi_categories": ["basic_profile", "contact_details", "vehicle_information"],
                    "data_subjects": ["customers"],
                    "individuals_count": 1000 + index,
                    "storage_locations": [{"country": "CN", "region": "CN-SH"}],
                    "legal_basis": "contract",
                }
            )
            await engagements.create(session, data=data, actor=CLI_ACTOR)
    await engine.dispose()
    return token


async def bare(url: str) -> list[float]:
    engine = create_engine(url)
    timings = []
    for _ in range(ROUNDS):
        start = time.perf_counter()
        async with engine.connect() as connection:
            rows = (await connection.execute(text("SELECT * FROM engagements ORDER BY name, id LIMIT 200"))).mappings()
            json.dumps([dict(row) for row in rows], default=str)
        timings.append(time.perf_counter() - start)
    await engine.dispose()
    return timings


def through_api(url: str, token: str) -> list[float]:
    timings = []
    with TestClient(app=create_app(Settings(database_url=url, log_level="WARNING"))) as client:
        headers = {"Authorization": f"Bearer {token}"}
        for _ in range(ROUNDS):
            start = time.perf_counter()
            response = client.get(f"/api/engagements?limit={ROWS}", headers=headers)
            timings.append(time.perf_counter() - start)
            assert response.status_code == 200 and len(response.json()["items"]) == ROWS
    return timings


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite+aiosqlite:///{Path(folder) / 'bench.db'}"
        upgrade(url)
        token = asyncio.run(seed(url))
        api: Any = statistics.median(through_api(url, token))
        sql: Any = statistics.median(asyncio.run(bare(url)))
    print(f"rows per request: {ROWS}, rounds: {ROUNDS}")
    print(f"API  GET /api/engagements: median {api * 1000:.1f} ms")
    print(f"bare SQLAlchemy + json:    median {sql * 1000:.1f} ms")
    print(f"ratio API / bare: {api / sql:.1f}x")


if __name__ == "__main__":
    main()
