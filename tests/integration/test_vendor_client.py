"""A vendor's developer's first day: a client generated from /api/vendor/openapi.json alone, with
no warning from the generator and no hand-written code, runs the whole flow against a real
`dpa serve`: list the duties, download the issued agreement, upload a deletion attestation
with an Idempotency-Key, replay it, and see it reviewed."""

from __future__ import annotations

import importlib
import io
import os
import shutil
import subprocess
import sys
import uuid
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import pytest
from litestar.testing import TestClient

from tests.conftest import free_port
from tests.factories import pdf
from tests.integration.test_cli import dpa, start_server, stop_server

pytestmark = pytest.mark.slow
GENERATOR = Path(sys.executable).parent / "openapi-python-client"
PACKAGE = "dpa_vendor_client"


def generate(document: Path, out: Path) -> str:
    """Run openapi-python-client as a vendor would; its output (where warnings go)."""
    environment = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    result = subprocess.run(  # noqa: S603 - the generator of our dev dependencies
        [str(GENERATOR), "generate", "--path", str(document), "--output-path", str(out / PACKAGE), "--meta", "none"],
        capture_output=True,
        text=True,
        env=environment,
        timeout=300,
        check=False,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    return output


def _as_admin(base: str, token: str) -> httpx.Client:
    return httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=60)


def _ended_engagement(admin: httpx.Client) -> tuple[str, str, str]:
    """The payroll vendor's engagement, with an issued agreement that has since been terminated,
    and a key for the vendor: (engagement id, agreement id, key)."""
    engagements = admin.get("/api/engagements").json()["items"]
    engagement = next(e for e in engagements if "employees" in e["data_subjects"])  # the payroll vendor
    created = admin.post(
        "/api/agreements",
        json={"engagement_id": engagement["id"], "term_start": "2026-01-05", "term_end": "2027-01-04"},
    )
    assert created.status_code == 201, created.text
    agreement = created.json()["id"]
    issued = admin.post(f"/api/agreements/{agreement}/issue")
    assert issued.status_code == 200, issued.text
    ended = admin.post(
        f"/api/agreements/{agreement}/terminate",
        json={"ended_on": date.today().isoformat(), "reason": "service no longer needed"},
    )
    assert ended.status_code == 200, ended.text
    key = admin.post(f"/api/vendors/{engagement['vendor_id']}/keys", json={"name": "client"})
    assert key.status_code == 201, key.text
    return engagement["id"], agreement, key.json()["key"]


def test_a_generated_client_runs_the_vendor_flow(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'dpa.db'}"
    assert dpa("db", "upgrade", database_url=url).returncode == 0
    token = dpa("demo", "load", database_url=url).stdout.strip().splitlines()[-1]
    port = free_port()
    server = start_server(url, port, env={"STORAGE_URL": f"file:{tmp_path / 'evidence'}"})
    try:
        base = f"http://127.0.0.1:{port}"
        document = tmp_path / "openapi.json"
        document.write_bytes(httpx.get(f"{base}/api/vendor/openapi.json", timeout=10).content)
        output = generate(document, tmp_path)
        assert "warning" not in output.lower(), output

        with _as_admin(base, token) as admin:
            engagement_id, agreement_id, key = _ended_engagement(admin)
            sys.path.insert(0, str(tmp_path))
            try:
                _vendor_flow(base, key, engagement_id, agreement_id, admin)
            finally:
                sys.path.remove(str(tmp_path))
                for name in [name for name in sys.modules if name.startswith(PACKAGE)]:
                    del sys.modules[name]
    finally:
        stop_server(server)


def _vendor_flow(base: str, key: str, engagement_id: str, agreement_id: str, admin: httpx.Client) -> None:
    """Only the generated package from here on (imported by name: it did not exist before the test)."""
    client_module: Any = importlib.import_module(PACKAGE)
    api: Any = importlib.import_module(f"{PACKAGE}.api.vendor")
    models: Any = importlib.import_module(f"{PACKAGE}.models")
    types: Any = importlib.import_module(f"{PACKAGE}.types")
    names = ("list_obligations", "list_documents", "download_document", "submit_attestation", "get_attestation")
    ops = {name: importlib.import_module(f"{PACKAGE}.api.vendor.{name}") for name in names}
    assert api is not None
    with client_module.AuthenticatedClient(base_url=base, token=key, raise_on_unexpected_status=True) as vendor:
        _flow(vendor, ops, models, types, engagement_id, agreement_id, admin)


