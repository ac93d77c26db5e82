"""Every list answers one envelope, {items, total, limit, offset}, paged by limit and offset."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from litestar.testing import TestClient

from tests.conftest import Account

# Lists that are not rows of the registry, so not paged: the PI taxonomy and the clause
# library (fixed data), the days of a calendar window the caller bounds (start, end), and
# what changed since an agreement was generated (a comparison).
NOT_PAGED = {
    "/api/pi-categories",
    "/api/templates",
    "/api/calendar/days",
    "/api/agreements/{agreement_id}/changes",
}


def test_every_list_route_answers_a_page_and_takes_limit_and_offset(client: TestClient[Any], admin: Account) -> None:
    schema = client.get("/schema/openapi.json", headers=admin.headers).json()
    bare, paged = set(), set()
    for path, operations in schema["paths"].items():
        if "get" not in operations:
            continue
        answer = operations["get"]["responses"].get("200", {}).get("content", {}).get("application/json", {})
        body = answer.get("schema", {})
        if body.get("type") == "array":
            bare.add(path)
        elif body.get("$ref", "").startswith("#/components/schemas/Page_"):
            paged.add(path)
            parameters = {parameter["name"] for parameter in operations["get"].get("parameters", [])}
            assert {"limit", "offset"} <= parameters, path
    assert bare == NOT_PAGED
    assert {
        "/api/users",
        "/api/users/{user_id}/tokens",
        "/api/vendors/{vendor_id}/keys",
        "/api/engagements/{engagement_id}/sub-processors",
        "/api/engagements/{engagement_id}/findings",
        "/api/agreements/{agreement_id}/documents",
        "/api/calendar/overrides",
        "/api/vendor/v1/obligations",
        "/api/vendor/v1/agreements/{agreement_id}/documents",
    } <= paged


def test_users_page_and_filter(client: TestClient[Any], admin: Account, make_user: Callable[..., Account]) -> None:
    make_user("dpo")
    make_user("auditor")
    first = client.get("/api/users", params={"limit": 2}, headers=admin.headers).json()
    assert (len(first["items"]), first["total"], first["limit"], first["offset"]) == (2, 3, 2, 0)
    rest = client.get("/api/users", params={"limit": 2, "offset": 2}, headers=admin.headers).json()
    emails = [user["email"] for user in first["items"] + rest["items"]]
    assert emails == sorted(emails) and len(set(emails)) == 3
    dpos = client.get("/api/users", params={"role": "dpo"}, headers=admin.headers).json()
    assert [user["role"] for user in dpos["items"]] == ["dpo"] and dpos["total"] == 1
    assert client.get("/api/users", params={"role": "vendor"}, headers=admin.headers).status_code == 400


def test_an_engagements_findings_page_by_page_are_the_whole_list(client: TestClient[Any], demo: dict[str, Any]) -> None:
    path = f"/api/engagements/{demo['camera']['id']}/findings"
    whole = client.get(path, params={"limit": 200}, headers=demo["headers"]).json()
    pages = [
        client.get(path, params={"limit": 2, "offset": offset}, headers=demo["headers"]).json()
        for offset in range(0, whole["total"], 2)
    ]
    assert [finding["id"] for page in pages for finding in page["items"]] == [f["id"] for f in whole["items"]]
    assert {page["total"] for page in pages} == {whole["total"]}
