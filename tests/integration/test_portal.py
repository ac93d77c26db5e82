"""The vendor portal without a browser: invitations, a contact's session and what it reaches,
form tokens, uploads through the API's own checks, and the reviewer's sanity checks."""

from __future__ import annotations

import re
import uuid
from datetime import timedelta
from typing import Any

import pytest
from litestar.testing import TestClient
from sqlalchemy import select, update
from sqlmodel import col

from app.contacts.models import ContactLink
from app.core.types import utcnow
from app.reminders.models import OutboxMessage
from tests.conftest import Account, run
from tests.integration.conftest import PDF, Side, Submit, deletion
from tests.integration.test_pages import csrf_of, set_password, sign_in

PASSWORD = "vendor portal password"
CONTACT = "li.ming@huiyan-vision.example"


def outbox(database_url: str, recipient: str) -> list[OutboxMessage]:
    async def go(session: Any) -> list[OutboxMessage]:
        query = select(OutboxMessage).where(col(OutboxMessage.recipient) == recipient)
        return list(await session.scalars(query.order_by(col(OutboxMessage.created_at))))

    found: list[OutboxMessage] = run(go, database_url)
    return found


def link_in(database_url: str, recipient: str, path: str) -> str:
    """The token of the newest link to `path` e-mailed to `recipient`."""
    tokens = re.findall(rf"{re.escape(path)}\?token=([\w-]+)", outbox(database_url, recipient)[-1].body)
    assert tokens, outbox(database_url, recipient)[-1].body
    return str(tokens[0])


def invite(client: TestClient[Any], headers: dict[str, str], vendor_id: str, email: str = CONTACT) -> Any:
    return client.post(f"/api/vendors/{vendor_id}/contacts", json={"email": email, "name": "李明"}, headers=headers)


def accept(client: TestClient[Any], token: str, password: str = PASSWORD) -> Any:
    form = client.get(f"/portal/welcome?token={token}")
    csrf = csrf_of(form.text) if form.status_code == 200 else "0" * 64
    return client.post(
        "/portal/welcome",
        data={"_csrf": csrf, "token": token, "password": password, "password2": password},
        follow_redirects=False,
    )


def contact_of(client: TestClient[Any], database_url: str, headers: dict[str, str], vendor_id: str, email: str) -> None:
    """Invite `email` for the vendor and accept the invitation in `client` (now signed in)."""
    assert invite(client, headers, vendor_id, email).status_code == 201
    signed = accept(client, link_in(database_url, email, "/portal/welcome"))
    assert signed.status_code == 303 and signed.headers["location"] == "/portal", signed.text[:300]


@pytest.fixture
def portal(client: TestClient[Any], demo: dict[str, Any], vendors: dict[str, Side], clean_database: str) -> Side:
    """Vendor a's contact, signed in to the portal in `client`."""
    contact_of(client, clean_database, demo["headers"], vendors["a"].vendor_id, CONTACT)
    return vendors["a"]


def test_an_invitation_sets_a_password_once_and_expires(
    client: TestClient[Any], demo: dict[str, Any], vendors: dict[str, Side], clean_database: str
) -> None:
    a = vendors["a"]
    invited = invite(client, demo["headers"], a.vendor_id)
    assert invited.status_code == 201, invited.text
    assert invited.json()["has_password"] is False
    message = outbox(clean_database, CONTACT)[-1]
    assert "受托方门户" in message.subject and "/portal/welcome?token=" in message.body
    token = link_in(clean_database, CONTACT, "/portal/welcome")
    assert token not in invited.text  # the link goes by e-mail only

    assert invite(client, demo["headers"], a.vendor_id).status_code == 409  # one contact per address
    signed = accept(client, token)
    assert signed.status_code == 303 and "dpa_portal" in signed.cookies
    cookie = signed.headers["set-cookie"]
    assert "Path=/portal" in cookie and "HttpOnly" in cookie
    assert "慧眼" in client.get("/portal").text

    client.cookies.clear()
    assert client.get(f"/portal/welcome?token={token}").status_code == 400  # used once
    assert accept(client, token).status_code in (400, 403)

    # A re-invitation: a fresh link, and it too stops working once it expires.
    contact_id = client.get(f"/api/vendors/{a.vendor_id}/contacts", headers=demo["headers"]).json()["items"][0]["id"]
    again = client.post(f"/api/vendors/{a.vendor_id}/contacts/{contact_id}/reinvite", headers=demo["headers"])
    assert again.status_code == 200, again.text
    fresh = link_in(clean_database, CONTACT, "/portal/welcome")

    async def expire(session: Any) -> None:
        await session.execute(update(ContactLink).values(expires_at=utcnow() - timedelta(seconds=1)))
        await session.commit()

    run(expire, clean_database)
    assert client.get(f"/portal/welcome?token={fresh}").status_code == 400
    assert "已过期" in client.get(f"/portal/welcome?token={fresh}").text
    assert client.get("/portal", follow_redirects=False).headers["location"].startswith("/portal/sign-in")


