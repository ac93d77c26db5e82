"""Single sign-on in a real browser: chromium on a real `dpa serve` configured for a real OpenID
provider process (oidc-provider-mock, as in tests/integration/test_sso.py). The person clicks
使用单点登录, signs in at the provider's form and lands on the page they asked for, as the user
the provider's role claim made. Screenshots go to var/screenshots/ (sso-*.png)."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest

from tests.conftest import free_port
from tests.e2e.test_browser import shot
from tests.integration.test_cli import start_server, stop_server
from tests.integration.test_sso import running_provider

pytestmark = pytest.mark.browser

EMAIL = "li.na@xingchi-auto.example"


@pytest.fixture
def issuer() -> Iterator[str]:
    with running_provider() as address:
        yield address


@pytest.fixture
def sso_server(clean_database: str, issuer: str, tmp_path: Path) -> Iterator[str]:
    port = free_port()
    env = {
        "STORAGE_URL": f"file:{tmp_path / 'evidence'}",
        "BASE_URL": f"http://127.0.0.1:{port}",
        "SECRET_KEY": "k" * 40,
        "OIDC_ISSUER": issuer,
        "OIDC_CLIENT_ID": "dpa-browser",
        "OIDC_CLIENT_SECRET": "browser secret",
    }
    process: subprocess.Popen[str] = start_server(clean_database, port, env=env)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        stop_server(process)


def test_a_person_signs_in_through_the_provider_and_lands_where_they_were_going(
    sso_server: str, issuer: str, browser_page: Any
) -> None:
    said = {"email": EMAIL, "email_verified": True, "name": "李娜", "dpa_role": "procurement"}
    assert httpx.put(f"{issuer}/users/{quote(EMAIL)}", json=said).status_code == 204
    page = browser_page
    page.route("https://cdn.jsdelivr.net/**", lambda route: route.abort())  # the provider's stylesheet: no network

    page.goto(f"{sso_server}/vendors")
    assert "/sign-in?next=/vendors" in page.url
    shot(page, "sso-01-sign-in")
    page.get_by_role("link", name="使用单点登录").click()
    page.wait_for_url(f"{issuer}/oauth2/authorize?*")
    shot(page, "sso-02-provider")
    page.get_by_placeholder("sub").fill(EMAIL)
    page.get_by_role("button", name="Authorize").click()
    page.wait_for_url(f"{sso_server}/vendors")
    top = page.locator("header.top").inner_text()
    assert "李娜" in top and "采购" in top
    shot(page, "sso-03-signed-in")

    page.get_by_role("button", name="退出").click()
    page.wait_for_url("**/sign-in")
    assert page.get_by_role("link", name="使用单点登录").is_visible()
