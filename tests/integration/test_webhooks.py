"""Chat robots and webhooks against real receivers on 127.0.0.1: a DingTalk-like and a
Feishu-like robot that check the signature the way those platforms do, and a webhook receiver
that verifies HMAC-SHA256 with the shared secret. Delivered at least once, never twice,
retried after a 500, dead after the last attempt, redeliverable; a vendor hears of its own."""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import hmac
import json
import re
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import time_machine
from litestar.testing import TestClient

from app.core.settings import Settings
from app.main import create_app
from tests.conftest import Account
from tests.factories import engagement_body, vendor_body
from tests.integration.conftest import Side, Submit, deletion
from tests.integration.test_pages import csrf_of, set_password, sign_in
from tests.integration.test_reminders import WEEK_BEFORE, reminder_pass

SECRET = "SEC" + "a1b2c3d4" * 8  # a DingTalk robot's secret looks like this


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    valid: bool

    @property
    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Receiver:
    """A local HTTP server; `check` decides whether a request is signed right, `answers` what
    it answers in turn (then 200 and the platform's "ok")."""

    check: Callable[[str, dict[str, str], bytes], bool]
    ok: dict[str, Any]
    refused: dict[str, Any]
    answers: list[int] = field(default_factory=list)
    always: int | None = None
    received: list[Received] = field(default_factory=list)
    url: str = ""

    def handle(self, path: str, headers: dict[str, str], body: bytes) -> tuple[int, dict[str, Any]]:
        valid = self.check(path, headers, body)
        self.received.append(Received(path, headers, body, valid))
        status = self.always or (self.answers.pop(0) if self.answers else 200)
        return status, (self.ok if valid else self.refused)


def serve(receiver: Receiver) -> Iterator[Receiver]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            status, answer = receiver.handle(self.path, {k.lower(): v for k, v in self.headers.items()}, body)
            data = json.dumps(answer).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *_: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    receiver.url = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()


def fresh(timestamp: float) -> bool:
    """Both platforms refuse a timestamp more than an hour from their clock."""
    return abs(time.time() - timestamp) < 3600


def dingtalk_check(path: str, _headers: dict[str, str], _body: bytes) -> bool:
    """DingTalk: sign = urlencode(base64(HMAC-SHA256(key=secret, msg=timestamp + "\\n" + secret)))."""
    query = parse_qs(urlsplit(path).query)
    timestamp, sign = query["timestamp"][0], query["sign"][0]
    expected = base64.b64encode(hmac.new(SECRET.encode(), f"{timestamp}\n{SECRET}".encode(), hashlib.sha256).digest())
    # parse_qs already URL-decoded the sign once, as DingTalk's server does.
    return hmac.compare_digest(sign.encode(), expected) and fresh(int(timestamp) / 1000)


def feishu_check(_path: str, _headers: dict[str, str], body: bytes) -> bool:
    """Feishu: sign = base64(HMAC-SHA256(key=timestamp + "\\n" + secret, msg=empty)), in the body."""
    data = json.loads(body)
    timestamp, sign = data["timestamp"], data["sign"]
    expected = base64.b64encode(hmac.new(f"{timestamp}\n{SECRET}".encode(), b"", hashlib.sha256).digest()).decode()
    return hmac.compare_digest(sign, expected) and fresh(int(timestamp))


@pytest.fixture
def dingtalk() -> Iterator[Receiver]:
    yield from serve(
        Receiver(dingtalk_check, {"errcode": 0, "errmsg": "ok"}, {"errcode": 310000, "errmsg": "sign not match"})
    )


@pytest.fixture
def feishu() -> Iterator[Receiver]:
    refused = {"code": 19021, "msg": "sign match fail or timestamp is not within one hour from current time"}
    yield from serve(Receiver(feishu_check, {"code": 0, "msg": "success"}, refused))


class Hook:
    """A webhook receiver holding the shared secret once it is shown."""

    secret = ""

    def check(self, _path: str, headers: dict[str, str], body: bytes) -> bool:
        parts = dict(part.split("=", 1) for part in headers["x-dpa-signature"].split(","))
        expected = hmac.new(self.secret.encode(), parts["t"].encode() + b"." + body, hashlib.sha256).hexdigest()
        return hmac.compare_digest(parts["v1"], expected) and fresh(int(parts["t"]))


@pytest.fixture
def hook() -> Iterator[tuple[Hook, Receiver]]:
    verifier = Hook()
    yield from ((verifier, r) for r in serve(Receiver(verifier.check, {}, {})))


