"""The pages in a real browser: Playwright drives Debian's chromium against a real `dpa serve`.

Screenshots of each page are kept in var/screenshots/ (git-ignored) for a person to look at.
Run these alone with `pytest -m browser`; `make test` runs them with the rest.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from app.demo import load as load_demo
from tests.conftest import free_port, run
from tests.integration.conftest import PDF
from tests.integration.test_cli import start_server, stop_server
from tests.integration.test_pages import PASSWORD, set_password

pytestmark = pytest.mark.browser

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
SCREENSHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ADMIN = "admin@xingchi-auto.example"


@pytest.fixture
def demo_token(clean_database: str) -> str:
    """The demo, with a password for its admin; answers the admin's API token (set up before the
    browser starts: Playwright's sync API runs an event loop of its own)."""
    _, token = run(load_demo, clean_database)
    set_password(clean_database, ADMIN)
    return str(token)


@pytest.fixture
def server(clean_database: str, demo_token: str, tmp_path: Path) -> Iterator[str]:
    port = free_port()
    env = {
        "STORAGE_URL": f"file:{tmp_path / 'evidence'}",
        "BASE_URL": f"http://127.0.0.1:{port}",
        "SECRET_KEY": "k" * 40,
    }
    process: subprocess.Popen[str] = start_server(clean_database, port, env=env)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        stop_server(process)


@pytest.fixture
def browser_page() -> Iterator[Any]:
    if not shutil.which(CHROMIUM):
        pytest.fail(f"{CHROMIUM} is missing: apt-get install -y chromium (make test installs it)")
    from playwright.sync_api import sync_playwright

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
        page = context.new_page()
        page.set_default_timeout(60_000)  # a loaded CI machine: a page may take seconds, never a minute
        try:
            yield page
        finally:
            context.close()
            browser.close()


def shot(page: Any, name: str, *, full_page: bool = True) -> None:
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=full_page)


