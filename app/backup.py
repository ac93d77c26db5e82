"""Backups: the database and every stored file in one tar file, with a manifest.

A backup is an uncompressed tar (evidence files are PDFs, images and DOCX, compressed
already; a PostgreSQL dump is compressed by pg_dump) that `tar tf` lists:

    database.sqlite3 | database.pgdump   SQLite through its online backup API; PostgreSQL by
                                         pg_dump in custom format. Both are a consistent
                                         snapshot taken while the service runs.
    evidence/<sha256>                    every object of the evidence store (FileStore)
    manifest.json                        format, time, database kind and Alembic revision,
                                         and the SHA-256 and size of every file above

The database is copied first, the store second: the store only ever gains files, so every
file the copied database names is in the backup (a file stored in between is carried too,
unnamed and harmless).

A restore checks the whole backup against its manifest (and each evidence file against its
name) before it changes anything, refuses a database that is not empty unless forced, puts
the evidence files first (the store is content-addressed: nothing is overwritten) and then
replaces the database in one transaction.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import IO, Any

from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util import CommandError as AlembicCommandError
from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection, make_url

from app.core.database import alembic_config, run_on_connection
from app.core.locks import AlreadyRunning, hold, sqlite_lock_path
from app.core.storage import HEX, FileStore, StorageError

FORMAT = "dpa-backup"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
DATABASE_FILES = {"sqlite": "database.sqlite3", "postgresql": "database.pgdump"}
NAMES = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}
EVIDENCE = "evidence/"
CHUNK = 1024 * 1024
# Tables that a freshly migrated, empty database already has rows in.
BOOKKEEPING = frozenset({"alembic_version", "audit_head"})


class BackupError(RuntimeError):
    """A backup or restore that cannot go on; the message says why, in one line."""


@dataclass(frozen=True)
class Summary:
    kind: str  # sqlite or postgresql
    revision: str  # the Alembic revision of the database in the backup
    evidence_files: int
    size: int  # bytes: of the backup written, or of the files restored
    created_at: str  # when the backup was made (ISO 8601, UTC)


def kind_of(database_url: str) -> str:
    return "sqlite" if make_url(database_url).get_backend_name() == "sqlite" else "postgresql"


# -- backup --------------------------------------------------------------------------------


def create(database_url: str, storage: FileStore, out: Path, *, now: datetime) -> Summary:
    """Write the backup to `out` (a new file; written aside and renamed, so a failed backup
    never leaves a file that looks whole)."""
    if out.exists():
        raise BackupError(f"{out} already exists: choose another name")
    if not out.parent.is_dir():
        raise BackupError(f"{out.parent}: no such directory")
    kind = kind_of(database_url)
    with tempfile.TemporaryDirectory(dir=out.parent, prefix=".dpa-backup-") as work:
        dump = Path(work) / DATABASE_FILES[kind]
        revision = _sqlite_copy(database_url, dump) if kind == "sqlite" else _pg_dump(database_url, dump)
        partial = Path(work) / "backup.tar"
        files = []
        with tarfile.open(partial, "w", format=tarfile.PAX_FORMAT) as tar:
            files.append(_add_file(tar, DATABASE_FILES[kind], dump, now))
            dump.unlink()
            for name in storage.names():
                try:
                    data = storage.get(name)  # checked against its name on the way out
                except StorageError as error:
                    raise BackupError(f"evidence store: {error}") from None
                files.append(_add_bytes(tar, EVIDENCE + name, data, now))
            manifest = {
                "format": FORMAT,
                "version": FORMAT_VERSION,
                "created_at": now.isoformat(),
                "database": {"kind": kind, "file": DATABASE_FILES[kind], "alembic_revision": revision},
                "files": files,
            }
            _add_bytes(tar, MANIFEST, json.dumps(manifest, indent=1).encode(), now)
        os.replace(partial, out)
    return Summary(kind, revision, len(files) - 1, out.stat().st_size, now.isoformat())


def _add_file(tar: tarfile.TarFile, name: str, path: Path, now: datetime) -> dict[str, Any]:
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        for chunk in iter(lambda: file.read(CHUNK), b""):
            digest.update(chunk)
    info = _info(name, path.stat().st_size, now)
    with open(path, "rb") as file:
        tar.addfile(info, file)
    return {"path": name, "sha256": digest.hexdigest(), "size": info.size}


def _add_bytes(tar: tarfile.TarFile, name: str, data: bytes, now: datetime) -> dict[str, Any]:
    tar.addfile(_info(name, len(data), now), io.BytesIO(data))
    return {"path": name, "sha256": hashlib.sha256(data).hexdigest(), "size": len(data)}


def _info(name: str, size: int, now: datetime) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.size, info.mode, info.mtime = size, 0o600, int(now.timestamp())
    return info


def _sqlite_path(database_url: str) -> Path:
    return Path(make_url(database_url).database or "")


def _sqlite_copy(database_url: str, dump: Path) -> str:
    """SQLite's online backup API: a consistent copy while the server goes on writing."""
    path = _sqlite_path(database_url)
    if not path.is_file():
        raise BackupError(f"no SQLite database at {path}")
    source = sqlite3.connect(f"{path.resolve().as_uri()}?mode=rw", uri=True, timeout=30)
    try:
        target = sqlite3.connect(dump)
        try:
            source.backup(target)
            target.execute("PRAGMA journal_mode=DELETE")  # one self-contained file, no -wal beside it
            revision = _sqlite_revision(target)
        finally:
            target.close()
    except sqlite3.Error as error:
        raise BackupError(f"cannot copy the SQLite database {path}: {error}") from None
    finally:
        source.close()
    if revision is None:
        raise BackupError(f"the database {path} has no schema (run `dpa db upgrade`): nothing to back up")
    return revision