@pytest.fixture
def settings(settings: Settings, tmp_path: Path) -> Settings:
    """The receivers listen on 127.0.0.1, which only this setting lets the service call."""
    return dataclasses.replace(
        settings,
        webhook_allow_private=True,
        webhook_key_file=str(tmp_path / "webhook.key"),
        webhook_max_attempts=3,
        outbox_dir=str(tmp_path / "outbox"),
    )


@pytest.fixture
def frozen() -> Iterator[time_machine.Traveller]:
    with time_machine.travel(WEEK_BEFORE, tick=True) as traveller:
        yield traveller


def owner_with_items_due(client: TestClient[Any], admin: Account, owner: Account) -> dict[str, Any]:
    """Two duties of the owner's due within the reminder steps (as in test_reminders)."""
    vendor = client.post("/api/vendors", json=vendor_body(owner_id=owner.id), headers=admin.headers).json()
    body = engagement_body(
        vendor["id"],
        name="Overseas support desk",
        leaves_china=True,
        storage_locations=[{"country": "SG"}],
        cross_border_recipients=[{"name": "Support Desk Pte. Ltd.", "country": "SG"}],
        cross_border_mechanism="standard_contract",
        cross_border_effective_on="2026-02-06",
        start_date="2026-03-02",
        end_date=None,
        owner_id=owner.id,
    )
    engagement = client.post("/api/engagements", json=body, headers=admin.headers)
    assert engagement.status_code == 201, engagement.text
    return dict(engagement.json())


def test_a_reminder_reaches_a_dingtalk_and_a_feishu_robot_signed_once(
    frozen: time_machine.Traveller,
    client: TestClient[Any],
    admin: Account,
    make_user: Callable[..., Account],
    settings: Settings,
    dingtalk: Receiver,
    feishu: Receiver,
) -> None:
    owner = make_user("owner", email="wang.wei@xingchi.example")
    mine = {"platform": "dingtalk", "url": f"{dingtalk.url}/robot/send?access_token=abc", "secret": SECRET}
    put = client.put("/api/users/me/chat-robot", json=mine, headers=owner.headers)
    assert put.status_code == 200, put.text
    assert put.json()["signed"] is True and "access_token" not in put.json()["url_hint"]  # the URL shown shortened
    team = {"platform": "feishu", "url": f"{feishu.url}/open-apis/bot/v2/hook/xyz", "secret": SECRET}
    assert client.put("/api/chat-robots/team", json=team, headers=admin.headers).status_code == 200
    assert client.put("/api/chat-robots/team", json=team, headers=owner.headers).status_code == 403
    engagement = owner_with_items_due(client, admin, owner)

    report = reminder_pass(settings, WEEK_BEFORE)
    assert sorted(report.sent) == ["robot:team", f"robot:user:{owner.id}", "wang.wei@xingchi.example"]
    [ding] = dingtalk.received
    assert ding.valid and ding.path.startswith("/robot/send?access_token=abc&timestamp=")
    markdown = ding.json["markdown"]
    assert ding.json["msgtype"] == "markdown" and "2 项合规事项待处理 2 compliance items due" in markdown["title"]
    assert "个人信息出境标准合同" in markdown["text"] and "File the cross-border standard contract" in markdown["text"]
    assert f"({settings.base_url}/obligations/" in markdown["text"]  # a link to the item's page
    [fei] = feishu.received
    assert fei.valid and fei.json["msg_type"] == "post"
    post = fei.json["content"]["post"]["zh_cn"]
    links = [cell["href"] for row in post["content"] for cell in row if cell["tag"] == "a"]
    assert len(links) == 2 and all(link.startswith(f"{settings.base_url}/obligations/") for link in links)
    assert engagement["name"] in json.dumps(post, ensure_ascii=False)

    again = reminder_pass(settings, WEEK_BEFORE + timedelta(hours=3))
    assert again.sent == [] and len(dingtalk.received) == len(feishu.received) == 1  # never twice


