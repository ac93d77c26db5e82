"""How long an import preview of 10,000 engagement rows takes (issue 16: under 10 s).

Writes the import template with one vendor and 10,000 engagements (every column filled as a
user would), then times, in the same run:
- the preview: POST /api/imports through Litestar (in process, auth included) on a fresh
  SQLite file, every row through the engagements service and rolled back;
- the bare library: openpyxl reading the same workbook's cells (read-only, values only).
Prints both and their ratio on the last lines. Run: .venv/bin/python bench/import_preview.py
"""

from __future__ import annotations

import asyncio
import io
import os
import tempfile
import time
from pathlib import Path
from typing import Any

import openpyxl
from litestar.testing import TestClient

from app.accounts import services as accounts
from app.accounts.schemas import Role, UserCreate
from app.core.actor import CLI_ACTOR
from app.core.database import create_engine, create_sessionmaker, upgrade
from app.core.settings import Settings
from app.imports import workbook
from app.imports.schemas import Sheet
from app.main import create_app
from app.settle import settle

ROWS = 10_000
CODE = "91440101MA59Y8H03P"


def workbook_bytes() -> bytes:
    vendor = {"unified_social_credit_code": CODE, "legal_name_zh": "基准测试有限公司", "country": "CN"}
    engagement = {
        "vendor": CODE,
        "purpose": "托管客户数据库及其备份 Host the customer database and its backups.",
        "processing_methods": "storage 存储; transmission 传输",
        "pi_categories": "basic_profile; contact_details; vehicle_information",
        "data_subjects": "customers 客户",
        "legal_basis": "contract",
        "storage_locations": "CN | CN-SH | Aliyun Shanghai",
        "start_date": "2026-01-01",
        "end_date": "2027-12-31",
        "status": "active",
    }
    rows: dict[Sheet, list[list[Any]]] = {
        Sheet.vendors: [[vendor.get(c.field, "") for c in workbook.COLUMNS[Sheet.vendors]]],
        Sheet.engagements: [
            [
                {**engagement, "name": f"委托处理 {index:05d}", "individuals_count": 1000 + index}.get(c.field, "")
                for c in workbook.COLUMNS[Sheet.engagements]
            ]
            for index in range(ROWS)
        ],
    }
    return workbook.write(rows)


async def seed(url: str) -> str:
    engine = create_engine(url)
    async with create_sessionmaker(engine)() as session:
        _, token = await accounts.create(
            session, data=UserCreate(email="bench@example.com", role=Role.admin), actor=CLI_ACTOR
        )
        await settle(session)
    await engine.dispose()
    return token


def bare(data: bytes) -> tuple[float, float, int]:
    start, cpu = time.perf_counter(), time.process_time()
    book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=False)
    cells = sum(len(row) for sheet in book.worksheets for row in sheet.iter_rows(values_only=True))
    book.close()
    return time.perf_counter() - start, time.process_time() - cpu, cells


def preview(url: str, token: str, data: bytes) -> tuple[float, float]:
    with TestClient(app=create_app(Settings(database_url=url, log_level="WARNING")), timeout=600) as client:
        start, cpu = time.perf_counter(), time.process_time()
        response = client.post(
            "/api/imports",
            files={"file": ("bench.xlsx", data, workbook.XLSX_TYPE)},
            headers={"Authorization": f"Bearer {token}"},
        )
        elapsed, used = time.perf_counter() - start, time.process_time() - cpu
    assert response.status_code == 200, response.text[:500]
    counts = response.json()["counts"]
    assert counts["create"] == ROWS + 1 and counts["error"] == 0, counts
    return elapsed, used


def main() -> None:
    data = workbook_bytes()
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite+aiosqlite:///{Path(folder) / 'bench.db'}"
        upgrade(url)
        token = asyncio.run(seed(url))
        ours, ours_cpu = preview(url, token, data)
    library, library_cpu, cells = bare(data)
    print(f"{ROWS:,} engagement rows (+1 vendor), {len(data) / 1024:.0f} KB XLSX, {cells:,} cells, SQLite")
    print(f"load average while running: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores (wall time counts the wait)")
    print(f"ours POST /api/imports (preview, each row checked by services): {ours:.2f} s, CPU {ours_cpu:.2f} s")
    print(f"bare openpyxl read-only, every cell of the same workbook:   {library:.2f} s, CPU {library_cpu:.2f} s")
    verdict = "met" if ours < 10 else "NOT met"
    print(f"ratio ours / bare: {ours / library:.1f}x wall, {ours_cpu / library_cpu:.1f}x CPU (under 10 s: {verdict})")


if __name__ == "__main__":
    main()
