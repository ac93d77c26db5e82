"""A year of deadlines walked one day at a time with a frozen clock: the reminders of one
standard-contract filing arrive exactly on the policy's days, across the Spring Festival."""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Any

import time_machine
from litestar.testing import TestClient

from app.core.settings import Settings, parse_smtp_url
from tests.conftest import Account, MailServer
from tests.factories import engagement_body, vendor_body
from tests.integration.test_reminders import SHANGHAI, reminder_pass


def test_a_year_of_reminders_for_one_filing(
    client: TestClient[Any],
    admin: Account,
    make_user: Callable[..., Account],
    settings: Settings,
    mail_server: MailServer,
) -> None:
    mailing = dataclasses.replace(settings, smtp=parse_smtp_url(mail_server.url))
    start = datetime(2026, 1, 1, 9, 0, tzinfo=SHANGHAI)
    with time_machine.travel(start, tick=False) as traveller:
        owner = make_user("owner", email="owner@xingchi.example")
        make_user("dpo", email="dpo@xingchi.example")
        vendor = client.post("/api/vendors", json=vendor_body(), headers=admin.headers).json()
        body = engagement_body(
            vendor["id"],
            leaves_china=True,
            storage_locations=[{"country": "SG"}],
            cross_border_recipients=[{"name": "Support Desk Pte. Ltd.", "country": "SG"}],
            cross_border_mechanism="standard_contract",
            cross_border_effective_on="2026-02-06",
            start_date=None,
            end_date=None,
            owner_id=owner.id,
        )
        engagement = client.post("/api/engagements", json=body, headers=admin.headers).json()
        [filing] = client.get(
            "/api/obligations", params={"engagement_id": engagement["id"]}, headers=admin.headers
        ).json()["items"]
        # 10 working days from 6 Feb: the Spring Festival (15-23 Feb) is off, Saturday 14 Feb is worked.
        assert (filing["kind"], filing["due_on"]) == ("standard_contract_filing", "2026-02-27")

        days: dict[str, list[date]] = defaultdict(list)
        day = start
        while day.year == 2026:
            traveller.move_to(day)
            if day.date() == date(2026, 3, 20):
                completed = client.post(
                    f"/api/obligations/{filing['id']}/complete",
                    json={"reference": "沪网信备 2026-0042"},
                    headers=owner.headers,
                )
                assert completed.status_code == 200, completed.text
            for recipient in reminder_pass(mailing, day).sent:
                days[recipient].append(day.date())
            day += timedelta(days=1)

    def on(*dates: str) -> list[date]:
        return [date.fromisoformat(f"2026-{value}") for value in dates]

    assert days["owner@xingchi.example"] == on(
        "01-28",  # 30 days before
        "02-13",  # 14
        "02-20",  # 7
        "02-26",  # 1
        "02-27",  # the due day
        "03-02",  # 3 days overdue
        "03-05",  # 6
        "03-06",  # 7: escalated
        "03-08",  # 9
        "03-11",
        "03-14",
        "03-17",  # the last: it was filed on 20 March
    )
    assert days["dpo@xingchi.example"] == on("03-06", "03-08", "03-11", "03-14", "03-17")
    assert len(mail_server.handler.received) == 17
