"""The pages without a browser: sign-in, sessions, form tokens, throttling, and the number of
SQL queries each page makes (never one per row)."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from litestar.testing import TestClient
from sqlalchemy import event

from app.accounts import signin
from app.accounts.services import get_by_email
from app.core.settings import RateLimit, Settings
from app.main import create_app
from app.settle import settle
from tests.conftest import Account, run
from tests.factories import credit_code, engagement_body, vendor_body

PASSWORD = "correct horse battery"


def set_password(database_url: str, email: str, password: str = PASSWORD) -> None:
    async def go(session: Any) -> None:
        user = await get_by_email(session, email=email)
        assert user is not None
        user.password_hash = signin.hash_password(password)
        await settle(session)

    run(go, database_url)


def csrf_of(html: str) -> str:
    found = re.search(r'name="_csrf" value="([0-9a-f]+)"', html)
    assert found, html[:500]
    return found.group(1)


def sign_in(client: TestClient[Any], email: str, password: str = PASSWORD, next: str = "") -> Any:
    token = csrf_of(client.get("/sign-in").text)
    return client.post(
        "/sign-in", data={"_csrf": token, "email": email, "password": password, "next": next}, follow_redirects=False
    )


@pytest.fixture
def person(make_user: Callable[..., Account], clean_database: str) -> Account:
    account = make_user("procurement")
    set_password(clean_database, account.email)
    return account


def test_root_sends_a_stranger_to_sign_in_and_back(client: TestClient[Any], person: Account) -> None:
    answer = client.get("/vendors?q=x", follow_redirects=False)
    assert answer.status_code == 303
    assert answer.headers["location"] == "/sign-in?next=/vendors%3Fq%3Dx"
    assert client.get("/", follow_redirects=False).headers["location"].startswith("/sign-in")
    signed = sign_in(client, person.email, next="/vendors?q=x")
    assert signed.status_code == 303 and signed.headers["location"] == "/vendors?q=x"
    cookie = signed.headers["set-cookie"]
    assert "HttpOnly" in cookie and "samesite=lax" in cookie.lower() and "Secure" not in cookie
    assert client.get("/", follow_redirects=False).headers["location"] == "/dashboard"
    assert client.get("/dashboard").status_code == 200


def test_next_never_leaves_the_site(client: TestClient[Any], person: Account) -> None:
    for target in ("https://evil.example/", "//evil.example/x", "/\\evil.example", "javascript:alert(1)"):
        client.cookies.clear()
        assert sign_in(client, person.email, next=target).headers["location"] == "/dashboard"


def test_wrong_password_is_refused_and_only_a_hash_is_stored(
    client: TestClient[Any], person: Account, clean_database: str
) -> None:
    assert sign_in(client, person.email, "wrong password!").status_code == 400
    assert sign_in(client, "nobody@test.example").status_code == 400
    answer = sign_in(client, person.email)
    token = answer.cookies["dpa_session"]

    async def stored(session: Any) -> list[str]:
        from sqlalchemy import text

        return [row[0] for row in await session.execute(text("SELECT token_hash FROM web_sessions"))]

    hashes = run(stored, clean_database)
    assert hashes == [signin.token_hash(token)] and token not in hashes


def test_every_form_needs_its_token(client: TestClient[Any], person: Account) -> None:
    """No form works without the session's token: 403 and nothing changes."""
    assert client.post("/sign-in", data={"email": person.email, "password": PASSWORD}).status_code == 403
    sign_in(client, person.email)
    forms = [
        "/vendors/new",
        "/engagements/new",
        "/sign-out",
        "/sign-out/everywhere",
        "/language",
        "/review/" + "0" * 32,
    ]
    for path in forms:
        assert client.post(path, data={"legal_name_zh": "x"}, follow_redirects=False).status_code == 403, path
        assert client.post(path, data={"_csrf": "0" * 64}, follow_redirects=False).status_code == 403, path
    assert client.get("/vendors").text.count("测试") == 0  # nothing was created
    assert client.get("/dashboard").status_code == 200  # still signed in: sign-out refused too


