"""Who may write what: every write route of the internal API, walked with every role that is
not an admin, on objects that role does not own. What a role may do is the table below;
everything else must answer 403 (not 2xx, not another refusal that could hide a missing check).

Admins may do everything; owners and procurement may also change what they own (tested with
each domain)."""

from __future__ import annotations

import re
import uuid
from typing import Any

from litestar.testing import TestClient

from app.handler.schemas import HandlerProfileUpdate
from tests.conftest import Account
from tests.factories import credit_code, engagement_body, vendor_body
from tests.integration.conftest import PDF, Side, Submit, deletion

CHECK = "POST /api/engagements/check"  # the before-you-buy check stores nothing: anyone may run it
# New records become the creator's; an import creates (and changes what its rows' services allow).
CREATE = {"POST /api/vendors", "POST /api/engagements", "POST /api/imports"}
# A user's own calendar subscription: every role keeps its own, and reaches no one else's.
# So is a user's own chat robot.
OWN = {
    "POST /api/users/me/calendar",
    "DELETE /api/users/me/calendar",
    "PUT /api/users/me/chat-robot",
    "DELETE /api/users/me/chat-robot",
}
# Inviting a vendor's people to the portal, re-inviting and disabling them: procurement, the DPO
# (and an admin, and the owner of one of the vendor's engagements: tested with the contacts).
CONTACTS = {
    "POST /api/vendors/{vendor_id}/contacts",
    "POST /api/vendors/{vendor_id}/contacts/{contact_id}/reinvite",
    "POST /api/vendors/{vendor_id}/contacts/{contact_id}/disable",
}
# The permission table, for objects the role does not own.
ALLOWED: dict[str, set[str]] = {
    "auditor": {CHECK, *OWN},
    "owner": {CHECK, *CREATE, *OWN},
    "procurement": {CHECK, *CREATE, *OWN, *CONTACTS},
    "dpo": {
        CHECK,
        *OWN,
        *CONTACTS,
        "PUT /api/handler",
        "POST /api/vendors/{vendor_id}/keys",
        "DELETE /api/vendors/{vendor_id}/keys/{key_id}",
        "POST /api/attestations/{attestation_id}/accept",
        "POST /api/attestations/{attestation_id}/reject",
        "POST /api/obligations/{obligation_id}/complete",
        "POST /api/obligations/{obligation_id}/waive",
        "POST /api/agreements/{agreement_id}/override",
        "POST /api/questionnaires",
        "POST /api/questionnaires/{questionnaire_id}/accept",
        "POST /api/questionnaires/{questionnaire_id}/return",
        "POST /api/company/audit-orders",
        "POST /api/company/audit-orders/{order_id}/report",
        "PUT /api/chat-robots/{robot}",  # the team's and the DPO's robots; webhooks are admins' alone
        "DELETE /api/chat-robots/{robot}",
    },
}
IMPORT_CSV = (
    "统一社会信用代码 / Unified social credit code,中文名称 / Legal name (Chinese)\n"
    f"{credit_code()},上海导入演练有限公司\n"
).encode()
ROLES = ("auditor", "owner", "procurement", "dpo")  # the DPO last: what it may do changes things


def _write_routes(client: TestClient[Any], headers: dict[str, str]) -> list[tuple[str, str]]:
    paths = client.get("/schema/openapi.json", headers=headers).json()["paths"]
    return [
        (method.upper(), path)
        for path, operations in paths.items()
        if not path.startswith("/api/vendor/")
        for method in operations
        if method in ("post", "put", "patch", "delete")
    ]


def _bodies(client: TestClient[Any], admin: dict[str, str], vendor_id: str) -> dict[str, Any]:
    """A valid body for each route, so that a refusal can only come from the permission check."""
    profile = client.get("/api/handler", headers=admin).json()
    handler = {name: profile[name] for name in HandlerProfileUpdate.model_fields if name in profile}
    ended = {"ended_on": "2026-11-01", "reason": "walk"}
    robot = {"platform": "wecom", "url": "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=walk"}
    return {
        "POST /api/users": {"email": "walk@test.example", "role": "auditor", "name": "Walk"},
        "POST /api/users/{user_id}/tokens": {"name": "walk"},
        "PUT /api/handler": handler,
        "POST /api/vendors": vendor_body(),
        "PATCH /api/vendors/{vendor_id}": {"address": "上海市 2 号"},
        "POST /api/engagements": engagement_body(vendor_id),
        "PATCH /api/engagements/{engagement_id}": {"purpose": "changed by a walk"},
        "POST /api/engagements/check": engagement_body(vendor_id),
        "POST /api/engagements/{engagement_id}/sub-processors": {"name": "S", "activity": "a", "country": "CN"},
        "PATCH /api/engagements/{engagement_id}/sub-processors/{sub_processor_id}": {"activity": "b"},
        "POST /api/agreements": {"engagement_id": "", "term_start": "2026-01-01", "term_end": "2027-12-31"},
        "PATCH /api/agreements/{agreement_id}": {"notice_days": 45},
        "POST /api/agreements/{agreement_id}/documents": {"format": "docx"},
        "POST /api/agreements/{agreement_id}/terminate": ended,
        "POST /api/agreements/{agreement_id}/override": {"reason": "walking the permission table"},
        "POST /api/agreements/{agreement_id}/expire": {},
        "POST /api/vendors/{vendor_id}/keys": {"name": "walk"},
        "POST /api/vendors/{vendor_id}/contacts": {"email": "walk.contact@vendor.example", "name": "Walk"},
        "POST /api/attestations/{attestation_id}/accept": {"reason": "walk"},
        "POST /api/attestations/{attestation_id}/reject": {"reason": "walk"},
        "POST /api/obligations/{obligation_id}/complete": {"reference": "walk"},
        "POST /api/obligations/{obligation_id}/waive": {"reason": "walk"},
        "PUT /api/calendar/overrides/{day}": {"working": False, "note": "walk"},
        "POST /api/questionnaires": {"engagement_id": ""},
        "POST /api/questionnaires/{questionnaire_id}/accept": {},
        "POST /api/questionnaires/{questionnaire_id}/return": {"reason": "walking the permission table"},
        "POST /api/company/audit-orders": {"ordered_on": "2026-11-20", "authority": "walk", "deadline": "2027-01-29"},
        "PUT /api/chat-robots/{robot}": robot,
        "PUT /api/users/me/chat-robot": robot,
        "POST /api/webhooks": {"url": "https://erp.example.com/hook", "events": ["vendor.created"]},
    }


