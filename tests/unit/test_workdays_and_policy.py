"""China's working days and the reminder policy, against dates from the State Council's
2026 holiday notice (国务院办公厅关于2026年部分节假日安排的通知)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from app.reminders.policy import Policy
from app.workdays.calendar import WorkingCalendar, announced_through

# 2026: 元旦 1-3 Jan (4 Jan, a Sunday, worked); 春节 15-23 Feb (14 Feb and 28 Feb, Saturdays, worked).
SPRING_FESTIVAL_2026 = [date(2026, 2, day) for day in range(15, 24)]
MAKE_UP_SATURDAYS_2026 = [date(2026, 2, 14), date(2026, 2, 28)]


@pytest.fixture
def calendar() -> WorkingCalendar:
    return WorkingCalendar(reference_year=2026)


def test_the_spring_festival_is_off_and_the_make_up_saturdays_are_worked(calendar: WorkingCalendar) -> None:
    assert not any(calendar.is_working_day(day) for day in SPRING_FESTIVAL_2026)
    assert all(calendar.is_working_day(day) for day in MAKE_UP_SATURDAYS_2026)
    assert calendar.is_working_day(date(2026, 1, 4))  # a Sunday, worked for New Year
    assert not calendar.is_working_day(date(2026, 1, 2))  # a Friday, off
    assert not calendar.is_working_day(date(2026, 3, 7))  # an ordinary Saturday


def test_thirty_working_days_across_the_spring_festival(calendar: WorkingCalendar) -> None:
    # Counted by hand from 9 Jan: 25 working days to 13 Feb, the 26th is Saturday 14 Feb,
    # then nothing until Tuesday 24 Feb, and the 30th is Friday 27 Feb.
    assert calendar.add_working_days(date(2026, 1, 9), 30) == date(2026, 2, 27)
    # Weekdays alone would have said 20 Feb, in the middle of the holiday.
    assert calendar.add_working_days(date(2026, 1, 9), 0) == date(2026, 1, 9)
    assert calendar.add_working_days(date(2026, 2, 27), -30) == date(2026, 1, 9)


def test_an_override_wins(calendar: WorkingCalendar) -> None:
    local = WorkingCalendar(reference_year=2026, overrides={date(2026, 2, 24): False, date(2026, 2, 21): True})
    assert not local.is_working_day(date(2026, 2, 24)) and local.is_working_day(date(2026, 2, 21))
    # One day off and one worked: the same 30th working day, reached by another path.
    assert local.add_working_days(date(2026, 1, 9), 30) == date(2026, 2, 27)
    # With 24 Feb off too, the 30th working day is the make-up Saturday, 28 Feb.
    assert WorkingCalendar(2026, {date(2026, 2, 24): False}).add_working_days(date(2026, 1, 9), 30) == date(2026, 2, 28)


def test_unannounced_years_are_provisional() -> None:
    last = announced_through(2026)
    assert last >= 2026
    calendar = WorkingCalendar(reference_year=2026)
    assert not calendar.provisional(date(last, 6, 1))
    assert calendar.provisional(date(last + 1, 1, 5))
    assert calendar.provisional(date(last, 12, 1), date(last + 1, 1, 5))


def test_policy_steps_from_thirty_days_before_to_escalation() -> None:
    policy = Policy()
    due = date(2026, 2, 27)
    changes: dict[int, str] = {}
    for offset in range(-40, 16):
        step = policy.step(due, due + timedelta(days=offset))
        if step and step not in changes.values():
            changes[offset] = step
    assert changes == {
        -30: "before-30",
        -14: "before-14",
        -7: "before-7",
        -1: "before-1",
        0: "due",
        3: "overdue-3",
        6: "overdue-6",
        7: "escalate-7",
        9: "overdue-9",
        12: "overdue-12",
        15: "overdue-15",
    }
    assert policy.step(due, due - timedelta(days=31)) is None
    assert not policy.escalated(due, due + timedelta(days=6)) and policy.escalated(due, due + timedelta(days=7))


def test_a_configured_policy() -> None:
    policy = Policy(days_before=(10, 2), overdue_every=5, escalate_after=5)
    due = date(2026, 6, 10)
    assert [policy.step(due, due + timedelta(days=offset)) for offset in (-11, -10, -3, -2, 0, 4, 5, 10)] == [
        None,
        "before-10",
        "before-10",
        "before-2",
        "due",
        "due",
        "overdue-5",
        "overdue-10",
    ]
