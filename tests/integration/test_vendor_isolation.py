"""OWASP API1: vendor A's key never reads, lists, downloads or changes anything of vendor B's.

Every /api/vendor/ route in the OpenAPI document is walked with A's key against B's objects;
each must answer as if they did not exist. The same requests with B's key succeed, so the
404s come from ownership, not from broken URLs.
"""

from __future__ import annotations

import re
import uuid
from typing import Any

from litestar.testing import TestClient

from app.webhooks.models import WebhookDelivery, WebhookEndpoint, WebhookEvent
from app.webhooks.schemas import EventType
from tests.conftest import run
from tests.integration.conftest import PDF, Side, Submit, deletion


def _vendor_routes(client: TestClient[Any]) -> list[tuple[str, str]]:
    """Every operation of the vendor's own document (public: a vendor needs no other credential for it)."""
    paths = client.get("/api/vendor/openapi.json").json()["paths"]
    return [(method.upper(), path) for path, ops in paths.items() for method in ops]


def _same(problem: dict[str, Any]) -> dict[str, Any]:
    """A problem without what differs between any two requests: their ids."""
    return {name: value for name, value in problem.items() if name != "request_id"}


def test_no_vendor_route_reaches_another_vendors_objects(
    client: TestClient[Any], demo: dict[str, Any], vendors: dict[str, Side], submit: Submit, clean_database: str
) -> None:
    a, b, admin_headers = vendors["a"], vendors["b"], demo["headers"]
    theirs = submit(b, deletion(b.engagement_id)).json()
    asked = client.post("/api/questionnaires", json={"engagement_id": b.engagement_id}, headers=admin_headers).json()
    answered = client.put(
        f"/api/vendor/v1/questionnaires/{asked['id']}/answers",
        files=[("answers", (None, '{"certificates": [0]}')), ("files", ("c.pdf", PDF, "application/pdf"))],
        headers=b.headers,
    )
    assert answered.status_code == 200, answered.text
    [document] = client.get(f"/api/vendor/agreements/{b.agreement_id}/documents", headers=b.headers).json()["items"]
    endpoint_id, delivery_id = run(_webhook_of, clean_database, b.vendor_id)
    ids = {
        "endpoint_id": endpoint_id,
        "delivery_id": delivery_id,
        "engagement_id": b.engagement_id,
        "agreement_id": b.agreement_id,
        "document_id": document["id"],
        "attestation_id": theirs["id"],
        "file_id": theirs["files"][0]["id"],
        "questionnaire_id": asked["id"],
        "questionnaire_file_id": answered.json()["files"][0]["id"],
    }
    secrets = {b.vendor_id, *ids.values()}
    routes = _vendor_routes(client)
    assert len(routes) >= 10
    walked = []
    for method, template in routes:
        names = re.findall(r"\{([a-z_]+)\}", template)
        path = template.format(**{name: ids[name] for name in names})
        if method == "GET":
            as_b = client.get(path, headers=b.headers)
            assert as_b.status_code == 200, (path, as_b.text)
            as_a = client.get(path, headers=a.headers)
            if names:
                assert as_a.status_code == 404, (path, as_a.status_code)
                random = client.get(template.format(**{n: uuid.uuid4() for n in names}), headers=a.headers)
                assert _same(as_a.json()) == _same(random.json())  # indistinguishable from an id that does not exist
            else:
                assert as_a.status_code == 200, path
            assert not any(secret in as_a.text for secret in secrets), path
        elif method == "POST" and template == "/api/vendor/v1/attestations":
            as_a = submit(a, deletion(b.engagement_id))
            random = submit(a, deletion(str(uuid.uuid4())))
            assert as_a.status_code == random.status_code == 422
            assert _same(as_a.json()) == _same(random.json())
        elif method == "PUT" and template.endswith("/answers"):
            answers = [("answers", (None, '{"incidents_last_3_years": 3}'))]
            as_a = client.put(path, files=answers, headers=a.headers)
            random = client.put(template.format(**{n: uuid.uuid4() for n in names}), files=answers, headers=a.headers)
            assert as_a.status_code == random.status_code == 404
            assert _same(as_a.json()) == _same(random.json())
        elif method == "POST" and template.endswith("/webhooks"):
            # A's endpoint is A's own: nothing of B's to reach; B's list is checked below.
            refused = client.post(
                template, json={"url": "ftp://a.example", "events": ["agreement.issued"]}, headers=a.headers
            )
            assert refused.status_code == 400
        elif method == "DELETE":
            as_a = client.delete(path, headers=a.headers)
            random = client.delete(template.format(**{n: uuid.uuid4() for n in names}), headers=a.headers)
            assert as_a.status_code == random.status_code == 404
            assert _same(as_a.json()) == _same(random.json())
        elif method == "POST" and template.endswith(("/withdraw", "/submit", "/redeliver")):
            as_a = client.post(path, headers=a.headers)
            random = client.post(template.format(**{n: uuid.uuid4() for n in names}), headers=a.headers)
            assert as_a.status_code == random.status_code == 404
            assert _same(as_a.json()) == _same(random.json())
        else:
            raise AssertionError(f"no isolation check for {method} {template}: add one")
        walked.append((method, template))
    assert walked == routes
    # Nothing of B's changed: still exactly one attestation, still submitted.
    mine = client.get("/api/vendor/attestations", headers=b.headers).json()["items"]
    assert [(item["id"], item["status"]) for item in mine] == [(theirs["id"], "submitted")]
    (questionnaire,) = client.get("/api/vendor/v1/questionnaires", headers=b.headers).json()["items"]
    assert questionnaire["status"] == "sent" and "incidents_last_3_years" not in questionnaire["answers"]
    hooks = client.get("/api/vendor/v1/webhooks", headers=b.headers).json()["items"]
    assert [item["id"] for item in hooks] == [endpoint_id]
    deliveries = client.get("/api/vendor/v1/webhooks/deliveries", headers=b.headers).json()["items"]
    assert [item["id"] for item in deliveries] == [delivery_id]


async def _webhook_of(session: Any, vendor_id: str) -> tuple[str, str]:
    """B's endpoint with one delivery, written directly: its URL need not be reachable here."""
    endpoint = WebhookEndpoint(
        vendor_id=uuid.UUID(vendor_id),
        url="https://b.example/hook",
        events=["agreement.issued"],
        secret_sealed="s1.sealed",
        secret_hint="whsec_b…",
    )
    event = WebhookEvent(key=f"test:{uuid.uuid4()}", type=EventType.agreement_issued, vendor_id=endpoint.vendor_id)
    session.add_all([endpoint, event])
    await session.flush()
    delivery = WebhookDelivery(endpoint_id=endpoint.id, event_id=event.id)
    session.add(delivery)
    await session.commit()
    return str(endpoint.id), str(delivery.id)
