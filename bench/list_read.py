"""Throughput of an authenticated list read, against a bare Litestar route, in the same run.

Seeds a fresh database (one admin user and its token, 20 vendors, 60 engagements), then
starts two real uvicorn servers, one process each:
- ours: `dpa serve`, loaded with GET /api/vendors?limit=5 and GET /api/engagements?limit=50
  (bearer token check, query, page, JSON);
- bare: a Litestar route answering 1 kB of JSON, no credential, no database.
Each is loaded with wrk (one thread, 10 connections) for --seconds. Prints requests/s, p99
and the ratio ours / bare on the last lines.

Run: .venv/bin/python bench/list_read.py [--database-url postgresql+asyncpg://.../dpa_bench]
"""

from __future__ import annotations

import asyncio
from typing import Any

from litestar import Litestar, get
from serving import DPA_SERVE, Load, bare_server, database_argument, fresh_database, server, wrk

from app.accounts import services as accounts
from app.accounts.schemas import Role, UserCreate
from app.core.actor import CLI_ACTOR
from app.core.database import create_engine, create_sessionmaker
from app.engagements import services as engagements
from app.engagements.schemas import EngagementCreate
from app.settle import settle
from app.vendors import services as vendors
from app.vendors.schemas import VendorCreate

VENDORS = 20
ENGAGEMENTS = 60
# About 1 kB of JSON: what the bare route answers.
KILOBYTE = [{"id": index, "name": f"item {index:03d}", "note": "x" * 40} for index in range(14)]


@get("/items")
async def items() -> list[dict[str, Any]]:
    return KILOBYTE


def bare_app() -> Litestar:
    return Litestar([items])


async def seed(url: str) -> str:
    engine = create_engine(url)
    async with create_sessionmaker(engine)() as session:
        _, token = await accounts.create(
            session, data=UserCreate(email="bench@example.com", role=Role.admin), actor=CLI_ACTOR
        )
        vendor_ids = []
        for index in range(VENDORS):
            data = VendorCreate(
                legal_name_en=f"Bench Vendor {index:02d}", country="SG", registration_number=f"R{index}"
            )
            vendor_ids.append((await vendors.create(session, data=data, actor=CLI_ACTOR)).id)
        for index in range(ENGAGEMENTS):
            engagement = EngagementCreate.model_validate(
                {
                    "vendor_id": vendor_ids[index % VENDORS],
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
            await engagements.create(session, data=engagement, actor=CLI_ACTOR)
        await settle(session)
    await engine.dispose()
    return token


def line(name: str, load: Load) -> str:
    return f"{name:<34} {load.requests_per_second:8.0f} req/s  p99 {load.p99_ms:7.1f} ms  non-2xx {load.non_2xx}"


def main() -> None:
    arguments = database_argument(__doc__ or "")
    with fresh_database(arguments.database_url) as (url, folder):
        token = asyncio.run(seed(url))
        env = {
            "DATABASE_URL": url,
            "STORAGE_URL": f"file:{folder / 'evidence'}",
            "LOG_LEVEL": "WARNING",
        }
        headers = {"Authorization": f"Bearer {token}"}
        with (
            server(DPA_SERVE, env, "/health") as ours,
            server(bare_server("list_read", "bare_app"), {}, "/items") as bare,
        ):
            wrk(f"{ours}/api/vendors?limit=5", seconds=2, headers=headers)  # warm-up
            wrk(f"{bare}/items", seconds=2)
            vendors_load = wrk(f"{ours}/api/vendors?limit=5", seconds=arguments.seconds, headers=headers)
            bare_load = wrk(f"{bare}/items", seconds=arguments.seconds)
            engagements_load = wrk(f"{ours}/api/engagements?limit=50", seconds=arguments.seconds, headers=headers)
    database = url.split(":", 1)[0]
    print(f"wrk, 1 thread, 10 connections, {arguments.seconds} s each; database {database}")
    print(line("ours GET /api/vendors?limit=5", vendors_load))
    print(line("ours GET /api/engagements?limit=50", engagements_load))
    print(line("bare Litestar 1 kB JSON", bare_load))
    bare_rate = bare_load.requests_per_second
    print(f"ratio vendors / bare: {vendors_load.requests_per_second / bare_rate:.1%}")
    print(f"ratio engagements / bare: {engagements_load.requests_per_second / bare_rate:.1%}")


if __name__ == "__main__":
    main()