def test_one_users_cookie_never_acts_as_another(
    client: TestClient[Any], make_user: Callable[..., Account], clean_database: str, settings: Settings
) -> None:
    alice, bob = make_user("procurement"), make_user("auditor")
    set_password(clean_database, alice.email)
    set_password(clean_database, bob.email)
    sign_in(client, alice.email)
    with TestClient(app=create_app(settings)) as other:
        sign_in(other, bob.email)
        assert bob.email in other.get("/profile").text and alice.email not in other.get("/profile").text
        # Alice's token in Bob's form: refused; Bob is an auditor and may not create vendors.
        alice_token = csrf_of(client.get("/vendors/new").text)
        refused = other.post("/vendors/new", data={"_csrf": alice_token, "legal_name_zh": "x"})
        assert refused.status_code == 403
        bob_token = csrf_of(other.get("/vendors/new").text)
        denied = other.post(
            "/vendors/new",
            data={"_csrf": bob_token, "legal_name_zh": "北京测试", "unified_social_credit_code": "91440101MA59Y8H03P"},
        )
        assert denied.status_code == 403 and "auditor" in denied.text
    assert alice.email in client.get("/profile").text
    # The session cookie is for pages only: the API takes bearer tokens, and no CSRF.
    assert client.get("/api/vendors").status_code == 401


def test_sign_out_and_sign_out_everywhere_end_sessions(
    client: TestClient[Any], person: Account, settings: Settings
) -> None:
    sign_in(client, person.email)
    old = client.cookies["dpa_session"]
    client.post("/sign-out", data={"_csrf": csrf_of(client.get("/profile").text)})
    client.cookies.set("dpa_session", old)
    assert client.get("/dashboard", follow_redirects=False).status_code == 303

    client.cookies.clear()
    sign_in(client, person.email)
    with TestClient(app=create_app(settings)) as laptop:
        sign_in(laptop, person.email)
        assert laptop.get("/dashboard").status_code == 200
        ended = client.post("/sign-out/everywhere", data={"_csrf": csrf_of(client.get("/profile").text)})
        assert ended.status_code == 200 and "/sign-in" in str(ended.url)
        assert laptop.get("/dashboard", follow_redirects=False).status_code == 303
    assert client.get("/dashboard", follow_redirects=False).status_code == 303


def test_password_reset_is_single_use_and_ends_old_sessions(
    client: TestClient[Any], person: Account, settings: Settings, clean_database: str
) -> None:
    sign_in(client, person.email)
    with TestClient(app=create_app(settings)) as stranger:
        form = stranger.get("/password/forgot").text
        sent = stranger.post("/password/forgot", data={"_csrf": csrf_of(form), "email": person.email})
        assert sent.status_code == 200
        unknown = stranger.post("/password/forgot", data={"_csrf": csrf_of(form), "email": "none@test.example"})
        assert unknown.text.count("notice") == sent.text.count("notice")  # the same answer either way

    async def outbox(session: Any) -> str:
        from sqlalchemy import text

        rows = list(await session.execute(text("SELECT recipient, body FROM outbox_messages")))
        assert [row[0] for row in rows] == [person.email]
        return str(rows[0][1])

    body = run(outbox, clean_database)
    link = re.search(r"(/password/reset\?token=\S+)", body)
    assert link
    reset_page = client.get(link.group(1))
    assert reset_page.status_code == 200
    token = link.group(1).split("=", 1)[1]
    short = client.post(
        "/password/reset", data={"_csrf": csrf_of(reset_page.text), "token": token, "password": "x", "password2": "x"}
    )
    assert short.status_code == 400 and "10" in short.text
    new = "a much better password"
    done = client.post(
        "/password/reset",
        data={"_csrf": csrf_of(reset_page.text), "token": token, "password": new, "password2": new},
        follow_redirects=False,
    )
    assert done.status_code == 303
    assert client.get("/dashboard", follow_redirects=False).status_code == 303  # the old session ended
    assert client.get(link.group(1)).status_code == 400  # used once
    assert sign_in(client, person.email, new).status_code == 303
    assert sign_in(client, person.email, PASSWORD).status_code == 400


@pytest.fixture
def strict_client(settings: Settings, clean_database: str) -> Iterator[TestClient[Any]]:
    from dataclasses import replace

    with TestClient(app=create_app(replace(settings, signin_failure_limit=RateLimit(3, 600)))) as client:
        yield client


def test_failed_sign_ins_are_throttled_per_account_and_say_when_to_retry(
    strict_client: TestClient[Any], person: Account
) -> None:
    for _ in range(3):
        assert sign_in(strict_client, person.email, "not the password").status_code == 400
    throttled = sign_in(strict_client, person.email)  # even the right password waits
    assert throttled.status_code == 429
    wait = int(throttled.headers["retry-after"])
    assert 0 < wait <= 600 and f"{wait} 秒" in throttled.text and f"{wait} s" in throttled.text