def test_procurement_adds_a_vendor_and_sees_the_camera_findings_before_saving(server: str, browser_page: Any) -> None:
    page = browser_page
    page.goto(f"{server}/vendors")
    assert "/sign-in?next=/vendors" in page.url  # through sign-in, and back
    shot(page, "01-sign-in")
    page.get_by_label("电子邮箱").fill(ADMIN)
    page.get_by_label("密码").fill("wrong password")
    page.get_by_role("button", name="登录").click()
    assert "不正确" in page.locator(".error-summary").inner_text()
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    page.wait_for_url(f"{server}/vendors")
    assert "慧眼" in page.content()
    shot(page, "03-vendors")

    page.goto(f"{server}/dashboard")
    assert "受托方风险排名" in page.content()
    shot(page, "02-dashboard")

    # A new vendor, first with a wrong check character: the message stands beside the field.
    page.goto(f"{server}/vendors/new")
    page.get_by_label("中文法定名称").fill("苏州示例视觉科技有限公司")
    page.get_by_label("英文法定名称").fill("Suzhou Example Vision Co., Ltd.")
    page.get_by_label("统一社会信用代码（18 位）").fill("91440101MA59Y8H03X")
    page.get_by_role("button", name="保存").click()
    error = page.locator("#e-unified_social_credit_code")
    assert error.is_visible()
    shot(page, "04-vendor-form-error")
    page.get_by_label("统一社会信用代码（18 位）").fill("91440101MA59Y8H03P")
    page.get_by_role("button", name="保存").click()
    page.wait_for_url("**/vendors/*")
    assert "苏州示例视觉科技有限公司" in page.locator("h1").inner_text()
    shot(page, "05-vendor-detail")

    # A camera engagement: the before-you-buy check shows R6, R8 and R9 before anything is saved.
    page.get_by_role("link", name="新增委托处理").first.click()
    page.get_by_label("名称").fill("展厅人脸识别客流分析")
    page.get_by_role("textbox", name="处理目的 Purpose of processing", exact=True).fill("识别到店客户，统计客流")
    page.get_by_label("处理目的（英文）").fill("Recognise returning customers and count visitors")
    for method in ("collection", "storage", "use"):
        page.locator(f"input[name=processing_methods][value={method}]").check()
    page.locator("input[name=pi_categories][value=facial_recognition]").check()
    page.locator("input[name=data_subjects][value=visitors]").check()
    page.get_by_label("涉及个人数（人）").fill("431,623")
    page.get_by_role("textbox", name="场所说明 Venue", exact=True).fill("7 家展厅")
    page.get_by_label("场所类型").select_option("showroom")
    page.get_by_label("场所数量（个）").fill("7")
    page.get_by_label("公共场所").check()
    page.get_by_label("设备（第二十六条）").select_option("identity_recognition")
    page.get_by_label("设备数量（台）").fill("22")
    # While it is filled in, the check shows what saving would raise (pages.js; nothing stored).
    live = page.locator("#live-check")
    live.get_by_text("R8", exact=False).first.wait_for()
    for rule in ("R6", "R8", "R9"):
        assert rule in live.inner_text()
    shot(page, "06a-engagement-live-check")
    page.get_by_role("button", name="检查").click()
    check = page.locator("#check")
    text = check.inner_text()
    for rule in ("R6", "R8", "R9"):
        assert rule in text, text
    shot(page, "06-engagement-check")
    engagements_before = page.request.get(f"{server}/engagements").text().count("展厅人脸识别客流分析")
    assert engagements_before == 0  # checked, not saved
    page.get_by_role("button", name="保存").click()
    page.wait_for_url("**/engagements/*")
    assert "展厅人脸识别客流分析" in page.locator("h1").inner_text()
    assert "R6" in page.content()
    shot(page, "07-engagement-detail")

    page.goto(f"{server}/engagements")
    shot(page, "08-engagements")
    page.goto(f"{server}/obligations")
    shot(page, "09-obligations")
    page.locator("table a[href^='/obligations/']").first.click()
    shot(page, "10-obligation")
    page.get_by_label("参考编号（完成）或理由（豁免）").fill("沪网信备 2026-0042")
    page.get_by_role("button", name="标记为已完成").click()
    assert "已完成" in page.locator("h1").inner_text()

    # English, kept for the user
    page.get_by_role("button", name="English").click()
    assert "Obligations" in page.locator("nav.side").inner_text()
    page.goto(f"{server}/review")
    shot(page, "11-review-en")
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url("**/sign-in")


def _dpo(database_url: str) -> str:
    """A DPO with a password, made as `dpa users create` makes one."""
    from app.accounts import services as accounts
    from app.accounts.schemas import Role, UserCreate
    from app.core.actor import CLI_ACTOR
    from app.settle import settle

    email = "dpo-e2e@test.example"

    async def create(session: Any) -> None:
        await accounts.create(session, data=UserCreate(email=email, role=Role.dpo, name="王敏"), actor=CLI_ACTOR)
        await settle(session)

    run(create, database_url)
    set_password(database_url, email)
    return email


def _sign_in(page: Any, email: str) -> None:
    page.get_by_label("电子邮箱").fill(email)
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()


@pytest.fixture
def dpo(clean_database: str) -> str:
    return _dpo(clean_database)


@pytest.fixture
def api(server: str, demo_token: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server, headers={"Authorization": f"Bearer {demo_token}"}, timeout=30) as client:
        yield client