def test_sign_in_by_password_or_by_an_emailed_link_and_disable_ends_it(
    client: TestClient[Any], demo: dict[str, Any], portal: Side, clean_database: str
) -> None:
    client.cookies.clear()
    csrf = csrf_of(client.get("/portal/sign-in").text)
    wrong = client.post("/portal/sign-in", data={"_csrf": csrf, "email": CONTACT, "password": "not it at all"})
    assert wrong.status_code == 400 and "不正确" in wrong.text
    right = client.post(
        "/portal/sign-in", data={"_csrf": csrf, "email": CONTACT, "password": PASSWORD}, follow_redirects=False
    )
    assert right.status_code == 303 and right.headers["location"] == "/portal"
    client.cookies.clear()

    csrf = csrf_of(client.get("/portal/sign-in").text)
    sent = client.post("/portal/sign-in/link", data={"_csrf": csrf, "email": CONTACT})
    assert sent.status_code == 200
    nobody = client.post("/portal/sign-in/link", data={"_csrf": csrf, "email": "nobody@vendor.example"})
    assert nobody.text.count("登录链接已发送") == sent.text.count("登录链接已发送")  # the same answer
    token = link_in(clean_database, CONTACT, "/portal/link")
    page = client.get(f"/portal/link?token={token}")  # a button: a mail scanner's GET uses nothing up
    assert page.status_code == 200
    used = client.post("/portal/link", data={"_csrf": csrf_of(page.text), "token": token}, follow_redirects=False)
    assert used.status_code == 303 and used.headers["location"] == "/portal"
    assert client.get("/portal").status_code == 200
    assert client.post("/portal/link", data={"_csrf": csrf_of(page.text), "token": token}).status_code in (400, 403)

    contacts = client.get(f"/api/vendors/{portal.vendor_id}/contacts", headers=demo["headers"]).json()["items"]
    disabled = client.post(
        f"/api/vendors/{portal.vendor_id}/contacts/{contacts[0]['id']}/disable", headers=demo["headers"]
    )
    assert disabled.status_code == 200 and disabled.json()["is_active"] is False
    assert client.get("/portal", follow_redirects=False).status_code == 303  # its session ended at once

    audit = client.get("/api/audit", params={"object_type": "vendor_contact_session"}, headers=demo["headers"]).json()
    assert {entry["action"] for entry in audit["items"]} >= {"sign_in"}


