"""Fixtures shared by the integration tests: the demo registry, and two vendors with keys."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
import time_machine
from litestar.testing import TestClient
from sqlalchemy import JSON, TypeDecorator, select, text, update
from sqlalchemy.engine import make_url
from sqlmodel import col

from app.agreements.models import Agreement
from app.audit.models import AuditEntry
from app.core import clock
from app.core.database import create_engine
from app.demo import load as load_demo
from app.models import metadata
from tests.conftest import Account, run
from tests.factories import pdf

TERMS = {"term_start": "2026-01-05", "term_end": "2027-01-04"}
ENDED_ON = "2026-11-01"  # deletion_days defaults to 30: the deletion attestation is due 2026-12-01
PDF = pdf("deletion certificate")


SNAPSHOT = "demo_snapshot"  # SQLite: the name the snapshot's file is attached under


class DemoSnapshot:
    """The demo as `app.demo.load` leaves it, loaded once per test process and day, then copied
    row for row into each test's empty database: what the services and the settle step wrote,
    exactly, without running them again for every test (it was a sixth of the quick suite's
    CPU). The demo's dates are relative to today, so a new day, another time zone or a test
    travelling in time (time-machine) gets a real load.

    SQLite: the database copied to a file (VACUUM INTO), attached to copy the rows from.
    PostgreSQL: the rows kept in this process as the driver reads them (nothing added to the
    database, which `dpa backup` dumps whole), written back with the same columns."""

    def __init__(self, database_url: str, directory: Path) -> None:
        self.url = database_url
        self.sqlite = make_url(database_url).get_backend_name() == "sqlite"
        self.file = directory / "demo.db"
        self.rows: dict[str, list[dict[str, Any]]] = {}
        self.key: tuple[str, date] | None = None
        self.token = ""  # the demo admin's API token that the snapshot holds (as a hash)

    def load(self) -> str:
        """Load the demo into the (empty) test database; answer the admin's token."""
        if time_machine.escape_hatch.is_travelling():
            token: str = run(load_demo, self.url)[1]
            return token
        key = (str(clock.zone()), clock.today())
        if key == self.key:
            asyncio.run(self._restore())
            return self.token
        _, self.token = run(load_demo, self.url)
        asyncio.run(self._take())
        self.key = key
        return self.token

    @staticmethod
    def _columns(connection: Any, table: Any) -> list[str]:
        return [connection.dialect.identifier_preparer.quote(column.name) for column in table.columns]

    @staticmethod
    def _read(connection: Any, table: Any) -> list[str]:
        """The columns to read; JSON as its text (the driver decodes it to objects, which it does
        not encode back, and a JSON null would come back as SQL NULL)."""
        read = []
        for column, name in zip(table.columns, DemoSnapshot._columns(connection, table), strict=True):
            kind = column.type
            while isinstance(kind, TypeDecorator):
                kind = kind.impl_instance
            read.append(f"{name}::text" if isinstance(kind, JSON) else name)
        return read

    async def _take(self) -> None:
        engine = create_engine(self.url)
        try:
            async with engine.connect() as connection:
                if self.sqlite:
                    await connection.execution_options(isolation_level="AUTOCOMMIT")
                    self.file.unlink(missing_ok=True)
                    await connection.execute(text("VACUUM INTO :file"), {"file": str(self.file)})
                    return
                self.rows = {}
                for table in metadata().sorted_tables:
                    read = f"SELECT {', '.join(self._read(connection, table))} FROM {table.name}"  # noqa: S608 - our names
                    rows = (await connection.execute(text(read))).all()
                    self.rows[table.name] = [{f"c{i}": value for i, value in enumerate(row)} for row in rows]
        finally:
            await engine.dispose()

    async def _restore(self) -> None:
        engine = create_engine(self.url)
        try:
            async with engine.connect() as connection:
                if self.sqlite:  # ATTACH is refused inside a transaction
                    await connection.execution_options(isolation_level="AUTOCOMMIT")
                    await connection.execute(text(f"ATTACH DATABASE :file AS {SNAPSHOT}"), {"file": str(self.file)})
                    await connection.execute(text("BEGIN"))
                    for table in metadata().sorted_tables:  # parents first
                        copy = f"INSERT INTO {table.name} SELECT * FROM {SNAPSHOT}.{table.name}"  # noqa: S608 - our names
                        await connection.execute(text(copy))
                    await connection.execute(text("COMMIT"))
                    await connection.execute(text(f"DETACH DATABASE {SNAPSHOT}"))
                    return
                for table in metadata().sorted_tables:
                    if not self.rows[table.name]:
                        continue
                    columns = self._columns(connection, table)
                    values = ", ".join(f":c{i}" for i in range(len(columns)))
                    write = f"INSERT INTO {table.name} ({', '.join(columns)}) VALUES ({values})"  # noqa: S608 - our names
                    await connection.execute(text(write), self.rows[table.name])
                await connection.commit()
        finally:
            await engine.dispose()