def test_review_queue_agreement_and_an_emailed_link(
    server: str, api: httpx.Client, dpo: str, browser_page: Any
) -> None:
    camera = next(e for e in api.get("/api/engagements").json()["items"] if "facial_recognition" in e["pi_categories"])
    key = api.post(f"/api/vendors/{camera['vendor_id']}/keys", json={"name": "e2e"}).json()["key"]
    for description in ("日志服务器被未授权访问", "备份磁带丢失"):
        metadata = {
            "kind": "incident",
            "engagement_id": camera["id"],
            "detected_at": "2026-11-20T10:00:00+08:00",
            "description": description,
            "pi_categories": ["facial_recognition"],
            "individuals_affected": 1200,
            "measures_taken": "已隔离服务器并重置凭据",
        }
        sent = httpx.post(
            f"{server}/api/vendor/attestations",
            headers={"Authorization": f"Bearer {key}"},
            files=[("metadata", (None, json.dumps(metadata))), ("files", ("report.pdf", PDF, "application/pdf"))],
            timeout=30,
        )
        assert sent.status_code == 201, sent.text
    obligation = api.get("/api/obligations", params={"engagement_id": camera["id"], "status": "open"}).json()["items"][
        0
    ]

    # The link a reminder e-mail carries, opened without a session: sign in, and land on it.
    page = browser_page
    email = dpo
    page.goto(f"{server}/obligations/{obligation['id']}")
    assert "/sign-in?next=/obligations/" in page.url
    _sign_in(page, email)
    page.wait_for_url(f"{server}/obligations/{obligation['id']}")
    shot(page, "12-obligation-from-email")

    # The review queue: a reason is required, shown beside its field; reject one, accept the other.
    page.goto(f"{server}/review")
    assert page.locator("section.card").count() == 2
    shot(page, "13-review")
    first = page.locator("section.card").first
    first.get_by_role("button", name="退回").click()
    assert page.locator(".field-error").first.is_visible()
    page.locator("section.card").first.get_by_label("理由（受托方可见）").fill("未说明受影响个人的通知情况")
    page.locator("section.card").first.get_by_role("button", name="退回").click()
    page.wait_for_url(f"{server}/review")
    assert page.locator("section.card").count() == 1
    page.locator("section.card").first.get_by_label("理由（受托方可见）").fill("报告完整")
    page.locator("section.card").first.get_by_role("button", name="接受").click()
    page.wait_for_url(f"{server}/review")
    assert "没有待审核的证明" in page.content()
    statuses = sorted(a["status"] for a in api.get("/api/attestations").json()["items"])
    assert statuses == ["accepted", "rejected"]
    page.get_by_role("button", name="退出").click()

    # The admin generates the camera engagement's agreement, sees its coverage, and issues it.
    page.goto(f"{server}/engagements/{camera['id']}")
    _sign_in(page, ADMIN)
    page.wait_for_url(f"{server}/engagements/{camera['id']}")
    page.get_by_role("link", name="生成协议").click()
    page.get_by_label("期限开始").fill("2026-01-01")
    page.get_by_label("期限结束").fill("2025-12-31")
    page.get_by_role("button", name="生成草稿").click()
    assert page.locator(".error-summary").is_visible()  # an end before the start, said at the field
    page.get_by_label("期限结束").fill("2027-12-31")
    page.get_by_role("button", name="生成草稿").click()
    page.wait_for_url("**/agreements/*")
    shot(page, "14-agreement-draft")
    page.get_by_role("button", name="出具给受托方").click()
    page.wait_for_url("**/agreements/*", timeout=120_000)
    links = page.locator("a[href*='/documents/']")
    assert links.count() == 2
    shot(page, "15-agreement-issued")
    download = page.request.get(server + links.filter(has_text=".pdf").first.get_attribute("href"))
    assert download.ok and download.body().startswith(b"%PDF")
    shot_name = "16-agreement-signed"
    page.get_by_label("上传已签署的协议（PDF）").set_input_files(
        files=[{"name": "signed.pdf", "mimeType": "application/pdf", "buffer": PDF}]
    )
    page.get_by_role("button", name="上传并标记为已签署").click()
    page.wait_for_url("**/agreements/*")
    assert "已签署" in page.locator("h1").inner_text()
    page.get_by_role("button", name="标记为生效").click()
    page.wait_for_url("**/agreements/*")
    assert "生效" in page.locator("h1").inner_text()
    shot(page, shot_name)
    # Terminating asks for a reason and a confirmation.
    page.on("dialog", lambda dialog: dialog.accept())
    page.get_by_text("终止协议").click()
    page.get_by_role("button", name="终止").click()
    assert page.locator(".field-error").first.is_visible()  # no reason: said beside the field
    page.get_by_label("理由").fill("停止使用人脸识别")
    page.get_by_role("button", name="终止").click()
    page.wait_for_url("**/agreements/*")
    assert "已终止" in page.locator("h1").inner_text()


