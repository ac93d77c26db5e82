"""The audit trail is a hash chain: `dpa audit verify` finds an edited, a deleted and a swapped
entry (each done directly in SQL, as someone with database access would), and concurrent
writers still produce one valid chain."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from litestar.testing import TestClient
from sqlalchemy import text

from tests.conftest import Account, run
from tests.factories import vendor_body
from tests.integration.test_cli import dpa


def _sql(database_url: str, *statements: str) -> None:
    async def go(session: Any) -> None:
        for statement in statements:
            await session.execute(text(statement))
        await session.commit()

    run(go, database_url)


@pytest.fixture
def trail(client: TestClient[Any], admin: Account, clean_database: str) -> str:
    """Twenty writes from twenty threads at once: the chain must still be one."""

    def create(index: int) -> int:
        response = client.post("/api/vendors", json=vendor_body(legal_name_en=f"Vendor {index}"), headers=admin.headers)
        return response.status_code

    with ThreadPoolExecutor(max_workers=20) as pool:
        assert list(pool.map(create, range(20))) == [201] * 20
    verified = dpa("audit", "verify", database_url=clean_database)
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert verified.stdout.strip() == "audit trail intact: 21 entries chained"  # the admin, then 20 vendors
    return clean_database


def _broken(database_url: str) -> str:
    result = dpa("audit", "verify", database_url=database_url)
    assert result.returncode == 1, result.stdout
    return result.stdout


def test_an_edited_entry_is_named(trail: str) -> None:
    _sql(trail, "UPDATE audit_entries SET actor = 'someone else' WHERE seq = 7")
    assert "seq 7) was altered" in _broken(trail)


def test_an_edited_change_is_named(trail: str) -> None:
    _sql(trail, 'UPDATE audit_entries SET changes = \'{"legal_name_en": "Forged"}\' WHERE seq = 12')
    assert "seq 12) was altered" in _broken(trail)


def test_a_deleted_entry_is_named(trail: str) -> None:
    _sql(trail, "DELETE FROM audit_entries WHERE seq = 5")
    assert "seq 5 is missing" in _broken(trail)


def test_a_swapped_pair_is_named(trail: str) -> None:
    _sql(
        trail,
        "UPDATE audit_entries SET seq = -1 WHERE seq = 9",
        "UPDATE audit_entries SET seq = 9 WHERE seq = 10",
        "UPDATE audit_entries SET seq = 10 WHERE seq = -1",
    )
    assert "(seq 9) does not follow the entry before it" in _broken(trail)


def test_removing_the_last_entries_is_found(trail: str) -> None:
    _sql(trail, "DELETE FROM audit_entries WHERE seq >= 20")
    assert "should end at seq 21, but ends at seq 19" in _broken(trail)


def test_an_entry_slipped_in_is_found(trail: str) -> None:
    _sql(
        trail,
        "INSERT INTO audit_entries (at, actor, action, object_type, object_id, changes, prev_hash, hash) "
        "VALUES ('2026-01-01 00:00:00', 'ghost', 'delete', 'vendor', 'x', '{}', '', '')",
    )
    assert "has no place in the chain" in _broken(trail)