def test_a_robot_that_refuses_the_signature_is_a_dead_letter(
    frozen: time_machine.Traveller,
    client: TestClient[Any],
    admin: Account,
    make_user: Callable[..., Account],
    settings: Settings,
    dingtalk: Receiver,
) -> None:
    owner = make_user("owner")
    wrong = {"platform": "dingtalk", "url": f"{dingtalk.url}/robot/send?access_token=abc", "secret": "SECwrong"}
    assert client.put("/api/users/me/chat-robot", json=wrong, headers=owner.headers).status_code == 200
    owner_with_items_due(client, admin, owner)
    report = reminder_pass(settings, WEEK_BEFORE)
    assert report.dead == 1 and [r.valid for r in dingtalk.received] == [False]
    [letter] = client.get("/api/reminders/dead-letters", headers=admin.headers).json()["items"]
    assert letter["recipient"] == f"robot:user:{owner.id}" and "310000" in letter["last_error"]


def subscribe(
    client: TestClient[Any], headers: dict[str, str], url: str, events: list[str], path: str = "/api/webhooks"
) -> dict[str, Any]:
    created = client.post(path, json={"url": url, "events": events, "description": "ERP"}, headers=headers)
    assert created.status_code == 201, created.text
    body: dict[str, Any] = created.json()
    assert body["secret"].startswith("whsec_") and body["secret"].startswith(body["secret_hint"].rstrip("…"))
    return body


def deliver(settings: Settings, now: datetime) -> None:
    reminder_pass(settings, now)  # the worker's pass: reminders, then webhooks


def test_a_webhook_is_signed_retried_after_a_500_then_delivered_once(
    frozen: time_machine.Traveller,
    client: TestClient[Any],
    admin: Account,
    settings: Settings,
    hook: tuple[Hook, Receiver],
) -> None:
    verifier, receiver = hook
    endpoint = subscribe(client, admin.headers, f"{receiver.url}/dpa", ["vendor.created", "finding.raised"])
    verifier.secret = endpoint["secret"]
    listed = client.get("/api/webhooks", headers=admin.headers).json()["items"]
    assert [item["id"] for item in listed] == [endpoint["id"]] and "secret" not in listed[0]
    vendor = client.post("/api/vendors", json=vendor_body(), headers=admin.headers).json()
    start = datetime.now(UTC)

    receiver.answers = [500]
    deliver(settings, start)
    [first] = receiver.received
    assert first.valid and first.json["type"] == "vendor.created" and first.json["version"] == "2026-11-29"
    assert first.json["data"]["vendor"]["id"] == vendor["id"]
    assert first.json["data"]["url"] == f"{settings.base_url}/vendors/{vendor['id']}"
    [pending] = client.get("/api/webhooks/deliveries", headers=admin.headers).json()["items"]
    assert (pending["status"], pending["attempts"], pending["last_status"]) == ("pending", 1, 500)

    deliver(settings, start + timedelta(seconds=5))  # too soon: the backoff holds
    assert len(receiver.received) == 1
    deliver(settings, start + timedelta(hours=1))
    deliver(settings, start + timedelta(hours=2))
    assert len(receiver.received) == 2  # delivered once, never again
    second = receiver.received[1]
    assert second.valid and second.body == first.body  # the same event, the same bytes
    assert second.headers["x-dpa-event-id"] == first.headers["x-dpa-event-id"]
    [done] = client.get("/api/webhooks/deliveries", headers=admin.headers).json()["items"]
    assert (done["status"], done["attempts"], done["event_type"]) == ("delivered", 2, "vendor.created")


def test_dead_after_the_last_attempt_then_redelivered(
    frozen: time_machine.Traveller,
    client: TestClient[Any],
    admin: Account,
    settings: Settings,
    hook: tuple[Hook, Receiver],
) -> None:
    verifier, receiver = hook
    verifier.secret = subscribe(client, admin.headers, f"{receiver.url}/dpa", ["vendor.created"])["secret"]
    client.post("/api/vendors", json=vendor_body(), headers=admin.headers)
    start = datetime.now(UTC)
    receiver.always = 503
    for hours in range(5):
        deliver(settings, start + timedelta(hours=hours * 7))
    assert len(receiver.received) == settings.webhook_max_attempts == 3
    [dead] = client.get("/api/webhooks/deliveries", params={"status": "dead"}, headers=admin.headers).json()["items"]
    assert dead["attempts"] == 3 and dead["last_error"].startswith("answered 503")

    receiver.always = None
    again = client.post(f"/api/webhooks/deliveries/{dead['id']}/redeliver", headers=admin.headers)
    assert again.status_code == 202, again.text
    assert (again.json()["status"], again.json()["redelivery_of"]) == ("pending", dead["id"])
    deliver(settings, start + timedelta(days=2))
    assert len(receiver.received) == 4 and receiver.received[-1].valid
    assert receiver.received[-1].json["id"] == receiver.received[0].json["id"]
    statuses = {
        d["id"]: d["status"] for d in client.get("/api/webhooks/deliveries", headers=admin.headers).json()["items"]
    }
    assert statuses == {dead["id"]: "dead", again.json()["id"]: "delivered"}