def test_admin_people_vendor_keys_findings_audit_exports(server: str, api: httpx.Client, browser_page: Any) -> None:
    page = browser_page
    page.goto(f"{server}/settings")
    _sign_in(page, ADMIN)
    page.wait_for_url(f"{server}/settings")
    # A new person: a role, and a one-time link to set a password goes out through the outbox.
    page.get_by_label("电子邮箱").fill("buyer@test.example")
    page.get_by_label("姓名").fill("采购 张")
    page.get_by_label("角色").select_option("procurement")
    page.get_by_role("button", name="新增用户").last.click()
    page.wait_for_url("**/settings?created=*")
    assert "buyer@test.example" in page.locator(".notice").inner_text()
    shot(page, "17-settings")
    users = api.get("/api/users", params={"role": "procurement"}).json()["items"]
    assert [u["name"] for u in users if u["email"] == "buyer@test.example"] == ["采购 张"]
    # Their own API token, shown once
    page.get_by_label("新令牌的用途").fill("报表脚本")
    page.get_by_role("button", name="生成令牌").click()
    assert page.locator("#issued-token").inner_text().startswith("dpu_")

    # A vendor key, shown once, that works on the vendor API and nowhere else.
    camera = next(e for e in api.get("/api/engagements").json()["items"] if "facial_recognition" in e["pi_categories"])
    page.goto(f"{server}/vendors/{camera['vendor_id']}")
    page.get_by_label("用途").fill("删除证明上传")
    page.get_by_role("button", name="签发密钥").click()
    key = page.locator("#issued-key").inner_text()
    assert key.startswith("dpv_")
    shot(page, "18-vendor-key")
    owed = httpx.get(f"{server}/api/vendor/obligations", headers={"Authorization": f"Bearer {key}"}, timeout=10)
    assert owed.status_code == 200

    page.goto(f"{server}/findings")
    assert "R6" in page.content()
    shot(page, "19-findings")
    page.goto(f"{server}/audit")
    page.get_by_role("button", name="校验哈希链").click()
    assert "哈希链完整" in page.locator("[role=status]").inner_text()
    shot(page, "20-audit")
    page.goto(f"{server}/exports")
    shot(page, "21-exports")
    register = page.request.get(f"{server}/exports/register.xlsx")
    assert register.ok and register.body().startswith(b"PK")
    with page.expect_download() as pending:
        page.get_by_role("button", name="下载证据包").click()
    assert pending.value.suggested_filename.startswith("evidence-pack-")
    # At a phone's width the navigation folds above the page and the tables scroll.
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"{server}/dashboard")
    shot(page, "22-dashboard-phone", full_page=False)
    assert page.evaluate("document.documentElement.scrollWidth") <= 390 + 1  # nothing wider than the phone


