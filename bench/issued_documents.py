"""An issued agreement's documents: rendered once, at issue, then served from storage.

Against a real `dpa serve` on a fresh database loaded by `dpa demo load` (its time is the
first figure):
1. the PDF renderer's warm-up at server start (what a first render no longer pays);
2. the first render: issuing a new agreement, which renders and stores the bilingual DOCX
   and PDF (with the annex);
3. the issued PDF downloaded from storage (its SHA-256 checked on every read), and asked for
   again through POST /documents (answered with the stored document, nothing rendered).
Prints its figures and the ratio first render / cached download on the last lines.
Run: .venv/bin/python bench/issued_documents.py
"""

from __future__ import annotations

import hashlib
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROUNDS = 20
DOWNLOADS = 20


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wait_for(log: Path, pattern: str, seconds: float) -> re.Match[str] | None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        found = re.search(pattern, log.read_text(encoding="utf-8", errors="replace"))
        if found:
            return found
        time.sleep(0.05)
    return None


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        env = {
            **os.environ,
            "DATABASE_URL": f"sqlite+aiosqlite:///{Path(folder) / 'bench.db'}",
            "STORAGE_URL": f"file:{Path(folder) / 'evidence'}",
            "LOG_LEVEL": "INFO",
        }
        dpa = [sys.executable, "-m", "app"]
        subprocess.run([*dpa, "db", "upgrade"], env=env, check=True, capture_output=True)  # noqa: S603
        started = time.perf_counter()
        loaded = subprocess.run([*dpa, "demo", "load"], env=env, check=True, capture_output=True, text=True)  # noqa: S603
        demo_seconds = time.perf_counter() - started
        token = loaded.stdout.strip().splitlines()[-1]
        headers = {"Authorization": f"Bearer {token}"}

        port, log = free_port(), Path(folder) / "serve.log"
        with log.open("w") as sink:
            server = subprocess.Popen([*dpa, "serve", "--port", str(port)], env=env, stdout=sink, stderr=sink)  # noqa: S603
        try:
            warm = wait_for(log, r"PDF renderer warm in ([\d.]+) s", 60)
            assert warm is not None, log.read_text()
            with httpx.Client(base_url=f"http://127.0.0.1:{port}", headers=headers, timeout=120) as client:
                engagements = client.get("/api/engagements", params={"q": "Payroll"}).json()["items"]
                terms = {"term_start": "2027-01-01", "term_end": "2028-12-31"}
                created = client.post("/api/agreements", json={"engagement_id": engagements[0]["id"], **terms})
                assert created.status_code == 201, created.text
                base = f"/api/agreements/{created.json()['id']}"

                start = time.perf_counter()
                issued = client.post(f"{base}/issue")
                first_render = time.perf_counter() - start
                assert issued.status_code == 200, issued.text

                documents = client.get(f"{base}/documents").json()["items"]
                pdf = next(d for d in documents if d["format"] == "pdf")
                downloads = []
                for _ in range(DOWNLOADS):
                    start = time.perf_counter()
                    response = client.get(f"{base}/documents/{pdf['id']}/content")
                    downloads.append(time.perf_counter() - start)
                    assert hashlib.sha256(response.content).hexdigest() == pdf["sha256"]
                again = []
                for _ in range(ROUNDS):
                    start = time.perf_counter()
                    asked = client.post(f"{base}/documents", json={"format": "pdf", "lang": "bilingual"})
                    again.append(time.perf_counter() - start)
                    assert asked.json()["id"] == pdf["id"], asked.text
        finally:
            server.terminate()
            server.wait(timeout=10)

    download = statistics.median(downloads)
    print(f"issued PDF: {pdf['size'] / 1024:.0f} KiB; downloads: {DOWNLOADS}, asked again: {ROUNDS}")
    print(f"demo load (dpa demo load, five agreements rendered): {demo_seconds:.1f} s")
    print(f"PDF renderer warm-up at server start (no longer paid by the first render): {float(warm[1]):.1f} s")
    print(f"first render (issue: bilingual DOCX and PDF with annex, stored): {first_render * 1000:.0f} ms")
    print(f"issued PDF asked again (POST /documents, the stored one): median {statistics.median(again) * 1000:.1f} ms")
    print(f"issued PDF download from storage, hash checked: median {download * 1000:.1f} ms")
    print(f"ratio first render / cached download: {first_render / download:.0f}x")


if __name__ == "__main__":
    main()
