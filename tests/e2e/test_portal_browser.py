"""The vendor portal in a real browser (the set-up of test_browser.py): an engagement's owner
invites the camera vendor's contact, who sets a password from the e-mailed link, sees the open
duties and uploads a deletion certificate; the DPO finds it in the review queue and rejects it;
the vendor sees why. Screenshots go to var/screenshots/ (portal-*.png)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlmodel import col

from app.reminders.models import OutboxMessage
from tests.conftest import run
from tests.e2e.test_browser import _dpo, _sign_in, shot
from tests.integration.conftest import PDF
from tests.integration.test_pages import set_password

pytestmark = pytest.mark.browser

OWNER = "owner@xingchi-auto.example"
CONTACT = "li.ming@huiyan-vision.example"
PORTAL_PASSWORD = "camera vendor portal"


@pytest.fixture
def people(clean_database: str, demo_token: str) -> dict[str, str]:
    """The demo's engagement owner with a password, and a DPO (before the browser starts)."""
    set_password(clean_database, OWNER)
    return {"owner": OWNER, "dpo": _dpo(clean_database)}


@pytest.fixture
def camera_ended(server: str, demo_token: str) -> Iterator[dict[str, Any]]:
    """The camera agreement issued, signed, in force, and ended five days ago: the deletion is due."""
    with httpx.Client(base_url=server, headers={"Authorization": f"Bearer {demo_token}"}, timeout=60) as api:
        engagements = api.get("/api/engagements").json()["items"]
        camera = next(e for e in engagements if "facial_recognition" in e["pi_categories"])
        terms = {"engagement_id": camera["id"], "term_start": "2026-01-01", "term_end": "2027-12-31"}
        agreement = api.post("/api/agreements", json=terms).json()
        issued = api.post(f"/api/agreements/{agreement['id']}/issue")
        assert issued.status_code == 200, issued.text
        signed = api.post(
            f"/api/agreements/{agreement['id']}/sign", files={"file": ("signed.pdf", PDF, "application/pdf")}
        )
        assert signed.status_code == 200, signed.text
        assert api.post(f"/api/agreements/{agreement['id']}/activate").status_code == 200
        ended = (date.today() - timedelta(days=5)).isoformat()
        terminated = api.post(
            f"/api/agreements/{agreement['id']}/terminate", json={"ended_on": ended, "reason": "展厅停用人脸识别"}
        )
        assert terminated.status_code == 200, terminated.text
        yield {"engagement": camera, "api": api}


def _invitation(database_url: str) -> str:
    """The link in the newest e-mail to the contact, read from the outbox (in a thread: Playwright's
    sync API holds this one's event loop)."""

    async def go(session: Any) -> str:
        query = select(OutboxMessage).where(col(OutboxMessage.recipient) == CONTACT)
        message = (await session.scalars(query.order_by(col(OutboxMessage.created_at).desc()))).first()
        assert message is not None
        found = re.search(r"http\S+/portal/welcome\?token=[\w-]+", message.body)
        assert found, message.body
        return found.group(0)

    with ThreadPoolExecutor(1) as pool:
        link: str = pool.submit(run, go, database_url).result()
    return link


def test_a_vendor_contact_is_invited_uploads_a_deletion_certificate_and_sees_the_rejection(
    server: str,
    clean_database: str,
    people: dict[str, str],
    camera_ended: dict[str, Any],
    browser_page: Any,
    tmp_path: Path,
) -> None:
    page, camera = browser_page, camera_ended["engagement"]

    # The engagement's owner invites the camera vendor's contact from the vendor's page.
    page.goto(f"{server}/vendors/{camera['vendor_id']}")
    _sign_in(page, people["owner"])
    page.wait_for_url(f"{server}/vendors/{camera['vendor_id']}")
    page.get_by_label("联系人电子邮箱").fill(CONTACT)
    page.get_by_label("联系人姓名").fill("李明")
    page.get_by_role("button", name="发送邀请").click()
    assert f"邀请已发送至 {CONTACT}" in page.content()
    assert "已邀请" in page.locator("tr", has_text=CONTACT).inner_text()
    shot(page, "portal-01-invited")
    page.get_by_role("button", name="退出").click()

    # The contact opens the e-mailed link and sets a password: the portal opens on its duties.
    link = _invitation(clean_database)
    page.goto(link)
    shot(page, "portal-02-welcome")
    page.get_by_label("新密码（至少").fill(PORTAL_PASSWORD)
    page.get_by_label("再次输入新密码").fill(PORTAL_PASSWORD)
    page.get_by_role("button", name="设置密码并进入门户").click()
    page.wait_for_url(f"{server}/portal")
    duty = page.locator("tr[data-state='open']", has_text="删除")
    assert duty.count() == 1
    assert "慧眼" in page.locator("header").inner_text()
    shot(page, "portal-03-duties")
    # The link worked once.
    assert httpx.get(link, timeout=30).status_code == 400

    # It uploads the deletion certificate (the form the API's checks stand behind).
    duty.get_by_role("link", name="提交").click()
    page.wait_for_url("**/portal/attestations/new?kind=deletion*")
    page.get_by_label("删除完成日期").fill((date.today() - timedelta(days=2)).isoformat())
    page.get_by_label("删除记录数（条）").fill("431,623")
    page.get_by_label("涉及个人数（人）").fill("431,623")
    page.get_by_label("备份已一并删除").check()
    page.get_by_label("签署人姓名").fill("李明")
    page.get_by_label("签署人职务").fill("首席安全官")
    page.locator("#f-files").set_input_files(
        files=[{"name": "删除证明.pdf", "mimeType": "application/pdf", "buffer": PDF}]
    )
    assert "删除证明.pdf" in page.locator("[data-file-list]").inner_text()
    shot(page, "portal-04-deletion-form")
    page.get_by_role("button", name="提交").last.click()
    page.wait_for_url(re.compile(r".*/portal/attestations/[0-9a-f-]{36}$"))
    assert "等待我方审核" in page.content() and "删除证明.pdf" in page.content()
    shot(page, "portal-05-sent")
    page.goto(f"{server}/portal")
    assert page.locator("tr[data-state='submitted']", has_text="删除").count() == 1
    page.goto(f"{server}/portal/agreements")
    assert page.locator("a[href*='/documents/']").count() >= 1
    shot(page, "portal-06-agreements")

    # The DPO finds it in the review queue, with what does not add up, and rejects it.
    page.goto(f"{server}/review")
    _sign_in(page, people["dpo"])
    page.wait_for_url(f"{server}/review")
    card = page.locator("section.card", has_text="慧眼").filter(has_text="删除证明.pdf")
    assert card.count() == 1
    assert "转委托方" in card.locator(".warnings").inner_text()  # sub-processors left out
    shot(page, "portal-07-review")
    card.get_by_label("理由（受托方可见）").fill("删除范围未覆盖转委托方，请补充")
    card.get_by_role("button", name="退回").click()
    page.wait_for_url(f"{server}/review")

    # The vendor sees the reason beside the duty, which is open to send again.
    page.goto(f"{server}/portal")
    rejected = page.locator("tr[data-state='rejected']", has_text="删除")
    assert "删除范围未覆盖转委托方" in rejected.inner_text()
    shot(page, "portal-08-rejected")
    page.goto(f"{server}/portal/attestations/new?kind=incident")
    shot(page, "portal-09-incident-form")


