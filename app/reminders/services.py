"""Reminders: queued in the transaction that makes them due, batched into one digest per
recipient, and delivered at least until the server accepts them.

- queue: each (obligation, step, recipient) is inserted once, ever: the unique key makes a
  second insert a no-op, whoever tries it (a request, the worker, a second worker).
- batch: queued reminders join their recipient's pending digest, or start one. On
  PostgreSQL one worker at a time does this (an advisory lock); on SQLite there is one worker.
- send: a worker claims one pending digest (FOR UPDATE SKIP LOCKED on PostgreSQL, so
  several workers never take the same one), sends it, and only on the server's acceptance
  marks it sent. A transient failure (no connection, timeout, 4xx) is retried with
  exponential backoff and jitter for RETRY_FOR; a permanent one (5xx) goes to the dead letters.
"""

from __future__ import annotations

import os
import socket
import uuid
from collections import defaultdict
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import formataddr
from typing import Protocol

from sqlalchemy import delete as sql_delete
from sqlalchemy import select, text, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.accounts.models import User
from app.core import clock, outbound
from app.core.actor import Role
from app.core.queries import paginate, where_equal
from app.engagements.models import Engagement
from app.handler.models import PROFILE_ID, HandlerProfile
from app.obligations.kinds import SPECS, Kind
from app.obligations.models import Obligation
from app.obligations.schemas import ObligationStatus, Party
from app.reminders import chat, mail
from app.reminders.mail import DeliveryError, Item
from app.reminders.models import OutboxMessage, Reminder
from app.reminders.policy import current as current_policy
from app.reminders.schemas import OutboxStatus, ReminderStatus, RobotScope
from app.vendors.models import Vendor

RETRY_FOR = timedelta(days=4)  # at least three days of retries, as RFC 5321 suggests
BACKOFF_BASE = timedelta(minutes=1)
BACKOFF_CAP = timedelta(hours=1)
PLANNER_LOCK = 4_242_001  # the advisory lock id of the planning step
WORKER = f"{socket.gethostname()}:{os.getpid()}"
INSERT_CHUNK = 500


class Transport(Protocol):
    async def send(self, message: EmailMessage) -> None: ...


def _postgres(session: AsyncSession) -> bool:
    return session.get_bind().dialect.name == "postgresql"


async def _recipients(
    session: AsyncSession, due: dict[uuid.UUID, tuple[Obligation, str, bool]]
) -> dict[uuid.UUID, list[str]]:
    """Who hears about each obligation: its owner (the DPOs when it has no active owner); the
    vendor's contacts too for the vendor's own duties; and the DPOs when the step calls for
    them (escalated, or an incident, which they must know of at once)."""
    obligations = [obligation for obligation, _, _ in due.values()]
    owners = {o.owner_id for o in obligations if o.owner_id}
    emails = {
        user.id: user.email
        for user in await session.scalars(select(User).where(col(User.id).in_(owners), col(User.is_active)))
    }
    vendor_ids = {o.vendor_id for o in obligations if o.party == Party.vendor}
    contacts = {
        vendor.id: [contact.email for contact in vendor.contacts if contact.email]
        for vendor in await session.scalars(select(Vendor).where(col(Vendor.id).in_(vendor_ids)))
    }
    dpos: list[str] = []
    if any(escalated for _, _, escalated in due.values()) or any(o.owner_id not in emails for o in obligations):
        query = select(col(User.email)).where(col(User.role) == Role.dpo, col(User.is_active))
        dpos = sorted(await session.scalars(query))
    robots, shared = await chat.robot_keys(session)
    found = {}
    for obligation, _, escalated in due.values():
        owner = emails.get(obligation.owner_id) if obligation.owner_id else None
        people = [owner] if owner else list(dpos)
        if escalated:
            people += dpos
        ours = [person.lower() for person in people]
        if obligation.party == Party.vendor and obligation.vendor_id is not None:
            people += contacts.get(obligation.vendor_id, [])
        # The group robots of our own people: each person's, the team's, the DPO's.
        bots = [chat.recipient(robots[person]) for person in ours if person in robots]
        if ours and RobotScope.team in shared:
            bots.append(chat.recipient(RobotScope.team))
        if RobotScope.dpo in shared and {person.lower() for person in dpos} & set(ours):
            bots.append(chat.recipient(RobotScope.dpo))
        found[obligation.id] = list(dict.fromkeys([*(person.lower() for person in people), *bots]))
    return found


