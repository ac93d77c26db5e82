"""The API answers as its OpenAPI document says: schemathesis generates requests for every
operation, and checks that none is a 500 and that every status, content type, header and body
is the documented one. Bounded: a few examples per operation, so the suite stays quick."""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from litestar.testing import TestClient
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from app.main import create_app
from tests.integration.conftest import Side

# schemathesis runs the app in its own ASGI transport, whose stream objects outlive a test.
pytestmark = pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")

EXAMPLES_PER_OPERATION = 5
# What the document promises: no 500, and the status, content type, headers and body it declares.
# (Not "a schema-valid request is accepted": business rules refuse more than the schema can say.)
CONFORMANCE = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]


def test_every_operation_answers_as_documented(client: TestClient[Any], demo: dict[str, Any]) -> None:
    # Schemathesis starts the lifespan of the app it is given and keeps it running until the
    # process exits: an app of its own, on the same settings (the client fixture's app is reused
    # by later tests, and two lifespans of one app would share its state).
    app = create_app(client.app.state.settings)
    schema = schemathesis.openapi.from_asgi("/schema/openapi.json", app, headers=demo["headers"])
    assert _conformance_failures(schema, demo["headers"], minimum=60) == []


def test_every_vendor_operation_answers_as_its_own_document_says(
    client: TestClient[Any], vendors: dict[str, Side]
) -> None:
    """The vendor document, walked with a vendor's key (the internal run meets only 403 there)."""
    app = create_app(client.app.state.settings)  # of its own, as above
    schema = schemathesis.openapi.from_asgi("/api/vendor/openapi.json", app)
    assert _conformance_failures(schema, vendors["a"].headers, minimum=12) == []


def _conformance_failures(schema: Any, headers: dict[str, str], minimum: int) -> list[str]:
    failures: list[str] = []
    operations = 0
    for result in schema.get_all_operations():
        operation: Any = result.ok()  # an invalid schema fails here, loudly
        operations += 1

        @given(case=operation.as_strategy())
        @settings(
            max_examples=EXAMPLES_PER_OPERATION,
            deadline=None,
            derandomize=True,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def check(case: Any) -> None:
            try:
                # The whole evidence pack (its PDF laid out) takes seconds on a loaded machine.
                case.call_and_validate(headers=headers, checks=CONFORMANCE, timeout=120)
            except (AssertionError, FailureGroup) as error:
                failures.append(f"{case.operation.label}: {str(error)[:600]}")

        check()
    assert operations >= minimum
    return failures


def test_the_document_names_every_answer_and_the_real_download_types(
    client: TestClient[Any], demo: dict[str, Any]
) -> None:
    document = client.get("/schema/openapi.json", headers=demo["headers"]).json()
    error = document["components"]["schemas"]["Error"]
    assert error["properties"]["extra"]["items"]["required"] == ["key", "message"]  # typed field errors
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            answers = set(operation["responses"])
            if path.startswith(("/health", "/schema")):
                assert operation["security"] == [] and "401" not in answers, path
                continue
            if path.startswith("/calendar/"):  # the credential is the path: no header, and a wrong one is a 404
                assert operation["security"] == [] and {"404", "429"} <= answers and "401" not in answers, path
                continue
            assert {"401", "403", "429", "503"} <= answers, (method, path)
            not_found = "{" in path or path in (
                "/api/exports/evidence-pack",
                "/api/users/me/calendar",
                "/api/users/me/chat-robot",
            )
            assert ("404" in answers) == not_found, (method, path)
            assert "Retry-After" in operation["responses"]["429"]["headers"]
    pack = document["paths"]["/api/exports/evidence-pack"]["get"]["responses"]["200"]["content"]
    binary = {"schema": {"type": "string", "format": "binary"}}
    assert pack == {"application/zip": binary, "application/octet-stream": binary}  # the real type, then generic
    feed = document["paths"]["/calendar/{feed}"]["get"]
    # The real type first; generic generators read the generic one after it as bytes.
    assert feed["security"] == [] and list(feed["responses"]["200"]["content"]) == [
        "text/calendar",
        "application/octet-stream",
    ]
    upload = document["paths"]["/api/vendor/v1/attestations"]["post"]["responses"]
    assert {"408", "413", "415", "422"} <= set(upload)


def test_the_register_csv_names_its_charset_once(client: TestClient[Any], admin: Any) -> None:
    csv = client.get("/api/exports/register.csv", headers=admin.headers)
    assert csv.headers["content-type"] == "text/csv; charset=utf-8"