def test_failed_sign_ins_are_throttled_per_address(
    strict_client: TestClient[Any], make_user: Callable[..., Account]
) -> None:
    for number in range(15):  # 5 x the per-account limit, across accounts
        assert sign_in(strict_client, f"guess{number}@test.example", "x" * 12).status_code == 400
    assert sign_in(strict_client, "another@test.example", "x" * 12).status_code == 429


def test_same_actor_as_the_api_token(client: TestClient[Any], person: Account) -> None:
    """A vendor created on a page is owned by the user, as through the API with their token."""
    sign_in(client, person.email)
    token = csrf_of(client.get("/vendors/new").text)
    bad = client.post(
        "/vendors/new",
        data={"_csrf": token, "legal_name_zh": "苏州示例", "unified_social_credit_code": "91440101MA59Y8H03X"},
    )
    assert bad.status_code == 400 and 'id="e-unified_social_credit_code"' in bad.text  # beside its field
    assert 'value="苏州示例"' in bad.text  # the input kept
    made = client.post(
        "/vendors/new",
        data={
            "_csrf": token,
            "legal_name_zh": "苏州示例数据服务有限公司",
            "unified_social_credit_code": "91440101MA59Y8H03P",
        },
        follow_redirects=False,
    )
    assert made.status_code == 303
    vendor_id = made.headers["location"].rsplit("/", 1)[1]
    vendor = client.get(f"/api/vendors/{vendor_id}", headers=person.headers).json()
    assert vendor["owner_id"] == person.id


class Queries:
    def __init__(self) -> None:
        self.count = 0

    def __call__(self, *_: Any) -> None:
        self.count += 1


@pytest.fixture
def demo_person(client: TestClient[Any], demo: dict[str, Any], clean_database: str) -> str:
    email = "admin@xingchi-auto.example"
    set_password(clean_database, email)
    sign_in(client, email)
    return email


PAGES = [
    "/dashboard",
    "/vendors",
    "/engagements",
    "/obligations?status=",
    "/obligations/calendar",
    "/review",
    "/agreements",
    "/findings?status=",
    "/audit",
    "/settings",
    "/exports",
    "/settings/calendar",
    "/settings/company",
    "/company",
    "/imports",
]


def _more_rows(database_url: str, count: int) -> None:
    """`count` more vendors, each with an engagement (so more obligations and findings too)."""
    from app.core.actor import CLI_ACTOR
    from app.engagements import services as engagements
    from app.engagements.schemas import EngagementCreate
    from app.vendors import services as vendors
    from app.vendors.schemas import VendorCreate

    async def go(session: Any) -> None:
        for number in range(count):
            vendor = await vendors.create(
                session,
                data=VendorCreate.model_validate(
                    vendor_body(legal_name_zh=f"上海测试{number}号有限公司", unified_social_credit_code=credit_code())
                ),
                actor=CLI_ACTOR,
            )
            body = engagement_body(str(vendor.id), name=f"Hosting {number}", pi_categories=["facial_recognition"])
            await engagements.create(session, data=EngagementCreate.model_validate(body), actor=CLI_ACTOR)
        await settle(session)

    run(go, database_url)


def _queries(client: TestClient[Any], path: str) -> int:
    from sqlalchemy import Engine

    counter = Queries()
    event.listen(Engine, "before_cursor_execute", counter)
    try:
        assert client.get(path).status_code == 200
    finally:
        event.remove(Engine, "before_cursor_execute", counter)
    return counter.count


def test_each_page_makes_the_same_number_of_queries_for_more_rows(
    client: TestClient[Any], demo_person: str, clean_database: str
) -> None:
    """The demo's rows, then a dozen more vendors and engagements: no page asks once per row."""
    before = {path: _queries(client, path) for path in PAGES}
    _more_rows(clean_database, 12)
    after = {path: _queries(client, path) for path in PAGES}
    # The audit page names the objects of its newest 50 entries, of which there are more now: at most
    # one query per kind of object, never one per row.
    assert {p: n for p, n in after.items() if p != "/audit"} == {p: n for p, n in before.items() if p != "/audit"}
    assert max(before.values()) <= 15, before


