"""Reminders against a real SMTP server: digests in both languages with an .ics, nothing
lost while the server is down, nothing sent twice, refusals retried or dead-lettered."""

from __future__ import annotations

import asyncio
import dataclasses
import email.policy
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from email import message_from_bytes
from email.message import EmailMessage
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import icalendar
import pytest
import time_machine
from litestar.testing import TestClient

from app import worker
from app.core.database import create_engine
from app.core.settings import Settings, parse_smtp_url
from app.main import create_app
from app.reminders.services import Report
from tests.conftest import Account, MailServer
from tests.factories import engagement_body, vendor_body

SHANGHAI = ZoneInfo("Asia/Shanghai")
WEEK_BEFORE = datetime(2026, 2, 20, 9, 0, tzinfo=SHANGHAI)  # the standard-contract filing below is due 27 Feb


def body_of(message: EmailMessage, kind: str) -> str:
    part = message.get_body((kind,))
    assert part is not None, f"no {kind} part"
    return str(part.get_content())


def reminder_pass(settings: Settings, now: datetime, *, dry_run: bool = False) -> Report:
    async def go() -> Report:
        engine = create_engine(settings.database_url)
        try:
            return await worker.one_pass(engine, settings, now=now, dry_run=dry_run)
        finally:
            await engine.dispose()

    return asyncio.run(go())


@pytest.fixture
def frozen() -> Iterator[time_machine.Traveller]:
    """Everything (the API, "today", the derivation) happens on 20 Feb 2026, 09:00 in Shanghai."""
    with time_machine.travel(WEEK_BEFORE, tick=True) as traveller:
        yield traveller


@pytest.fixture
def mailing(settings: Settings, mail_server: MailServer) -> Settings:
    return dataclasses.replace(settings, smtp=parse_smtp_url(mail_server.url), mail_from="dpa <dpa@xingchi.example>")


@pytest.fixture
def registry(
    frozen: time_machine.Traveller,
    client: TestClient[Any],
    admin: Account,
    make_user: Callable[..., Account],
) -> dict[str, Any]:
    """An owner with two things due: a standard-contract filing (27 Feb) and a PIPIA (2 Mar)."""
    owner = make_user("owner", email="wang.wei@xingchi.example")
    dpo = make_user("dpo", email="dpo@xingchi.example")
    vendor = client.post(
        "/api/vendors",
        json=vendor_body(legal_name_zh="慧眼视觉 <script>alert(1)</script>", owner_id=owner.id),
        headers=admin.headers,
    ).json()
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
    engagement = client.post("/api/engagements", json=body, headers=admin.headers).json()
    return {"owner": owner, "dpo": dpo, "vendor": vendor, "engagement": engagement}


def test_one_digest_in_both_languages_with_its_calendar_and_only_once(
    registry: dict[str, Any], mailing: Settings, mail_server: MailServer
) -> None:
    report = reminder_pass(mailing, WEEK_BEFORE)
    assert report.sent == ["wang.wei@xingchi.example"]
    [received] = mail_server.handler.received
    assert received.recipients == ["wang.wei@xingchi.example"]
    message = received.message
    assert message["Subject"] == "[dpa] 2 项合规事项待处理 / 2 compliance items due"
    assert message["From"] == "dpa <dpa@xingchi.example>"
    text = body_of(message, "plain")
    html = body_of(message, "html")
    for part in (text, html):
        assert "个人信息出境标准合同生效后10个工作日内" in part and "File the cross-border standard contract" in part
        assert "2026-02-27" in part and "还有 7 天" in part and "due in 7 days" in part
        assert "委托处理开始前完成个人信息保护影响评估" in part and "2026-03-02" in part
        assert f"{mailing.base_url}/obligations/" in part  # the page, through sign-in when needed
    assert "<script>alert(1)</script>" in text  # plain text is plain
    assert "<script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html  # HTML is escaped
    [attachment] = list(message.iter_attachments())
    assert attachment.get_filename() == "deadlines.ics" and attachment.get_content_type() == "text/calendar"
    events = icalendar.Calendar.from_ical(attachment.get_content()).walk("VEVENT")
    assert sorted(str(event.decoded("dtstart")) for event in events) == ["2026-02-27", "2026-03-02"]

    again = reminder_pass(mailing, WEEK_BEFORE + timedelta(hours=3))
    assert again.sent == [] and len(mail_server.handler.received) == 1


def test_the_server_down_for_a_day_loses_nothing_and_sends_nothing_twice(
    registry: dict[str, Any], mailing: Settings, mail_server: MailServer, frozen: time_machine.Traveller
) -> None:
    mail_server.stop()
    down = reminder_pass(mailing, WEEK_BEFORE)
    assert (down.sent, down.retried) == ([], 1)
    for hours in range(1, 24, 4):  # the worker keeps trying through the day
        frozen.move_to(WEEK_BEFORE + timedelta(hours=hours))
        assert reminder_pass(mailing, WEEK_BEFORE + timedelta(hours=hours)).sent == []
    mail_server.start()
    next_day = WEEK_BEFORE + timedelta(days=1)
    frozen.move_to(next_day)
    back = reminder_pass(mailing, next_day)
    assert back.sent == ["wang.wei@xingchi.example"]
    assert reminder_pass(mailing, next_day + timedelta(hours=1)).sent == []
    [received] = mail_server.handler.received
    assert "due in 6 days" in body_of(received.message, "plain")  # written when sent


