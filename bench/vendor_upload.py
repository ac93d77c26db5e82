"""Upload throughput of the vendor API for a 1 MB PDF, against a bare Litestar route.

Both run as real `uvicorn` servers on 127.0.0.1, one process each, and receive the same
multipart request (metadata + one 1 MB PDF, different bytes each time so every upload is
really stored):
- ours: POST /api/vendor/attestations (key check, rate limit, multipart parse, content
  sniffing, idempotency record, SHA-256 storage, attestation + file rows, audit entry);
- bare: a Litestar route that reads the body and discards it (the reference for the ratio);
  and, to show where the time goes, a Litestar route that only parses the multipart body.
Rounds alternate between the two so both see the same machine noise. Prints medians,
MB/s and the ratio on the last lines. Run: .venv/bin/python bench/vendor_upload.py
"""

from __future__ import annotations

import asyncio
import io
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Any

import httpx
from litestar import Litestar, Request, post
from litestar.params import MultipartBody
from pypdf import PdfWriter
from sqlalchemy import select

from app.agreements import services as agreements
from app.agreements.schemas import AgreementCreate, AgreementStatus
from app.attestations.controllers import AttestationUpload
from app.core.actor import CLI_ACTOR
from app.core.changes import mark
from app.core.database import create_engine, create_sessionmaker, upgrade
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


def bare_app() -> Litestar:
    return Litestar([discard, parse])


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


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextmanager
def server(command: list[str], env: dict[str, str], ready: str) -> Iterator[str]:
    port = free_port()
    process = subprocess.Popen(  # noqa: S603 - our own command
        [*command, "--port", str(port)], env={**os.environ, **env}, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            try:
                httpx.get(base + ready, timeout=1)
                break
            except httpx.TransportError:
                time.sleep(0.1)
        yield base
    finally:
        process.terminate()
        process.wait(timeout=10)


def pdf(index: int) -> bytes:
    """A real one-page PDF of about SIZE bytes (uploads are parsed): the padding is an attachment."""
    writer = PdfWriter()
    writer.add_blank_page(595, 842)
    writer.add_attachment(f"scan-{index}.bin", os.urandom(SIZE - 1500))
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite+aiosqlite:///{Path(folder) / 'bench.db'}"
        upgrade(url)
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
            "STORAGE_URL": f"file:{Path(folder) / 'evidence'}",
            "LOG_LEVEL": "WARNING",
            "VENDOR_RATE_LIMIT": "100000/minute",
        }
        ours_cmd = [sys.executable, "-m", "app", "serve"]
        bare_cmd = [sys.executable, "-m", "uvicorn", "--factory", "vendor_upload:bare_app", "--app-dir", "bench"]
        bare_cmd += ["--log-level", "warning"]
        ours_times: list[float] = []
        bare_times: list[float] = []
        parse_times: list[float] = []
        with (
            server(ours_cmd, env, "/health") as ours,
            server(bare_cmd, {}, "/") as bare,
            httpx.Client(timeout=60) as client,
        ):
            headers = {"Authorization": f"Bearer {key}"}
            for index in range(ROUNDS + 3):
                files: Any = [
                    ("metadata", (None, metadata)),
                    ("files", ("deletion.pdf", pdf(index), "application/pdf")),
                ]
                start = time.perf_counter()
                response = client.post(
                    f"{ours}/api/vendor/attestations",
                    files=files,
                    headers={**headers, "Idempotency-Key": str(uuid.uuid4())},
                )
                ours_time = time.perf_counter() - start
                assert response.status_code == 201, response.text
                start = time.perf_counter()
                response = client.post(f"{bare}/upload", files=files)
                bare_time = time.perf_counter() - start
                assert response.status_code == 204, response.text
                start = time.perf_counter()
                response = client.post(f"{bare}/parse", files=files)
                parse_time = time.perf_counter() - start
                assert response.status_code == 204, response.text
                if index >= 3:  # warm-up rounds are not counted
                    ours_times.append(ours_time)
                    bare_times.append(bare_time)
                    parse_times.append(parse_time)
    ours_median, bare_median = statistics.median(ours_times), statistics.median(bare_times)
    print(f"1 MB PDF uploads, {ROUNDS} rounds each, alternating, real uvicorn servers on 127.0.0.1")
    print(f"ours POST /api/vendor/attestations: median {ours_median * 1000:.1f} ms ({1 / ours_median:.1f} MB/s)")
    print(f"bare Litestar read-and-discard:     median {bare_median * 1000:.1f} ms ({1 / bare_median:.1f} MB/s)")
    parse_median = statistics.median(parse_times)
    print(f"bare Litestar multipart parse only:  median {parse_median * 1000:.1f} ms ({1 / parse_median:.1f} MB/s)")
    print(f"ratio ours / bare: {ours_median / bare_median:.2f}x")


if __name__ == "__main__":
    main()