def test_every_page_form_refuses_a_reader(
    client: TestClient[Any], make_user: Callable[..., Account], clean_database: str, demo: dict[str, Any]
) -> None:
    """Pages call the services, so the permission table of test_roles holds here too: an auditor's
    session, with a valid form token, changes nothing through any page form."""
    auditor = make_user("auditor")
    set_password(clean_database, auditor.email)
    sign_in(client, auditor.email)
    token = csrf_of(client.get("/profile").text)
    camera = demo["camera"]
    obligation = client.get("/api/obligations", params={"status": "open"}, headers=demo["headers"]).json()["items"][0]
    ids = {"vendor_id": camera["vendor_id"], "engagement_id": camera["id"], "obligation_id": obligation["id"]}
    anyone = {"/sign-in", "/sign-out", "/sign-out/everywhere", "/language", "/password/forgot", "/password/reset"}
    # An auditor may issue its own API tokens and take the evidence pack, as in the API.
    anyone |= {
        "/settings/tokens",
        "/exports/evidence-pack",
        "/engagements/check",
    }  # and the check, which stores nothing
    routes = sorted(
        route.path
        for route in client.app.routes
        if "POST" in route.methods
        and not route.path.startswith(("/api", "/schema", "/static", "/portal"))  # the portal: test_portal
        and route.path not in anyone
    )
    assert len(routes) >= 7
    forms = {
        "/vendors/new": {"legal_name_zh": "北京读者", "unified_social_credit_code": credit_code()},
        "/vendors/{vendor_id}/edit": {"legal_name_zh": "改名", "unified_social_credit_code": credit_code()},
        "/engagements/new": {**engagement_body(camera["vendor_id"]), "action": "save"},
        "/obligations/{obligation_id}/close": {"how": "waive", "note": "walk"},
        "/review/{attestation_id}": {"decision": "accept", "reason": "walk"},
        "/engagements/{engagement_id}/edit": {**engagement_body(camera["vendor_id"]), "action": "save"},
        "/vendors/{vendor_id}/keys": {"name": "walk"},
        "/vendors/{vendor_id}/contacts": {"email": "walk@vendor.example"},
        "/settings/users": {"email": "walk@test.example", "role": "admin", "name": "Walk"},
        "/agreements/{agreement_id}/move": {"move": "activate"},
        "/agreements/new": {"engagement_id": camera["id"], "term_start": "2026-01-01", "term_end": "2027-12-31"},
        "/settings/calendar": {"day": "2026-12-31", "working": "no", "note": "walk"},
        "/settings/company": {"legal_name_zh": "改名", "unified_social_credit_code": credit_code()},
    }
    wrong = []
    for template in routes:
        path = re.sub(
            r"\{(\w+):uuid\}", lambda m: ids.get(m.group(1), "00000000-0000-4000-8000-000000000000"), template
        ).replace("{day:date}", "2026-12-31")
        data = {"_csrf": token, **{k: v for k, v in forms.get(template.replace(":uuid", ""), {}).items()}}
        answer = client.post(path, data=data, follow_redirects=False)
        if answer.status_code not in (403, 404) or answer.status_code >= 500:
            wrong.append(f"{template}: {answer.status_code}")
    assert wrong == []
    assert client.get("/api/vendors", params={"q": "北京读者"}, headers=demo["headers"]).json()["total"] == 0


def test_detail_pages_have_names_not_ids(client: TestClient[Any], demo_person: str, demo: dict[str, Any]) -> None:
    camera = demo["camera"]
    vendor = client.get(f"/vendors/{camera['vendor_id']}")
    assert vendor.status_code == 200 and camera["name"] in vendor.text
    engagement = client.get(f"/engagements/{camera['id']}")
    assert engagement.status_code == 200 and "R6" in engagement.text
    for o in client.get("/api/obligations", headers=demo["headers"]).json()["items"][:3]:
        assert client.get(f"/obligations/{o['id']}").status_code == 200


def test_users_create_prints_a_link_that_sets_the_password(client: TestClient[Any], clean_database: str) -> None:
    from tests.integration.test_cli import dpa

    made = dpa("users", "create", "lin@test.example", "--role", "owner", "--name", "林", database_url=clean_database)
    assert made.returncode == 0, made.stderr
    lines = made.stdout.strip().splitlines()
    assert lines[-1].startswith("dpu_")  # the token stays last, for scripts
    link = re.search(r"http://127\.0\.0\.1:8000(/password/reset\?token=\S+)", made.stdout)
    assert link
    form = client.get(link.group(1))
    assert form.status_code == 200 and "lin@test.example" in form.text
    token = link.group(1).split("=", 1)[1]
    new = "a password of my own"
    client.post(
        "/password/reset", data={"_csrf": csrf_of(form.text), "token": token, "password": new, "password2": new}
    )
    assert sign_in(client, "lin@test.example", new).headers["location"] == "/dashboard"