async def queue_due(session: AsyncSession, obligations: Iterable[Obligation], now: datetime) -> int:
    """Queue the current step of each open obligation for each recipient; the caller commits."""
    policy, today = current_policy(), clock.local_date(now)
    due = {}
    for obligation in obligations:
        if obligation.status == ObligationStatus.open:
            step = policy.step(obligation.due_on, today, SPECS[obligation.kind].reminder_days)
            if step is not None:
                to_dpo = policy.escalated(obligation.due_on, today) or obligation.kind == Kind.incident_review
                due[obligation.id] = (obligation, step, to_dpo)
    return await _insert(session, due, now)


async def queue_notice(session: AsyncSession, obligation: Obligation, step: str, now: datetime) -> int:
    """A reminder outside the policy's steps (a refused attestation, say), queued at once."""
    return await _insert(session, {obligation.id: (obligation, step, False)}, now)


async def _insert(session: AsyncSession, due: dict[uuid.UUID, tuple[Obligation, str, bool]], now: datetime) -> int:
    if not due:
        return 0
    await session.flush()
    recipients = await _recipients(session, due)
    rows = [
        {
            "id": uuid.uuid4(),
            "obligation_id": obligation_id,
            "step": step,
            "recipient": person,
            "status": ReminderStatus.queued,
            "queued_at": now,
        }
        for obligation_id, (_, step, _) in due.items()
        for person in recipients[obligation_id]
    ]
    dialect = postgresql if _postgres(session) else sqlite
    # One statement with the rows as parameters, not the rows written into it: its compiled
    # form is cached, where a VALUES list of this write's rows was compiled anew on every settle.
    statement = dialect.insert(Reminder).on_conflict_do_nothing(index_elements=["obligation_id", "step", "recipient"])
    for start in range(0, len(rows), INSERT_CHUNK):
        await session.execute(statement, rows[start : start + INSERT_CHUNK])
    return len(rows)


async def cancel_queued(session: AsyncSession, obligation_ids: Collection[uuid.UUID]) -> None:
    """A closed obligation is not reminded of; what was already sent stays as history."""
    if obligation_ids:
        await session.execute(
            update(Reminder)
            .where(col(Reminder.obligation_id).in_(list(obligation_ids)), col(Reminder.status) == ReminderStatus.queued)
            .values(status=ReminderStatus.cancelled)
        )


async def delete_for_engagement(session: AsyncSession, engagement_id: uuid.UUID) -> None:
    """Before the engagement's obligations go: the reminders of them."""
    ids = select(col(Obligation.id)).where(col(Obligation.engagement_id) == engagement_id)
    await session.execute(sql_delete(Reminder).where(col(Reminder.obligation_id).in_(ids)))


async def plan(session: AsyncSession, now: datetime) -> int:
    """Queue what is due at `now`: reads only open obligations within the reminder horizon,
    so the cost follows how many are due, not how many are stored."""
    ahead = max([current_policy().horizon, *(max(spec.reminder_days or (0,)) for spec in SPECS.values())])
    horizon = clock.local_date(now) + timedelta(days=ahead)
    query = select(Obligation).where(col(Obligation.status) == ObligationStatus.open, col(Obligation.due_on) <= horizon)
    return await queue_due(session, list(await session.scalars(query)), now)


