"""Agreement rendering speed, against the bare libraries doing the same work in the same run.

1. PDF, end to end (load the agreement from the database, fill the clauses, lay out, write
   the PDF with subset CJK fonts) against a bare WeasyPrint HTML(string=...).write_pdf() of
   the identical HTML.
2. DOCX of the same agreement, and of one with twice the clauses (time must at most double).
3. The event loop while a PDF renders: the worst /health latency of a real `dpa serve`
   polled every 10 ms during a render request.
Prints its figures and ratios on the last lines. Run: .venv/bin/python bench/agreement_documents.py
"""

from __future__ import annotations

import asyncio
import dataclasses
import io
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import httpx
from pypdf import PdfReader
from weasyprint import HTML

from app.accounts import services as accounts
from app.agreements import rendering, services
from app.agreements.schemas import AgreementCreate, DocumentFormat, Language, RenderRequest
from app.core.database import create_engine, create_sessionmaker, upgrade
from app.demo import load
from app.engagements import services as engagements
from app.engagements.schemas import EngagementCreate, SubProcessorCreate
from app.settle import settle

ROUNDS = 9
LONG_PURPOSE = (
    "Count and analyse customer traffic in the showrooms, measure repeat visits and dwell time, and compare "
    "stores, so that staffing and opening hours follow demand. "
) * 8


async def prepare(url: str) -> uuid.UUID:
    """The demo, plus an engagement where every conditional clause applies; returns its agreement id."""
    engine = create_engine(url)
    async with create_sessionmaker(engine)() as session:
        await load(session)
        admin = await accounts.get_by_email(session, email="admin@xingchi-auto.example")
        assert admin is not None
        actor = accounts.actor_for(admin)
        camera = (
            await engagements.get_all(
                session, where=engagements.EngagementFilter(sensitive=True), sort="name", limit=10, offset=0
            )
        )[0]
        vendor_id = next(e.vendor_id for e in camera if "facial_recognition" in e.pi_categories)
        data = EngagementCreate.model_validate(
            {
                "vendor_id": vendor_id,
                "name": "全部条件 (every condition)",
                "purpose": LONG_PURPOSE,
                "processing_methods": ["collection", "storage", "use", "processing", "transmission"],
                "pi_categories": ["facial_recognition", "biometric_other", "health", "minors_data", "contact_details"],
                "data_subjects": ["visitors", "customers", "minors_under_14"],
                "individuals_count": 431623,
                "venues": [
                    {
                        "description": "Showrooms",
                        "venue_type": "showroom",
                        "venue_count": 7,
                        "public_place": True,
                        "equipment": "identity_recognition",
                        "equipment_count": 22,
                    }
                ],
                "storage_locations": [{"country": "CN", "region": "CN-SH"}, {"country": "SG"}],
                "leaves_china": True,
                "cross_border_mechanism": "standard_contract",
                "cross_border_recipients": [{"name": "Regional analytics hub", "country": "SG"}],
                "retention_days": 180,
                "legal_basis": "consent",
                "consent_obtained": True,
            }
        )
        engagement = await engagements.create(session, data=data, actor=actor)
        for index in range(8):
            await engagements.add_sub_processor(
                session,
                engagement_id=engagement.id,
                data=SubProcessorCreate(
                    name=f"分包商 {index + 1} Sub-processor",
                    activity="hosting and backups",
                    region="CN-SH",
                    handler_consented=True,
                    consented_on=date(2026, 1, 1),
                ),
                actor=actor,
            )
        agreement = await services.create(
            session,
            data=AgreementCreate(engagement_id=engagement.id, term_start=date(2026, 1, 5), term_end=date(2027, 1, 4)),
            actor=actor,
        )
        agreement_id = agreement.id
        await settle(session)  # services mark and never commit: the write lands here
    await engine.dispose()
    return agreement_id


def end_to_end(url: str, agreement_id: uuid.UUID, request: RenderRequest) -> tuple[float, bytes]:
    async def run() -> bytes:
        engine = create_engine(url)
        try:
            async with create_sessionmaker(engine)() as session:
                agreement = await services.get(session, agreement_id=agreement_id)
                return services.render(agreement, request)
        finally:
            await engine.dispose()

    start = time.perf_counter()
    data = asyncio.run(run())
    return time.perf_counter() - start, data


def median_of(work: Callable[[], float]) -> float:
    return statistics.median(work() for _ in range(ROUNDS))