def _sqlite_revision(connection: sqlite3.Connection) -> str | None:
    try:
        row = connection.execute("SELECT version_num FROM alembic_version").fetchone()
    except sqlite3.OperationalError:
        return None
    return str(row[0]) if row else None


def _revision(connection: Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()


def _tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        raise BackupError(
            f"{name} not found on PATH: install PostgreSQL's client tools (Debian: apt-get install postgresql-client)"
        )
    return found


def _pg_environment(database_url: str) -> dict[str, str]:
    """libpq's variables for the database URL: the password never shows in a process list."""
    url = make_url(database_url)
    values = {
        "PGHOST": url.host,
        "PGPORT": str(url.port) if url.port else None,
        "PGUSER": url.username,
        "PGPASSWORD": url.password,
        "PGDATABASE": url.database,
        "PGSSLMODE": url.query.get("sslmode") or url.query.get("ssl"),
    }
    return {**os.environ, **{key: str(value) for key, value in values.items() if value}}


def _run(command: list[str], database_url: str, what: str) -> None:
    result = subprocess.run(  # noqa: S603 - PostgreSQL's own tools, arguments of ours
        command, env=_pg_environment(database_url), capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        lines = [line for line in result.stderr.strip().splitlines() if line.strip()]
        raise BackupError(f"{what} failed: {lines[0] if lines else f'exit status {result.returncode}'}")


def _pg_dump(database_url: str, dump: Path) -> str:
    pg_dump = _tool("pg_dump")
    revision = run_on_connection(database_url, _revision)
    if revision is None:
        raise BackupError("the database has no schema (run `dpa db upgrade`): nothing to back up")
    _run([pg_dump, "--format=custom", "--no-owner", "--no-privileges", f"--file={dump}"], database_url, "pg_dump")
    return revision


# -- restore -------------------------------------------------------------------------------


def restore(database_url: str, storage: FileStore, source: Path, *, force: bool) -> Summary:
    if not source.is_file():
        raise BackupError(f"{source}: no such file")
    try:
        tar = tarfile.open(source, "r:")  # noqa: SIM115 - closed below
    except (tarfile.TarError, OSError) as error:
        raise BackupError(f"{source} is not a dpa backup (not a tar file: {error})") from None
    with tar:
        try:
            manifest, members = _checked(tar)
        except (tarfile.TarError, EOFError, OSError) as error:
            raise BackupError(f"{source} is damaged: {error}") from None
        database = manifest["database"]
        kind, revision = database["kind"], database["alembic_revision"]
        if kind != kind_of(database_url):
            raise BackupError(
                f"{source} holds a {NAMES[kind]} database and DATABASE_URL names a {NAMES[kind_of(database_url)]} "
                f"one: restore it into {NAMES[kind]}"
            )
        _known(database_url, revision)
        with ExitStack() as stack:
            _exclusive(database_url, stack)
            if not force:
                full = run_on_connection(database_url, _first_table_with_rows)
                if full is not None:
                    raise BackupError(
                        f"the database is not empty (table {full} has rows): restore into an empty database, "
                        "or add --force to replace it"
                    )
            if kind == "postgresql":  # both tools, before anything changes
                _tool("pg_restore")
                _tool("psql")
            size = 0
            evidence = [member for member in members if member.name.startswith(EVIDENCE)]
            for member in evidence:
                data = _read(tar, member)
                expected = member.name.removeprefix(EVIDENCE)
                if hashlib.sha256(data).hexdigest() != expected:  # changed since it was checked
                    raise BackupError(f"{source} changed while it was being restored: {member.name}")
                try:
                    storage.put(data)
                except StorageError as error:
                    raise BackupError(f"evidence store: {error}") from None
                size += len(data)
            member = next(member for member in members if member.name == database["file"])
            with tempfile.TemporaryDirectory(prefix=".dpa-restore-", dir=_scratch(database_url)) as work:
                dump = Path(work) / member.name
                size += _extract(tar, member, dump, _listed(manifest, member.name))
                if kind == "sqlite":
                    _sqlite_replace(database_url, dump)
                else:
                    _pg_replace(database_url, dump, Path(work))
    return Summary(kind, revision, len(evidence), size, str(manifest["created_at"]))


def _checked(tar: tarfile.TarFile) -> tuple[dict[str, Any], list[tarfile.TarInfo]]:
    """The manifest and the members it lists, every byte checked against it."""
    members = tar.getmembers()
    names = [member.name for member in members]
    if MANIFEST not in names:
        raise BackupError(f"not a dpa backup: no {MANIFEST}")
    if len(set(names)) != len(names):
        raise BackupError("the backup holds a file twice")
    manifest = _manifest(_read(tar, tar.getmember(MANIFEST)))
    listed = {entry["path"]: entry for entry in manifest["files"]}
    content = [member for member in members if member.name != MANIFEST]
    for member in content:
        entry = listed.get(member.name)
        if entry is None:
            raise BackupError(f"{member.name} is in the backup but not in its manifest")
        if not member.isfile():
            raise BackupError(f"{member.name} is not a regular file")
        if member.name.startswith(EVIDENCE):
            name = member.name.removeprefix(EVIDENCE)
            if len(name) != 64 or not set(name) <= HEX or entry["sha256"] != name:
                raise BackupError(f"{member.name}: an evidence file is named by its SHA-256")
        if member.size != entry["size"] or _digest(tar, member) != entry["sha256"]:
            raise BackupError(f"{member.name} does not match the manifest: the backup was altered or damaged")
    missing = set(listed) - {member.name for member in content}
    if missing:
        raise BackupError(f"{sorted(missing)[0]} is in the manifest but not in the backup")
    database = manifest["database"]
    if database["file"] not in listed or database["file"] != DATABASE_FILES.get(database["kind"]):
        raise BackupError(f"the manifest names no {database['kind']} database file")
    if any(not (path == database["file"] or path.startswith(EVIDENCE)) for path in listed):
        raise BackupError("the manifest lists a file a dpa backup does not hold")
    return manifest, content


def _manifest(raw: bytes) -> dict[str, Any]:
    try:
        manifest = json.loads(raw)
        if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
            raise ValueError("not a dpa backup manifest")
        if manifest.get("version") != FORMAT_VERSION:
            raise ValueError(f"format version {manifest.get('version')!r}; this dpa reads {FORMAT_VERSION}")
        database = manifest["database"]
        if database["kind"] not in DATABASE_FILES or not isinstance(database["alembic_revision"], str):
            raise ValueError("no database kind or revision")
        for entry in manifest["files"]:
            if not (isinstance(entry["path"], str) and isinstance(entry["sha256"], str)):
                raise ValueError("a file without a path or SHA-256")
            if not isinstance(entry["size"], int):
                raise ValueError("a file without a size")
        str(manifest["created_at"])
    except (ValueError, KeyError, TypeError) as error:
        raise BackupError(f"the backup's {MANIFEST} is not valid: {error}") from None
    return manifest


def _listed(manifest: dict[str, Any], path: str) -> str:
    return str(next(entry["sha256"] for entry in manifest["files"] if entry["path"] == path))


def _chunks(tar: tarfile.TarFile, member: tarfile.TarInfo) -> Iterator[bytes]:
    file: IO[bytes] | None = tar.extractfile(member)
    if file is None:
        raise BackupError(f"{member.name} is not a regular file")
    with file:
        yield from iter(lambda: file.read(CHUNK), b"")


def _digest(tar: tarfile.TarFile, member: tarfile.TarInfo) -> str:
    digest = hashlib.sha256()
    for chunk in _chunks(tar, member):
        digest.update(chunk)
    return digest.hexdigest()


def _read(tar: tarfile.TarFile, member: tarfile.TarInfo) -> bytes:
    return b"".join(_chunks(tar, member))


def _extract(tar: tarfile.TarFile, member: tarfile.TarInfo, path: Path, sha256: str) -> int:
    digest, size = hashlib.sha256(), 0
    with open(path, "wb") as out:
        for chunk in _chunks(tar, member):
            digest.update(chunk)
            out.write(chunk)
            size += len(chunk)
    if digest.hexdigest() != sha256:
        raise BackupError(f"the backup changed while it was being restored: {member.name}")
    return size


def _known(database_url: str, revision: str) -> None:
    try:
        found = ScriptDirectory.from_config(alembic_config(database_url)).get_revision(revision)
    except AlembicCommandError:
        found = None
    if found is None:
        raise BackupError(
            f"the backup's database is at migration {revision}, which this version of dpa does not know: "
            "restore it with the version that made it"
        )


def _exclusive(database_url: str, stack: ExitStack) -> None:
    """On SQLite, hold the server's and the worker's locks: neither may run during a restore."""
    for kind in ("serve", "worker"):
        try:
            stack.enter_context(hold(sqlite_lock_path(database_url, kind), "dpa restore"))
        except AlreadyRunning as running:
            what = "a server" if kind == "serve" else "a reminder worker"
            raise BackupError(f"{what} is running on this database ({running.holder}): stop it first") from None


def _first_table_with_rows(connection: Connection) -> str | None:
    quote = connection.dialect.identifier_preparer.quote
    for table in sorted(inspect(connection).get_table_names()):
        query = text(f"SELECT 1 FROM {quote(table)} LIMIT 1")  # noqa: S608 - a table name the database gave, quoted
        if table not in BOOKKEEPING and connection.execute(query).first():
            return table
    return None


def _scratch(database_url: str) -> str | None:
    """Where the database file is unpacked: beside a SQLite database (same disk, room for it)."""
    if kind_of(database_url) == "sqlite":
        path = _sqlite_path(database_url).resolve().parent
        path.mkdir(parents=True, exist_ok=True)
        return str(path)
    return None


def _sqlite_replace(database_url: str, dump: Path) -> None:
    """Copy the backup's pages over the database, in one transaction of SQLite's backup API."""
    path = _sqlite_path(database_url)
    source = sqlite3.connect(f"{dump.resolve().as_uri()}?mode=ro", uri=True)
    try:
        if source.execute("PRAGMA integrity_check").fetchone() != ("ok",):
            raise BackupError("the backup's SQLite database fails SQLite's integrity check")
        target = sqlite3.connect(path, timeout=30)
        try:
            source.backup(target)
        finally:
            target.close()
    except sqlite3.Error as error:
        raise BackupError(f"cannot restore the SQLite database {path}: {error}") from None
    finally:
        source.close()


# Every table and sequence of the schema goes first, so that a forced restore leaves nothing
# of the database it replaces; the drops and the restore are one transaction.
_DROP_ALL = """
DO $$
DECLARE item record;
BEGIN
  FOR item IN SELECT c.relname, c.relkind FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
              WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p', 'v', 'm', 'S')
              ORDER BY c.relkind DESC
  LOOP
    EXECUTE format(
      CASE item.relkind WHEN 'S' THEN 'DROP SEQUENCE IF EXISTS %I CASCADE'
                        WHEN 'v' THEN 'DROP VIEW IF EXISTS %I CASCADE'
                        WHEN 'm' THEN 'DROP MATERIALIZED VIEW IF EXISTS %I CASCADE'
                        ELSE 'DROP TABLE IF EXISTS %I CASCADE' END,
      item.relname);
  END LOOP;
END $$;
"""


def _pg_replace(database_url: str, dump: Path, work: Path) -> None:
    script, drops = work / "restore.sql", work / "drop.sql"
    _run(
        [_tool("pg_restore"), "--no-owner", "--no-privileges", f"--file={script}", str(dump)],
        database_url,
        "pg_restore",
    )
    drops.write_text(_DROP_ALL, encoding="utf-8")
    _run(
        [
            _tool("psql"),
            "-X",
            "-q",
            "-v",
            "ON_ERROR_STOP=1",
            "--single-transaction",
            "-f",
            str(drops),
            "-f",
            str(script),
        ],
        database_url,
        "psql",
    )