async def batch(session: AsyncSession, now: datetime) -> int:
    """Gather queued reminders into one pending digest per recipient."""
    query = select(Reminder).where(col(Reminder.status) == ReminderStatus.queued, col(Reminder.message_id).is_(None))
    loose: dict[str, list[Reminder]] = defaultdict(list)
    for reminder in await session.scalars(query):
        loose[reminder.recipient].append(reminder)
    pending = select(OutboxMessage).where(
        col(OutboxMessage.recipient).in_(list(loose)), col(OutboxMessage.status) == OutboxStatus.pending
    )
    if _postgres(session):
        pending = pending.with_for_update(skip_locked=True)  # one being sent right now is left alone
    waiting = {message.recipient: message for message in await session.scalars(pending)} if loose else {}
    for recipient, reminders in loose.items():
        message = waiting.get(recipient)
        if message is None:
            message = OutboxMessage(recipient=recipient, next_attempt_at=now, created_at=now)
            session.add(message)  # its id is set already; the flush inserts it before the reminders point to it
        else:
            message.next_attempt_at = min(message.next_attempt_at, now)
        for reminder in reminders:
            reminder.message_id = message.id
    return len(loose)


def backoff(attempts: int) -> timedelta:
    return outbound.backoff(attempts, BACKOFF_BASE, BACKOFF_CAP)


COMPANY_WIDE = ("全公司", "Company-wide")  # what a duty of the company as a whole names instead


# What closes each kind that a person or the vendor does not close by a plain "done".
CLOSES: dict[Kind, tuple[str, str]] = {
    Kind.pipia_retention: (
        "在委托处理登记中填写 PIPIA 报告及处理记录的保存期限后自动关闭。",
        "Closes when the retention of the PIPIA report and records is entered on the engagement.",
    ),
    Kind.sub_processor_consent: (
        "审核受托方的转委托变更通知：接受或拒绝后关闭。",
        "Closes when you accept or reject the vendor's sub-processor change notice.",
    ),
    Kind.incident_review: (
        "评估事件并采取措施后，在事项页面标记完成并记录结论。",
        "Once the incident is assessed and acted on, mark it done on its page with the conclusion.",
    ),
    Kind.regulator_ordered_audit: (
        "将审计报告上传至该审计要求（/api/company/audit-orders/…/report，或 dpa audit-orders report）后自动关闭。",
        "Closes when the audit report is recorded on the order (/api/company/audit-orders/…/report, or "
        "dpa audit-orders report).",
    ),
}
ATTESTATION_WORDS = {
    "deletion": ("删除证明", "deletion attestation"),
    "periodic": ("年度合规声明", "yearly compliance statement"),
    "sub_processor_change": ("转委托变更通知", "sub-processor change notice"),
    "incident": ("安全事件报告", "incident report"),
    "face_count": ("月度人脸信息存储人数报告", "monthly count of faces stored"),
}


def closes(kind: Kind, *, to_vendor: bool, base_url: str) -> tuple[str, str]:
    """What closes an obligation, said to the person who can close it."""
    spec = SPECS[kind]
    if spec.attestation_kind is not None:
        zh, en = ATTESTATION_WORDS.get(spec.attestation_kind, (spec.attestation_kind, spec.attestation_kind))
        if to_vendor:
            return (
                f"通过受托方接口（{base_url}/api/vendor/attestations）提交{zh}及附件；委托方审核接受后关闭。",
                f"Submit the {en} with its files through the vendor API ({base_url}/api/vendor/attestations); "
                "it closes when we accept it.",
            )
        return (
            f"受托方提交{zh}、您审核接受后自动关闭；逾期请催告受托方。",
            f"Closes when the vendor submits its {en} and you accept it; chase the vendor if it is late.",
        )
    if kind in CLOSES:
        return CLOSES[kind]
    return (
        "完成后，在事项页面标记完成并填写文号（如备案编号）；不再需要的，说明理由予以豁免。",
        "Once done, mark it done on its page with a reference (a filing number, say), or waive it with a reason.",
    )


@dataclass
class Digest:
    """One recipient's digest: the items, and why the person receives them."""

    reminders: list[Reminder]
    items: list[Item]
    reasons: list[tuple[str, str]]