def test_a_contact_of_one_vendor_gets_404_for_every_object_of_another(
    client: TestClient[Any], demo: dict[str, Any], portal: Side, vendors: dict[str, Side], submit: Submit
) -> None:
    a, b = portal, vendors["b"]
    mine = submit(a, deletion(a.engagement_id)).json()
    theirs = submit(b, deletion(b.engagement_id)).json()
    documents = client.get(f"/api/agreements/{b.agreement_id}/documents", headers=demo["headers"]).json()["items"]
    own_documents = client.get(f"/api/agreements/{a.agreement_id}/documents", headers=demo["headers"]).json()["items"]

    def urls(side: Side, attestation: dict[str, Any], document_id: str) -> list[str]:
        return [
            f"/portal/attestations/{attestation['id']}",
            f"/portal/attestations/{attestation['id']}/files/{attestation['files'][0]['id']}",
            f"/portal/agreements/{side.agreement_id}/documents/{document_id}",
        ]

    for url in urls(b, theirs, documents[0]["id"]):
        assert client.get(url).status_code == 404, url
    # The same walk with its own ids answers, so the 404s above are the isolation, not a broken route.
    for url in urls(a, mine, own_documents[0]["id"]):
        assert client.get(url).status_code == 200, url
    # Another vendor's engagement named in a form: refused as if it did not exist, nothing stored.
    form = client.get(f"/portal/attestations/new?kind=deletion&engagement_id={b.engagement_id}")
    assert f'<option value="{b.engagement_id}"' not in form.text  # not offered
    sent = client.post(
        "/portal/attestations",
        data={**_deletion_form(b.engagement_id), "_csrf": csrf_of(form.text), "idempotency_key": str(uuid.uuid4())},
        files={"files": ("deletion.pdf", PDF, "application/pdf")},
    )
    assert sent.status_code == 422 and "none of your engagements" in sent.text
    listed = client.get(f"/api/attestations?vendor_id={b.vendor_id}", headers=demo["headers"]).json()
    assert listed["total"] == 1
    # Nor do another vendor's names appear on its pages.
    for url in ("/portal", "/portal/agreements"):
        assert "薪通" not in client.get(url).text, url


def test_every_portal_form_needs_its_token(client: TestClient[Any], portal: Side) -> None:
    forms = [
        "/portal/attestations",
        "/portal/sign-out",
        "/portal/sign-in",
        "/portal/sign-in/link",
        "/portal/welcome",
        "/portal/link",
    ]
    for path in forms:
        assert client.post(path, data={"email": CONTACT}, follow_redirects=False).status_code == 403, path
        assert client.post(path, data={"_csrf": "0" * 64}, follow_redirects=False).status_code == 403, path
    assert client.get("/portal").status_code == 200  # still signed in: the sign-out was refused too


def test_a_contacts_cookie_opens_no_internal_page_and_no_api(client: TestClient[Any], portal: Side) -> None:
    token = client.cookies["dpa_portal"]
    client.cookies.clear()
    cookie = {"Cookie": f"dpa_portal={token}"}  # sent everywhere, whatever its path says
    for path in ("/dashboard", "/vendors", "/review", f"/vendors/{portal.vendor_id}", "/settings"):
        answer = client.get(path, headers=cookie, follow_redirects=False)
        assert answer.status_code == 303 and answer.headers["location"].startswith("/sign-in"), path
    for path in ("/api/vendors", "/api/vendor/obligations", "/api/attestations", "/schema/openapi.json"):
        assert client.get(path, headers=cookie).status_code == 401, path
    # Nor does a user's session open the portal.
    assert client.get("/portal", headers={"Cookie": "dpa_session=" + token}, follow_redirects=False).status_code == 303


def _deletion_form(engagement_id: str, **changes: str) -> dict[str, str]:
    form = {
        "kind": "deletion",
        "engagement_id": engagement_id,
        "completed_on": "2026-11-20",
        "method": "cryptographic_erasure",
        "records_deleted": "431,623",
        "individuals_deleted": "431,623",
        "backups_covered": "yes",
        "sub_processors_covered": "yes",
        "signer_name": "李明",
        "signer_title": "首席安全官",
    }
    form.update(changes)
    return form


