"""Issue 17 items 4 and 5: every error is an RFC 9457 problem with a stable code and the request's
id; every answer carries X-Request-Id; the vendor API is /api/vendor/v1/, and the paths it had
before still answer, each saying it is deprecated and where to go."""

from __future__ import annotations

import json
import logging
import uuid
from typing import Any

import pytest
from litestar.testing import TestClient

from app.core.settings import RateLimit, Settings
from app.main import create_app
from tests.conftest import Account
from tests.factories import pdf
from tests.integration.conftest import Side, Submit, deletion

V1 = "/api/vendor/v1"
PROBLEM = "application/problem+json"
MB = 1024 * 1024


def problem(response: Any, status: int, code: str) -> dict[str, Any]:
    """The answer is a problem of this status and code, with its request's id; its body."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    body: dict[str, Any] = response.json()
    assert body["status"] == body["status_code"] == status
    assert body["code"] == code and body["type"] == f"urn:dpa:problem:{code}"
    assert body["title"] and body["detail"]
    assert body["request_id"] == response.headers["x-request-id"]
    return body


def test_a_field_error_is_a_400_problem_naming_the_field(
    client: TestClient[Any], vendors: dict[str, Side], submit: Submit
) -> None:
    a = vendors["a"]
    body = problem(submit(a, deletion(a.engagement_id, completed_on="2999-01-01")), 400, "validation_failed")
    assert [item["key"] for item in body["extra"]] == ["metadata.completed_on"]
    # Litestar's own validation (a query parameter) has the same shape.
    body = problem(client.get(f"{V1}/obligations?limit=0", headers=a.headers), 400, "validation_failed")
    assert body["extra"][0]["key"] == "limit"


def test_credentials_refused_are_401_and_403_problems(
    client: TestClient[Any], vendors: dict[str, Side], admin: Account
) -> None:
    missing = client.get(f"{V1}/obligations")
    problem(missing, 401, "unauthenticated")
    assert missing.headers["www-authenticate"].startswith("Bearer")
    problem(client.get(f"{V1}/obligations", headers={"Authorization": "Bearer dpv_nonsense"}), 401, "unauthenticated")
    problem(client.get(f"{V1}/obligations", headers=admin.headers), 403, "forbidden")
    problem(client.get("/api/vendors", headers=vendors["a"].headers), 403, "forbidden")


def test_what_is_not_there_is_a_404_problem(client: TestClient[Any], vendors: dict[str, Side]) -> None:
    a, b = vendors["a"], vendors["b"]
    problem(client.get(f"{V1}/attestations/{uuid.uuid4()}", headers=a.headers), 404, "not_found")
    problem(client.get(f"{V1}/agreements/{b.agreement_id}", headers=a.headers), 404, "not_found")  # not yours
    problem(client.get("/api/no-such-route", headers=a.headers), 404, "not_found")


def test_a_closed_duty_is_a_409_duty_already_closed(
    client: TestClient[Any], vendors: dict[str, Side], submit: Submit, dpo: Account
) -> None:
    a = vendors["a"]
    first = submit(a, deletion(a.engagement_id)).json()
    assert client.post(f"/api/attestations/{first['id']}/accept", json={}, headers=dpo.headers).status_code == 200
    again = submit(a, deletion(a.engagement_id), files=[("again.pdf", pdf("again"), "application/pdf")])
    assert "already closed" in problem(again, 409, "duty_already_closed")["detail"]
    # Another conflict keeps the general code.
    problem(client.post(f"/api/attestations/{first['id']}/accept", json={}, headers=dpo.headers), 409, "conflict")


def test_files_refused_are_413_and_415_problems(
    settings: Settings, vendors: dict[str, Side], submit: Submit, clean_database: str
) -> None:
    a = vendors["a"]
    not_a_pdf = submit(a, deletion(a.engagement_id), files=[("x.pdf", b"just text", "application/pdf")])
    assert problem(not_a_pdf, 415, "file_type_refused")["extra"][0]["key"] == "files.0"
    small = Settings(**{**settings.__dict__, "upload_max_file_bytes": 1 * MB, "upload_max_request_bytes": 2 * MB})
    metadata = {"metadata": json.dumps(deletion(a.engagement_id))}
    with TestClient(app=create_app(small)) as client:
        big = pdf("big") + b"0" * MB
        one = client.post(
            f"{V1}/attestations", data=metadata, files=[("files", ("b.pdf", big, "application/pdf"))], headers=a.headers
        )
        assert problem(one, 413, "file_too_large")["extra"][0]["key"] == "files.0"
        body = pdf("half") + b"0" * (MB - 2000)
        many = client.post(
            f"{V1}/attestations",
            data=metadata,
            files=[("files", (f"{i}.pdf", body, "application/pdf")) for i in range(3)],
            headers=a.headers,
        )
        problem(many, 413, "file_too_large")  # Litestar's own limit on the whole request


def test_unusable_input_is_a_422_problem(vendors: dict[str, Side], submit: Submit) -> None:
    a, b = vendors["a"], vendors["b"]
    body = problem(submit(a, deletion(b.engagement_id)), 422, "invalid_reference")
    assert body["extra"][0]["key"] == "metadata.engagement_id"
    key = str(uuid.uuid4())
    assert submit(a, deletion(a.engagement_id), key=key).status_code == 201
    reused = submit(a, deletion(a.engagement_id, signer_name="王芳"), key=key)
    assert "Idempotency-Key" in problem(reused, 422, "idempotency_key_reused")["detail"]


def test_a_key_over_its_limit_is_a_429_problem_with_retry_after(
    settings: Settings, vendors: dict[str, Side], clean_database: str
) -> None:
    a = vendors["a"]
    limited = Settings(**{**settings.__dict__, "vendor_rate_limit": RateLimit(2, 60)})
    with TestClient(app=create_app(limited)) as client:
        answers = [client.get(f"{V1}/obligations", headers=a.headers) for _ in range(3)]
        assert [answer.status_code for answer in answers[:2]] == [200, 200]
        assert [answer.headers["x-ratelimit-remaining"] for answer in answers] == ["1", "0", "0"]
        body = problem(answers[2], 429, "rate_limited")
        assert 1 <= int(answers[2].headers["retry-after"]) <= 60 and "retry" in body["detail"]


def test_every_answer_carries_a_request_id_and_the_log_names_it(
    client: TestClient[Any], vendors: dict[str, Side], caplog: pytest.LogCaptureFixture
) -> None:
    a = vendors["a"]
    with caplog.at_level(logging.INFO, logger="app.requests"):
        mine = client.get(f"{V1}/obligations", headers={**a.headers, "X-Request-Id": "vendor-run-42.7"})
    assert mine.status_code == 200 and mine.headers["x-request-id"] == "vendor-run-42.7"
    assert any("request=vendor-run-42.7" in r.getMessage() and " 200 " in r.getMessage() for r in caplog.records)
    # Not sane (a space, a header's worth of text): ours instead, never echoed.
    for insane in ("two words", "x" * 200, "a\tb"):
        answer = client.get(f"{V1}/obligations", headers={**a.headers, "X-Request-Id": insane})
        assert answer.headers["x-request-id"] != insane and len(answer.headers["x-request-id"]) == 32
    first, second = client.get("/health"), client.get("/health")
    assert first.headers["x-request-id"] != second.headers["x-request-id"]
    refused = client.get(f"{V1}/obligations", headers={"X-Request-Id": "trace-401"})
    assert refused.status_code == 401 and refused.json()["request_id"] == "trace-401"
    assert client.get("/sign-in").headers["x-request-id"]  # the pages too


def test_v1_is_documented_and_the_old_paths_are_a_deprecated_alias(
    client: TestClient[Any], vendors: dict[str, Side], submit: Submit, admin: Account
) -> None:
    a = vendors["a"]
    current = client.get(f"{V1}/obligations", headers=a.headers)
    alias = client.get("/api/vendor/obligations", headers=a.headers)
    assert current.status_code == alias.status_code == 200
    assert current.json() == alias.json()
    assert "deprecation" not in current.headers and "sunset" not in current.headers
    assert alias.headers["deprecation"] == "@1795996800"  # RFC 9745: a structured-field date
    assert alias.headers["sunset"] == "Mon, 31 May 2027 00:00:00 GMT"
    assert '</api/vendor/v1/obligations>; rel="successor-version"' in alias.headers["link"]
    # Errors on the alias are deprecated too, and still problems.
    refused = client.get("/api/vendor/obligations")
    assert refused.status_code == 401 and refused.headers["deprecation"] == "@1795996800"
    # A write through either; an Idempotency-Key spans both (one resource, two paths).
    key = str(uuid.uuid4())
    sent = submit(a, deletion(a.engagement_id), key=key)
    assert sent.status_code == 201
    replayed = client.post(
        "/api/vendor/attestations",
        files=[
            ("metadata", (None, json.dumps(deletion(a.engagement_id)))),
            ("files", ("deletion.pdf", pdf("deletion certificate"), "application/pdf")),
        ],
        headers={**a.headers, "Idempotency-Key": key},
    )
    assert replayed.status_code == 201 and replayed.json()["id"] == sent.json()["id"]
    assert replayed.headers["idempotent-replayed"] == "true" and replayed.headers["deprecation"]
    # The documents: the vendor's lists only v1, the internal one no unversioned vendor path.
    document = client.get("/api/vendor/openapi.json").json()
    assert document["paths"] and all(path.startswith(f"{V1}/") for path in document["paths"])
    assert "deprecation" not in client.get("/api/vendor/openapi.json").headers
    internal = client.get("/schema/openapi.json", headers=admin.headers).json()
    vendor_paths = [path for path in internal["paths"] if path.startswith("/api/vendor/")]
    assert vendor_paths and all(path.startswith(f"{V1}/") for path in vendor_paths)


def test_the_documents_say_errors_are_problems(client: TestClient[Any], admin: Account) -> None:
    for document in (
        client.get("/api/vendor/openapi.json").json(),
        client.get("/schema/openapi.json", headers=admin.headers).json(),
    ):
        error = document["components"]["schemas"]["Error"]
        assert {"type", "title", "status", "code", "detail", "status_code"} <= set(error["required"])
        assert {"request_id", "extra"} <= set(error["properties"])
        for path, operations in document["paths"].items():
            for operation in operations.values():
                for status, answer in operation["responses"].items():
                    assert "X-Request-Id" in answer.get("headers", {}), (path, status)
                    if status.startswith(("4", "5")) and "content" in answer:
                        assert answer["content"] == {PROBLEM: {"schema": {"$ref": "#/components/schemas/Error"}}}
