"""Each user's due dates as a private iCalendar subscription (Outlook, DingTalk, Apple).

The URL carries a secret token (dpc_…), stored only as its SHA-256 like an API token. A user
creates, rotates (creates again) or revokes their own; the URL is shown once. The feed lists
the open obligations the user owns and, for a DPO, the company's own duties (those with no
engagement): all-day events with stable UIDs and a reminder the day before.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from icalendar import Alarm, Calendar, Event
from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.accounts.models import User
from app.audit import services as audit
from app.audit.schemas import AuditAction, AuditObject
from app.core import security
from app.core.actor import Actor, Role
from app.core.errors import NotFoundError, PermissionDeniedError
from app.core.types import utcnow
from app.engagements.models import Engagement
from app.obligations.kinds import SPECS
from app.obligations.models import Obligation
from app.obligations.schemas import ObligationStatus
from app.reminders.models import CalendarFeed
from app.vendors.models import Vendor

PRODID = "-//dpa//PIPL due dates//ZH"
NAME = "PIPL 到期事项 / PIPL due dates"
REFRESH = timedelta(hours=1)  # how often a subscriber is asked to fetch again
ALARM_BEFORE = timedelta(days=1)
COMPANY_WIDE = ("全公司", "Company-wide")
Row = tuple[Obligation, Engagement | None, Vendor | None]


@dataclass(frozen=True)
class Subscription:
    token: str  # shown once
    feed: CalendarFeed

    def url(self, base_url: str) -> str:
        return calendar_url(base_url, self.token)


def calendar_url(base_url: str, token: str) -> str:
    return f"{base_url}/calendar/{token}.ics"


def _own(actor: Actor) -> uuid.UUID:
    if actor.user_id is None:
        raise PermissionDeniedError(
            "a calendar belongs to a user: use a user's token", zh="日历订阅属于用户：请使用用户的令牌"
        )
    return actor.user_id


async def get(session: AsyncSession, *, actor: Actor) -> CalendarFeed:
    feed = await session.get(CalendarFeed, _own(actor))
    if feed is None:
        raise NotFoundError(
            "no calendar subscription: create one with POST /api/users/me/calendar", zh="还没有日历订阅"
        )
    return feed


async def create(session: AsyncSession, *, actor: Actor) -> Subscription:
    """A new subscription URL for the acting user; an existing one stops working at once."""
    user_id = _own(actor)
    old = await session.get(CalendarFeed, user_id)
    if old is not None:
        await session.delete(old)
        await session.flush()
    token = security.new_token(security.CALENDAR_TOKEN_PREFIX)
    feed = CalendarFeed(user_id=user_id, token_hash=security.token_hash(token), hint=security.token_hint(token))
    session.add(feed)
    await session.flush()
    changes = {"hint": feed.hint, "replaced": old.hint if old is not None else None}
    audit.record(session, actor, AuditAction.create, AuditObject.calendar_feed, user_id, changes)
    return Subscription(token=token, feed=feed)


async def delete(session: AsyncSession, *, actor: Actor) -> None:
    feed = await get(session, actor=actor)
    await session.delete(feed)
    audit.record(session, actor, AuditAction.delete, AuditObject.calendar_feed, feed.user_id, {"hint": feed.hint})


async def authenticate(session: AsyncSession, *, token: str) -> User | None:
    """The active user a calendar token belongs to, or None (malformed tokens never reach the database)."""
    if not security.is_well_formed(token, security.CALENDAR_TOKEN_PREFIX):
        return None
    query = (
        select(User)
        .join(CalendarFeed, col(CalendarFeed.user_id) == col(User.id))
        .where(col(CalendarFeed.token_hash) == security.token_hash(token), col(User.is_active))
    )
    user: User | None = (await session.scalars(query)).first()
    return user


async def due_dates(session: AsyncSession, *, user: User) -> list[Row]:
    """The open obligations the user owns; a DPO's also the company's own duties."""
    mine = col(Obligation.owner_id) == user.id
    scope = or_(mine, col(Obligation.engagement_id).is_(None)) if user.role == Role.dpo else mine
    query = (
        select(Obligation, Engagement, Vendor)
        .outerjoin(Engagement, col(Engagement.id) == col(Obligation.engagement_id))
        .outerjoin(Vendor, col(Vendor.id) == col(Obligation.vendor_id))
        .where(col(Obligation.status) == ObligationStatus.open, scope)
        .order_by(col(Obligation.due_on), col(Obligation.id))
    )
    return [(o, e, v) for o, e, v in (await session.execute(query)).all()]


def render(rows: list[Row], *, base_url: str, now: datetime | None = None) -> bytes:
    """The feed as iCalendar (RFC 5545): one all-day event per obligation, UID stable across fetches."""
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "PUBLISH")
    calendar.add("x-wr-calname", NAME)
    calendar.add("x-wr-timezone", "Asia/Shanghai")
    calendar.add("refresh-interval", REFRESH, parameters={"VALUE": "DURATION"})
    calendar.add("x-published-ttl", REFRESH)
    stamp = now or utcnow()
    for obligation, engagement, vendor in rows:
        calendar.add_component(_event(obligation, engagement, vendor, base_url=base_url, stamp=stamp))
    ical: bytes = calendar.to_ical()
    return ical


def _event(
    obligation: Obligation,
    engagement: Engagement | None,
    vendor: Vendor | None,
    *,
    base_url: str,
    stamp: datetime,
) -> Event:
    spec = SPECS[obligation.kind]
    vendor_name = (vendor.legal_name_zh or vendor.legal_name_en) if vendor else COMPANY_WIDE[0]
    engagement_name = engagement.name if engagement else COMPANY_WIDE[1]
    link = f"{base_url}/api/obligations/{obligation.id}"
    provisional = " (暂定 / provisional)" if obligation.provisional else ""
    event = Event()
    # The digests' deadlines.ics uses the same UID: an event imported from a mail and the same
    # event in the subscription are one, whatever BASE_URL says.
    event.add("uid", f"{obligation.id}@dpa")
    event.add("dtstamp", stamp)
    event.add("last-modified", obligation.updated_at)
    event.add("dtstart", obligation.due_on)
    event.add("dtend", obligation.due_on + timedelta(days=1))
    event.add("transp", "TRANSPARENT")
    event.add("summary", f"{spec.what_zh} / {spec.what_en}{provisional}")
    event.add(
        "description",
        "\n".join(
            [
                f"{spec.what_zh}",
                f"受托方：{vendor_name}；委托处理：{engagement_name}",
                f"截止日期：{_day(obligation.due_on)}{provisional}；依据：{obligation.article}（{obligation.rule_id}）",
                "",
                f"{spec.what_en}",
                f"Vendor: {vendor_name}; engagement: {engagement_name}",
                f"Due: {_day(obligation.due_on)}{provisional}; basis: {obligation.article} ({obligation.rule_id})",
                "",
                link,
            ]
        ),
    )
    event.add("url", link)
    event.add("categories", ["PIPL"])
    alarm = Alarm()
    alarm.add("action", "DISPLAY")
    alarm.add("description", f"明天到期 / Due tomorrow: {spec.what_zh} / {spec.what_en}")
    alarm.add("trigger", -ALARM_BEFORE)
    event.add_component(alarm)
    return event


def _day(day: date) -> str:
    return day.isoformat()