async def _items(
    session: AsyncSession,
    message: OutboxMessage,
    base_url: str,
    now: datetime,
    company: str,
    *,
    recipient: str | None = None,
    notes: bool = True,
) -> Digest:
    """The digest's items as `recipient` (default: the message's) should read them; without
    `notes`, no item says why this reader sees it (the team's robot: everyone reads it)."""
    rows = (
        await session.execute(
            select(Reminder, Obligation, Engagement, Vendor)
            .join(Obligation, col(Obligation.id) == col(Reminder.obligation_id))
            # The company's own duties have no engagement and no vendor.
            .outerjoin(Engagement, col(Engagement.id) == col(Obligation.engagement_id))
            .outerjoin(Vendor, col(Vendor.id) == col(Obligation.vendor_id))
            .where(col(Reminder.message_id) == message.id, col(Reminder.status) == ReminderStatus.queued)
            .order_by(col(Obligation.due_on), col(Obligation.id))
        )
    ).all()
    owner_ids = {obligation.owner_id for _, obligation, _, _ in rows if obligation.owner_id}
    owners = {
        user.id: user.email.lower()
        for user in await session.scalars(select(User).where(col(User.id).in_(owner_ids), col(User.is_active)))
    }
    today = clock.local_date(now)
    recipient = (recipient or message.recipient).lower()
    reminders, items, seen, reasons = [], [], set(), []
    for reminder, obligation, engagement, vendor in rows:
        reminders.append(reminder)
        if obligation.id in seen or obligation.status != ObligationStatus.open:
            continue
        seen.add(obligation.id)
        spec = SPECS[obligation.kind]
        vendor_name = (vendor.legal_name_zh or vendor.legal_name_en) if vendor else COMPANY_WIDE[0]
        to_vendor = (
            vendor is not None
            and obligation.party == Party.vendor
            and recipient in {contact.email.lower() for contact in vendor.contacts if contact.email}
        )
        escalated = reminder.step.startswith("escalate") or current_policy().escalated(obligation.due_on, today)
        owner = owners.get(obligation.owner_id) if obligation.owner_id else None
        late = (today - obligation.due_on).days
        note_zh = note_en = ""
        if to_vendor:
            link = f"{base_url}/api/vendor/obligations"
            page = f"{base_url}/vendor/obligations/{obligation.id}"
            reasons.append(
                (
                    f"您是{vendor_name}登记在{company or '委托方'}处的联系人；以上是受托方依委托处理协议应履行的义务。",
                    f"You are listed as a contact of {vendor_name} with {company or 'the entrusting party'}; "
                    "these are the vendor's duties under the entrusted-processing agreement.",
                )
            )
        else:
            link = f"{base_url}/api/obligations/{obligation.id}"
            page = f"{base_url}/obligations/{obligation.id}"
            if owner == recipient:
                reasons.append(("您是以上事项的负责人。", "You own these items."))
                if escalated:
                    note_zh = f"已逾期 {late} 天，已抄送个人信息保护负责人。"
                    note_en = f"{late} days overdue: the PI protection officer has been copied."
            elif owner is None:
                reasons.append(
                    (
                        "您是个人信息保护负责人；没有负责人的事项由您处理。",
                        "You are the PI protection officer; items without an owner come to you.",
                    )
                )
                note_zh, note_en = (
                    "此事项没有负责人，请指定或亲自处理。",
                    "This item has no owner: assign it or act on it.",
                )
            else:
                reasons.append(
                    (
                        "您是个人信息保护负责人，收到的是负责人事项的升级或抄送。",
                        "You are the PI protection officer; these are escalations or copies of their owners' items.",
                    )
                )
                if obligation.kind == Kind.incident_review and not escalated:
                    note_zh = f"安全事件：负责人 {owner} 已收到同一事项，个人信息保护负责人须同时知悉。"
                    note_en = f"An incident: its owner {owner} has the same item; the DPO must know at once."
                else:
                    note_zh = f"升级提醒：此为 {owner} 负责的事项，已逾期 {late} 天，抄送给您。"
                    note_en = f"Escalation of {owner}'s item, {late} days overdue, copied to you."
        if not notes:
            note_zh = note_en = ""
        closes_zh, closes_en = closes(obligation.kind, to_vendor=to_vendor, base_url=base_url)
        items.append(
            Item(
                obligation_id=str(obligation.id),
                what_zh=spec.what_zh,
                what_en=spec.what_en,
                vendor=vendor_name,
                engagement=engagement.name if engagement else COMPANY_WIDE[1],
                due_on=obligation.due_on,
                days_left=(obligation.due_on - today).days,
                provisional=obligation.provisional,
                rule_id=obligation.rule_id,
                article=obligation.article,
                link=link,
                refused=obligation.last_rejection,
                page=page,
                closes_zh=closes_zh,
                closes_en=closes_en,
                note_zh=note_zh,
                note_en=note_en,
            )
        )
    return Digest(reminders, items, list(dict.fromkeys(reasons)))


