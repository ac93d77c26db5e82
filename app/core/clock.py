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


def local_time(moment: datetime) -> datetime:
    """An instant in the deployment's zone (for showing it)."""
    return moment.astimezone(_zone)