def test_the_owner_sends_the_questionnaire_the_vendor_answers_it_and_the_dpo_accepts(
    server: str, clean_database: str, demo_token: str, people: dict[str, str], browser_page: Any
) -> None:
    page = browser_page
    with httpx.Client(base_url=server, headers={"Authorization": f"Bearer {demo_token}"}, timeout=60) as api:
        engagements = api.get("/api/engagements").json()["items"]
        camera = next(e for e in engagements if "facial_recognition" in e["pi_categories"])

        # The engagement's owner sends the questionnaire from the engagement and invites the contact.
        page.goto(f"{server}/engagements/{camera['id']}")
        _sign_in(page, people["owner"])
        page.wait_for_url(f"{server}/engagements/{camera['id']}")
        page.get_by_role("button", name="发送问卷给受托方").click()
        assert "受托方尚未回答" in page.locator("#questionnaires ~ section.card").first.inner_text()
        page.goto(f"{server}/vendors/{camera['vendor_id']}")
        page.get_by_label("联系人电子邮箱").fill(CONTACT)
        page.get_by_label("联系人姓名").fill("李明")
        page.get_by_role("button", name="发送邀请").click()
        page.get_by_role("button", name="退出").click()

        # The vendor's person sets a password and answers in the portal, with a certificate.
        page.goto(_invitation(clean_database))
        page.get_by_label("新密码（至少").fill(PORTAL_PASSWORD)
        page.get_by_label("再次输入新密码").fill(PORTAL_PASSWORD)
        page.get_by_role("button", name="设置密码并进入门户").click()
        page.wait_for_url(f"{server}/portal")
        page.get_by_role("link", name="尽职调查问卷").first.click()
        page.locator("tr[data-state='sent'] a").click()
        page.wait_for_url(re.compile(r".*/portal/questionnaires/[0-9a-f-]{36}$"))
        for name, value in (("security_measures", "encryption_at_rest"), ("certifications", "mlps_level_3")):
            page.locator(f"input[name='q.{name}'][value='{value}']").check()
        for name, value in (
            ("security_assessment", "yes"),
            ("face_storage", "vendor_cloud"),
            ("uses_sub_processors", "no"),
            ("transfers_abroad", "no"),
            ("deletion_method", "cryptographic_erasure"),
            ("backups_deleted", "yes"),
        ):
            page.locator(f"input[name='q.{name}'][value='{value}']").check()
        page.locator("[name='q.security_officer']").fill("王强，安全总监")
        page.locator("[name='q.storage_locations']").fill("上海")
        page.locator("[name='q.incidents_last_3_years']").fill("0")
        page.locator("[name='q.certificates']").set_input_files(
            files=[{"name": "等保备案证明.pdf", "mimeType": "application/pdf", "buffer": PDF}]
        )
        shot(page, "portal-10-questionnaire")
        page.get_by_role("button", name="提交审核").click()
        page.wait_for_url(re.compile(r".*/portal/questionnaires/[0-9a-f-]{36}\?submitted=1$"))
        assert "已提交" in page.content() and "等保备案证明.pdf" in page.content()
        shot(page, "portal-11-questionnaire-submitted")
        page.get_by_role("button", name="退出").click()

        # The DPO reads the answers on the engagement and accepts them; the findings follow them.
        page.goto(f"{server}/engagements/{camera['id']}")
        _sign_in(page, people["dpo"])
        page.wait_for_url(f"{server}/engagements/{camera['id']}")
        answered = page.locator("#questionnaires ~ section.card").first
        assert "等保备案证明.pdf" in answered.inner_text()
        answered.get_by_role("button", name="接受").click()
        page.wait_for_url(re.compile(rf".*/engagements/{camera['id']}.*"))
        assert "已接受" in page.locator("#questionnaires ~ section.card").first.inner_text()
        shot(page, "portal-12-questionnaire-accepted")
        found = api.get(f"/api/engagements/{camera['id']}/findings").json()["items"]
        said = [f for f in found if f["status"] == "open" and f["facts"].get("questionnaire_face_storage")]
        assert [f["rule_id"] for f in said] == ["R10"], found
