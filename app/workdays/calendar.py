"""China's working-day calendar: State Council holidays and make-up working weekends.

The dates come from the `holidays` package, which carries each year's announcement (the
State Council publishes the next year's schedule around November). A year without
announced make-up days is not announced yet: the package estimates its holidays, and a
deadline falling in it is marked provisional, to be recomputed when the data arrives.
An administrator's override of a single day wins over both.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import cache

import holidays

# Far enough either way for any deadline the registry computes.
MAX_STEPS = 5 * 366


@cache
def _china(year: int) -> holidays.HolidayBase:
    return holidays.country_holidays("CN", years=year)


@cache
def announced_through(today_year: int) -> int:
    """The last year whose make-up working days are known (so whose schedule was announced)."""
    years = range(today_year - 1, today_year + 4)
    announced = [year for year in years if _china(year).weekend_workdays]
    return max(announced, default=today_year - 1)


@dataclass(frozen=True)
class WorkingCalendar:
    reference_year: int  # the current year: which years count as announced depends on it
    overrides: Mapping[date, bool] = field(default_factory=dict)  # day -> is a working day

    def is_working_day(self, day: date) -> bool:
        if day in self.overrides:
            return self.overrides[day]
        return _china(day.year).is_working_day(day)

    def add_working_days(self, start: date, count: int) -> date:
        """The `count`-th working day after `start` (before it, for a negative count)."""
        step = 1 if count >= 0 else -1
        day, left = start, abs(count)
        for _ in range(MAX_STEPS):
            if left == 0:
                return day
            day += timedelta(days=step)
            if self.is_working_day(day):
                left -= 1
        raise ValueError(f"{count} working days from {start} is out of range")

    def provisional(self, *days: date) -> bool:
        """Whether a count between these days crosses a year whose holidays are not announced yet."""
        return max(days).year > announced_through(self.reference_year)