def timed(function: Any, *args: Any) -> float:
    start = time.perf_counter()
    function(*args)
    return time.perf_counter() - start


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def health_during_render(url: str, agreement_id: uuid.UUID, token: str) -> list[tuple[float, float]]:
    """Worst and median /health latency during each of two PDF renders by a real server.

    The first render after start also spawns the worker process; the second is steady state.
    """
    port = free_port()
    env = {**os.environ, "DATABASE_URL": url, "LOG_LEVEL": "WARNING"}
    server = subprocess.Popen(  # noqa: S603 - our own command
        [sys.executable, "-m", "app", "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        with httpx.Client(base_url=base, timeout=30) as client:
            for _ in range(150):
                try:
                    if client.get("/health").status_code == 200:
                        break
                except httpx.TransportError:
                    time.sleep(0.1)
            headers = {"Authorization": f"Bearer {token}"}
            return [_poll_during_render(client, base, headers, agreement_id) for _ in range(2)]
    finally:
        server.terminate()
        server.wait(timeout=10)


def _poll_during_render(
    client: httpx.Client, base: str, headers: dict[str, str], agreement_id: uuid.UUID
) -> tuple[float, float]:
    done = threading.Event()
    outcome: list[str] = []

    def render() -> None:
        try:
            with httpx.Client(base_url=base, timeout=120) as other:
                response = other.post(
                    f"/api/agreements/{agreement_id}/documents",
                    headers=headers,
                    json={"format": "pdf", "lang": "bilingual"},
                )
                outcome.append(f"{response.status_code} {response.text[:200]}")
        finally:
            done.set()

    thread = threading.Thread(target=render)
    thread.start()
    latencies = []
    while not done.is_set():
        start = time.perf_counter()
        assert client.get("/health").status_code == 200
        latencies.append(time.perf_counter() - start)
        time.sleep(0.01)
    thread.join()
    assert outcome and outcome[0].startswith("201"), outcome
    return max(latencies), statistics.median(latencies)


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite+aiosqlite:///{Path(folder) / 'bench.db'}"
        upgrade(url)
        agreement_id = asyncio.run(prepare(url))
        pdf_request = RenderRequest(format=DocumentFormat.pdf, lang=Language.bilingual, annex=True)
        docx_request = RenderRequest(format=DocumentFormat.docx, lang=Language.bilingual, annex=True)

        _, pdf = end_to_end(url, agreement_id, pdf_request)  # warm fonts and caches once for both sides
        pages = len(PdfReader(io.BytesIO(pdf)).pages)

        async def composed() -> rendering.Composed:
            engine = create_engine(url)
            async with create_sessionmaker(engine)() as session:
                agreement = await services.get(session, agreement_id=agreement_id)
            await engine.dispose()
            return services.compose(agreement, annex=True)

        document = asyncio.run(composed())
        languages = rendering.LANGUAGE_SETS["bilingual"]
        html = rendering.to_html(document, languages)
        # Alternate the two, so that both see the same machine noise.
        ours_times, bare_times = [], []
        for _ in range(ROUNDS):
            ours_times.append(end_to_end(url, agreement_id, pdf_request)[0])
            bare_times.append(timed(lambda: HTML(string=html).write_pdf()))
        ours_pdf, bare_pdf = statistics.median(ours_times), statistics.median(bare_times)

        ours_docx = median_of(lambda: end_to_end(url, agreement_id, docx_request)[0])
        doubled = dataclasses.replace(
            document,
            clauses=[dataclasses.replace(c, number=i + 1) for i, c in enumerate(document.clauses * 2)],
        )
        single_docx = median_of(lambda: timed(rendering.to_docx, document, languages))
        double_docx = median_of(lambda: timed(rendering.to_docx, doubled, languages))

        _, token = asyncio.run(_token(url))
        (first_worst, first_median), (worst, typical) = health_during_render(url, agreement_id, token)

    print(f"agreement: {len(document.clauses)} clauses, bilingual with annex, {pages} pages; rounds: {ROUNDS}")
    print(f"PDF end to end (load, fill, layout, write): median {ours_pdf * 1000:.0f} ms")
    print(f"PDF bare WeasyPrint write_pdf of the same HTML: median {bare_pdf * 1000:.0f} ms")
    print(f"PDF ratio ours / bare: {ours_pdf / bare_pdf:.2f}x (target <= 1.3x, and < 1000 ms)")
    print(f"DOCX end to end: median {ours_docx * 1000:.0f} ms (target < 150 ms)")
    print(
        f"DOCX to_docx {len(document.clauses)} clauses: {single_docx * 1000:.0f} ms; {len(doubled.clauses)} clauses: "
        f"{double_docx * 1000:.0f} ms; ratio {double_docx / single_docx:.2f}x (target <= 2x)"
    )
    print(
        f"/health during the first PDF after start (spawns the worker): worst {first_worst * 1000:.1f} ms, "
        f"median {first_median * 1000:.1f} ms"
    )
    print(f"/health while a PDF renders: worst {worst * 1000:.1f} ms, median {typical * 1000:.1f} ms (target < 50 ms)")


async def _token(url: str) -> tuple[list[str], str]:
    engine = create_engine(url)
    async with create_sessionmaker(engine)() as session:
        result = await load(session)
    await engine.dispose()
    return result


if __name__ == "__main__":
    main()
