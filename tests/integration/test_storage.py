"""Evidence storage: a local directory and a real S3-compatible server behave alike, and
`dpa evidence verify` finds whatever no longer matches its hash."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
import pytest
from litestar.testing import TestClient

from app.core.settings import Settings
from app.core.storage import FileStore, LocalStorage, S3Storage, StorageError, open_storage
from app.main import create_app
from tests.conftest import Account
from tests.integration.conftest import PDF, Side, Submit, deletion


@pytest.fixture(params=["local", "s3"])
def storage(request: pytest.FixtureRequest, tmp_path: Path) -> FileStore:
    if request.param == "local":
        return LocalStorage(tmp_path / "evidence")
    bucket = request.getfixturevalue("s3_bucket")
    return open_storage(f"s3://{bucket}/dpa/evidence")


def _tamper(storage: FileStore, sha256: str, data: bytes) -> None:
    """What an attacker with direct access to the store could do; the API never can."""
    if isinstance(storage, LocalStorage):
        path = storage.root / sha256[:2] / sha256[2:4] / sha256
        path.write_bytes(data)
    else:
        assert isinstance(storage, S3Storage)
        storage.client.put_object(Bucket=storage.bucket, Key=storage._key(sha256), Body=data)


def test_content_addressed_round_trip(storage: FileStore) -> None:
    stored = storage.put(b"%PDF-1.7 evidence")
    assert stored.sha256 == hashlib.sha256(b"%PDF-1.7 evidence").hexdigest()
    assert storage.put(b"%PDF-1.7 evidence") == stored  # the same bytes, once
    assert storage.get(stored.sha256) == b"%PDF-1.7 evidence"
    assert list(storage.names()) == [stored.sha256]
    with pytest.raises(StorageError, match="no stored file"):
        storage.get("0" * 64)
    with pytest.raises(StorageError, match="not a SHA-256"):
        storage.get("../../etc/passwd")
    assert abs((storage.modified(stored.sha256) - datetime.now(UTC)).total_seconds()) < 60
    storage.delete(stored.sha256)
    assert list(storage.names()) == []


def test_an_altered_object_is_never_served(storage: FileStore) -> None:
    stored = storage.put(b"original")
    _tamper(storage, stored.sha256, b"forged")
    with pytest.raises(StorageError, match="does not match its checksum"):
        storage.get(stored.sha256)
    # put does not overwrite: what is there stays there, for verify to find.
    storage.put(b"original")
    with pytest.raises(StorageError):
        storage.get(stored.sha256)


def test_uploads_through_the_api_land_in_the_bucket(
    settings: Settings, vendors: dict[str, Side], s3_bucket: str
) -> None:
    a = vendors["a"]
    on_s3 = Settings(**{**settings.__dict__, "storage_url": f"s3://{s3_bucket}/dpa"})
    with TestClient(app=create_app(on_s3)) as client:
        sent = client.post(
            "/api/vendor/attestations",
            files=[
                ("metadata", (None, json.dumps(deletion(a.engagement_id)))),
                ("files", ("deletion.pdf", PDF, "application/pdf")),
            ],
            headers=a.headers,
        )
        assert sent.status_code == 201, sent.text
        attestation = sent.json()
        sha = attestation["files"][0]["sha256"]
        body = boto3.client("s3").get_object(Bucket=s3_bucket, Key=f"dpa/{sha[:2]}/{sha[2:4]}/{sha}")["Body"].read()
        assert body == PDF
        file_url = f"/api/vendor/attestations/{attestation['id']}/files/{attestation['files'][0]['id']}/content"
        assert client.get(file_url, headers=a.headers).content == PDF


def _verify(env: dict[str, str], *options: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603 - our own command
        [sys.executable, "-m", "app", "evidence", "verify", *options],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_dpa_evidence_verify_names_altered_and_missing_files(
    vendors: dict[str, Side], submit: Submit, settings: Settings, clean_database: str
) -> None:
    a = vendors["a"]
    env = {"DATABASE_URL": clean_database, "STORAGE_URL": settings.storage_url}
    sent = submit(a, deletion(a.engagement_id)).json()
    good = _verify(env)
    assert good.returncode == 0, good.stderr
    assert good.stdout.strip().endswith(": 0 altered, 0 missing, 0 unreferenced (0 deleted)")

    storage = LocalStorage(Path(settings.storage_url.removeprefix("file:")))
    sha = sent["files"][0]["sha256"]
    _tamper(storage, sha, PDF + b"% appended")
    names = list(storage.names())
    other = next(name for name in names if name != sha)  # the agreement's DOCX
    (storage.root / other[:2] / other[2:4] / other).unlink()
    bad = _verify(env)
    assert bad.returncode == 1
    assert f"altered\t{sha}" in bad.stdout and f"missing\t{other}" in bad.stdout
    assert bad.stdout.strip().endswith(": 1 altered, 1 missing, 0 unreferenced (0 deleted)")


def test_a_file_no_row_refers_to_is_reported_and_deleted_when_old_enough(
    vendors: dict[str, Side],
    submit: Submit,
    settings: Settings,
    clean_database: str,
    admin: Account,
    client: TestClient[Any],
) -> None:
    """An upload whose transaction failed (or a process killed before the commit) leaves bytes
    that may be personal data: verify lists them, --delete-orphans removes them (audited),
    and a file still young may be an upload in flight, so it is kept."""
    a = vendors["a"]
    env = {"DATABASE_URL": clean_database, "STORAGE_URL": settings.storage_url}
    kept = submit(a, deletion(a.engagement_id)).json()["files"][0]["sha256"]
    storage = LocalStorage(Path(settings.storage_url.removeprefix("file:")))
    old, young = storage.put(b"%PDF-1.7 orphaned upload"), storage.put(b"%PDF-1.7 upload in flight")
    two_hours_ago = time.time() - 7200
    os.utime(storage.root / old.sha256[:2] / old.sha256[2:4] / old.sha256, (two_hours_ago, two_hours_ago))

    listed = _verify(env)
    assert listed.returncode == 0, listed.stderr
    assert f"unreferenced\t{old.sha256}" in listed.stdout and f"unreferenced\t{young.sha256}" in listed.stdout
    assert set(storage.names()) >= {old.sha256, young.sha256, kept}

    swept = _verify(env, "--delete-orphans", "--older-than", "60")
    assert swept.returncode == 0, swept.stderr
    assert f"deleted\t{old.sha256}" in swept.stdout and f"unreferenced\t{young.sha256}" in swept.stdout
    assert old.sha256 not in set(storage.names()) and {young.sha256, kept} <= set(storage.names())
    trail = client.get("/api/audit", params={"object_type": "evidence_file"}, headers=admin.headers).json()["items"]
    assert [entry["changes"]["deleted"] for entry in trail if entry["action"] == "delete"] == [[old.sha256]]
