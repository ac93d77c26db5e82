"""Bad uploads are refused with the field and the reason, and change nothing; retries are safe."""

from __future__ import annotations

import io
import json
import uuid
import zipfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from docx import Document
from litestar.testing import TestClient
from sqlalchemy import func, select

from app.attestations.models import Attestation, EvidenceFile
from app.core.settings import MB, Settings
from app.main import create_app
from tests.conftest import run
from tests.integration.conftest import PDF, Side, Submit, deletion

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 64


def _count(database_url: str) -> tuple[int, int]:
    async def go(session: Any) -> tuple[int, int]:
        attestations = await session.scalar(select(func.count()).select_from(Attestation))
        files = await session.scalar(select(func.count()).select_from(EvidenceFile))
        return attestations, files

    counts: tuple[int, int] = run(go, database_url)
    return counts


def _docx() -> bytes:
    document = Document()
    document.add_paragraph("删除证明 Deletion certificate")
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def _zip_bomb() -> bytes:
    """Well under a megabyte on the wire, over 100 MB once expanded, dressed as a .docx."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("word/document.xml", b"\x00" * (101 * 1024 * 1024))
    return out.getvalue()


@pytest.mark.parametrize(
    ("files", "status", "message"),
    [
        ([("evil.pdf", b"<html><script>alert(1)</script></html>", "application/pdf")], 415, "content is none of"),
        ([("photo.png", JPEG, "image/png")], 415, "declared as image/png but the content is image/jpeg"),
        ([("run.exe", b"MZ\x90\x00", "application/x-msdownload")], 415, "is not accepted"),
        ([("empty.pdf", b"", "application/pdf")], 400, "the file is empty"),
        ([("bomb.docx", _zip_bomb(), "application/octet-stream")], 413, "expands to more than 100 MB"),
        ([("fake.docx", b"PK\x03\x04 not really a zip", "application/octet-stream")], 415, "not a valid DOCX"),
        ([], 400, "at least one evidence file"),
    ],
)
def test_bad_files_are_refused_and_change_nothing(
    vendors: dict[str, Side], submit: Submit, clean_database: str, files: Any, status: int, message: str
) -> None:
    a = vendors["a"]
    response = submit(a, deletion(a.engagement_id), files=files)
    assert response.status_code == status, response.text
    assert message in response.text
    assert "files" in response.json()["extra"][0]["key"]
    assert _count(clean_database) == (0, 0)


def test_a_path_in_the_file_name_is_dropped_and_the_type_decides_the_extension(
    vendors: dict[str, Side], submit: Submit
) -> None:
    a = vendors["a"]
    files = [
        ("../../x.pdf", PDF, "application/pdf"),
        ("C:\\Windows\\证明 扫描.png", PNG, "image/png"),
        ("report", _docx(), "application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
        ("photo.jpeg", JPEG, "application/octet-stream"),  # no declared type: the extension declares it
    ]
    response = submit(a, deletion(a.engagement_id), files=files)
    assert response.status_code == 201, response.text
    names = [file["filename"] for file in response.json()["files"]]
    assert names == ["x.pdf", "证明 扫描.png", "report.docx", "photo.jpg"]


def test_identical_bytes_are_stored_once(vendors: dict[str, Side], submit: Submit, settings: Settings) -> None:
    a = vendors["a"]
    first = submit(a, deletion(a.engagement_id), files=[("one.pdf", PDF, "application/pdf")]).json()
    second = submit(a, deletion(a.engagement_id), files=[("two.pdf", PDF, "application/pdf")]).json()
    assert first["files"][0]["sha256"] == second["files"][0]["sha256"]
    root = settings.storage_url.removeprefix("file:")
    stored = [path for path in Path(root).rglob("*") if path.is_file()]
    assert [path.name for path in stored].count(first["files"][0]["sha256"]) == 1


def test_size_limits_answer_413(settings: Settings, vendors: dict[str, Side], clean_database: str) -> None:
    a = vendors["a"]
    small = Settings(**{**settings.__dict__, "upload_max_file_bytes": 1 * MB, "upload_max_request_bytes": 2 * MB})
    metadata = {"metadata": json.dumps(deletion(a.engagement_id))}
    with TestClient(app=create_app(small)) as client:
        big_file = PDF + b"0" * MB
        one = client.post(
            "/api/vendor/attestations",
            data=metadata,
            files=[("files", ("big.pdf", big_file, "application/pdf"))],
            headers=a.headers,
        )
        assert one.status_code == 413, one.text
        assert one.json()["extra"][0]["key"] == "files.0"
        half = PDF + b"0" * (MB - len(PDF) - 1)
        many = client.post(
            "/api/vendor/attestations",
            data=metadata,
            files=[("files", (f"{i}.pdf", half, "application/pdf")) for i in range(3)],
            headers=a.headers,
        )
        assert many.status_code == 413, many.text
    assert _count(clean_database) == (0, 0)


@pytest.mark.parametrize(
    ("metadata", "field"),
    [
        ("{not json", "metadata"),
        ({"kind": "deletion"}, "metadata.deletion.engagement_id"),
        ({"kind": "gift"}, "metadata"),
        ("FIELD:completed_on=2999-01-01", "metadata.completed_on"),
        ("FIELD:records_deleted=-1", "metadata.deletion.records_deleted"),
        ("FIELD:method=shredder", "metadata.deletion.method"),
        ("FIELD:signer_name=", "metadata.deletion.signer_name"),
        ("FIELD:unexpected=1", "metadata.deletion.unexpected"),
    ],
)
def test_bad_metadata_names_the_field(
    vendors: dict[str, Side], submit: Submit, clean_database: str, metadata: Any, field: str
) -> None:
    a = vendors["a"]
    if isinstance(metadata, str) and metadata.startswith("FIELD:"):
        name, _, raw = metadata.removeprefix("FIELD:").partition("=")
        value: Any = int(raw) if raw.lstrip("-").isdigit() else raw
        metadata = deletion(a.engagement_id, **{name: value})
    response = submit(a, metadata)
    assert response.status_code == 400, response.text
    keys = [item["key"] for item in response.json()["extra"]]
    assert any(key.startswith(field) for key in keys), keys
    assert _count(clean_database) == (0, 0)


def test_deletion_before_the_engagement_ended_is_a_conflict(
    client: TestClient[Any], demo: dict[str, Any], submit: Submit
) -> None:
    from tests.integration.conftest import issue_key

    engagement = demo["payroll"]  # no agreement has ended
    key = issue_key(client, demo["headers"], engagement["vendor_id"])["key"]
    side = Side(engagement["vendor_id"], engagement["id"], "", key)
    response = submit(side, deletion(engagement["id"]))
    assert response.status_code == 409
    assert "has not ended" in response.text


def test_the_same_idempotency_key_returns_the_first_response(
    vendors: dict[str, Side], submit: Submit, clean_database: str
) -> None:
    a = vendors["a"]
    key = str(uuid.uuid4())
    first = submit(a, deletion(a.engagement_id), key=key)
    again = submit(a, deletion(a.engagement_id), key=key)
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again.headers["idempotent-replayed"] == "true"
    assert _count(clean_database) == (1, 1)

    different = submit(a, deletion(a.engagement_id, records_deleted=1), key=key)
    assert different.status_code == 422
    assert "different request" in different.json()["detail"]
    # Keys are per vendor: the other vendor may use the same one.
    b = vendors["b"]
    assert submit(b, deletion(b.engagement_id), key=key).status_code == 201
    bad = submit(a, deletion(a.engagement_id), key="has spaces in it")
    assert bad.status_code == 400 and bad.json()["extra"][0]["key"] == "Idempotency-Key"
    assert _count(clean_database) == (2, 2)


def test_twenty_concurrent_duplicates_create_one_attestation(
    vendors: dict[str, Side], submit: Submit, clean_database: str
) -> None:
    a = vendors["a"]
    key = str(uuid.uuid4())
    with ThreadPoolExecutor(max_workers=20) as pool:
        responses = list(pool.map(lambda _: submit(a, deletion(a.engagement_id), key=key), range(20)))
    assert [response.status_code for response in responses] == [201] * 20
    assert len({response.json()["id"] for response in responses}) == 1
    assert _count(clean_database) == (1, 1)


def test_hostile_values_in_vendor_and_review_bodies_never_cause_500(
    client: TestClient[Any], vendors: dict[str, Side], submit: Submit, demo: dict[str, Any], clean_database: str
) -> None:
    from tests.integration.test_attestation_kinds import change, incident, periodic
    from tests.integration.test_robustness import HOSTILE_VALUES, _assert_deliberate

    a = vendors["a"]
    for make in (deletion, periodic, change, incident):
        body = make(a.engagement_id)
        for field in body:
            for value in HOSTILE_VALUES:
                before = _count(clean_database)
                response = submit(a, {**body, field: value}, files=[("e.pdf", PDF, "application/pdf")])
                _assert_deliberate(response, (body["kind"], field, value))
                if response.status_code >= 400:
                    assert _count(clean_database) == before, (body["kind"], field, value)
    sent = submit(a, deletion(a.engagement_id)).json()
    for path, body in (
        (f"/api/vendors/{a.vendor_id}/keys", {"name": "k", "expires_at": None, "allowed_networks": []}),
        (f"/api/attestations/{sent['id']}/reject", {"reason": "not signed"}),
    ):
        for field in body:
            for value in HOSTILE_VALUES:
                response = client.post(path, json={**body, field: value}, headers=demo["headers"])
                _assert_deliberate(response, (path, field, value))
                if path.endswith("/reject") and response.status_code == 200:
                    break


def test_idempotency_keys_are_kept_over_a_day_then_purged(
    vendors: dict[str, Side], submit: Submit, clean_database: str
) -> None:
    from datetime import UTC, datetime, timedelta

    from sqlalchemy import update

    from app.core.models import IdempotencyRecord

    def age(hours: int) -> None:
        async def go(session: Any) -> None:
            await session.execute(
                update(IdempotencyRecord).values(created_at=datetime.now(UTC) - timedelta(hours=hours))
            )
            await session.commit()

        run(go, clean_database)

    a = vendors["a"]
    key = str(uuid.uuid4())
    first = submit(a, deletion(a.engagement_id), key=key).json()
    age(25)
    assert submit(a, deletion(a.engagement_id), key=key).json() == first
    assert submit(a, deletion(a.engagement_id, records_deleted=1), key=key).status_code == 422
    age(49)
    assert submit(a, deletion(a.engagement_id), key=str(uuid.uuid4())).status_code == 201  # purges the old record
    reused = submit(a, deletion(a.engagement_id, records_deleted=1), key=key)
    assert reused.status_code == 201 and reused.json()["id"] != first["id"]


def test_malformed_multipart_is_400_and_changes_nothing(
    client: TestClient[Any], vendors: dict[str, Side], clean_database: str
) -> None:
    a = vendors["a"]
    url = "/api/vendor/attestations"
    metadata = json.dumps(deletion(a.engagement_id))
    attempts: list[dict[str, Any]] = [
        {"files": [("files", ("d.pdf", PDF, "application/pdf"))]},  # no metadata
        {"files": [("metadata", (None, metadata)), ("files", (None, "not a file"))]},
        {
            "files": [
                ("metadata", ("m.json", metadata.encode(), "application/json")),
                ("files", ("d.pdf", PDF, "application/pdf")),
            ]
        },
        {"content": b"--x\r\nbroken", "headers": {"Content-Type": "multipart/form-data; boundary=x"}},
        {"json": {"metadata": metadata}},
        {"content": b"", "headers": {"Content-Type": "multipart/form-data"}},
    ]
    for attempt in attempts:
        headers = {**a.headers, **attempt.pop("headers", {})}
        response = client.post(url, headers=headers, **attempt)
        assert 400 <= response.status_code < 500, (attempt, response.status_code, response.text)
        assert "Traceback" not in response.text
    assert _count(clean_database) == (0, 0)
