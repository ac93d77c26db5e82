"""Upload throughput of the vendor API for a 1 MB PDF, against bare Litestar routes.

Both run as real `uvicorn` servers on 127.0.0.1, one process each, and receive the same
multipart request (metadata + one 1 MB PDF, different bytes each time so every upload is
really stored):
- ours: POST /api/vendor/attestations (key check, rate limit, multipart parse, content
  sniffing, idempotency record, SHA-256 storage, attestation + file rows, audit entry);
- bare durable: a Litestar route that streams the body to a file, fsyncs it, inserts one row
  and commits, in the same kind of database (the fair floor for a durable upload: the ratio);
- bare: a route that reads the body and discards it, and one that only parses the multipart
  body, to show where the time goes.
Rounds alternate between them so all see the same machine noise. Prints medians, MB/s and
the ratios on the last lines.

Run: .venv/bin/python bench/vendor_upload.py [--database-url postgresql+asyncpg://.../dpa_bench]
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import json
import os
import statistics
import sys
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import date
from pathlib import Path
from typing import Any

import anyio
import httpx
from litestar import Litestar, Request, post
from litestar.params import MultipartBody
from pypdf import PdfWriter
from serving import bare_server, database_argument, fresh_database, server
from sqlalchemy import Column, Integer, MetaData, String, Table, insert, select
from sqlalchemy.ext.asyncio import AsyncEngine

from app.agreements import services as agreements
from app.agreements.schemas import AgreementCreate, AgreementStatus
from app.attestations.controllers import AttestationUpload
from app.core.actor import CLI_ACTOR
from app.core.changes import mark
from app.core.database import create_engine, create_sessionmaker
from app.demo import load as load_demo
from app.engagements.models import Engagement
from app.settle import settle
from app.vendors import services as vendors
from app.vendors.schemas import VendorKeyCreate

ROUNDS = 40
SIZE = 1024 * 1024


@post("/upload", status_code=204, request_max_body_size=50 * SIZE)
async def discard(request: Request[Any, Any, Any]) -> None:
    await request.body()


@post("/parse", status_code=204, request_max_body_size=50 * SIZE)
async def parse(data: MultipartBody[AttestationUpload]) -> None:
    for upload in data.files:
        await upload.read()


BARE_ROWS = Table(
    "bench_bare_uploads",
    MetaData(),
    Column("id", String(32), primary_key=True),
    Column("sha256", String(64), nullable=False),
    Column("size", Integer, nullable=False),
)


@post("/durable", status_code=201, request_max_body_size=50 * SIZE)
async def durable(request: Request[Any, Any, Any]) -> None:
    """Stream to a file, fsync, insert one row, commit: what any durable upload must do."""
    engine: AsyncEngine = request.app.state.engine
    name = uuid.uuid4().hex
    digest, size = hashlib.sha256(), 0
    async with await anyio.open_file(Path(os.environ["BENCH_UPLOAD_DIR"]) / name, "wb") as out:
        async for chunk in request.stream():
            digest.update(chunk)
            size += len(chunk)
            await out.write(chunk)
        await out.flush()
        await anyio.to_thread.run_sync(os.fsync, out.wrapped.fileno())
    async with engine.begin() as connection:
        await connection.execute(insert(BARE_ROWS).values(id=name, sha256=digest.hexdigest(), size=size))


@asynccontextmanager
async def bare_database(application: Litestar) -> AsyncIterator[None]:
    engine = create_engine(os.environ["BENCH_DATABASE_URL"])
    async with engine.begin() as connection:
        await connection.run_sync(BARE_ROWS.metadata.create_all)
    application.state.engine = engine
    try:
        yield
    finally:
        await engine.dispose()


def bare_app() -> Litestar:
    return Litestar([discard, parse, durable], lifespan=[bare_database])


async def prepare(url: str) -> tuple[str, str]:
    """The demo, an ended agreement for the camera vendor, and a key for that vendor."""
    engine = create_engine(url)
    async with create_sessionmaker(engine)() as session:
        await load_demo(session)
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
    return key, str(engagement.id)


def pdf(index: int) -> bytes:
    """A real one-page PDF of about SIZE bytes (uploads are parsed): the padding is an attachment."""
    writer = PdfWriter()
    writer.add_blank_page(595, 842)
    writer.add_attachment(f"scan-{index}.bin", os.urandom(SIZE - 1500))
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def main() -> None:
    arguments = database_argument(__doc__ or "")
    with fresh_database(arguments.database_url) as (url, folder):
        key, engagement_id = asyncio.run(prepare(url))
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
        env = {
            "DATABASE_URL": url,
            "STORAGE_URL": f"file:{folder / 'evidence'}",
            "LOG_LEVEL": "WARNING",
            "VENDOR_RATE_LIMIT": "100000/minute",
        }
        (folder / "bare").mkdir()
        bare_env = {"BENCH_DATABASE_URL": url, "BENCH_UPLOAD_DIR": str(folder / "bare")}
        ours_cmd = [sys.executable, "-m", "app", "serve"]
        times: dict[str, list[float]] = {"ours": [], "durable": [], "discard": [], "parse": []}
        with (
            server(ours_cmd, env, "/health") as ours,
            server(bare_server("vendor_upload", "bare_app"), bare_env, "/") as bare,
            httpx.Client(timeout=60) as client,
        ):
            headers = {"Authorization": f"Bearer {key}"}
            targets = {
                "ours": (f"{ours}/api/vendor/attestations", 201),
                "durable": (f"{bare}/durable", 201),
                "discard": (f"{bare}/upload", 204),
                "parse": (f"{bare}/parse", 204),
            }
            for index in range(ROUNDS + 3):
                files: Any = [
                    ("metadata", (None, metadata)),
                    ("files", ("deletion.pdf", pdf(index), "application/pdf")),
                ]
                for name, (target, status) in targets.items():
                    extra = {**headers, "Idempotency-Key": str(uuid.uuid4())} if name == "ours" else {}
                    start = time.perf_counter()
                    response = client.post(target, files=files, headers=extra)
                    elapsed = time.perf_counter() - start
                    assert response.status_code == status, response.text
                    if index >= 3:  # warm-up rounds are not counted
                        times[name].append(elapsed)
    medians = {name: statistics.median(values) for name, values in times.items()}
    print(f"1 MB PDF uploads, {ROUNDS} rounds each, alternating, real uvicorn servers on 127.0.0.1")
    print(f"database {url.split(':', 1)[0]}")
    labels = {
        "ours": "ours POST /api/vendor/attestations:",
        "durable": "bare durable (file, fsync, row, commit):",
        "discard": "bare Litestar read-and-discard:",
        "parse": "bare Litestar multipart parse only:",
    }
    for name, label in labels.items():
        print(f"{label:<42} median {medians[name] * 1000:6.1f} ms ({1 / medians[name]:5.1f} MB/s)")
    print(f"ratio ours / bare read-and-discard, time: {medians['ours'] / medians['discard']:.2f}x")
    print(f"ratio ours / bare durable, throughput: {medians['durable'] / medians['ours']:.0%}")


if __name__ == "__main__":
    main()