def test_421_is_retried_with_backoff_until_250(
    registry: dict[str, Any], mailing: Settings, mail_server: MailServer
) -> None:
    mail_server.handler.refusals = ["421 Service not available, try later"] * 3
    now, outcomes = WEEK_BEFORE, []
    for _ in range(6):
        report = reminder_pass(mailing, now)
        outcomes.append((len(report.sent), report.retried))
        now += timedelta(hours=2)  # past any backoff so far
    assert outcomes == [(0, 1), (0, 1), (0, 1), (1, 0), (0, 0), (0, 0)]
    [received] = mail_server.handler.received
    # Every attempt carried the same Message-ID, so a duplicate after a crash is recognisable.
    assert mail_server.handler.refused == [received.message["Message-ID"]] * 3
    assert received.message["Message-ID"].endswith("@xingchi.example>")


def test_a_retry_waits_for_its_backoff(registry: dict[str, Any], mailing: Settings, mail_server: MailServer) -> None:
    mail_server.handler.refusals = ["451 Try again"]
    assert reminder_pass(mailing, WEEK_BEFORE).retried == 1
    assert reminder_pass(mailing, WEEK_BEFORE + timedelta(seconds=10)).sent == []  # too soon
    assert reminder_pass(mailing, WEEK_BEFORE + timedelta(minutes=5)).sent == ["wang.wei@xingchi.example"]


def test_550_goes_to_the_dead_letters(
    registry: dict[str, Any], mailing: Settings, mail_server: MailServer, client: TestClient[Any]
) -> None:
    mail_server.handler.refuse_always = "550 No such user here"
    report = reminder_pass(mailing, WEEK_BEFORE)
    assert (report.sent, report.dead) == ([], 1)
    assert reminder_pass(mailing, WEEK_BEFORE + timedelta(days=1)).dead == 0  # never retried
    dpo = registry["dpo"]
    [letter] = client.get("/api/reminders/dead-letters", headers=dpo.headers).json()["items"]
    assert letter["recipient"] == "wang.wei@xingchi.example" and letter["last_error"].startswith("550")
    dead = client.get("/api/reminders", params={"status": "dead"}, headers=dpo.headers).json()["items"]
    assert sorted(item["step"] for item in dead) == ["before-14", "before-7"]  # the PIPIA, the filing
    assert client.get("/api/reminders/dead-letters", headers=registry["owner"].headers).status_code == 403


def test_a_reminder_is_queued_with_the_change_that_makes_it_due_and_dropped_when_closed(
    registry: dict[str, Any], mailing: Settings, mail_server: MailServer, client: TestClient[Any], admin: Account
) -> None:
    queued = client.get("/api/reminders", params={"status": "queued"}, headers=registry["dpo"].headers).json()["items"]
    # Queued by the engagement's creation: the filing (in 7 days) and the PIPIA (in 10).
    assert sorted(item["step"] for item in queued) == ["before-14", "before-7"]
    [filing] = client.get(
        "/api/obligations", params={"kind": "standard_contract_filing"}, headers=admin.headers
    ).json()["items"]
    done = client.post(f"/api/obligations/{filing['id']}/complete", json={"reference": "filed"}, headers=admin.headers)
    assert done.status_code == 200
    reminder_pass(mailing, WEEK_BEFORE)
    [received] = mail_server.handler.received
    assert received.message["Subject"].startswith("[dpa] 1 项")  # the PIPIA only
    assert "标准合同" not in body_of(received.message, "plain")


def test_without_smtp_the_messages_are_eml_files(registry: dict[str, Any], settings: Settings, tmp_path: Path) -> None:
    local = dataclasses.replace(settings, smtp=None, outbox_dir=str(tmp_path / "outbox"))
    assert reminder_pass(local, WEEK_BEFORE).sent == ["wang.wei@xingchi.example"]
    [path] = list((tmp_path / "outbox").glob("*.eml"))
    message = message_from_bytes(path.read_bytes(), policy=email.policy.default)
    assert message["To"] == "wang.wei@xingchi.example"
    assert "compliance items due" in message["Subject"]


def test_dry_run_shows_and_changes_nothing(
    registry: dict[str, Any], mailing: Settings, mail_server: MailServer, client: TestClient[Any]
) -> None:
    dry = reminder_pass(mailing, WEEK_BEFORE, dry_run=True)
    assert [message["To"] for message in dry.messages] == ["wang.wei@xingchi.example"]
    assert mail_server.handler.received == []
    assert reminder_pass(mailing, WEEK_BEFORE).sent == ["wang.wei@xingchi.example"]