def test_a_vendor_hears_of_its_own_rejection_with_the_reason_and_sees_only_its_deliveries(
    client: TestClient[Any],
    vendors: dict[str, Side],
    submit: Submit,
    dpo: Account,
    settings: Settings,
    hook: tuple[Hook, Receiver],
) -> None:
    verifier, receiver = hook
    a, b = vendors["a"], vendors["b"]
    refused = client.post(
        "/api/vendor/webhooks", json={"url": f"{receiver.url}/a", "events": ["finding.raised"]}, headers=a.headers
    )
    assert refused.status_code == 400 and "events" in refused.text  # a vendor hears of its own things only
    events = ["attestation.accepted", "attestation.rejected"]
    verifier.secret = subscribe(client, a.headers, f"{receiver.url}/a", events, path="/api/vendor/webhooks")["secret"]
    subscribe(client, b.headers, f"{receiver.url}/b", events, path="/api/vendor/webhooks")

    sent = submit(a, deletion(a.engagement_id, backups_covered=False)).json()
    reason = "Backups are not covered; delete them too and attest again."
    assert (
        client.post(f"/api/attestations/{sent['id']}/reject", json={"reason": reason}, headers=dpo.headers).status_code
        == 200
    )
    deliver(settings, datetime.now(UTC))

    [event] = receiver.received
    assert event.path == "/a" and event.valid
    assert event.json["type"] == "attestation.rejected"
    assert event.json["data"]["attestation"]["reason"] == reason
    assert event.json["data"]["url"] == f"{settings.base_url}/api/vendor/attestations/{sent['id']}"
    [mine] = client.get("/api/vendor/webhooks/deliveries", headers=a.headers).json()["items"]
    assert (mine["status"], mine["event_type"]) == ("delivered", "attestation.rejected")
    assert client.get("/api/vendor/webhooks/deliveries", headers=b.headers).json()["items"] == []
    assert client.post(f"/api/vendor/webhooks/deliveries/{mine['id']}/redeliver", headers=b.headers).status_code == 404
    assert client.get("/api/webhooks/deliveries", headers=a.headers).status_code in (401, 403)
    assert client.get("/api/webhooks", headers=dpo.headers).status_code == 403  # admins only

    # Attested again, and accepted: the acceptance reaches the vendor too, verified.
    resent = submit(a, deletion(a.engagement_id)).json()
    accepted = client.post(f"/api/attestations/{resent['id']}/accept", json={"reason": "ok"}, headers=dpo.headers)
    assert accepted.status_code == 200, accepted.text
    deliver(settings, datetime.now(UTC))
    assert [(r.path, r.valid, r.json["type"]) for r in receiver.received[1:]] == [("/a", True, "attestation.accepted")]
    assert receiver.received[1].json["data"]["attestation"]["id"] == resent["id"]


@pytest.mark.parametrize(
    "url",
    [
        "ftp://example.com/hook",
        "file:///etc/passwd",
        "http://127.0.0.1:9/hook",
        "http://localhost/hook",
        "http://10.0.0.8/hook",
        "http://169.254.169.254/latest/meta-data",
        "http://[::1]/hook",
        "https://user:pw@example.com/hook",
    ],
)
def test_urls_that_are_not_http_or_that_point_inside_are_refused(
    settings: Settings, clean_database: str, admin: Account, url: str
) -> None:
    strict = dataclasses.replace(settings, webhook_allow_private=False)
    with TestClient(app=create_app(strict)) as strict_client:
        hooked = strict_client.post(
            "/api/webhooks", json={"url": url, "events": ["vendor.created"]}, headers=admin.headers
        )
        assert hooked.status_code == 400, hooked.text
        assert hooked.json()["extra"][0]["key"] == "url"
        robot = strict_client.put("/api/chat-robots/dpo", json={"platform": "wecom", "url": url}, headers=admin.headers)
        assert robot.status_code == 400 and robot.json()["extra"][0]["key"] == "url"


