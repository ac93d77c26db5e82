"""Test harness: a real database (SQLite file, or the PostgreSQL named by DATABASE_URL),
migrated once per run, emptied after each test; the app under Litestar's test client, built
once per test process for each distinct settings and started afresh for every test."""

from __future__ import annotations

import asyncio
import contextlib
import copy
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from email import message_from_bytes
from email import policy as email_policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import httpx
import pytest
from anyio.from_thread import BlockingPortal, start_blocking_portal
from litestar import Litestar
from litestar.testing import TestClient
from sqlalchemy import text
from sqlalchemy.engine import make_url

from app.accounts import services as accounts
from app.accounts.schemas import Role, UserCreate
from app.core import clock
from app.core.actor import CLI_ACTOR
from app.core.database import create_engine, create_sessionmaker, upgrade
from app.core.settings import RateLimit, Settings, parse_database_url
from app.main import create_app
from app.models import metadata
from app.settle import settle
from app.worker import configure_policy


def _database_url(tmp: Path) -> str:
    raw = os.environ.get("DATABASE_URL", "").strip()
    if not raw or raw.startswith("sqlite"):
        # Never the developer's var/dpa.db: a fresh file for each run.
        return f"sqlite+aiosqlite:///{tmp / 'test.db'}"
    url = parse_database_url(raw)
    name = make_url(url).database or ""
    if "test" not in name and "ci" not in name:
        pytest.exit(
            f"refusing to run tests on PostgreSQL database {name!r}: its name must contain 'test' or 'ci', "
            "because every test empties every table",
            returncode=2,
        )
    return url


async def run_admin_statement(url: str, statement: str) -> None:
    """CREATE/DROP DATABASE, which PostgreSQL runs outside a transaction only."""
    engine = create_engine(url)
    try:
        async with engine.connect() as connection:
            await connection.execution_options(isolation_level="AUTOCOMMIT")
            await connection.execute(text(statement))
    finally:
        await engine.dispose()


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory, worker_id: str) -> Iterator[str]:
    url = _database_url(tmp_path_factory.mktemp("db"))
    if worker_id == "master" or make_url(url).get_backend_name() != "postgresql":
        # SQLite: the file is already the worker's own (tmp_path_factory is per worker).
        upgrade(url)
        yield url
        return
    # `make test` runs the suite in several processes (pytest-xdist); every test empties every
    # table, so each process gets a database of its own beside the one named, dropped at its end.
    given = make_url(url)
    own = f"{given.database}_{worker_id}"  # keeps "test" or "ci" in the name
    asyncio.run(run_admin_statement(url, f'DROP DATABASE IF EXISTS "{own}" WITH (FORCE)'))
    asyncio.run(run_admin_statement(url, f'CREATE DATABASE "{own}"'))
    try:
        worker_url = given.set(database=own).render_as_string(hide_password=False)
        upgrade(worker_url)
        yield worker_url
    finally:
        asyncio.run(run_admin_statement(url, f'DROP DATABASE IF EXISTS "{own}" WITH (FORCE)'))


def run(coro_fn: Callable[..., Any], database_url: str, *args: Any) -> Any:
    """Run `coro_fn(session, *args)` on its own engine and event loop (for fixtures)."""

    async def go() -> Any:
        engine = create_engine(database_url)
        try:
            async with create_sessionmaker(engine)() as session:
                return await coro_fn(session, *args)
        finally:
            await engine.dispose()

    return asyncio.run(go())


async def _empty(session: Any) -> None:
    for table in reversed(metadata().sorted_tables):
        await session.execute(text(f"DELETE FROM {table.name}"))  # noqa: S608 - table names from our metadata
    await session.commit()