def test_escalation_copies_the_dpo(registry: dict[str, Any], mailing: Settings, mail_server: MailServer) -> None:
    late = datetime(2026, 3, 6, 9, 0, tzinfo=SHANGHAI)  # the filing is 7 days overdue
    with time_machine.travel(late, tick=True):
        report = reminder_pass(mailing, late)
    assert sorted(report.sent) == ["dpo@xingchi.example", "wang.wei@xingchi.example"]
    to_dpo = next(r for r in mail_server.handler.received if r.recipients == ["dpo@xingchi.example"])
    body = body_of(to_dpo.message, "plain")
    assert "已逾期 7 天" in body and "7 days overdue" in body
    # The DPO's copy says whose item it escalates; the owner's says the DPO was copied (issue 15).
    assert "升级提醒：此为 wang.wei@xingchi.example 负责的事项" in body
    assert "Escalation of wang.wei@xingchi.example's item, 7 days overdue, copied to you." in body
    assert "escalated to the PI protection officer" not in body and "You own these items" not in body
    to_owner = next(r for r in mail_server.handler.received if r.recipients == ["wang.wei@xingchi.example"])
    owner_body = body_of(to_owner.message, "plain")
    assert "已抄送个人信息保护负责人" in owner_body and "the PI protection officer has been copied" in owner_body
    assert "You own these items." in owner_body and "Escalation of" not in owner_body


def test_a_digest_comes_from_the_company_says_how_to_close_each_item_and_alarms(
    registry: dict[str, Any], mailing: Settings, mail_server: MailServer, client: TestClient[Any], admin: Account
) -> None:
    profile = {
        "legal_name_zh": "上海星驰汽车销售有限公司",
        "legal_name_en": "Shanghai Xingchi Automobile Sales Co., Ltd.",
        "unified_social_credit_code": "91310000MA1FL3XC0D",
        "address": "上海市闵行区虹梅路 1888 号",
    }
    assert client.put("/api/handler", json=profile, headers=admin.headers).status_code == 200
    settings = dataclasses.replace(mailing, mail_reply_to="个人信息保护 <dpo@xingchi.example>")
    assert reminder_pass(settings, WEEK_BEFORE).sent == ["wang.wei@xingchi.example"]
    [received] = mail_server.handler.received
    message = received.message
    # (the parser may join the header's encoded words with a space)
    assert "".join(str(message["From"]).split()) == "上海星驰汽车销售有限公司个人信息保护<dpa@xingchi.example>"
    assert "dpo@xingchi.example" in str(message["Reply-To"])
    text, html = body_of(message, "plain"), body_of(message, "html")
    for part in (text, html):
        assert "上海星驰汽车销售有限公司" in part and "上海市闵行区虹梅路 1888 号" in part  # the footer
        assert "您是以上事项的负责人。" in part and "You own these items." in part  # why they receive it
        assert "在事项页面标记完成并填写文号" in part and "mark it done on its page" in part  # what closes it
        assert f"{settings.base_url}/obligations/" in part  # its page
    [attachment] = list(message.iter_attachments())
    calendar = icalendar.Calendar.from_ical(attachment.get_content())
    alarms = calendar.walk("VALARM")
    assert len(alarms) == 2 and all(str(alarm["action"]) == "DISPLAY" for alarm in alarms)
    assert all(alarm.decoded("trigger") == timedelta(hours=-15) for alarm in alarms)


def test_without_a_reply_to_setting_replies_go_to_the_companys_officer(
    registry: dict[str, Any], mailing: Settings, mail_server: MailServer, client: TestClient[Any], admin: Account
) -> None:
    """MAIL_REPLY_TO unset: a reader who answers a reminder reaches the PI protection officer the
    company's profile names, not the sending robot (issue 15 item 6)."""
    profile = {
        "legal_name_zh": "上海星驰汽车销售有限公司",
        "unified_social_credit_code": "91310000MA1FL3XC0D",
        "pi_protection_officer_name": "张敏",
        "pi_protection_officer_email": "zhang.min@xingchi.example",
    }
    assert client.put("/api/handler", json=profile, headers=admin.headers).status_code == 200
    assert mailing.mail_reply_to is None
    assert reminder_pass(mailing, WEEK_BEFORE).sent == ["wang.wei@xingchi.example"]
    [received] = mail_server.handler.received
    assert "zhang.min@xingchi.example" in str(received.message["Reply-To"])
    assert "Replies go to" in body_of(received.message, "plain")


def test_the_app_starts_with_a_policy_from_the_settings(settings: Settings) -> None:
    custom = dataclasses.replace(settings, reminder_days_before=(3,))
    with TestClient(app=create_app(custom)):
        from app.reminders.policy import current

        assert current().days_before == (3,)
    create_app(settings)  # back to the default for the other tests
