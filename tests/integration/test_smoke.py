from __future__ import annotations

from typing import Any

from litestar.testing import TestClient

from tests.conftest import Account


def test_health_needs_no_credential(client: TestClient[Any]) -> None:
    response = client.get("/health")
    assert response.status_code == 200
    assert response.json()["database"] == "ok"


def test_vendor_list(client: TestClient[Any], admin: Account) -> None:
    response = client.get("/api/vendors", headers=admin.headers)
    assert response.status_code == 200, response.text
    assert response.json()["total"] == 0