def test_an_upload_from_the_portal_is_checked_like_the_api_and_sent_once(
    client: TestClient[Any], demo: dict[str, Any], portal: Side, clean_database: str
) -> None:
    a = portal
    form = client.get(f"/portal/attestations/new?kind=deletion&engagement_id={a.engagement_id}")
    assert form.status_code == 200
    csrf = csrf_of(form.text)
    key = re.search(r'name="idempotency_key" value="([\w-]+)"', form.text)
    assert key
    # A field the API refuses is named beside the field, the input kept; nothing stored.
    bad = client.post(
        "/portal/attestations",
        data={**_deletion_form(a.engagement_id, signer_name=""), "_csrf": csrf, "idempotency_key": key.group(1)},
        files={"files": ("deletion.pdf", PDF, "application/pdf")},
    )
    assert bad.status_code == 400 and 'id="e-signer_name"' in bad.text and "首席安全官" in bad.text
    fake = client.post(
        "/portal/attestations",
        data={**_deletion_form(a.engagement_id), "_csrf": csrf, "idempotency_key": str(uuid.uuid4())},
        files={"files": ("deletion.pdf", b"not a pdf at all", "application/pdf")},
    )
    assert fake.status_code == 415 and 'id="e-files"' in fake.text
    # Sent twice (a double click): one attestation.
    data = {**_deletion_form(a.engagement_id), "_csrf": csrf, "idempotency_key": key.group(1)}
    files = [
        ("files", ("certificate.pdf", PDF, "application/pdf")),
        ("files", ("annex.pdf", PDF + b" ", "application/pdf")),
    ]
    first = client.post("/portal/attestations", data=data, files=files, follow_redirects=False)
    second = client.post("/portal/attestations", data=data, files=files, follow_redirects=False)
    assert first.status_code == 303 and second.headers["location"] == first.headers["location"]
    listed = client.get(f"/api/attestations?vendor_id={a.vendor_id}", headers=demo["headers"]).json()
    assert listed["total"] == 1 and len(listed["items"][0]["files"]) == 2
    shown = client.get(first.headers["location"]).text
    assert "等待我方审核" in shown and "certificate.pdf" in shown

    # The duty now says it awaits review, in the portal and in the vendor API.
    duties = client.get("/portal").text
    assert 'data-state="submitted"' in duties
    api = client.get("/api/vendor/obligations", headers=a.headers).json()["items"]
    assert {item["state"] for item in api if item["kind"] == "deletion_attestation"} == {"submitted"}

    # Rejected with a reason: the vendor sees the reason, and may send again.
    rejected = client.post(
        f"/api/attestations/{listed['items'][0]['id']}/reject",
        json={"reason": "备份未覆盖 / backups not covered"},
        headers=demo["headers"],
    )
    assert rejected.status_code == 200
    duties = client.get("/portal").text
    assert 'data-state="rejected"' in duties and "备份未覆盖" in duties
    api = client.get("/api/vendor/obligations", headers=a.headers).json()["items"]
    assert {item["state"] for item in api if item["kind"] == "deletion_attestation"} == {"rejected"}


def test_an_incident_reaches_the_dpo_at_once_and_names_its_clocks(
    client: TestClient[Any], portal: Side, dpo: Account, clean_database: str
) -> None:
    form = client.get("/portal/attestations/new?kind=incident")
    data = {
        "_csrf": csrf_of(form.text),
        "idempotency_key": str(uuid.uuid4()),
        "kind": "incident",
        "engagement_id": portal.engagement_id,
        "system": "vendor",
        "detected_at": "2026-11-01T09:30",
        "description": "备份服务器被未授权访问",
        "individuals_affected": "1,200",
        "measures_taken": "已隔离服务器并重置凭据",
        "pi_categories": ["contact_details"],
    }
    sent = client.post("/portal/attestations", data=data)
    assert sent.status_code == 200, sent.text[:500]
    assert "现在开始计时的期限" in sent.text and "4小时" in sent.text
    assert any("安全事件" in message.subject for message in outbox(clean_database, dpo.email))


def test_the_reviewer_sees_what_does_not_add_up(
    client: TestClient[Any], demo: dict[str, Any], vendors: dict[str, Side], submit: Submit, admin: Account
) -> None:
    a = vendors["a"]
    body = deletion(
        a.engagement_id,
        completed_on="2026-10-20",  # the agreement ended on 2026-11-01
        records_deleted=9_999_999,
        backups_covered=False,
        sub_processors_covered=False,
    )
    sent = submit(a, body)
    assert sent.status_code == 201, sent.text  # shown to the reviewer, never refused for it
    read = client.get(f"/api/attestations/{sent.json()['id']}", headers=demo["headers"]).json()
    codes = {check["code"] for check in read["checks"]}
    assert codes == {
        "deletion_before_end",
        "count_above_registered",
        "backups_not_covered",
        "sub_processors_not_covered",
    }
    listed = client.get("/api/attestations?status=submitted", headers=demo["headers"]).json()["items"]
    assert any(item["checks"] for item in listed if item["id"] == read["id"])
    clean = submit(vendors["b"], deletion(vendors["b"].engagement_id, records_deleted=10, individuals_deleted=10))
    assert clean.json()["checks"] == []


