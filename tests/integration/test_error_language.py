"""Refusals in both languages: the pages show the Chinese first with the English beside it (the
other way round for who chose English), for a service's field error, a Pydantic error and a
refusal at the top of a form; the API keeps its English message and adds the Chinese."""

from __future__ import annotations

import html
import re
from typing import Any

from litestar.testing import TestClient

from tests.conftest import Account
from tests.factories import credit_code, vendor_body
from tests.integration.conftest import PDF, Side
from tests.integration.test_imports import _csv, _vendor
from tests.integration.test_pages import csrf_of, person, sign_in
from tests.integration.test_portal import _deletion_form, portal

__all__ = ["person", "portal"]  # the fixtures, shared with test_pages and test_portal


def beside(page: str, key: str) -> str:
    """The text of the message shown beside the field `key`."""
    found = re.search(rf'<p class="field-error" id="e-{re.escape(key)}">(.*?)</p>', page, re.S)
    assert found, f"no message beside {key}"
    return html.unescape(re.sub(r"<[^>]+>", "", found.group(1)))


def summary(page: str) -> str:
    found = re.search(r'<div class="error-summary" role="alert"[^>]*>(.*?)</div>', page, re.S)
    assert found, "no error summary"
    return html.unescape(re.sub(r"<[^>]+>", "", found.group(1)))


def in_order(text: str, first: str, second: str) -> bool:
    return first in text and second in text and text.index(first) < text.index(second)


def test_a_services_field_error_is_chinese_first_then_english(client: TestClient[Any], person: Account) -> None:
    sign_in(client, person.email)
    token = csrf_of(client.get("/vendors/new").text)
    refused = client.post("/vendors/new", data={"_csrf": token, "legal_name_zh": "苏州示例数据服务有限公司"})
    assert refused.status_code == 400
    message = beside(refused.text, "unified_social_credit_code")
    assert in_order(message, "在中国注册的受托方须填写统一社会信用代码", "required for a vendor registered in China")
    assert in_order(summary(refused.text), "请更正以下问题", "在中国注册的受托方须填写统一社会信用代码")

    # Who chose English reads English first, the Chinese beside it.
    client.post("/language", data={"_csrf": token, "lang": "en", "next": "/vendors/new"})
    again = client.post("/vendors/new", data={"_csrf": token, "legal_name_zh": "苏州示例数据服务有限公司"})
    message = beside(again.text, "unified_social_credit_code")
    assert in_order(message, "required for a vendor registered in China", "在中国注册的受托方须填写统一社会信用代码")


def test_pydantic_errors_and_validators_refusals_are_in_chinese_too(client: TestClient[Any], person: Account) -> None:
    sign_in(client, person.email)
    token = csrf_of(client.get("/vendors/new").text)
    refused = client.post(
        "/vendors/new",
        data={
            "_csrf": token,
            "legal_name_zh": "苏" * 501,  # too long: a constraint of the schema
            "unified_social_credit_code": "91440101MA59Y8H03X",  # a wrong check character: the field's validator
            "website": "ftp://example.com",  # a field validator of the vendor schema
            "contact_name": "李明",
            "contact_email": "li.ming-at-example.com",  # Pydantic's e-mail check
        },
    )
    assert refused.status_code == 400
    assert in_order(
        beside(refused.text, "legal_name_zh"), "最多 500 个字符", "String should have at most 500 characters"
    )
    assert in_order(
        beside(refused.text, "unified_social_credit_code"),
        "统一社会信用代码无效：校验码为 'X'，应为 'P'",
        "not a valid unified social credit code: check character is 'X' but should be 'P'",
    )
    assert in_order(beside(refused.text, "website"), "须以 http:// 或 https:// 开头", "must start with http://")
    assert in_order(beside(refused.text, "contact_email"), "不是有效的电子邮件地址", "not a valid email address")


def test_a_refusal_at_the_top_of_a_form_is_chinese_first(client: TestClient[Any], person: Account) -> None:
    sign_in(client, person.email)
    code = credit_code()
    first = client.post("/api/vendors", json=vendor_body(unified_social_credit_code=code), headers=person.headers)
    assert first.status_code == 201
    token = csrf_of(client.get("/vendors/new").text)
    twin = client.post(
        "/vendors/new", data={"_csrf": token, "legal_name_zh": "另一家公司", "unified_social_credit_code": code}
    )
    assert twin.status_code == 409
    assert in_order(
        summary(twin.text), f"统一社会信用代码为 {code} 的受托方已存在", f"a vendor with credit code {code}"
    )


