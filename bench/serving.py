"""What the server benchmarks share: a fresh database, real servers on free ports, and wrk.

Each benchmark starts `dpa serve` (uvicorn, one process) and a bare Litestar app in the same
run, so both see the same machine, and reports ratios rather than absolute figures.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

from app.core.database import upgrade

BENCH_DIR = Path(__file__).parent


def database_argument(description: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument(
        "--database-url",
        help="postgresql+asyncpg://... (its database is dropped and created again; its name must "
        "contain 'bench' or 'test'). Default: a SQLite file in a temporary folder.",
    )
    parser.add_argument("--seconds", type=int, default=10, help="Seconds of load per measurement.")
    return parser.parse_args()


@contextmanager
def fresh_database(database_url: str | None) -> Iterator[tuple[str, Path]]:
    """A migrated, empty database and a temporary folder (evidence, SQLite file)."""
    with tempfile.TemporaryDirectory() as folder:
        url = database_url or f"sqlite+aiosqlite:///{Path(folder) / 'bench.db'}"
        if database_url:
            asyncio.run(_recreate(database_url))
        upgrade(url)
        yield url, Path(folder)


async def _recreate(database_url: str) -> None:
    url = make_url(database_url)
    name = url.database or ""
    if "bench" not in name and "test" not in name:
        raise SystemExit(f"refusing to drop database {name!r}: its name must contain 'bench' or 'test'")
    engine = create_async_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    async with engine.connect() as connection:
        await connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        await connection.execute(text(f'CREATE DATABASE "{name}"'))
    await engine.dispose()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextmanager
def server(command: list[str], env: dict[str, str], ready: str) -> Iterator[str]:
    """A server process on a free port, once `ready` answers; its base URL."""
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


DPA_SERVE = [sys.executable, "-m", "app", "serve"]


def bare_server(module: str, factory: str) -> list[str]:
    target = f"{module}:{factory}"
    return [sys.executable, "-m", "uvicorn", "--factory", target, "--app-dir", str(BENCH_DIR), "--log-level", "warning"]


@dataclass(frozen=True)
class Load:
    requests_per_second: float
    p50_ms: float
    p99_ms: float
    non_2xx: int


def wrk(url: str, *, seconds: int, connections: int = 10, headers: dict[str, str] | None = None) -> Load:
    """Load `url` with wrk (one thread) for `seconds`; its throughput and latencies."""
    command = ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--latency"]
    for name, value in (headers or {}).items():
        command += ["-H", f"{name}: {value}"]
    output = subprocess.run([*command, url], capture_output=True, text=True, check=True).stdout  # noqa: S603
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))  # type: ignore[union-attr]
    non_2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", output)
    return Load(
        requests_per_second=rate,
        p50_ms=_milliseconds(re.search(r"50%\s+([\d.]+\w+)", output).group(1)),  # type: ignore[union-attr]
        p99_ms=_milliseconds(re.search(r"99%\s+([\d.]+\w+)", output).group(1)),  # type: ignore[union-attr]
        non_2xx=int(non_2xx.group(1)) if non_2xx else 0,
    )


def _milliseconds(figure: str) -> float:
    number, unit = re.match(r"([\d.]+)(\w+)", figure).groups()  # type: ignore[union-attr]
    return float(number) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}[unit]
