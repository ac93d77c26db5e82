"""The pages in a real browser: Playwright drives Debian's chromium against a real `dpa serve`.

Screenshots of each page are kept in var/screenshots/ (git-ignored) for a person to look at.
Run these alone with `pytest -m browser`; `make test` runs them with the rest.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from app.demo import load as load_demo
from tests.conftest import free_port, run
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
def server(clean_database: str, tmp_path: Path) -> Iterator[str]:
    run(load_demo, clean_database)
    set_password(clean_database, ADMIN)
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
        try:
            yield page
        finally:
            context.close()
            browser.close()


def shot(page: Any, name: str) -> None:
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


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
    page.get_by_label("处理目的").fill("识别到店客户，统计客流")
    for method in ("collection", "storage", "use"):
        page.locator(f"input[name=processing_methods][value={method}]").check()
    page.locator("input[name=pi_categories][value=facial_recognition]").check()
    page.locator("input[name=data_subjects][value=visitors]").check()
    page.get_by_label("涉及个人数（人）").fill("431,623")
    page.get_by_label("场所说明").fill("7 家展厅")
    page.get_by_label("场所类型").select_option("showroom")
    page.get_by_label("场所数量（个）").fill("7")
    page.get_by_label("公共场所").check()
    page.get_by_label("设备（第二十六条）").select_option("identity_recognition")
    page.get_by_label("设备数量（台）").fill("22")
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
