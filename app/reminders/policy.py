"""When reminders go out for an obligation, and to whom it escalates.

Steps are calendar days relative to the due date: by default 30, 14, 7 and 1 days before,
the due day, then every 3 days while overdue, and an escalation step 7 days after, from
which the DPO is copied. At any moment only the latest step that has come counts: a
worker that was down for a week sends the current state once, not every step it missed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date


@dataclass(frozen=True)
class Policy:
    days_before: tuple[int, ...] = (30, 14, 7, 1)
    overdue_every: int = 3
    escalate_after: int = 7

    @property
    def horizon(self) -> int:
        """How many days ahead a reminder can be due."""
        return max(self.days_before, default=0)

    def step(self, due: date, today: date, days_before: tuple[int, ...] | None = None) -> str | None:
        """The latest step that has come by `today`, or None before the first. `days_before`:
        a kind's own steps before the due date (a certificate's 30, 7 and 1), else the policy's."""
        offset = (today - due).days  # negative: days before the due date
        if offset < 0:
            passed = [days for days in (days_before or self.days_before) if -days <= offset]
            return f"before-{min(passed)}" if passed else None
        if offset == 0 or offset < min(self.overdue_every, self.escalate_after):
            return "due"
        latest_repeat = offset - offset % self.overdue_every
        if self.escalate_after <= offset and latest_repeat < self.escalate_after:
            return f"escalate-{self.escalate_after}"
        return f"overdue-{latest_repeat}"

    def escalated(self, due: date, today: date) -> bool:
        return (today - due).days >= self.escalate_after


_current = Policy()


def configure(policy: Policy) -> None:
    """Set once at start-up from the REMINDER_* settings."""
    global _current
    _current = policy


def current() -> Policy:
    return _current