@pytest.fixture(scope="session")
def evidence_directory(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The file store of this test process: the same path for every test (so that equal settings
    can share one app, see `client`), emptied after each test."""
    return tmp_path_factory.mktemp("evidence")


@pytest.fixture
def settings(database_url: str, evidence_directory: Path) -> Iterator[Settings]:
    yield Settings(
        database_url=database_url,
        storage_url=f"file:{evidence_directory}",
        secret_key="x" * 40,
        vendor_rate_limit=RateLimit(1_000_000, 60),  # the rate-limit tests set their own
        auth_failure_limit=RateLimit(1_000_000, 60),
    )
    # After the test's clients have stopped (they depend on this fixture): the next test finds
    # no stored file, as with a store of its own.
    for entry in evidence_directory.iterdir():
        if entry.is_dir():
            shutil.rmtree(entry)
        else:
            entry.unlink()


@pytest.fixture
def clean_database(database_url: str) -> Iterator[str]:
    """The shared test database, emptied after the test."""
    yield database_url
    run(_empty, database_url)


class Apps:
    """`create_app` once per test process for each distinct (frozen, comparable) settings.

    Building the app (Litestar registers some 450 handlers, the OpenAPI document is generated at
    its first start) cost most of the quick suite's CPU when it was done for every test. A test
    still gets the app as a new one would be: its lifespan starts and stops with the test's
    client (a new engine, the settings' storage, the OpenAPI documents completed again, which
    is idempotent), its state (the in-process rate-limit windows, what a test replaced in it) is
    put back to a deep copy of what `create_app` made, and the process-wide settings it
    configures (time zone, reminder policy; another test's own app may have changed them) are
    configured again. Not for two clients of the same settings at once: they would share one
    app's state; a test that needs a second app builds it with `create_app`."""

    KEEP = 4  # the apps of the most recently used settings (most tests use the default ones)

    def __init__(self) -> None:
        self._apps: dict[Settings, tuple[Litestar, dict[str, Any]]] = {}

    def get(self, settings: Settings) -> Litestar:
        known = self._apps.pop(settings, None)
        if known is None:
            app = create_app(settings)
            known = (app, copy.deepcopy(app.state.dict()))
        else:
            clock.configure(settings.tz)
            configure_policy(settings)
        app, pristine = known
        app.state.clear()
        app.state.update(copy.deepcopy(pristine))
        self._apps[settings] = known  # the most recent last
        while len(self._apps) > self.KEEP:
            del self._apps[next(iter(self._apps))]
        return app


@pytest.fixture(scope="session")
def apps() -> Apps:
    return Apps()


@pytest.fixture(scope="session")
def event_loop_portal() -> Iterator[BlockingPortal]:
    """One event loop (in a thread of its own) per test process for the `client` fixture's apps.
    What lives as long as the loop lives as long as the process, as in a server: above all the
    PDF worker process (anyio's process pool is the loop's), which otherwise started again, with
    WeasyPrint's import and the CJK font, in every test that renders a PDF."""
    with start_blocking_portal() as portal:
        yield portal


@pytest.fixture
def client(
    settings: Settings, clean_database: str, apps: Apps, event_loop_portal: BlockingPortal
) -> Iterator[TestClient[Any]]:
    test_client = TestClient(app=apps.get(settings))
    test_client.blocking_portal = event_loop_portal  # the client runs in it rather than in a loop of its own
    with test_client:
        assert test_client.blocking_portal is event_loop_portal
        yield test_client


@dataclass
class Account:
    id: str
    email: str
    role: str
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


@pytest.fixture
def make_user(client: TestClient[Any], database_url: str) -> Callable[..., Account]:
    """Create a user directly through the service (as `dpa users create` does)."""
    counter = iter(range(1_000_000))

    def make(role: str = "admin", email: str | None = None) -> Account:
        address = email or f"{role}{next(counter)}@test.example"

        async def create(session: Any) -> tuple[Any, str]:
            created = await accounts.create(
                session,
                data=UserCreate(email=address, role=Role(role), name=role.title()),
                actor=CLI_ACTOR,
            )
            await settle(session)
            return created

        user, token = run(create, database_url)
        return Account(id=str(user.id), email=user.email, role=user.role, token=token)

    return make


@pytest.fixture
def admin(make_user: Callable[..., Account]) -> Account:
    return make_user("admin")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def answers(url: str, process: subprocess.Popen[Any], *, seconds: float) -> bool:
    """Whether a server process we started answers `url` with 200 within `seconds` (False as
    soon as the process has ended)."""
    deadline = time.monotonic() + seconds
    while process.poll() is None and time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return True
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    return False


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[str]:
    """A real S3-compatible server (moto in server mode) as its own process on 127.0.0.1."""
    port = free_port()
    process = subprocess.Popen(  # noqa: S603 - our own interpreter and arguments
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("the S3 test server did not start") from None
                time.sleep(0.1)
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture
def s3_bucket(s3_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """A fresh bucket, with the usual AWS_* variables pointing boto3 at the test server."""
    monkeypatch.setenv("AWS_ENDPOINT_URL", s3_endpoint)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "test")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "test")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    import boto3

    name = f"evidence-{uuid.uuid4().hex[:12]}"
    boto3.client("s3").create_bucket(Bucket=name)
    return name


@dataclass
class Received:
    sender: str
    recipients: list[str]
    message: EmailMessage


class MailHandler:
    """An SMTP server's DATA handler that keeps what it accepts and can be told to refuse."""

    def __init__(self) -> None:
        self.received: list[Received] = []
        self.refused: list[str] = []  # the Message-ID of each refused attempt
        self.refusals: list[str] = []  # answered to the next DATA commands, in order
        self.refuse_always: str | None = None
        self.delay = 0.0
        self.lock = threading.Lock()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.delay:
            await asyncio.sleep(self.delay)
        message = message_from_bytes(envelope.content, policy=email_policy.default)
        with self.lock:
            if self.refuse_always or self.refusals:
                self.refused.append(str(message["Message-ID"]))
                return self.refuse_always or self.refusals.pop(0)
            self.received.append(Received(envelope.mail_from, list(envelope.rcpt_tos), message))
        return "250 Message accepted for delivery"


class MailServer:
    """A real SMTP server (aiosmtpd) on 127.0.0.1; stop() closes the port, start() opens it again."""

    def __init__(self) -> None:
        self.host, self.port = "127.0.0.1", free_port()
        self.handler = MailHandler()
        self.controller: Any = None

    @property
    def url(self) -> str:
        return f"smtp://{self.host}:{self.port}"

    def start(self) -> None:
        from aiosmtpd.controller import Controller

        self.controller = Controller(self.handler, hostname=self.host, port=self.port)
        self.controller.start()

    def stop(self) -> None:
        self.controller.stop()


@pytest.fixture
def mail_server() -> Iterator[MailServer]:
    server = MailServer()
    server.start()
    try:
        yield server
    finally:
        with contextlib.suppress(Exception):
            server.stop()


# The modules that start real servers and command-line processes, or load the whole demo many
# times: `make test` leaves them (and the browser tests) to `make test-slow`, so that the quick
# run stays under ten minutes; CI runs both, on both databases.
SLOW_MODULES = {
    "test_backup",
    "test_cli",
    "test_conformance",
    "test_demo",
    "test_faults",
    "test_instances",
    "test_reminder_year",
    "test_vendor_client",
    "test_worker",
    "test_audit_chain",
    "test_sso",
}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if item.path.stem in SLOW_MODULES:
            item.add_marker(pytest.mark.slow)