def test_a_refused_robot_url_says_why_in_both_languages(client: TestClient[Any], person: Account) -> None:
    sign_in(client, person.email)
    token = csrf_of(client.get("/settings/robots").text)
    url = "http://127.0.0.1:9/cgi-bin/webhook/send?key=x"
    refused = client.post("/settings/robots/me", data={"_csrf": token, "platform": "wecom", "url": url})
    assert refused.status_code == 400
    assert in_order(
        beside(refused.text, "url"),
        "网址中的主机 127.0.0.1 是内网、本机或链路本地地址",
        "the URL's host 127.0.0.1 is a private, loopback or link-local address: only public addresses are called",
    )


def test_the_api_keeps_its_english_message_and_adds_the_chinese(client: TestClient[Any], admin: Account) -> None:
    missing = client.post(
        "/api/vendors",
        json={**vendor_body(), "unified_social_credit_code": None},
        headers=admin.headers,
    )
    assert missing.status_code == 400
    [item] = [item for item in missing.json()["extra"] if item["key"] == "unified_social_credit_code"]
    assert item["message"] == "required for a vendor registered in China (country CN)"  # what scripts read
    assert item["message_zh"] == "在中国注册的受托方须填写统一社会信用代码"

    code = credit_code()
    first = client.post("/api/vendors", json=vendor_body(unified_social_credit_code=code), headers=admin.headers)
    assert first.status_code == 201
    twin = client.post("/api/vendors", json=vendor_body(unified_social_credit_code=code), headers=admin.headers)
    assert twin.status_code == 409
    assert twin.json()["detail"].startswith(f"a vendor with credit code {code} exists")
    assert twin.json()["detail_zh"].startswith(f"统一社会信用代码为 {code} 的受托方已存在")
    assert "统一社会信用代码" not in twin.json()["detail"]  # the English stays English

    # The body's own schema, checked before the handler runs: Pydantic's message and its Chinese.
    bad = client.post(
        "/api/vendors", json=vendor_body(unified_social_credit_code="91440101MA59Y8H03X"), headers=admin.headers
    )
    assert bad.status_code == 400
    [item] = bad.json()["extra"]
    assert item["key"] == "unified_social_credit_code"
    assert item["message"] == "not a valid unified social credit code: check character is 'X' but should be 'P'"
    assert item["message_zh"] == "统一社会信用代码无效：校验码为 'X'，应为 'P'"

    # The document says so, for who generates a client from it.
    document = client.get("/schema/openapi.json", headers=admin.headers).json()
    error = document["components"]["schemas"]["Error"]
    assert {"message", "message_zh"} <= set(error["properties"]["extra"]["items"]["properties"])
    assert "detail_zh" in error["properties"]


def test_an_import_previews_each_cells_error_in_chinese_first(client: TestClient[Any], person: Account) -> None:
    sign_in(client, person.email)
    token = csrf_of(client.get("/imports").text)
    rows = [_vendor("91310000MA1FL3XC0X", "上海错误代码有限公司"), _vendor(credit_code(), website="=HYPERLINK(1)")]
    preview = client.post(
        "/imports/preview", data={"_csrf": token}, files={"file": ("vendors.csv", _csv(rows), "text/csv")}
    )
    assert preview.status_code == 200
    text = html.unescape(re.sub(r"<[^>]+>", "", preview.text))
    assert in_order(text, "统一社会信用代码无效：校验码为 'X'", "not a valid unified social credit code")
    assert in_order(text, "这是公式：导入只读取数值", "a formula: the import reads values")
    report = client.post(
        "/api/imports", files={"file": ("vendors.csv", _csv(rows), "text/csv")}, headers=person.headers
    ).json()
    errors = [error for row in report["rows"] for error in row["errors"]]
    assert {error["message_zh"] for error in errors} >= {"这是公式：导入只读取数值，不计算公式；请直接填写数值"}
    assert all(error["message"] and error["message_zh"] for error in errors)


def test_the_vendor_portal_says_it_in_chinese_first_too(client: TestClient[Any], portal: Side) -> None:
    form = client.get(f"/portal/attestations/new?kind=deletion&engagement_id={portal.engagement_id}")
    data = {
        **_deletion_form(portal.engagement_id, completed_on="2099-01-01", signer_name=""),
        "_csrf": csrf_of(form.text),
    }
    refused = client.post("/portal/attestations", data=data, files={"files": ("deletion.pdf", PDF, "application/pdf")})
    assert refused.status_code == 400
    assert in_order(beside(refused.text, "signer_name"), "必填", "Field required")
    no_file = client.post("/portal/attestations", data={**data, "signer_name": "李明"})
    assert no_file.status_code == 400
    assert in_order(beside(no_file.text, "completed_on"), "完成日期不能晚于今天", "is in the future")
    assert in_order(beside(no_file.text, "files"), "删除证明至少需要一个证据文件", "a deletion attestation needs")
