"""Fixtures shared by the integration tests: the demo registry, and two vendors with keys."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from litestar.testing import TestClient
from sqlalchemy import select, update
from sqlmodel import col

from app.agreements.models import Agreement
from app.audit.models import AuditEntry
from app.demo import load as load_demo
from tests.conftest import Account, run
from tests.factories import pdf

TERMS = {"term_start": "2026-01-05", "term_end": "2027-01-04"}
ENDED_ON = "2026-11-01"  # deletion_days defaults to 30: the deletion attestation is due 2026-12-01
PDF = pdf("deletion certificate")


@pytest.fixture
def demo(client: TestClient[Any], clean_database: str) -> dict[str, Any]:
    _, token = run(load_demo, clean_database)
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
