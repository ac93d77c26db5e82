"""The due-diligence questionnaire: sent from an engagement, answered and submitted through the
vendor API with evidence, reviewed, feeding the engagement's findings and the evidence pack."""

from __future__ import annotations

import io
import json
import uuid
import zipfile
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from litestar.testing import TestClient
from sqlalchemy import func, select
from sqlmodel import col

from app.questionnaires.models import QuestionnaireFile
from app.reminders.models import OutboxMessage
from tests.conftest import Account, run
from tests.factories import engagement_body, pdf, vendor_body
from tests.integration.conftest import issue_key
from tests.integration.test_pages import csrf_of, set_password, sign_in

CERTIFICATE = pdf("MLPS filing certificate")
CONTACT = "security@faces.example"


def answers(**overrides: Any) -> dict[str, Any]:
    """Every required question answered, as a camera vendor might."""
    body: dict[str, Any] = {
        "security_measures": ["encryption_at_rest", "access_control"],
        "security_officer": "王强，安全总监",
        "certifications": ["mlps_level_3"],
        "security_assessment": True,
        "storage_locations": "上海",
        "face_storage": "device",
        "uses_sub_processors": False,
        "transfers_abroad": False,
        "incidents_last_3_years": 0,
        "deletion_method": "cryptographic_erasure",
        "backups_deleted": True,
    }
    body.update(overrides)
    return body


class Setting:
    def __init__(self, client: TestClient[Any], admin: Account, **engagement: Any) -> None:
        vendor = client.post(
            "/api/vendors",
            json=vendor_body(contacts=[{"name": "Zhou", "email": CONTACT, "role": "security"}]),
            headers=admin.headers,
        )
        assert vendor.status_code == 201, vendor.text
        self.vendor_id = vendor.json()["id"]
        body = engagement_body(
            self.vendor_id,
            name="Showroom cameras",
            processing_methods=["collection", "storage", "use"],
            pi_categories=["facial_recognition"],
            storage_locations=[],
            legal_basis="consent",
            consent_obtained=True,
            **engagement,
        )
        created = client.post("/api/engagements", json=body, headers=admin.headers)
        assert created.status_code == 201, created.text
        self.engagement_id = created.json()["id"]
        self.key = {"Authorization": f"Bearer {issue_key(client, admin.headers, self.vendor_id)['key']}"}


@pytest.fixture
def make(client: TestClient[Any], admin: Account) -> Callable[..., Setting]:
    return lambda **engagement: Setting(client, admin, **engagement)


def send(client: TestClient[Any], who: Account, engagement_id: str) -> dict[str, Any]:
    sent = client.post("/api/questionnaires", json={"engagement_id": engagement_id}, headers=who.headers)
    assert sent.status_code == 201, sent.text
    body: dict[str, Any] = sent.json()
    return body


def put_answers(
    client: TestClient[Any],
    key: dict[str, str],
    questionnaire_id: str,
    body: dict[str, Any],
    files: list[tuple[str, bytes, str]] = (),  # type: ignore[assignment]
) -> httpx.Response:
    parts: list[tuple[str, Any]] = [("answers", (None, json.dumps(body))), *(("files", file) for file in files)]
    return client.put(f"/api/vendor/v1/questionnaires/{questionnaire_id}/answers", files=parts, headers=key)


def open_findings(client: TestClient[Any], admin: Account, engagement_id: str) -> list[dict[str, Any]]:
    found = client.get(f"/api/engagements/{engagement_id}/findings", headers=admin.headers).json()
    items: list[dict[str, Any]] = found["items"] if isinstance(found, dict) else found
    return [f for f in items if f["status"] == "open"]


