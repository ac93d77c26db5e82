"""`dpa backup` and `dpa restore` as a user runs them: real processes, on the test database's
kind (SQLite files in tmp_path; on PostgreSQL a second database, created and dropped here)."""

from __future__ import annotations

import hashlib
import io
import json
import os
import tarfile
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from litestar.testing import TestClient
from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection, make_url

from app.backup import NAMES
from app.core.database import run_on_connection, upgrade
from app.core.settings import Settings
from app.core.storage import LocalStorage, open_storage
from app.demo import load as load_demo
from tests.conftest import Account, run, run_admin_statement
from tests.integration.conftest import PDF, Side, Submit, deletion
from tests.integration.test_cli import assert_one_line_error, dpa


def _postgres(url: str) -> bool:
    return make_url(url).get_backend_name() == "postgresql"


@pytest.fixture
def empty_database(database_url: str, tmp_path: Path) -> Iterator[str]:
    """An empty database of the test database's kind, to restore into."""
    if not _postgres(database_url):
        yield f"sqlite+aiosqlite:///{tmp_path / 'restored' / 'dpa.db'}"
        return
    import asyncio

    source = make_url(database_url)
    name = f"{source.database}_restore_{uuid.uuid4().hex[:8]}"  # keeps "test" in the name
    asyncio.run(run_admin_statement(database_url, f'CREATE DATABASE "{name}"'))
    try:
        yield source.set(database=name).render_as_string(hide_password=False)
    finally:
        asyncio.run(run_admin_statement(database_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def _tables(url: str) -> dict[str, list[tuple[str, ...]]]:
    """Every row of every table, as text, in a stable order: the registry, compared whole."""

    def read(connection: Connection) -> dict[str, list[tuple[str, ...]]]:
        quote = connection.dialect.identifier_preparer.quote
        found = {}
        for table in sorted(inspect(connection).get_table_names()):
            rows = connection.execute(text(f"SELECT * FROM {quote(table)}")).all()  # noqa: S608 - names from the database
            found[table] = sorted(tuple(str(value) for value in row) for row in rows)
        return found

    tables: dict[str, list[tuple[str, ...]]] = run_on_connection(url, read)
    return tables


def _environment(url: str, store: Path | str) -> dict[str, str]:
    return {"DATABASE_URL": url, "STORAGE_URL": store if isinstance(store, str) else f"file:{store}"}


def _ok(result: Any) -> str:
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    output: str = result.stdout
    return output


def test_round_trip_into_an_empty_database_and_store(
    client: TestClient[Any],
    demo: dict[str, Any],
    vendors: dict[str, Side],
    submit: Submit,
    dpo: Account,
    clean_database: str,
    empty_database: str,
    settings: Settings,
    tmp_path: Path,
) -> None:
    # The demo, agreements with their stored documents, and an attestation with its evidence file.
    sent = submit(vendors["a"], deletion(vendors["a"].engagement_id), [("certificate.pdf", PDF, "application/pdf")])
    assert sent.status_code == 201, sent.text
    store = Path(settings.storage_url.removeprefix("file:"))  # the app's store
    stored = sorted(LocalStorage(store).names())
    assert len(stored) >= 3  # two agreement documents and the certificate
    before = _tables(clean_database)

    out = tmp_path / "backups" / "dpa.tar"
    out.parent.mkdir()
    written = _ok(dpa("backup", str(out), env=_environment(clean_database, store)))
    assert written.startswith(f"wrote {out}: the ") and f"{len(stored)} evidence files" in written
    with tarfile.open(out) as tar:
        manifest = json.load(tar.extractfile("manifest.json") or io.BytesIO())
        names = set(tar.getnames())
    kind = "postgresql" if _postgres(clean_database) else "sqlite"
    assert manifest["database"]["kind"] == kind and manifest["database"]["alembic_revision"]
    assert names == {"manifest.json"} | {entry["path"] for entry in manifest["files"]}
    assert {f"evidence/{name}" for name in stored} <= names

    # Into an empty database and an empty store; both checks pass and the registry is the same.
    target_store = tmp_path / "restored-evidence"
    target = _environment(empty_database, target_store)
    restored = _ok(dpa("restore", str(out), env=target))
    assert f"the {NAMES[kind]} database at migration {manifest['database']['alembic_revision']}" in restored
    assert _ok(dpa("audit", "verify", env=target)).startswith("audit trail intact")
    assert f"checked {len(stored)} stored files: 0 altered, 0 missing" in _ok(dpa("evidence", "verify", env=target))
    assert sorted(LocalStorage(target_store).names()) == stored
    after = _tables(empty_database)
    # The restore itself is the one entry more in the audit trail (its head moves with it).
    trail = after.pop("audit_entries")
    assert len(trail) == len(before.pop("audit_entries")) + 1
    assert any("restore" in row for row in trail)
    before.pop("audit_head"), after.pop("audit_head")
    assert after == before

    # A database that is no longer empty is replaced only when asked.
    assert_one_line_error(dpa("restore", str(out), env=target), "the database is not empty")
    _ok(dpa("restore", str(out), "--force", env=target))
    assert _ok(dpa("audit", "verify", env=target)).startswith("audit trail intact")


def test_restore_into_a_migrated_empty_database(clean_database: str, empty_database: str, tmp_path: Path) -> None:
    """`dpa db upgrade` first, then restore: the empty schema is replaced, not doubled."""
    run(load_demo, clean_database)
    out = tmp_path / "dpa.tar"
    _ok(dpa("backup", str(out), env=_environment(clean_database, tmp_path / "evidence")))
    upgrade(empty_database)
    target = _environment(empty_database, tmp_path / "restored-evidence")
    _ok(dpa("restore", str(out), env=target))
    assert "admin@xingchi-auto.example\tadmin\tactive" in _ok(dpa("users", "list", env=target))


def _rewrite(source: Path, out: Path, change: dict[str, bytes], manifest: dict[str, Any] | None = None) -> None:
    """A copy of the backup with some members' bytes (and perhaps the manifest) replaced."""
    with tarfile.open(source) as old, tarfile.open(out, "w") as new:
        for member in old.getmembers():
            data = (old.extractfile(member) or io.BytesIO()).read()
            if member.name in change:
                data = change[member.name]
            if member.name == "manifest.json" and manifest is not None:
                data = json.dumps(manifest).encode()
            member.size = len(data)
            new.addfile(member, io.BytesIO(data))


def test_bad_backups_are_refused_in_one_line_and_change_nothing(
    clean_database: str, empty_database: str, tmp_path: Path
) -> None:
    run(load_demo, clean_database)
    store = tmp_path / "evidence"
    certificate = LocalStorage(store).put(PDF).sha256
    out = tmp_path / "dpa.tar"
    _ok(dpa("backup", str(out), env=_environment(clean_database, store)))
    target = _environment(empty_database, tmp_path / "restored-evidence")

    def refused(path: Path, expected: str, environment: dict[str, str] = target) -> None:
        result = dpa("restore", str(path), env=environment)
        assert result.returncode == 1
        assert_one_line_error(result, expected)

    refused(tmp_path / "missing.tar", "no such file")
    (tmp_path / "notes.txt").write_text("not a backup")
    refused(tmp_path / "notes.txt", "is not a dpa backup")
    truncated = tmp_path / "truncated.tar"
    truncated.write_bytes(out.read_bytes()[: out.stat().st_size // 2])
    refused(truncated, "truncated.tar is")

    with tarfile.open(out) as tar:
        manifest = json.load(tar.extractfile("manifest.json") or io.BytesIO())
    database = manifest["database"]["file"]
    altered = tmp_path / "altered.tar"
    _rewrite(out, altered, {f"evidence/{certificate}": PDF.replace(b"Catalog", b"Catalgo")})
    refused(altered, f"evidence/{certificate} does not match the manifest")
    # Altered, with a manifest made to agree: an evidence file must still be its SHA-256.
    forged = tmp_path / "forged.tar"
    evil = PDF.replace(b"Catalog", b"Catalgo")
    files = [
        {**entry, "sha256": hashlib.sha256(evil).hexdigest(), "size": len(evil)}
        if entry["path"] == f"evidence/{certificate}"
        else entry
        for entry in manifest["files"]
    ]
    _rewrite(out, forged, {f"evidence/{certificate}": evil}, {**manifest, "files": files})
    refused(forged, "an evidence file is named by its SHA-256")
    damaged = tmp_path / "damaged.tar"
    with tarfile.open(out) as tar:
        original = (tar.extractfile(database) or io.BytesIO()).read()
    _rewrite(out, damaged, {database: original[:-1] + bytes([original[-1] ^ 1])})
    refused(damaged, f"{database} does not match the manifest")
    unlisted = tmp_path / "unlisted.tar"
    _rewrite(out, unlisted, {}, {**manifest, "files": manifest["files"][1:]})
    refused(unlisted, "is in the backup but not in its manifest")

    newer = tmp_path / "newer.tar"
    _rewrite(out, newer, {}, {**manifest, "database": {**manifest["database"], "alembic_revision": "9999"}})
    refused(newer, "at migration 9999, which this version of dpa does not know")

    # The wrong kind of database: a SQLite backup into PostgreSQL, or the other way round.
    other = (
        f"sqlite+aiosqlite:///{tmp_path / 'other.db'}"
        if _postgres(clean_database)
        else "postgresql+asyncpg://nobody@127.0.0.1:9/nothing_test"
    )
    refused(out, "database and DATABASE_URL names a", _environment(other, tmp_path / "other-evidence"))

    # Nothing was restored by any of them.
    assert not any(rows for table, rows in _tables(empty_database).items() if table != "audit_head")
    assert not list(LocalStorage(tmp_path / "restored-evidence").names())


def test_backup_refuses_what_it_cannot_do_in_one_line(clean_database: str, tmp_path: Path) -> None:
    run(load_demo, clean_database)
    env = _environment(clean_database, tmp_path / "evidence")
    out = tmp_path / "dpa.tar"
    _ok(dpa("backup", str(out), env=env))
    assert_one_line_error(dpa("backup", str(out), env=env), "already exists")
    assert_one_line_error(dpa("backup", str(tmp_path / "nowhere" / "dpa.tar"), env=env), "no such directory")
    missing = _environment(f"sqlite+aiosqlite:///{tmp_path / 'none.db'}", tmp_path / "evidence")
    assert_one_line_error(dpa("backup", str(tmp_path / "none.tar"), env=missing), "no SQLite database at")
    if _postgres(clean_database):
        bare = {**env, "PATH": str(tmp_path / "empty-path")}
        result = dpa("backup", str(tmp_path / "other.tar"), env=bare)
        assert_one_line_error(result, "pg_dump not found on PATH")
        assert not (tmp_path / "other.tar").exists()
    assert not [path for path in tmp_path.iterdir() if path.name.startswith(".dpa-backup-")]


def test_round_trip_of_an_s3_store(clean_database: str, empty_database: str, s3_bucket: str, tmp_path: Path) -> None:
    """The store is read and written through FileStore: an S3 bucket as well as a directory."""
    run(load_demo, clean_database)
    source = open_storage(f"s3://{s3_bucket}/evidence")
    names = sorted(source.put(data).sha256 for data in (PDF, b"%PDF-1.7\n% another\n%%EOF\n"))
    out = tmp_path / "dpa.tar"
    _ok(dpa("backup", str(out), env=_environment(clean_database, f"s3://{s3_bucket}/evidence")))
    target = _environment(empty_database, f"s3://{s3_bucket}/restored")
    _ok(dpa("restore", str(out), env=target))
    assert sorted(open_storage(f"s3://{s3_bucket}/restored").names()) == names
    assert os.environ["AWS_ENDPOINT_URL"]  # the processes above reached the test server, not AWS
