"""Findings for 10,000 engagements, recomputed, against the bare reading of the same rows.

Seeds a fresh SQLite file with 10,000 engagements of 100 vendors (a mix that raises
several rules each), then times, in the same run:
- ours, first pass: every rule over every engagement, and every finding stored (raised);
- ours, again: the same recomputation when nothing changed (compare, store nothing);
- bare: one SQLAlchemy Core SELECT per table the rules read, rows fetched, nothing evaluated.
Target: a recomputation under 5 s. Prints the figures and ratios on the last lines.
Run: .venv/bin/python bench/findings.py
"""

from __future__ import annotations

import asyncio
import tempfile
import time
import uuid
from datetime import date
from pathlib import Path

from sqlalchemy import func, insert, select

from app.agreements.models import Agreement
from app.attestations.models import Attestation
from app.core.database import create_engine, create_sessionmaker, upgrade
from app.engagements.models import Engagement, SubProcessor
from app.findings import services
from app.findings.models import Finding
from app.obligations.models import Obligation
from app.vendors.models import Vendor

ENGAGEMENTS = 10_000
VENDORS = 100


async def seed(url: str) -> None:
    engine = create_engine(url)
    async with create_sessionmaker(engine)() as session:
        vendor_ids = [uuid.uuid4() for _ in range(VENDORS)]
        await session.execute(
            insert(Vendor),
            [{"id": v, "legal_name_zh": f"供应商{i}", "country": "CN"} for i, v in enumerate(vendor_ids)],
        )
        rows = []
        for index in range(ENGAGEMENTS):
            faces = index % 3 == 0
            rows.append(
                {
                    "id": uuid.uuid4(),
                    "vendor_id": vendor_ids[index % VENDORS],
                    "name": f"Engagement {index}",
                    "purpose": "Customer analytics",
                    "processing_methods": ["collection", "storage", "transmission"],
                    "pi_categories": ["facial_recognition", "images_video"] if faces else ["basic_profile"],
                    "data_subjects": ["customers"],
                    "individuals_count": 50_000 + index * 20,
                    "individuals_count_as_of": date(2026, 6, 30),
                    "venues": [
                        {
                            "description": "Store",
                            "venue_type": "store",
                            "venue_count": 1,
                            "public_place": True,
                            "equipment": "identity_recognition" if faces else "none",
                            "equipment_count": 4 if faces else 0,
                            "purpose_public_security": False,
                            "signage_posted": False,
                            "signage_evidence": "",
                        }
                    ],
                    "storage_locations": [{"country": "CN", "region": "CN-SH", "provider": ""}],
                    "legal_basis": "consent",
                    "consent_obtained": True,
                    "retention_days": None if index % 5 == 0 else 365,
                    "start_date": date(2026, 1, 1),
                    "status": "active",
                }
            )
        for start in range(0, len(rows), 1000):
            await session.execute(insert(Engagement), rows[start : start + 1000])
        await session.commit()
    await engine.dispose()


async def ours(url: str) -> tuple[float, float, int]:
    engine = create_engine(url)
    async with create_sessionmaker(engine)() as session:
        start = time.perf_counter()
        await services.refresh_all(session, "benchmark")
        await session.commit()
        first = time.perf_counter() - start
        start = time.perf_counter()
        await services.refresh_all(session, "benchmark again")
        await session.commit()
        again = time.perf_counter() - start
        stored = await session.scalar(select(func.count()).select_from(Finding)) or 0
    await engine.dispose()
    return first, again, stored


async def bare(url: str) -> float:
    engine = create_engine(url)
    start = time.perf_counter()
    async with engine.connect() as connection:
        for model in (Engagement, Vendor, SubProcessor, Agreement, Attestation, Obligation, Finding):
            (await connection.execute(select(model))).all()
    elapsed = time.perf_counter() - start
    await engine.dispose()
    return elapsed


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite+aiosqlite:///{Path(folder) / 'bench.db'}"
        upgrade(url)
        asyncio.run(seed(url))
        first, again, stored = asyncio.run(ours(url))
        plain = asyncio.run(bare(url))
    print(f"{ENGAGEMENTS:,} engagements of {VENDORS} vendors, SQLite; {stored:,} findings stored")
    print(f"ours, first pass (every rule, every finding raised and stored): {first:.2f} s")
    print(f"ours, again with nothing changed:                              {again:.2f} s")
    print(f"bare: reading the same tables with SQLAlchemy Core:            {plain:.2f} s")
    verdict = "met" if max(first, again) < 5 else "NOT met"
    print(f"ratio ours (again) / bare: {again / plain:.1f}x; target < 5 s: {verdict}")


if __name__ == "__main__":
    main()