def test_an_engagements_owner_invites_and_issues_keys_for_its_vendor(
    client: TestClient[Any], demo: dict[str, Any], vendors: dict[str, Side], make_user: Any
) -> None:
    a = vendors["a"]
    owner, stranger = make_user("owner"), make_user("owner")
    moved = client.patch(f"/api/engagements/{a.engagement_id}", json={"owner_id": owner.id}, headers=demo["headers"])
    assert moved.status_code == 200, moved.text
    issued = client.post(f"/api/vendors/{a.vendor_id}/keys", json={"name": "owner's"}, headers=owner.headers)
    assert issued.status_code == 201, issued.text
    revoked = client.delete(f"/api/vendors/{a.vendor_id}/keys/{issued.json()['id']}", headers=owner.headers)
    assert revoked.status_code == 204
    assert invite(client, owner.headers, a.vendor_id, "owner.invites@vendor.example").status_code == 201
    # Not for a vendor none of whose engagements it owns.
    assert (
        client.post(f"/api/vendors/{a.vendor_id}/keys", json={"name": "x"}, headers=stranger.headers).status_code == 403
    )
    assert invite(client, stranger.headers, a.vendor_id, "stranger@vendor.example").status_code == 403
    b = vendors["b"]
    assert client.post(f"/api/vendors/{b.vendor_id}/keys", json={"name": "x"}, headers=owner.headers).status_code == 403


def test_contacts_are_invited_listed_and_disabled_on_the_vendors_page(
    client: TestClient[Any], demo: dict[str, Any], vendors: dict[str, Side], make_user: Any, clean_database: str
) -> None:
    a = vendors["a"]
    buyer = make_user("procurement")
    set_password(clean_database, buyer.email)
    sign_in(client, buyer.email)
    detail = client.get(f"/vendors/{a.vendor_id}")
    assert "门户联系人" in detail.text
    csrf = csrf_of(detail.text)
    wrong = client.post(f"/vendors/{a.vendor_id}/contacts", data={"_csrf": csrf, "email": "not an address"})
    assert wrong.status_code == 400 and 'id="e-email"' in wrong.text
    sent = client.post(
        f"/vendors/{a.vendor_id}/contacts", data={"_csrf": csrf, "email": CONTACT, "contact_name": "李明"}
    )
    assert sent.status_code == 200 and f"邀请已发送至 {CONTACT}" in sent.text
    assert "/portal/welcome?token=" not in sent.text  # the link goes by e-mail only
    assert len(outbox(clean_database, CONTACT)) == 1
    contact_id = client.get(f"/api/vendors/{a.vendor_id}/contacts", headers=demo["headers"]).json()["items"][0]["id"]
    disabled = client.post(
        f"/vendors/{a.vendor_id}/contacts/{contact_id}/disable", data={"_csrf": csrf}, follow_redirects=False
    )
    assert disabled.status_code == 303
    row = re.search(
        rf"<tr><td>李明</td><td>{re.escape(CONTACT)}</td>\s*<td>(.*?)</td>",
        client.get(disabled.headers["location"]).text,
    )
    assert row and "已停用" in row.group(1)
    # The invitation sent before the contact was disabled no longer works.
    assert client.get(f"/portal/welcome?token={link_in(clean_database, CONTACT, '/portal/welcome')}").status_code == 400
    again = client.post(f"/vendors/{a.vendor_id}/contacts/{contact_id}/reinvite", data={"_csrf": csrf})
    assert again.status_code == 200 and len(outbox(clean_database, CONTACT)) == 2
    assert client.get(f"/portal/welcome?token={link_in(clean_database, CONTACT, '/portal/welcome')}").status_code == 200