def test_secure_cookie_behind_https(settings: Settings, person: Account) -> None:
    from dataclasses import replace

    with TestClient(app=create_app(replace(settings, base_url="https://dpa.example.com"))) as secure:
        cookie = sign_in(secure, person.email).headers["set-cookie"]
    assert "Secure" in cookie and "HttpOnly" in cookie


def test_pages_refer_to_no_other_host(client: TestClient[Any], demo_person: str) -> None:
    for path in [*PAGES, "/sign-in", "/static/style.css", "/static/pages.js", "/vendors/new", "/engagements/new"]:
        answer = client.get(path)
        assert answer.status_code == 200, path
        assert not re.search(r"""(src|href)=["']?(https?:)?//""", answer.text), path
        assert "@import" not in answer.text and "url(http" not in answer.text
    assert "default-src 'self'" in client.get("/dashboard").headers["content-security-policy"]


def test_editing_an_engagement_is_checked_before_it_is_saved(
    client: TestClient[Any], demo_person: str, demo: dict[str, Any]
) -> None:
    camera = demo["camera"]
    form = client.get(f"/engagements/{camera['id']}/edit")
    assert form.status_code == 200 and camera["name"] in form.text
    fields = dict(
        re.findall(r'<input id="f-[^"]+" name="([a-z_]+)" type="(?:text|date|email|number)" value="([^"]*)"', form.text)
    )
    data: dict[str, Any] = {**fields, "_csrf": csrf_of(form.text), "vendor_id": camera["vendor_id"]}
    data.update(
        processing_methods=camera["processing_methods"],
        pi_categories=camera["pi_categories"],
        data_subjects=camera["data_subjects"],
        legal_basis=camera["legal_basis"],
        status=camera["status"],
        purpose=camera["purpose"],
        purpose_en=camera["purpose_en"] + " (edited)",
        venue_type=camera["venues"][0]["venue_type"],
        venue_equipment=camera["venues"][0]["equipment"],
        venue_public_place="on",
        separate_consent_obtained="on",
        separate_consent_evidence="到店告知书 v3",
        consent_obtained="on",
    )
    checked = client.post(f"/engagements/{camera['id']}/edit", data={**data, "action": "check"})
    assert checked.status_code == 200, re.findall(r"<li><a href=\"#f-([^\"]*)", checked.text)
    assert 'id="check"' in checked.text
    assert "R6 " not in checked.text.split('id="check"')[1].split("</section>")[0]  # separate consent now given
    before = client.get(f"/api/engagements/{camera['id']}", headers=demo["headers"]).json()
    assert before["separate_consent_obtained"] is False  # a check stores nothing
    saved = client.post(f"/engagements/{camera['id']}/edit", data={**data, "action": "save"}, follow_redirects=False)
    assert saved.status_code == 303, saved.text[-2000:]
    after = client.get(f"/api/engagements/{camera['id']}", headers=demo["headers"]).json()
    assert after["separate_consent_obtained"] is True and after["venues"] == before["venues"]
    # The English texts (issue 15 item 3): the form shows and saves them beside the Chinese.
    assert 'name="venue_description_en"' in form.text and "Showrooms in Shanghai" in form.text
    assert 'name="purpose_en"' in form.text and 'name="retention_note_en"' in form.text
    assert after["purpose_en"] == camera["purpose_en"] + " (edited)"
    detail = client.get(f"/engagements/{camera['id']}").text
    assert camera["purpose"] in detail and after["purpose_en"] in detail


def test_calendar_and_history(client: TestClient[Any], demo_person: str, demo: dict[str, Any]) -> None:
    owed = client.get("/api/obligations", params={"status": "open"}, headers=demo["headers"]).json()["items"][0]
    month = owed["due_on"][:7]
    calendar = client.get("/obligations/calendar", params={"month": month})
    assert calendar.status_code == 200 and f'href="/obligations/{owed["id"]}"' in calendar.text
    assert client.get("/obligations/calendar", params={"month": "not-a-month"}).status_code == 200
    vendor = client.get(f"/vendors/{demo['camera']['vendor_id']}")
    assert "历史记录" in vendor.text and "cli" in vendor.text  # the demo created it through the CLI actor