@dataclass
class Report:
    queued: int = 0
    sent: list[str] = field(default_factory=list)  # recipients
    retried: int = 0
    dead: int = 0
    messages: list[EmailMessage] = field(default_factory=list)


def _officer(profile: HandlerProfile | None) -> str | None:
    """Without MAIL_REPLY_TO, answers go to the company's PI protection officer, where its
    profile names one: a reader replying to a reminder reaches a person, not the robot."""
    if profile is None or not profile.pi_protection_officer_email:
        return None
    name = profile.pi_protection_officer_name or "个人信息保护负责人"
    return formataddr((name, profile.pi_protection_officer_email))


async def send_one(
    session: AsyncSession,
    transport: Transport,
    *,
    now: datetime,
    sender: str,
    base_url: str,
    report: Report,
    reply_to: str | None = None,
    robots: chat.ChatSender | None = None,
) -> bool:
    """Claim one digest that is due, send it, record the outcome (the caller commits each one).
    False when none is due."""
    query = (
        select(OutboxMessage)
        .where(col(OutboxMessage.status) == OutboxStatus.pending, col(OutboxMessage.next_attempt_at) <= now)
        .order_by(col(OutboxMessage.next_attempt_at), col(OutboxMessage.id))
        .limit(1)
    )
    if robots is None:  # a pass that sends e-mail only leaves the robots' digests for the worker
        query = query.where(col(OutboxMessage.recipient).not_like(f"{chat.PREFIX}%"))
    if _postgres(session):
        query = query.with_for_update(skip_locked=True)
    message = (await session.scalars(query)).first()
    if message is None:
        return False
    if message.body:  # a message of its own (a password link), not a digest
        ids: list[uuid.UUID] = []
        email = mail.compose_plain(
            sender=sender,
            recipient=message.recipient,
            subject=message.subject,
            body=message.body,
            message_id=mail.message_id_for(message.id.hex, sender),
            now=now,
        )
    else:
        profile = await session.get(HandlerProfile, PROFILE_ID)
        company_zh = profile.legal_name_zh if profile else ""
        reader, notes = await chat.reader(session, message.recipient)
        digest = await _items(session, message, base_url, now, company_zh, recipient=reader, notes=notes)
        reminders, items = digest.reminders, digest.items
        ids = [reminder.id for reminder in reminders]
        if not items:  # everything in it was closed meanwhile
            message.status = OutboxStatus.cancelled
            await _mark(session, ids, ReminderStatus.cancelled, None)
            await session.flush()
            return True
        if message.recipient.startswith(chat.PREFIX):
            # A group robot: the same digest, in its platform's format; the same outcomes.
            assert robots is not None
            key = message.recipient.removeprefix(chat.PREFIX)
            try:
                await robots.send(session, key, items, now)
            except DeliveryError as error:
                _failed(message, error, now, report)
                await _mark_failed(session, message, ids)
            else:
                _delivered(message, now)
                await _mark(session, ids, ReminderStatus.sent, now)
                report.sent.append(message.recipient)
            await session.flush()
            return True
        footer = mail.Footer(
            company_zh=company_zh,
            company_en=profile.legal_name_en if profile else "",
            address=profile.address if profile else "",
            reasons_zh=tuple(zh for zh, _ in digest.reasons),
            reasons_en=tuple(en for _, en in digest.reasons),
        )
        email = mail.compose(
            sender=mail.sender_for(sender, company_zh),
            recipient=message.recipient,
            items=items,
            message_id=mail.message_id_for(message.id.hex, sender),
            now=now,
            worker=WORKER,
            reply_to=reply_to or _officer(profile),
            footer=footer,
        )
    try:
        await transport.send(email)
    except DeliveryError as error:
        _failed(message, error, now, report)
        await _mark_failed(session, message, ids)
    else:
        _delivered(message, now)
        await _mark(session, ids, ReminderStatus.sent, now)
        report.sent.append(message.recipient)
        report.messages.append(email)
    await session.flush()
    return True