def test_every_write_route_answers_each_role_by_the_table(
    client: TestClient[Any],
    demo: dict[str, Any],
    vendors: dict[str, Side],
    submit: Submit,
    admin: Account,
    make_user: Any,
) -> None:
    a, headers = vendors["a"], demo["headers"]
    agreement = client.post(
        "/api/agreements",
        json={"engagement_id": a.engagement_id, "term_start": "2026-01-01", "term_end": "2027-12-31"},
        headers=headers,
    ).json()
    sub = client.post(
        f"/api/engagements/{a.engagement_id}/sub-processors",
        json={"name": "Walk Sub Co.", "activity": "a", "country": "CN"},
        headers=headers,
    ).json()
    key = client.post(f"/api/vendors/{a.vendor_id}/keys", json={"name": "walk"}, headers=headers).json()
    contact = client.post(
        f"/api/vendors/{a.vendor_id}/contacts", json={"email": "first.contact@vendor.example"}, headers=headers
    ).json()
    attestation = submit(a, deletion(a.engagement_id)).json()
    owed = client.get("/api/obligations", params={"engagement_id": a.engagement_id}, headers=headers).json()
    token = client.get(f"/api/users/{admin.id}/tokens", headers=admin.headers).json()["items"][0]
    asked = client.post("/api/questionnaires", json={"engagement_id": a.engagement_id}, headers=headers).json()
    order = client.post(
        "/api/company/audit-orders",
        json={"ordered_on": "2026-11-20", "authority": "walk", "deadline": "2027-01-29"},
        headers=headers,
    ).json()
    ids = {
        "user_id": admin.id,
        "token_id": token["id"],
        "vendor_id": a.vendor_id,
        "engagement_id": a.engagement_id,
        "sub_processor_id": sub["id"],
        "agreement_id": agreement["id"],
        "key_id": key["id"],
        "contact_id": contact["id"],
        "attestation_id": attestation["id"],
        "obligation_id": owed["items"][0]["id"],
        "day": "2026-12-01",
        "questionnaire_id": asked["id"],
        "order_id": order["id"],
        "robot": "team",
        "endpoint_id": str(uuid.uuid4()),  # refused before any lookup: admins only
        "delivery_id": str(uuid.uuid4()),
    }
    bodies = _bodies(client, headers, a.vendor_id)
    bodies["POST /api/agreements"]["engagement_id"] = a.engagement_id
    bodies["POST /api/questionnaires"]["engagement_id"] = a.engagement_id
    # What a role creates it owns: its engagement is with the other vendor, so that the walk on
    # vendor a stays a walk on what the role does not own (an engagement's owner may issue keys
    # and invite contacts for that engagement's vendor).
    bodies["POST /api/engagements"] = engagement_body(vendors["b"].vendor_id)
    routes = _write_routes(client, headers)
    assert len(routes) >= 30
    assert {route for routes in ALLOWED.values() for route in routes} <= {f"{m} {p}" for m, p in routes}

    wrong = []
    for role in ROLES:
        account = make_user(role)
        for method, template in routes:
            route = f"{method} {template}"
            path = template.format(**{name: ids[name] for name in re.findall(r"\{([a-z_]+)\}", template)})
            if route.endswith(("/sign", "/report")):
                files = {"file": ("signed.pdf", PDF, "application/pdf")}
                response = client.post(path, files=files, headers=account.headers)
            elif route == "POST /api/imports":  # a preview of one new vendor: nothing is written
                files = {"file": ("vendors.csv", IMPORT_CSV, "text/csv")}
                response = client.post(path, files=files, headers=account.headers)
            else:
                response = client.request(method, path, json=bodies.get(route), headers=account.headers)
            refused = response.status_code == 403
            if refused == (route in ALLOWED[role]) or response.status_code >= 500:
                wrong.append(f"{role} {route}: {response.status_code} {response.text[:120]}")
    assert wrong == []
