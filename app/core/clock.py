"""The deployment's time zone: deadlines and "today" are local dates (default Asia/Shanghai)."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from app.core.settings import DEFAULT_TZ

_zone = ZoneInfo(DEFAULT_TZ)


def configure(tz: str) -> None:
    """Set once at start-up from the TZ setting."""
    global _zone
    _zone = ZoneInfo(tz)


def today() -> date:
    return datetime.now(_zone).date()


def years_after(start: date, years: int) -> date:
    """The same day `years` later; 29 February becomes 28 February."""
    try:
        return start.replace(year=start.year + years)
    except ValueError:
        return start.replace(year=start.year + years, day=28)


def local_date(moment: datetime) -> date:
    """The deployment's calendar date at an instant."""
    return moment.astimezone(_zone).date()


def zone() -> ZoneInfo:
    """The deployment's time zone."""
    return _zone


def local_text(moment: datetime) -> str:
    """A moment as people here read it, the zone named: 2026-11-29 18:32 Asia/Shanghai (UTC+08:00)."""
    local = moment.astimezone(_zone)
    offset = local.strftime("%z")
    return f"{local:%Y-%m-%d %H:%M} {_zone.key} (UTC{offset[:3]}:{offset[3:]})"


def local_time(moment: datetime) -> datetime:
    """An instant in the deployment's zone (for showing it)."""
    return moment.astimezone(_zone)