@pytest.fixture(scope="session")
def demo_snapshot(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> DemoSnapshot:
    return DemoSnapshot(database_url, tmp_path_factory.mktemp("demo"))


@pytest.fixture
def demo(client: TestClient[Any], clean_database: str, demo_snapshot: DemoSnapshot) -> dict[str, Any]:
    token = demo_snapshot.load()
    headers = {"Authorization": f"Bearer {token}"}
    engagements = client.get("/api/engagements", headers=headers).json()["items"]
    by_category = {
        "camera": next(e for e in engagements if "facial_recognition" in e["pi_categories"]),
        "payroll": next(e for e in engagements if "employees" in e["data_subjects"]),
    }
    return {"headers": headers, **by_category}


def set_active(database_url: str, agreement_id: str) -> None:
    """Stand-in for issue and sign (which render a PDF each): the agreement is in force, issued
    before its rendered files, so the vendor sees them as the issued copy."""

    async def go(session: Any) -> None:
        await session.execute(
            update(Agreement)
            .where(col(Agreement.id) == uuid.UUID(agreement_id))
            .values(status="active", activated_at=datetime.now(UTC), issued_at=datetime(2000, 1, 1, tzinfo=UTC))
        )
        await session.commit()

    run(go, database_url)


def agreement_in_force(
    client: TestClient[Any], headers: dict[str, str], database_url: str, engagement_id: str, **terms: Any
) -> dict[str, Any]:
    created = client.post("/api/agreements", json={"engagement_id": engagement_id, **TERMS, **terms}, headers=headers)
    assert created.status_code == 201, created.text
    agreement: dict[str, Any] = created.json()
    document = client.post(f"/api/agreements/{agreement['id']}/documents", json={"format": "docx"}, headers=headers)
    assert document.status_code == 201, document.text
    set_active(database_url, agreement["id"])
    activated = client.post(f"/api/agreements/{agreement['id']}/activate", headers=headers)
    assert activated.status_code == 409  # already active: the stand-in worked
    return agreement


@dataclass
class Side:
    """One vendor as the tests use it: its engagement, its ended agreement, its key."""

    vendor_id: str
    engagement_id: str
    agreement_id: str
    key: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.key}"}


def issue_key(client: TestClient[Any], headers: dict[str, str], vendor_id: str, **body: Any) -> dict[str, Any]:
    response = client.post(f"/api/vendors/{vendor_id}/keys", json={"name": "uploads", **body}, headers=headers)
    assert response.status_code == 201, response.text
    issued: dict[str, Any] = response.json()
    return issued


@pytest.fixture
def vendors(client: TestClient[Any], demo: dict[str, Any], clean_database: str) -> dict[str, Side]:
    """The camera vendor (a) and the payroll vendor (b), each with an ended agreement and a key."""
    sides = {}
    for name, engagement in (("a", demo["camera"]), ("b", demo["payroll"])):
        agreement = agreement_in_force(client, demo["headers"], clean_database, engagement["id"])
        ended = client.post(
            f"/api/agreements/{agreement['id']}/terminate",
            json={"ended_on": ENDED_ON, "reason": "service no longer needed"},
            headers=demo["headers"],
        )
        assert ended.status_code == 200, ended.text
        key = issue_key(client, demo["headers"], engagement["vendor_id"])["key"]
        sides[name] = Side(engagement["vendor_id"], engagement["id"], agreement["id"], key)
    return sides


def deletion(engagement_id: str, **overrides: Any) -> dict[str, Any]:
    body = {
        "kind": "deletion",
        "engagement_id": engagement_id,
        "records_deleted": 431623,
        "individuals_deleted": 431623,
        "method": "cryptographic_erasure",
        "completed_on": "2026-11-20",
        "backups_covered": True,
        "sub_processors_covered": True,
        "signer_name": "李明",
        "signer_title": "Chief Security Officer",
    }
    body.update(overrides)
    return body


Submit = Callable[..., httpx.Response]


@pytest.fixture
def submit(client: TestClient[Any]) -> Submit:
    def post(
        side: Side,
        metadata: dict[str, Any] | str,
        files: list[tuple[str, bytes, str]] | None = None,
        key: str | None = None,
    ) -> httpx.Response:
        headers = dict(side.headers)
        if key is not None:
            headers["Idempotency-Key"] = key
        raw = metadata if isinstance(metadata, str) else json.dumps(metadata)
        chosen = [("deletion.pdf", PDF, "application/pdf")] if files is None else files
        parts: list[tuple[str, Any]] = [("metadata", (None, raw)), *(("files", file) for file in chosen)]
        return client.post("/api/vendor/v1/attestations", files=parts, headers=headers)

    return post


@pytest.fixture
def dpo(make_user: Callable[..., Account]) -> Account:
    return make_user("dpo")


def audit_entries(database_url: str, action: str) -> list[AuditEntry]:
    async def go(session: Any) -> list[AuditEntry]:
        query = select(AuditEntry).where(col(AuditEntry.action) == action).order_by(col(AuditEntry.id))
        return list(await session.scalars(query))

    result: list[AuditEntry] = run(go, database_url)
    return result
