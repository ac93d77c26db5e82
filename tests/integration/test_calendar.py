"""Calendar subscriptions: a private iCalendar URL per user, its events the user's open
obligations (a DPO's also the company's own), revocable, never another user's."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from icalendar import Calendar
from litestar.testing import TestClient

from app.core.ratelimit import RateLimiter
from app.core.settings import RateLimit
from tests.conftest import Account
from tests.factories import engagement_body, vendor_body

FACES = {"pi_categories": ["facial_recognition"], "individuals_count_as_of": "2026-01-09"}


def _open_obligations(client: TestClient[Any], admin: Account, **query: str) -> dict[str, dict[str, Any]]:
    params = {"status": "open", "limit": "200", **query}
    items = client.get("/api/obligations", params=params, headers=admin.headers).json()["items"]
    return {item["id"]: item for item in items}


def _subscribe(client: TestClient[Any], account: Account) -> str:
    response = client.post("/api/users/me/calendar", headers=account.headers)
    assert response.status_code == 201, response.text
    url: str = response.json()["url"]
    assert url.startswith("http://127.0.0.1:8000/calendar/dpc_") and url.endswith(".ics")
    return url.removeprefix("http://127.0.0.1:8000")


def _events(client: TestClient[Any], path: str) -> dict[str, Any]:
    response = client.get(path)  # no session, no header: the URL is the credential
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "text/calendar; charset=utf-8"
    calendar = Calendar.from_ical(response.content)
    assert calendar["VERSION"] == "2.0" and calendar["PRODID"]
    return {str(event["UID"]): event for event in calendar.walk("VEVENT")}


@pytest.fixture
def people(client: TestClient[Any], admin: Account, make_user: Callable[..., Account]) -> dict[str, Account]:
    owner, other, dpo = make_user("owner"), make_user("owner"), make_user("dpo")
    vendor = client.post("/api/vendors", json=vendor_body(), headers=admin.headers).json()
    for account, name, extra in ((owner, "Cameras", FACES), (other, "Hosting", {})):
        body = engagement_body(vendor["id"], name=name, owner_id=account.id, individuals_count=110_000, **extra)
        response = client.post("/api/engagements", json=body, headers=admin.headers)
        assert response.status_code == 201, response.text
    return {"owner": owner, "other": other, "dpo": dpo, "admin": admin}


def test_a_subscription_lists_the_users_open_obligations_as_all_day_events(
    client: TestClient[Any], people: dict[str, Account]
) -> None:
    owner, other, admin = people["owner"], people["other"], people["admin"]
    mine = _open_obligations(client, admin, owner_id=owner.id)
    theirs = _open_obligations(client, admin, owner_id=other.id)
    assert mine and theirs

    path = _subscribe(client, owner)
    events = _events(client, path)
    assert set(events) == {f"{oid}@dpa" for oid in mine}
    for uid, event in events.items():
        obligation = mine[uid.removesuffix("@dpa")]
        assert event["DTSTART"].dt.isoformat() == obligation["due_on"]  # a date: an all-day event
        assert (event["DTEND"].dt - event["DTSTART"].dt).days == 1
        assert event["DTSTAMP"] is not None
        summary = str(event["SUMMARY"])
        assert summary.index(" / ") > 0 and any("\u4e00" <= ch <= "\u9fff" for ch in summary.split(" / ")[0])
        assert str(event["URL"]).endswith(f"/api/obligations/{obligation['id']}")
        alarms = event.walk("VALARM")
        assert len(alarms) == 1 and str(alarms[0]["ACTION"]) == "DISPLAY"
    assert _events(client, path).keys() == events.keys()  # the UIDs are stable

    # one user's calendar never shows another's obligations
    assert not set(events) & {f"{oid}@dpa" for oid in theirs}
    their_events = _events(client, _subscribe(client, other))
    assert set(their_events) == {f"{oid}@dpa" for oid in theirs}


def test_a_dpo_sees_the_company_wide_duties(client: TestClient[Any], people: dict[str, Account]) -> None:
    company = _open_obligations(client, people["admin"], company="true")
    assert company  # the face filing: 110,000 faces
    events = _events(client, _subscribe(client, people["dpo"]))
    assert set(events) == {f"{oid}@dpa" for oid in company}
    owner_events = _events(client, _subscribe(client, people["owner"]))
    assert not set(owner_events) & set(events)


def test_rotating_or_revoking_stops_the_old_url_with_a_plain_404(
    client: TestClient[Any], people: dict[str, Account]
) -> None:
    owner = people["owner"]
    first = _subscribe(client, owner)
    shown = client.get("/api/users/me/calendar", headers=owner.headers).json()
    assert set(shown) == {"hint", "created_at"} and shown["hint"].startswith("dpc_")
    second = _subscribe(client, owner)
    assert first != second
    gone = client.get(first)
    assert gone.status_code == 404
    _events(client, second)

    assert client.delete("/api/users/me/calendar", headers=owner.headers).status_code == 204
    revoked = client.get(second)
    wrong = client.get("/calendar/dpc_nonsense.ics")
    assert revoked.status_code == wrong.status_code == 404
    same = [{k: v for k, v in answer.json().items() if k != "request_id"} for answer in (revoked, wrong, gone)]
    assert same[0] == same[1] == same[2]  # never says which (each has its own request id)
    assert client.get("/api/users/me/calendar", headers=owner.headers).status_code == 404
    assert client.delete("/api/users/me/calendar", headers=owner.headers).status_code == 404
    # the token is stored only hashed, and the audit trail names its hint, never the token
    trail = client.get("/api/audit", params={"object_type": "calendar_feed"}, headers=people["admin"].headers)
    assert trail.status_code == 200 and second.removeprefix("/calendar/").removesuffix(".ics") not in trail.text


def test_a_calendar_token_opens_nothing_else(client: TestClient[Any], people: dict[str, Account]) -> None:
    token = _subscribe(client, people["owner"]).removeprefix("/calendar/").removesuffix(".ics")
    answer = client.get("/api/obligations", headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == 401
    assert client.post("/api/users/me/calendar").status_code == 401  # creating one needs a user's token


def test_guessing_calendar_urls_is_throttled(client: TestClient[Any], people: dict[str, Account]) -> None:
    client.app.state.failed_authentication.limiter = RateLimiter(RateLimit(3, 60))
    answers = [client.get(f"/calendar/dpc_guess{n}.ics").status_code for n in range(5)]
    assert answers == [404, 404, 404, 429, 429]
