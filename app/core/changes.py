"""What a write changed, marked on its session for the settle step (app/settle.py).

A source domain (vendors, engagements, agreements, attestations, the handler profile, the
calendar) never calls a derived one (obligations, findings, reminders) and never commits:
it marks here what it changed, and the settle step re-derives what depends on that, once,
in the same transaction, then commits. A new writer cannot forget the tail.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncSession

KEY = "dpa.changes"


@dataclass(frozen=True)
class Mail:
    """A plain message a write sends (a questionnaire to a vendor's contact): the settle step puts
    it in the outbox in the same transaction, so it goes out only if the write lands."""

    recipient: str
    subject: str
    body: str


@dataclass
class Changes:
    engagements: set[uuid.UUID] = field(default_factory=set)  # their own data or sub-processors
    agreements: set[uuid.UUID] = field(default_factory=set)  # a status or a date that starts a duty
    vendors: set[uuid.UUID] = field(default_factory=set)  # feeds the rules of every engagement of theirs
    attestations: set[uuid.UUID] = field(default_factory=set)  # submitted or reviewed
    closed_obligations: set[uuid.UUID] = field(default_factory=set)  # closed by a person
    removed_engagements: set[uuid.UUID] = field(default_factory=set)  # what was derived from them goes too
    handler: bool = False  # the company's profile feeds every engagement's rules
    calendar: bool = False  # every deadline counted in working days moves
    reasons: list[str] = field(default_factory=list)  # why, for the findings' history
    mail: list[Mail] = field(default_factory=list)  # messages to queue in the outbox
    created: set[uuid.UUID] = field(default_factory=set)  # of the vendors and engagements above, the new ones

    def __bool__(self) -> bool:
        return bool(
            self.engagements
            or self.agreements
            or self.vendors
            or self.attestations
            or self.closed_obligations
            or self.removed_engagements
            or self.handler
            or self.calendar
            or self.mail
        )

    @property
    def reason(self) -> str:
        return "; ".join(dict.fromkeys(self.reasons))


def mark(
    session: AsyncSession,
    reason: str,
    *,
    engagement: uuid.UUID | None = None,
    agreement: uuid.UUID | None = None,
    vendor: uuid.UUID | None = None,
    attestation: uuid.UUID | None = None,
    closed_obligation: uuid.UUID | None = None,
    removed_engagement: uuid.UUID | None = None,
    handler: bool = False,
    calendar: bool = False,
    created: bool = False,
) -> None:
    """Record on the session what this write changed; `reason` says who changed what;
    `created`: the vendor or engagement marked is a new one."""
    changes = pending(session)
    for target, value in (
        (changes.engagements, engagement),
        (changes.agreements, agreement),
        (changes.vendors, vendor),
        (changes.attestations, attestation),
        (changes.closed_obligations, closed_obligation),
        (changes.removed_engagements, removed_engagement),
    ):
        if value is not None:
            target.add(value)
    if created:  # so that the events say "created", not "changed"
        changes.created |= {value for value in (vendor, engagement) if value is not None}
    changes.handler |= handler
    changes.calendar |= calendar
    changes.reasons.append(reason)


def send_mail(session: AsyncSession, *, recipient: str, subject: str, body: str) -> None:
    """Queue a message for the outbox as the write settles (a source domain cannot reach the outbox)."""
    pending(session).mail.append(Mail(recipient, subject, body))


def pending(session: AsyncSession) -> Changes:
    changes: Changes = session.info.setdefault(KEY, Changes())
    return changes


def take(session: AsyncSession) -> Changes:
    """What was marked, cleared from the session (the settle step takes it once)."""
    changes: Changes = session.info.pop(KEY, None) or Changes()
    return changes


def discard(session: AsyncSession) -> None:
    """After a rollback: what was marked did not happen."""
    session.info.pop(KEY, None)
