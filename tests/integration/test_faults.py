"""Faults a self-hoster meets: the database gone, a client that stalls or walks away."""

from __future__ import annotations

import asyncio
import dataclasses
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from litestar import Litestar, get, post
from litestar.testing import TestClient
from sqlalchemy.exc import DBAPIError

from app.core.errors import exception_handlers
from app.core.middleware import RetryReadOnce
from app.core.security import USER_TOKEN_PREFIX, new_token
from app.core.settings import Settings
from app.main import create_app
from tests.conftest import Account, free_port, run_admin_statement
from tests.integration.test_cli import start_server, stop_server


@pytest.mark.parametrize("kind", ["postgresql", "sqlite"])
def test_a_database_that_cannot_be_reached_answers_503_with_retry_after(
    settings: Settings, tmp_path: Path, kind: str
) -> None:
    if kind == "postgresql":
        url = f"postgresql+asyncpg://nobody@127.0.0.1:{free_port()}/gone_test"  # nothing listens there
    else:
        (tmp_path / "a-directory.db").mkdir()  # SQLite cannot open a directory as its file
        url = f"sqlite+aiosqlite:///{tmp_path / 'a-directory.db'}"
    app = create_app(dataclasses.replace(settings, database_url=url))
    headers = {"Authorization": f"Bearer {new_token(USER_TOKEN_PREFIX)}"}  # well formed: the database is asked
    with TestClient(app=app) as client:
        for response in (
            client.get("/api/vendors", headers=headers),
            client.post("/api/vendors", json={"legal_name_zh": "某公司"}, headers=headers),
        ):
            assert response.status_code == 503, response.text
            assert response.headers["retry-after"] == "5"
            assert response.json()["detail"].startswith("the database is unavailable")
            assert "Traceback" not in response.text
        assert client.get("/health").status_code == 503


@pytest.fixture
def server(database_url: str, admin: Account, tmp_path: Path) -> Iterator[tuple[int, subprocess.Popen[str]]]:
    """A real `dpa serve` with a short body timeout; the test reads its log once it stopped it."""
    port = free_port()
    env = {"REQUEST_BODY_TIMEOUT_SECONDS": "1", "STORAGE_URL": f"file:{tmp_path / 'evidence'}"}
    process = start_server(database_url, port, env=env)
    try:
        yield port, process
    finally:
        if process.poll() is None:
            stop_server(process)


def _request_head(admin: Account, length: int) -> bytes:
    return (
        "POST /api/vendors HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        f"Authorization: Bearer {admin.token}\r\nContent-Length: {length}\r\n\r\n"
    ).encode()


def test_a_stalled_body_is_408_and_a_client_that_leaves_is_not_an_error(
    server: tuple[int, subprocess.Popen[str]], admin: Account, client: Any
) -> None:
    port, process = server
    with socket.create_connection(("127.0.0.1", port), timeout=10) as stalled:
        stalled.sendall(_request_head(admin, 1000) + b'{"legal_name_zh": ')  # and then nothing
        received = b""
        while chunk := stalled.recv(4096):  # the server answers, then closes
            received += chunk
        answer = received.decode()
    assert answer.startswith("HTTP/1.1 408"), answer
    assert "did not arrive within 1 s" in answer

    with socket.create_connection(("127.0.0.1", port), timeout=10) as leaving:
        leaving.sendall(_request_head(admin, 1000) + b'{"legal_name_zh": ')
    time.sleep(0.5)
    vendors = httpx.get(f"http://127.0.0.1:{port}/api/vendors", headers=admin.headers, timeout=5)
    assert vendors.status_code == 200 and vendors.json()["total"] == 0  # neither half-sent write landed
    written = stop_server(process)
    assert "client went away during POST /api/vendors" in written
    assert "Traceback" not in written and "unhandled error" not in written


def test_a_read_that_meets_a_dropped_connection_is_run_once_more() -> None:
    """A connection the database dropped (a restart, a failover) fails one statement; a read is
    run again on a fresh connection and the client sees its answer, a write answers 503."""
    calls: list[str] = []

    def dropped() -> DBAPIError:
        return DBAPIError(
            "SELECT 1", None, ConnectionResetError("connection reset by peer"), connection_invalidated=True
        )

    @get("/read", sync_to_thread=False)
    def read() -> dict[str, str]:
        calls.append("read")
        if len(calls) == 1:
            raise dropped()
        return {"status": "ok"}

    @post("/write", sync_to_thread=False)
    def write() -> None:
        calls.append("write")
        raise dropped()

    app = Litestar([read, write], middleware=[RetryReadOnce], exception_handlers=exception_handlers)
    with TestClient(app=app) as client:
        answered = client.get("/read")
        assert (answered.status_code, answered.json(), calls) == (200, {"status": "ok"}, ["read", "read"])
        refused = client.post("/write")
        assert (refused.status_code, calls[2:]) == (503, ["write"])
        assert refused.headers["retry-after"] == "5"


def test_a_postgresql_restart_costs_a_read_nothing_and_a_write_one_503(
    client: TestClient[Any], admin: Account, clean_database: str
) -> None:
    """Connections are not pinged before use: when the database drops them all (a restart, a
    failover), the next read is answered anyway, the next write is refused whole with Retry-After,
    and the one after it lands."""
    if not clean_database.startswith("postgresql"):
        pytest.skip("PostgreSQL drops its clients on a restart; an embedded SQLite has none to drop")

    def drop_every_connection() -> None:
        statement = (
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        asyncio.run(run_admin_statement(clean_database, statement))

    body = {"legal_name_en": "Restart Test Pte Ltd", "country": "SG", "registration_number": "R-RESTART"}
    assert client.get("/api/vendors", headers=admin.headers).status_code == 200  # the pool holds a connection
    drop_every_connection()
    read = client.get("/api/vendors", headers=admin.headers)
    assert (read.status_code, read.json()["total"]) == (200, 0)
    drop_every_connection()
    refused = client.post("/api/vendors", json=body, headers=admin.headers)
    assert (refused.status_code, refused.headers.get("retry-after")) == (503, "5")
    assert client.get("/api/vendors", headers=admin.headers).json()["total"] == 0  # nothing half-written
    landed = client.post("/api/vendors", json=body, headers=admin.headers)
    assert landed.status_code == 201
    assert client.get("/api/vendors", headers=admin.headers).json()["total"] == 1