def test_admin_sets_the_calendar_the_company_profile_and_imports_vendors(
    server: str, api: httpx.Client, browser_page: Any, tmp_path: Path
) -> None:
    page = browser_page
    page.goto(f"{server}/settings")
    _sign_in(page, ADMIN)
    page.wait_for_url(f"{server}/settings")

    # A day off with its reason; without the reason the message stands beside the field.
    page.get_by_role("link", name="工作日历调整").click()
    page.get_by_label("日期").fill("2026-12-31")
    page.get_by_label("休息日（节假日）").check()
    page.get_by_role("button", name="保存").click()
    assert page.locator("#e-note").is_visible()
    page.get_by_label("原因").fill("年终盘点 stock-take")
    page.get_by_role("button", name="保存").click()
    page.wait_for_url("**/settings/calendar?set=2026-12-31")
    assert "2026年12月31日" in page.locator("table").inner_text()
    shot(page, "23-calendar-overrides")
    assert api.get("/api/calendar/overrides").json()["items"][0]["note"] == "年终盘点 stock-take"

    # The company profile: over 10,000,000 people makes the compliance audit a company duty.
    page.goto(f"{server}/settings/company")
    page.get_by_label("处理个人信息的总人数（人）").fill("12,000,000")
    page.get_by_role("button", name="保存").click()
    page.wait_for_url("**/settings/company?saved=1")
    shot(page, "24-company-profile")
    page.locator("nav.side").get_by_role("link", name="公司义务").click()
    page.wait_for_url(f"{server}/company")
    assert "合规审计" in page.locator("main").inner_text()
    shot(page, "25-company")

    # Import: the template, a CSV previewed row by row, then applied.
    page.locator("nav.side").get_by_role("link", name="导入").click()
    with page.expect_download() as pending:
        page.get_by_role("link", name="下载 Excel 模板").click()
    assert pending.value.suggested_filename == "dpa-import-template.xlsx"
    from tests.factories import credit_code
    from tests.integration.test_imports import _csv, _vendor

    upload = tmp_path / "vendors.csv"
    upload.write_bytes(_csv([_vendor(credit_code(), "杭州浏览器导入有限公司")]))
    page.get_by_label("文件（.xlsx 或 .csv，最大 20 MB）").set_input_files(str(upload))
    page.get_by_role("button", name="预览").click()
    assert "预览（尚未保存）" in page.locator("main").inner_text()
    shot(page, "26-import-preview")
    assert api.get("/api/vendors", params={"q": "杭州浏览器导入"}).json()["total"] == 0
    page.get_by_role("button", name="确认导入 1 行").click()
    assert "已导入" in page.locator("h2#result").inner_text()
    assert api.get("/api/vendors", params={"q": "杭州浏览器导入"}).json()["total"] == 1

    # The team's group robot: an address inside our own network is refused, said at its field.
    page.goto(f"{server}/settings/robots")
    team = page.locator("#robot-team")
    team.get_by_label("平台").select_option("dingtalk")
    team.get_by_label("Webhook 地址（https://）").fill("https://127.0.0.1/robot/send?access_token=abc")
    team.get_by_label("加签密钥（钉钉、飞书）").fill("SEC0123456789")
    team.get_by_role("button", name="保存").click()
    team = page.locator("#robot-team")
    assert "loopback" in team.locator(".field.has-error").inner_text()
    assert team.get_by_label("Webhook 地址（https://）").get_attribute("aria-invalid") == "true"
    shot(page, "27-robots-refused")


MAIN_PAGES = [
    "/dashboard",
    "/vendors",
    "/vendors/{vendor_id}",
    "/vendors/new",
    "/engagements",
    "/engagements/{engagement_id}",
    "/engagements/new",
    "/agreements",
    "/obligations",
    "/obligations/calendar",
    "/review",
    "/findings",
    "/company",
    "/exports",
    "/imports",
    "/audit",
    "/settings",
    "/settings/company",
    "/settings/calendar",
    "/settings/robots",
    "/settings/webhooks",
    "/profile",
]


def test_main_pages_have_no_serious_accessibility_violations(server: str, api: httpx.Client, browser_page: Any) -> None:
    """axe-core (bundled by axe-playwright-python, injected by the test: nothing from the
    network) on each main page, signed out and signed in: no serious or critical violation."""
    from axe_playwright_python.sync_playwright import Axe

    axe, page = Axe(), browser_page
    camera = next(e for e in api.get("/api/engagements").json()["items"] if "facial_recognition" in e["pi_categories"])
    found: dict[str, list[str]] = {}

    def scan(path: str) -> None:
        violations = axe.run(page).response["violations"]
        bad = [v for v in violations if v["impact"] in ("serious", "critical")]
        if bad:
            found[path] = [f"{v['id']}: {[node['target'] for node in v['nodes']][:3]}" for v in bad]

    page.goto(f"{server}/sign-in")
    scan("/sign-in")
    _sign_in(page, ADMIN)
    page.wait_for_url(f"{server}/dashboard")
    for path in MAIN_PAGES:
        page.goto(server + path.format(vendor_id=camera["vendor_id"], engagement_id=camera["id"]))
        scan(path)
    page.goto(f"{server}/vendors/new")
    page.get_by_role("button", name="保存").click()  # a form with its errors shown
    scan("/vendors/new (errors)")
    assert found == {}, json.dumps(found, ensure_ascii=False, indent=1)