def _failed(message: OutboxMessage, error: DeliveryError, now: datetime, report: Report) -> None:
    """A refusal for good, or retries run out: a dead letter; otherwise the next try backs off."""
    message.attempts += 1
    message.last_error = str(error)[:1000]
    if error.permanent or now - message.created_at >= RETRY_FOR:
        message.status = OutboxStatus.dead
        report.dead += 1
    else:
        message.next_attempt_at = now + backoff(message.attempts)
        report.retried += 1


async def _mark_failed(session: AsyncSession, message: OutboxMessage, ids: list[uuid.UUID]) -> None:
    if message.status == OutboxStatus.dead:
        await _mark(session, ids, ReminderStatus.dead, None)


def _delivered(message: OutboxMessage, now: datetime) -> None:
    message.attempts += 1
    message.status, message.sent_at, message.sent_by, message.last_error = OutboxStatus.sent, now, WORKER, ""
    message.body = ""  # a sent link does not linger in the database


def queue_message(session: AsyncSession, *, recipient: str, subject: str, body: str, now: datetime) -> OutboxMessage:
    """One plain message of its own (a password link) through the outbox: the worker sends it
    like a digest, with the same retries; the caller settles."""
    message = OutboxMessage(recipient=recipient, subject=subject, body=body, created_at=now, next_attempt_at=now)
    session.add(message)
    return message


async def _mark(session: AsyncSession, ids: list[uuid.UUID], status: ReminderStatus, at: datetime | None) -> None:
    # Only the reminders this digest listed: one queued meanwhile waits for the next digest.
    if ids:
        await session.execute(update(Reminder).where(col(Reminder.id).in_(ids)).values(status=status, sent_at=at))


async def prepare(session: AsyncSession, now: datetime) -> int:
    """Queue what is due at `now` and batch it per recipient (on PostgreSQL, one worker at a
    time: the others skip); the caller commits. Answers how many reminders were queued."""
    if _postgres(session) and not await session.scalar(
        text("SELECT pg_try_advisory_xact_lock(:id)"), {"id": PLANNER_LOCK}
    ):
        return 0
    queued = await plan(session, now)
    await batch(session, now)
    return queued


@dataclass(frozen=True)
class ReminderFilter:
    obligation_id: uuid.UUID | None = None
    status: ReminderStatus | None = None
    recipient: str | None = None


@dataclass(frozen=True)
class MessageFilter:
    status: OutboxStatus | None = None
    recipient: str | None = None


async def get_all(
    session: AsyncSession, *, where: ReminderFilter, limit: int = 50, offset: int = 0
) -> tuple[list[Reminder], int]:
    query = where_equal(
        select(Reminder),
        [
            (col(Reminder.obligation_id), where.obligation_id),
            (col(Reminder.status), where.status),
            (col(Reminder.recipient), where.recipient.lower() if where.recipient else None),
        ],
    )
    return await paginate(
        session, query.order_by(col(Reminder.queued_at).desc(), col(Reminder.id)), limit=limit, offset=offset
    )


async def get_messages(
    session: AsyncSession, *, where: MessageFilter, limit: int = 50, offset: int = 0
) -> tuple[list[OutboxMessage], int]:
    """Digests, newest first (the dead letters are those with status dead)."""
    query = where_equal(
        select(OutboxMessage),
        [
            (col(OutboxMessage.status), where.status),
            (col(OutboxMessage.recipient), where.recipient.lower() if where.recipient else None),
        ],
    )
    query = query.order_by(col(OutboxMessage.created_at).desc(), col(OutboxMessage.id))
    return await paginate(session, query, limit=limit, offset=offset)