def stored_off_device(findings: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [f for f in findings if f["rule_id"] == "R10" and "storage_locations" in f["facts"]]


def test_sent_answered_with_evidence_submitted_and_accepted(
    client: TestClient[Any],
    admin: Account,
    make_user: Callable[..., Account],
    make: Callable[..., Setting],
    clean_database: str,
) -> None:
    procurement, dpo = make_user("procurement"), make_user("dpo")
    a = make(owner_id=procurement.id)  # procurement sends for the engagements it owns
    sent = send(client, procurement, a.engagement_id)
    assert sent["status"] == "sent" and sent["template_version"] == 1

    async def mail(session: Any) -> list[OutboxMessage]:
        return list(await session.scalars(select(OutboxMessage).where(col(OutboxMessage.recipient) == CONTACT)))

    (message,) = run(mail, clean_database)
    assert "尽职调查问卷" in message.subject and sent["id"] in message.body
    # A second one while this is open would confuse the vendor.
    again = client.post("/api/questionnaires", json={"engagement_id": a.engagement_id}, headers=procurement.headers)
    assert again.status_code == 409

    listed = client.get("/api/vendor/v1/questionnaires", headers=a.key).json()
    assert [item["id"] for item in listed["items"]] == [sent["id"]]
    one = client.get(f"/api/vendor/v1/questionnaires/{sent['id']}", headers=a.key).json()
    questions = {q["id"]: q for q in one["questions"]}
    assert questions["face_storage"]["zh"].startswith("如处理人脸信息") and "facial" in questions["face_storage"]["en"]
    assert {o["value"] for o in questions["face_storage"]["options"]} >= {"device", "vendor_cloud", "our_servers"}

    saved = put_answers(
        client,
        a.key,
        sent["id"],
        answers(face_storage="vendor_cloud", certificates=[0]),
        [("mlps.pdf", CERTIFICATE, "application/pdf")],
    )
    assert saved.status_code == 200, saved.text
    (certificate,) = saved.json()["files"]
    assert certificate["question_id"] == "certificates" and certificate["filename"] == "mlps.pdf"
    assert saved.json()["answers"]["certificates"] == [certificate["id"]]
    # Saved, not yet submitted: the findings do not move on a draft.
    assert stored_off_device(open_findings(client, admin, a.engagement_id)) == []

    submitted = client.post(f"/api/vendor/v1/questionnaires/{sent['id']}/submit", headers=a.key)
    assert submitted.status_code == 200, submitted.text
    assert submitted.json()["status"] == "submitted"
    (raised,) = stored_off_device(open_findings(client, admin, a.engagement_id))
    assert raised["facts"]["questionnaire_face_storage"] == "vendor_cloud"
    late = put_answers(client, a.key, sent["id"], answers())
    assert late.status_code == 409  # submitted answers are what was said

    # The engagement page shows the answers and the evidence, and offers the review.
    page = client.get(f"/engagements/{a.engagement_id}", headers=dpo.headers)
    assert page.status_code == 200
    assert "受托方的服务器或云" in page.text and "mlps.pdf" in page.text and "/review" in page.text

    accepted = client.post(f"/api/questionnaires/{sent['id']}/accept", json={}, headers=dpo.headers)
    assert accepted.status_code == 200, accepted.text
    assert accepted.json()["status"] == "accepted"
    download = client.get(f"/api/questionnaires/{sent['id']}/files/{certificate['id']}/content", headers=dpo.headers)
    assert download.status_code == 200 and download.content == CERTIFICATE

    pack = client.get("/api/exports/evidence-pack", params={"vendor_id": a.vendor_id}, headers=dpo.headers)
    assert pack.status_code == 200
    with zipfile.ZipFile(io.BytesIO(pack.content)) as archive:
        names = archive.namelist()
        page_of_answers = archive.read("questionnaires.html").decode()
        (stored,) = [name for name in names if name.startswith("questionnaires/") and name.endswith("mlps.pdf")]
        assert archive.read(stored) == CERTIFICATE
    assert "受托方的服务器或云" in page_of_answers and "网络安全等级保护三级" in page_of_answers


def test_a_returned_questionnaire_is_answered_again(
    client: TestClient[Any], make_user: Callable[..., Account], make: Callable[..., Setting]
) -> None:
    a = make()
    dpo = make_user("dpo")
    sent = send(client, dpo, a.engagement_id)
    assert put_answers(client, a.key, sent["id"], answers()).status_code == 200
    assert client.post(f"/api/vendor/v1/questionnaires/{sent['id']}/submit", headers=a.key).status_code == 200
    short = client.post(f"/api/questionnaires/{sent['id']}/return", json={"reason": "no"}, headers=dpo.headers)
    assert short.status_code == 400 and short.json()["extra"][0]["key"] == "reason"
    returned = client.post(
        f"/api/questionnaires/{sent['id']}/return",
        json={"reason": "Attach the MLPS filing certificate"},
        headers=dpo.headers,
    )
    assert returned.status_code == 200 and returned.json()["status"] == "returned"
    seen = client.get(f"/api/vendor/v1/questionnaires/{sent['id']}", headers=a.key).json()
    assert seen["review_reason"] == "Attach the MLPS filing certificate"
    assert put_answers(client, a.key, sent["id"], {"incidents_last_3_years": 1}).status_code == 200
    assert client.post(f"/api/vendor/v1/questionnaires/{sent['id']}/submit", headers=a.key).status_code == 200


def test_the_device_answer_raises_no_storage_finding(
    client: TestClient[Any], admin: Account, make: Callable[..., Setting]
) -> None:
    a = make()
    sent = send(client, admin, a.engagement_id)
    assert put_answers(client, a.key, sent["id"], answers(face_storage="device")).status_code == 200
    assert client.post(f"/api/vendor/v1/questionnaires/{sent['id']}/submit", headers=a.key).status_code == 200
    findings = open_findings(client, admin, a.engagement_id)
    assert stored_off_device(findings) == []
    assert [f for f in findings if f["rule_id"] == "R22"] == []


def test_answers_that_contradict_the_registry_raise_findings(
    client: TestClient[Any], admin: Account, make: Callable[..., Setting]
) -> None:
    """Abroad while the registry says not; sensitive PI and no certification; children without
    the security assessment."""
    a = make(data_subjects=["customers", "minors_under_14"], guardian_consent_obtained=True)
    sent = send(client, admin, a.engagement_id)
    said = answers(transfers_abroad=True, certifications=["none"], security_assessment=False)
    assert put_answers(client, a.key, sent["id"], said).status_code == 200
    assert client.post(f"/api/vendor/v1/questionnaires/{sent['id']}/submit", headers=a.key).status_code == 200
    details = sorted(
        (f["severity"], f["title_en"]) for f in open_findings(client, admin, a.engagement_id) if f["rule_id"] == "R22"
    )
    assert [severity for severity, _ in details] == ["high", "medium", "review"]


def test_another_vendors_key_finds_nothing(
    client: TestClient[Any], admin: Account, make: Callable[..., Setting]
) -> None:
    a, b = make(), make()
    sent = send(client, admin, a.engagement_id)
    saved = put_answers(client, a.key, sent["id"], {"certificates": [0]}, [("c.pdf", CERTIFICATE, "application/pdf")])
    file_id = saved.json()["files"][0]["id"]
    base = f"/api/vendor/v1/questionnaires/{sent['id']}"
    assert client.get(base, headers=b.key).status_code == 404
    assert put_answers(client, b.key, sent["id"], answers()).status_code == 404
    assert client.post(f"{base}/submit", headers=b.key).status_code == 404
    assert client.get(f"{base}/files/{file_id}/content", headers=b.key).status_code == 404
    assert client.get("/api/vendor/v1/questionnaires", headers=b.key).json()["total"] == 0
    assert client.get(base, headers=a.key).json()["answers"] == {"certificates": [file_id]}  # untouched


def test_bad_answers_are_refused_naming_the_question_and_nothing_is_stored(
    client: TestClient[Any], admin: Account, make: Callable[..., Setting], clean_database: str
) -> None:
    a = make()
    sent = send(client, admin, a.engagement_id)
    evidence = [("c.pdf", CERTIFICATE, "application/pdf")]
    cases = {
        "answers.transfers_abroad": answers(transfers_abroad="yes", certificates=[0]),
        "answers.no_such_question": answers(no_such_question=True, certificates=[0]),
        "answers.face_storage": answers(face_storage="in the cloud", certificates=[0]),
        "answers.incidents_last_3_years": answers(incidents_last_3_years="none", certificates=[0]),
        "answers.certifications": answers(certifications=["none", "iso_iec_27001"], certificates=[0]),
        "files.0": answers(),  # a file no question names
    }
    for key, body in cases.items():
        refused = put_answers(client, a.key, sent["id"], body, evidence)
        assert refused.status_code == 400, (key, refused.text)
        assert key in [item["key"] for item in refused.json()["extra"]], (key, refused.text)

    async def files(session: Any) -> int:
        return int(await session.scalar(select(func.count()).select_from(QuestionnaireFile)) or 0)

    assert run(files, clean_database) == 0
    assert client.get(f"/api/vendor/v1/questionnaires/{sent['id']}", headers=a.key).json()["answers"] == {}

    partial = answers()
    del partial["security_measures"], partial["face_storage"]
    assert put_answers(client, a.key, sent["id"], partial).status_code == 200
    missing = client.post(f"/api/vendor/v1/questionnaires/{sent['id']}/submit", headers=a.key)
    assert missing.status_code == 400
    assert {item["key"] for item in missing.json()["extra"]} == {"answers.security_measures", "answers.face_storage"}
    assert client.get(f"/api/vendor/v1/questionnaires/{sent['id']}", headers=a.key).json()["status"] == "sent"


def test_only_senders_send_and_only_reviewers_review(
    client: TestClient[Any], admin: Account, make_user: Callable[..., Account], make: Callable[..., Setting]
) -> None:
    a = make()
    auditor, owner, procurement = make_user("auditor"), make_user("owner"), make_user("procurement")
    body = {"engagement_id": a.engagement_id}
    # Procurement and owners send for the engagements they own only (the admin owns this one).
    for account in (auditor, owner, procurement):
        assert client.post("/api/questionnaires", json=body, headers=account.headers).status_code == 403
    assert (
        client.post("/api/questionnaires", json=body, headers=a.key).status_code == 403
    )  # a key reaches /api/vendor/ only
    sent = send(client, admin, a.engagement_id)
    assert put_answers(client, a.key, sent["id"], answers()).status_code == 200
    assert client.post(f"/api/vendor/v1/questionnaires/{sent['id']}/submit", headers=a.key).status_code == 200
    for account in (auditor, owner, procurement):
        decided = client.post(f"/api/questionnaires/{sent['id']}/accept", json={}, headers=account.headers)
        assert decided.status_code == 403
    unknown = client.post("/api/questionnaires", json={"engagement_id": str(uuid.uuid4())}, headers=admin.headers)
    assert unknown.status_code == 422 and unknown.json()["extra"][0]["key"] == "engagement_id"


def test_the_engagement_page_sends_and_reviews(
    client: TestClient[Any],
    admin: Account,
    make_user: Callable[..., Account],
    make: Callable[..., Setting],
    clean_database: str,
) -> None:
    a = make()
    dpo = make_user("dpo")
    set_password(clean_database, dpo.email)
    sign_in(client, dpo.email)
    page = client.get(f"/engagements/{a.engagement_id}")
    assert "发送问卷给受托方" in page.text and "Send the questionnaire to the vendor" in page.text
    path = f"/questionnaires/send/{a.engagement_id}"
    assert client.post(path, data={}, follow_redirects=False).status_code == 403  # no form token
    sent = client.post(path, data={"_csrf": csrf_of(page.text)}, follow_redirects=False)
    assert sent.status_code == 303, sent.text
    page = client.get(f"/engagements/{a.engagement_id}")
    assert "受托方尚未回答" in page.text and "发送问卷给受托方" not in page.text  # one open at a time
    (questionnaire,) = client.get("/api/vendor/v1/questionnaires", headers=a.key).json()["items"]
    assert put_answers(client, a.key, questionnaire["id"], answers()).status_code == 200
    assert client.post(f"/api/vendor/v1/questionnaires/{questionnaire['id']}/submit", headers=a.key).status_code == 200

    page = client.get(f"/engagements/{a.engagement_id}")
    review = f"/questionnaires/{questionnaire['id']}/review"
    refused = client.post(review, data={"_csrf": csrf_of(page.text), "decision": "return", "reason": ""})
    assert refused.status_code == 400 and "退回时请说明理由" in refused.text
    accepted = client.post(
        review, data={"_csrf": csrf_of(page.text), "decision": "accept", "reason": ""}, follow_redirects=False
    )
    assert accepted.status_code == 303
    assert (
        client.get(f"/api/questionnaires/{questionnaire['id']}", headers=admin.headers).json()["status"] == "accepted"
    )


def _form(answered: dict[str, Any]) -> dict[str, Any]:
    """The answers as the portal's form fields (q.<question id>), as a browser sends them."""
    data: dict[str, Any] = {}
    for question, value in answered.items():
        if isinstance(value, bool):
            data[f"q.{question}"] = "yes" if value else "no"
        elif isinstance(value, list):
            data[f"q.{question}"] = value
            data[f"q.{question}.shown"] = "1"
        else:
            data[f"q.{question}"] = str(value)
    return data


def test_a_vendors_person_answers_in_the_portal_and_the_findings_follow(
    client: TestClient[Any], admin: Account, make: Callable[..., Setting], clean_database: str
) -> None:
    from tests.integration.test_portal import contact_of

    a, b = make(), make()
    sent = send(client, admin, a.engagement_id)
    theirs = send(client, admin, b.engagement_id)
    contact_of(client, clean_database, admin.headers, a.vendor_id, "zhou@faces.example")
    listed = client.get("/portal/questionnaires")
    assert listed.status_code == 200 and f"/portal/questionnaires/{sent['id']}" in listed.text
    assert theirs["id"] not in listed.text
    # Another vendor's questionnaire is not there, as if it did not exist.
    assert client.get(f"/portal/questionnaires/{theirs['id']}").status_code == 404
    page = client.get(f"/portal/questionnaires/{sent['id']}")
    assert page.status_code == 200 and "人脸" in page.text
    csrf = csrf_of(page.text)

    # Submitting with a required question left open: named beside its field, nothing submitted.
    partial = _form(answers(face_storage="vendor_cloud"))
    del partial["q.security_officer"]
    refused = client.post(f"/portal/questionnaires/{sent['id']}", data={"_csrf": csrf, "action": "submit", **partial})
    assert refused.status_code == 400 and 'id="e-q-security_officer"' in refused.text
    assert client.get(f"/api/questionnaires/{sent['id']}", headers=admin.headers).json()["status"] == "sent"
    # A file that is not what it says: refused at its question, nothing stored.
    bad = client.post(
        f"/portal/questionnaires/{sent['id']}",
        data={"_csrf": csrf, "action": "save", **partial},
        files={"q.certificates": ("cert.pdf", b"not a pdf at all", "application/pdf")},
    )
    assert bad.status_code == 415 and 'id="e-q-certificates"' in bad.text
    assert client.get(f"/api/questionnaires/{sent['id']}", headers=admin.headers).json()["answers"] == {}

    done = client.post(
        f"/portal/questionnaires/{sent['id']}",
        data={"_csrf": csrf, "action": "submit", **_form(answers(face_storage="vendor_cloud"))},
        files={"q.certificates": ("mlps.pdf", CERTIFICATE, "application/pdf")},
        follow_redirects=False,
    )
    assert done.status_code == 303, done.text[:500]
    stated = client.get(f"/api/questionnaires/{sent['id']}", headers=admin.headers).json()
    assert stated["status"] == "submitted" and stated["answers"]["face_storage"] == "vendor_cloud"
    assert [f["filename"] for f in stated["files"]] == ["mlps.pdf"]
    # The vendor said faces go to its cloud: the on-device storage finding is raised.
    assert stored_off_device(open_findings(client, admin, a.engagement_id))
    shown = client.get(done.headers["location"])
    assert "已提交" in shown.text and "mlps.pdf" in shown.text and 'name="action"' not in shown.text
    download = client.get(f"/portal/questionnaires/{sent['id']}/files/{stated['files'][0]['id']}")
    assert download.status_code == 200 and download.content == CERTIFICATE