def _flow(
    vendor: Any,
    ops: dict[str, Any],
    models: Any,
    types: Any,
    engagement_id: str,
    agreement_id: str,
    admin: httpx.Client,
) -> None:
    # The duties: a page, the deletion attestation among them, typed.
    duties = ops["list_obligations"].sync_detailed(client=vendor)
    assert duties.status_code == 200
    assert int(duties.headers["X-RateLimit-Limit"]) >= int(duties.headers["X-RateLimit-Remaining"]) >= 0
    # The generated client calls the documented version: nothing deprecated, and a request id.
    assert "Deprecation" not in duties.headers and duties.headers["X-Request-Id"]
    page = duties.parsed
    assert isinstance(page, models.PageVendorObligation)
    deletion = next(d for d in page.items if d.kind == models.ObligationKind.DELETION_ATTESTATION)
    assert str(deletion.engagement_id) == engagement_id
    # Polled again with its ETag: 304, nothing to parse.
    again = ops["list_obligations"].sync_detailed(client=vendor, if_none_match=duties.headers["ETag"])
    assert again.status_code == 304

    # The issued agreement, downloaded as bytes.
    documents = ops["list_documents"].sync(client=vendor, agreement_id=uuid.UUID(agreement_id))
    issued = next(d for d in documents.items if d.format_ == models.DocumentFormat.PDF)
    file = ops["download_document"].sync(client=vendor, agreement_id=uuid.UUID(agreement_id), document_id=issued.id)
    assert file.payload.read().startswith(b"%PDF")

    # A deletion attestation, typed from the document's union, sent twice with one Idempotency-Key.
    metadata = models.DeletionDetails(
        kind="deletion",
        engagement_id=uuid.UUID(engagement_id),
        method=models.DeletionMethod.CRYPTOGRAPHIC_ERASURE,
        completed_on=date.today(),
        backups_covered=True,
        sub_processors_covered=True,
        signer_name="李明",
        signer_title="CSO",
        records_deleted=1200,
    )
    evidence = types.File(
        payload=io.BytesIO(pdf("deletion statement")), file_name="statement.pdf", mime_type="application/pdf"
    )
    body = models.AttestationUpload(metadata=metadata, files=[evidence])
    idempotency_key = str(uuid.uuid4())
    first = ops["submit_attestation"].sync_detailed(client=vendor, body=body, idempotency_key=idempotency_key)
    assert first.status_code == 201, first.content
    created = first.parsed
    assert isinstance(created, models.AttestationPublic)
    assert created.status == models.AttestationStatus.SUBMITTED
    evidence.payload.seek(0)
    replay = ops["submit_attestation"].sync_detailed(client=vendor, body=body, idempotency_key=idempotency_key)
    assert replay.status_code == 201
    assert replay.headers["Idempotent-Replayed"] == "true"
    assert replay.parsed.id == created.id

    # We review it; the vendor sees the outcome, and the duty is gone from its list.
    accepted = admin.post(f"/api/attestations/{created.id}/accept", json={"reason": "certificate checked"})
    assert accepted.status_code == 200, accepted.text
    seen = ops["get_attestation"].sync(client=vendor, attestation_id=created.id)
    assert seen.status == models.AttestationStatus.ACCEPTED
    assert seen.review_reason == "certificate checked"
    left = ops["list_obligations"].sync(client=vendor)
    assert all(d.id != deletion.id for d in left.items)

    # A second deletion attestation for the closed duty: a typed 409 naming it.
    evidence.payload.seek(0)
    late = ops["submit_attestation"].sync_detailed(client=vendor, body=body)
    assert late.status_code == 409
    assert isinstance(late.parsed, models.Error)
    assert str(deletion.id) in late.parsed.detail
    assert late.parsed.code == "duty_already_closed" and late.parsed.request_id == late.headers["X-Request-Id"]


TYPESCRIPT_GENERATOR = "openapi-typescript@7.13.0"


@pytest.mark.skipif(shutil.which("npm") is None, reason="npm is not installed (Debian: apt-get install npm)")
def test_openapi_typescript_reads_the_vendor_document_without_a_warning(
    client: TestClient[Any], tmp_path: Path
) -> None:
    """The TypeScript types a vendor's front end would generate (npm's openapi-typescript, pinned)."""
    document = tmp_path / "openapi.json"
    document.write_bytes(client.get("/api/vendor/openapi.json").content)
    out = tmp_path / "vendor.d.ts"
    npm = shutil.which("npm") or "npm"
    result = subprocess.run(  # noqa: S603 - npm runs the pinned generator
        [npm, "exec", "--yes", f"--package={TYPESCRIPT_GENERATOR}", "--", "openapi-typescript", document, "-o", out],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        cwd=tmp_path,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "warn" not in output.lower() and "⚠" not in output, output
    types = out.read_text()
    for operation in ("list_obligations", "download_document", "submit_attestation", "withdraw_attestation"):
        assert f'operations["{operation}"]' in types
