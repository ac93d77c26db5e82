"""No list asks the database once per row: a page of one row and a page of many cost the
same number of SQL statements, for every paged route in the OpenAPI document."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from litestar.testing import TestClient
from sqlalchemy import event

from tests.integration.conftest import Side


@contextmanager
def counting(client: TestClient[Any]) -> Iterator[list[str]]:
    """The SQL statements the app sends while the block runs."""
    statements: list[str] = []

    def count(_connection: Any, _cursor: Any, statement: str, *_: Any) -> None:
        statements.append(statement)

    engine = client.app.state.engine.sync_engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", count)


def _paged_routes(client: TestClient[Any], headers: dict[str, str]) -> list[str]:
    schema = client.get("/schema/openapi.json", headers=headers).json()
    routes = []
    for path, operations in schema["paths"].items():
        body = operations.get("get", {}).get("responses", {}).get("200", {}).get("content", {})
        if body.get("application/json", {}).get("schema", {}).get("$ref", "").startswith("#/components/schemas/Page_"):
            routes.append(path)
    return sorted(routes)


def test_a_page_of_many_rows_costs_the_statements_of_a_page_of_one(
    client: TestClient[Any], demo: dict[str, Any], vendors: dict[str, Side]
) -> None:
    side = vendors["a"]
    me = client.get("/api/users", headers=demo["headers"]).json()["items"][0]
    ids = {
        "engagement_id": side.engagement_id,
        "vendor_id": side.vendor_id,
        "agreement_id": side.agreement_id,
        "user_id": me["id"],
    }
    many_rows = set()
    for route in _paged_routes(client, demo["headers"]):
        path = re.sub(r"\{(\w+)\}", lambda match: ids[match.group(1)], route)
        headers = side.headers if route.startswith("/api/vendor/") else demo["headers"]
        counts, sizes = [], []
        for limit in (1, 200, 1):  # the first asks once more if a credential's last use is written
            with counting(client) as statements:
                response = client.get(path, params={"limit": limit}, headers=headers)
            assert response.status_code == 200, (route, response.text)
            counts.append(len(statements))
            sizes.append(len(response.json()["items"]))
        assert counts[1] == counts[2], (route, sizes, counts)
        if sizes[1] > 1:
            many_rows.add(route)
    # The comparison means something only where there are many rows: the demo has them here.
    assert {"/api/vendors", "/api/engagements", "/api/obligations", "/api/findings", "/api/audit"} <= many_rows


def test_the_dashboard_ranks_vendors_in_the_database_and_reads_the_top_ten_only(
    client: TestClient[Any], demo: dict[str, Any], clean_database: str
) -> None:
    """With more vendors with open findings than the ranking shows, the dashboard reads the reasons
    of the top ten alone, in one statement, and never every vendor's whole row (at 10,000
    engagements that reading took most of a second: bench/pages.py)."""
    from tests.integration.test_pages import _more_rows

    _more_rows(clean_database, 12)
    seen: list[tuple[str, Any]] = []

    def record(_connection: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        seen.append((statement, parameters))

    engine = client.app.state.engine.sync_engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        board = client.get("/api/dashboard", headers=demo["headers"]).json()
    finally:
        event.remove(engine, "before_cursor_execute", record)
    ranked = board["vendors_by_risk"]
    assert len(ranked) == 10 and [r["score"] for r in ranked] == sorted((r["score"] for r in ranked), reverse=True)
    assert all(r["why"] and r["name"] for r in ranked)
    reasons = [parameters for statement, parameters in seen if "findings.title_en" in statement]
    assert len(reasons) == 1 and len(reasons[0]) <= 1 + 10  # the status, and the ten vendors' ids
    assert not [statement for statement, _ in seen if "vendors.contacts" in statement]  # no whole vendor rows
    assert len(seen) <= 6, [statement[:80] for statement, _ in seen]