def test_an_admin_subscribes_on_the_settings_page_and_reads_the_log(
    client: TestClient[Any], admin: Account, clean_database: str, settings: Settings, hook: tuple[Hook, Receiver]
) -> None:
    verifier, receiver = hook
    set_password(clean_database, admin.email)
    sign_in(client, admin.email)
    empty = client.get("/settings/webhooks")
    assert empty.status_code == 200 and "Webhook 订阅" in empty.text and "No subscriptions yet" in empty.text
    token = csrf_of(empty.text)
    refused = client.post("/settings/webhooks", data={"_csrf": token, "url": "gopher://x", "events": "vendor.created"})
    assert refused.status_code == 400 and "has-error" in refused.text  # beside its field
    url = f"{receiver.url}/erp"
    form = {"_csrf": token, "url": url, "events": ["vendor.created", "finding.raised"], "description": "ERP"}
    created = client.post("/settings/webhooks", data=form)
    assert created.status_code == 200, created.text
    shown = re.search(r'<code id="webhook-secret">(whsec_\w+)</code>', created.text)
    assert shown is not None
    verifier.secret = shown.group(1)
    assert verifier.secret not in client.get("/settings/webhooks").text  # shown once
    client.post("/api/vendors", json=vendor_body(), headers=admin.headers)
    deliver(settings, datetime.now(UTC))
    assert [r.valid for r in receiver.received] == [True]
    log = client.get("/settings/webhooks").text
    assert "vendor.created" in log and "已送达" in log and "delivered" in log and url in log


def test_a_duty_is_announced_due_on_its_day_and_overdue_after_once_each(
    frozen: time_machine.Traveller,
    client: TestClient[Any],
    admin: Account,
    make_user: Callable[..., Account],
    settings: Settings,
    hook: tuple[Hook, Receiver],
) -> None:
    verifier, receiver = hook
    events = ["obligation.due", "obligation.overdue"]
    verifier.secret = subscribe(client, admin.headers, f"{receiver.url}/due", events)["secret"]
    owner_with_items_due(client, admin, make_user("owner"))
    due_day = datetime(2026, 2, 27, 9, 0, tzinfo=WEEK_BEFORE.tzinfo)  # the standard-contract filing
    for now in (WEEK_BEFORE, due_day, due_day + timedelta(hours=2), due_day + timedelta(days=1)):
        frozen.move_to(now)
        deliver(settings, now)
        deliver(settings, now + timedelta(minutes=1))
    got = [(r.json["type"], r.json["data"]["obligation"]["due_on"]) for r in receiver.received]
    assert got == [("obligation.due", "2026-02-27"), ("obligation.overdue", "2026-02-27")]
    assert all(r.valid for r in receiver.received)


def test_people_set_their_robots_on_the_settings_page(
    frozen: time_machine.Traveller,
    client: TestClient[Any],
    admin: Account,
    make_user: Callable[..., Account],
    settings: Settings,
    clean_database: str,
    dingtalk: Receiver,
) -> None:
    owner = make_user("owner", email="zhao.lei@xingchi.example")
    set_password(clean_database, owner.email)
    sign_in(client, owner.email)
    empty = client.get("/settings/robots")
    assert empty.status_code == 200 and "我的群机器人" in empty.text
    assert "团队群机器人" not in empty.text  # the team's and the DPO's are the DPO's and admins'
    token = csrf_of(empty.text)
    url = f"{dingtalk.url}/robot/send?access_token=page"
    unsigned = client.post("/settings/robots/me", data={"_csrf": token, "platform": "dingtalk", "url": url})
    assert unsigned.status_code == 400 and 'id="e-secret"' in unsigned.text and url in unsigned.text
    assert client.get("/api/users/me/chat-robot", headers=owner.headers).status_code == 404  # nothing stored
    assert (
        client.post("/settings/robots/team", data={"_csrf": token, "platform": "wecom", "url": url}).status_code == 403
    )
    saved = client.post(
        "/settings/robots/me", data={"_csrf": token, "platform": "dingtalk", "url": url, "secret": SECRET}
    )
    assert saved.status_code == 200 and "已保存" in saved.text and "钉钉 DingTalk" in saved.text
    assert SECRET not in saved.text and "access_token=page" not in saved.text  # the URL shown shortened
    owner_with_items_due(client, admin, owner)
    report = reminder_pass(settings, WEEK_BEFORE)
    assert f"robot:user:{owner.id}" in report.sent
    [ding] = dingtalk.received
    assert ding.valid and "access_token=page" in ding.path
    removed = client.post("/settings/robots/me/delete", data={"_csrf": token})
    assert (
        removed.status_code == 200 and client.get("/api/users/me/chat-robot", headers=owner.headers).status_code == 404
    )
