"""The administration pages (calendar overrides, the company profile, the company's duties) and
the import page, as a person uses them: forms with their token, errors beside their fields,
what is saved visible afterwards, and nothing for a role that may not."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from litestar.testing import TestClient

from app.imports.workbook import XLSX_TYPE
from tests.conftest import Account
from tests.factories import credit_code
from tests.integration.test_imports import _csv, _vendor
from tests.integration.test_pages import csrf_of, demo_person, set_password, sign_in

__all__ = ["demo_person"]  # the fixture, shared with test_pages

UUID = re.compile(r">\s*[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\s*<")


def _signed_in(client: TestClient[Any], make_user: Callable[..., Account], database_url: str, role: str) -> str:
    account = make_user(role)
    set_password(database_url, account.email)
    sign_in(client, account.email)
    return csrf_of(client.get("/profile").text)


def test_an_admin_sets_and_removes_a_calendar_override(
    client: TestClient[Any], demo_person: str, demo: dict[str, Any]
) -> None:
    empty = client.get("/settings/calendar")
    assert empty.status_code == 200 and "没有调整" in empty.text and "No overrides" in empty.text
    token = csrf_of(empty.text)
    # No reason: refused beside the field, the date kept, nothing saved.
    refused = client.post("/settings/calendar", data={"_csrf": token, "day": "2026-12-31", "working": "no"})
    assert refused.status_code == 400
    assert 'id="e-note"' in refused.text and "give the reason" in refused.text
    assert 'value="2026-12-31"' in refused.text
    assert client.get("/api/calendar/overrides", headers=demo["headers"]).json()["total"] == 0
    bad_day = client.post("/settings/calendar", data={"_csrf": token, "day": "31/12", "working": "no", "note": "x"})
    assert bad_day.status_code == 400 and 'id="e-day"' in bad_day.text

    saved = client.post(
        "/settings/calendar",
        data={"_csrf": token, "day": "2026-12-31", "working": "no", "note": "公司年终盘点 stock-take"},
        follow_redirects=False,
    )
    assert saved.status_code == 303
    listed = client.get(saved.headers["location"])
    assert "2026年12月31日" in listed.text and "公司年终盘点 stock-take" in listed.text and "休息日" in listed.text
    stored = client.get("/api/calendar/overrides", headers=demo["headers"]).json()["items"]
    assert stored == [{"day": "2026-12-31", "working": False, "note": "公司年终盘点 stock-take"}]
    days = client.get(
        "/api/calendar/days", params={"start": "2026-12-31", "end": "2026-12-31"}, headers=demo["headers"]
    )
    assert days.json()[0]["working"] is False and days.json()[0]["overridden"] is True

    removed = client.post("/settings/calendar/2026-12-31/remove", data={"_csrf": token}, follow_redirects=False)
    assert removed.status_code == 303
    assert client.get("/api/calendar/overrides", headers=demo["headers"]).json()["total"] == 0
    assert "2026年12月31日" not in client.get("/settings/calendar").text


def test_only_an_admin_may_change_the_calendar(
    client: TestClient[Any], make_user: Callable[..., Account], clean_database: str, demo: dict[str, Any]
) -> None:
    token = _signed_in(client, make_user, clean_database, "procurement")
    shown = client.get("/settings/calendar")
    assert shown.status_code == 200 and 'action="/settings/calendar"' not in shown.text
    answer = client.post("/settings/calendar", data={"_csrf": token, "day": "2026-12-31", "working": "no", "note": "x"})
    assert answer.status_code == 403
    assert client.get("/api/calendar/overrides", headers=demo["headers"]).json()["total"] == 0


def test_the_company_profile_is_edited_with_errors_at_their_fields(
    client: TestClient[Any], demo_person: str, demo: dict[str, Any]
) -> None:
    form = client.get("/settings/company")
    assert form.status_code == 200 and 'value="上海星驰汽车销售有限公司"' in form.text
    fields = dict(
        re.findall(r'<input id="f-[^"]+" name="([a-z_]+)" type="(?:text|date|email)" value="([^"]*)"', form.text)
    )
    data = {**fields, "_csrf": csrf_of(form.text), "individuals_total": "612000"}
    wrong = client.post("/settings/company", data={**data, "unified_social_credit_code": "91310000MA1FL3XC0X"})
    assert wrong.status_code == 400
    beside = wrong.text.split('id="e-unified_social_credit_code"')
    assert len(beside) == 2 and 'href="#f-unified_social_credit_code"' in wrong.text  # summary links to the field
    assert 'value="91310000MA1FL3XC0X"' in wrong.text  # the input kept
    count = client.post("/settings/company", data={**data, "individuals_total": "many"})
    assert count.status_code == 400 and 'id="e-individuals_total"' in count.text
    assert client.get("/api/handler/", headers=demo["headers"]).json()["individuals_total"] == 612000

    # More than 10,000,000 people and no audit yet: the company owes a compliance audit (R17).
    saved = client.post("/settings/company", data={**data, "individuals_total": "12,000,000"}, follow_redirects=False)
    assert saved.status_code == 303
    assert "已保存" in client.get(saved.headers["location"]).text
    assert client.get("/api/handler/", headers=demo["headers"]).json()["individuals_total"] == 12_000_000
    company = client.get("/company")
    assert company.status_code == 200
    assert "合规审计" in company.text and "compliance audit" in company.text
    audited = client.post(
        "/settings/company",
        data={**data, "individuals_total": "12000000", "last_compliance_audit_on": "2026-06-30"},
        follow_redirects=False,
    )
    assert audited.status_code == 303
    assert client.get("/api/handler/", headers=demo["headers"]).json()["last_compliance_audit_on"] == "2026-06-30"


def test_a_reader_sees_the_profile_but_may_not_change_it(
    client: TestClient[Any], make_user: Callable[..., Account], clean_database: str, demo: dict[str, Any]
) -> None:
    token = _signed_in(client, make_user, clean_database, "auditor")
    shown = client.get("/settings/company")
    assert shown.status_code == 200 and "<fieldset disabled" in shown.text and "上海星驰汽车销售有限公司" in shown.text
    answer = client.post(
        "/settings/company",
        data={"_csrf": token, "legal_name_zh": "改名", "unified_social_credit_code": "91310000MA1FL3XC0D"},
    )
    assert answer.status_code == 403
    assert client.get("/api/handler/", headers=demo["headers"]).json()["legal_name_zh"] == "上海星驰汽车销售有限公司"


def test_the_company_page_shows_what_the_api_counts_with_names(
    client: TestClient[Any], demo_person: str, demo: dict[str, Any]
) -> None:
    view = client.get("/api/company", headers=demo["headers"]).json()
    shown = client.get("/company")
    assert shown.status_code == 200
    assert "公司义务与发现" in shown.text and "Company duties and findings" in shown.text
    assert f"{view['faces_total']:,}" in shown.text
    for row in view["faces_by_engagement"]:
        assert row["name"] in shown.text and row["vendor"] in shown.text
    for duty in view["obligations"]:
        assert duty["what_zh"] in shown.text and duty["what_en"] in shown.text
    for finding in view["findings"]:
        assert finding["title_zh"] in shown.text
    assert not UUID.search(shown.text)  # names, never bare ids
    assert 'href="/company" aria-current="page"' in shown.text


def test_import_page_previews_then_applies(
    client: TestClient[Any], make_user: Callable[..., Account], clean_database: str, demo: dict[str, Any]
) -> None:
    token = _signed_in(client, make_user, clean_database, "procurement")
    shown = client.get("/imports")
    assert shown.status_code == 200 and 'href="/imports/template.xlsx"' in shown.text
    template = client.get("/imports/template.xlsx")
    assert template.status_code == 200 and template.headers["content-type"].startswith(XLSX_TYPE)
    assert template.content.startswith(b"PK\x03\x04")

    good, bad = credit_code(), "91310000MA1FL3XC0X"
    mixed = _csv([_vendor(good, "上海页面导入有限公司"), _vendor(bad, "上海错误代码有限公司")])
    preview = client.post("/imports/preview", data={"_csrf": token}, files={"file": ("vendors.csv", mixed, "text/csv")})
    assert preview.status_code == 200
    assert "新增" in preview.text and "错误" in preview.text
    assert "统一社会信用代码" in preview.text.split('class="row-error"')[1]  # the error names its column
    assert 'action="/imports/apply"' not in preview.text  # nothing to apply while a row has an error
    assert client.get("/api/vendors", params={"q": "上海页面导入"}, headers=demo["headers"]).json()["total"] == 0

    clean = _csv([_vendor(good, "上海页面导入有限公司")])
    preview = client.post("/imports/preview", data={"_csrf": token}, files={"file": ("vendors.csv", clean, "text/csv")})
    assert preview.status_code == 200 and 'action="/imports/apply"' in preview.text
    assert client.get("/api/vendors", params={"q": "上海页面导入"}, headers=demo["headers"]).json()["total"] == 0
    sha256 = re.search(r'name="sha256" value="([0-9a-f]{64})"', preview.text)
    assert sha256
    applied = client.post("/imports/apply", data={"_csrf": token, "sha256": sha256.group(1), "name": "vendors.csv"})
    assert applied.status_code == 200 and "已导入" in applied.text
    assert client.get("/api/vendors", params={"q": "上海页面导入"}, headers=demo["headers"]).json()["total"] == 1

    again = client.post("/imports/preview", data={"_csrf": token}, files={"file": ("vendors.csv", clean, "text/csv")})
    assert "不变" in again.text and 'action="/imports/apply"' not in again.text and "nothing to import" in again.text


def test_import_page_refuses_what_it_cannot_read_beside_the_field(
    client: TestClient[Any], make_user: Callable[..., Account], clean_database: str, demo: dict[str, Any]
) -> None:
    token = _signed_in(client, make_user, clean_database, "procurement")
    none = client.post("/imports/preview", data={"_csrf": token}, files={"file": ("", b"", "text/csv")})
    assert none.status_code == 400 and 'id="e-file"' in none.text
    old = client.post(
        "/imports/preview", data={"_csrf": token}, files={"file": ("old.xls", b"\xd0\xcf\x11\xe0" + b"0" * 64, "x")}
    )
    assert old.status_code == 415 and 'id="e-file"' in old.text and ".xlsx" in old.text
    stale = client.post("/imports/apply", data={"_csrf": token, "sha256": "0" * 64, "name": "v.csv"})
    assert stale.status_code == 400 and "upload the file again" in stale.text
    forged = client.post("/imports/apply", data={"_csrf": token, "sha256": "../../etc/passwd", "name": "v.csv"})
    assert forged.status_code == 400
    untokened = client.post("/imports/preview", files={"file": ("v.csv", _csv([_vendor(credit_code())]), "text/csv")})
    assert untokened.status_code == 403


def test_import_page_is_only_for_roles_that_may_import(
    client: TestClient[Any], make_user: Callable[..., Account], clean_database: str, demo: dict[str, Any]
) -> None:
    token = _signed_in(client, make_user, clean_database, "auditor")
    assert 'href="/imports"' not in client.get("/dashboard").text
    assert client.get("/imports").status_code == 403
    assert client.get("/imports/template.xlsx").status_code == 403
    upload = _csv([_vendor(credit_code(), "上海审计导入有限公司")])
    answer = client.post("/imports/preview", data={"_csrf": token}, files={"file": ("v.csv", upload, "text/csv")})
    assert answer.status_code == 403
    assert client.get("/api/vendors", params={"q": "上海审计导入"}, headers=demo["headers"]).json()["total"] == 0
