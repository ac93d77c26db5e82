"""Outgoing webhooks: the company's systems and vendors hear of events, signed, at least once.

- record: the settle step (app/settle.py) turns what a write marked into events, in the same
  transaction as the write (an outbox), each under a unique key, so an event is recorded once
  whoever records it; each event gets one delivery per endpoint subscribed to it. A vendor's
  endpoint hears only of that vendor's own events, and only of the kinds in VENDOR_EVENTS.
- deliver: the worker claims one due delivery (FOR UPDATE SKIP LOCKED on PostgreSQL), posts it
  signed, and records the outcome: 2xx delivered; anything else tried again with backoff until
  WEBHOOK_MAX_ATTEMPTS, then dead. A worker that dies between the receiver's 2xx and its commit
  sends again: receivers dedupe on the event id (the body's `id`, header X-DPA-Event-Id).
- redeliver: a new delivery of the same event (same id, same body) to the same endpoint.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, TypeVar

from sqlalchemy import Select, exists, or_, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.agreements.models import Agreement
from app.agreements.schemas import AgreementStatus
from app.attestations.models import Attestation
from app.attestations.schemas import AttestationStatus
from app.core import clock, outbound
from app.core.actor import Actor, Role
from app.core.changes import Changes
from app.core.errors import NotFoundError, field_error
from app.core.queries import paginate
from app.core.security import new_token, token_hint
from app.core.types import utcnow
from app.engagements.models import Engagement
from app.findings.models import Finding
from app.findings.schemas import FindingStatus
from app.obligations.kinds import SPECS
from app.obligations.models import Obligation
from app.obligations.schemas import ObligationStatus, Party
from app.vendors.models import Vendor
from app.webhooks.models import WebhookDelivery, WebhookEndpoint, WebhookEvent
from app.webhooks.schemas import VENDOR_EVENTS, VERSION, DeliveryStatus, EndpointIn, EventType

T = TypeVar("T")
BACKOFF_BASE = timedelta(seconds=30)
BACKOFF_CAP = timedelta(hours=6)
SECRET_PREFIX = "whsec"  # noqa: S105 - the prefix of the secrets we make, not a secret

AGREEMENT_EVENTS = {
    AgreementStatus.issued: EventType.agreement_issued,
    AgreementStatus.signed: EventType.agreement_signed,
    AgreementStatus.terminated: EventType.agreement_terminated,
}
ATTESTATION_EVENTS = {
    AttestationStatus.submitted: EventType.attestation_submitted,
    AttestationStatus.accepted: EventType.attestation_accepted,
    AttestationStatus.rejected: EventType.attestation_rejected,
}


def _postgres(session: AsyncSession) -> bool:
    return session.get_bind().dialect.name == "postgresql"


# --- endpoints ------------------------------------------------------------------------------


async def create_endpoint(
    session: AsyncSession,
    *,
    actor: Actor,
    data: EndpointIn,
    vendor_id: uuid.UUID | None,
    sealing_key: bytes,
    allow_private: bool,
) -> tuple[WebhookEndpoint, str]:
    """A new endpoint and its secret, which the caller shows once; the caller settles."""
    if vendor_id is None:
        actor.require_role()  # the company's endpoints: admins only
    else:
        refused = sorted(event.value for event in data.events if event not in VENDOR_EVENTS)
        if refused:
            allowed = ", ".join(sorted(VENDOR_EVENTS))
            raise field_error(
                "events",
                f"a vendor's endpoint hears only of {allowed}; not {', '.join(refused)}",
                zh=f"受托方的接收地址只能订阅 {allowed}，不能订阅 {'、'.join(refused)}",
            )
    await outbound.require_safe_url("url", data.url, allow_private=allow_private)
    secret = new_token(SECRET_PREFIX)
    endpoint = WebhookEndpoint(
        vendor_id=vendor_id,
        url=data.url,
        events=list(dict.fromkeys(event.value for event in data.events)),
        description=data.description,
        secret_sealed=outbound.seal(secret, sealing_key),
        secret_hint=token_hint(secret),
        created_by=actor.label[:200],
    )
    session.add(endpoint)
    await session.flush()
    return endpoint, secret


def _owned(query: Select[T], vendor_id: uuid.UUID | None) -> Select[T]:
    """A vendor sees its own endpoints only; the company's list holds the company's only."""
    if vendor_id is None:
        return query.where(col(WebhookEndpoint.vendor_id).is_(None))
    return query.where(col(WebhookEndpoint.vendor_id) == vendor_id)


async def get_endpoints(
    session: AsyncSession, *, vendor_id: uuid.UUID | None, limit: int, offset: int
) -> tuple[list[WebhookEndpoint], int]:
    query = _owned(select(WebhookEndpoint), vendor_id).order_by(
        col(WebhookEndpoint.created_at), col(WebhookEndpoint.id)
    )
    return await paginate(session, query, limit=limit, offset=offset)


async def get_endpoint(
    session: AsyncSession, *, endpoint_id: uuid.UUID, vendor_id: uuid.UUID | None
) -> WebhookEndpoint:
    endpoint = (
        await session.scalars(_owned(select(WebhookEndpoint), vendor_id).where(col(WebhookEndpoint.id) == endpoint_id))
    ).first()
    if endpoint is None:
        raise NotFoundError("no such webhook endpoint", zh="找不到该 Webhook 接收地址")
    return endpoint


async def delete_endpoint(session: AsyncSession, *, endpoint_id: uuid.UUID, vendor_id: uuid.UUID | None) -> None:
    """Its deliveries go with it (the log is of endpoints that exist)."""
    endpoint = await get_endpoint(session, endpoint_id=endpoint_id, vendor_id=vendor_id)
    for delivery in await session.scalars(
        select(WebhookDelivery).where(col(WebhookDelivery.endpoint_id) == endpoint.id)
    ):
        await session.delete(delivery)
    await session.flush()
    await session.delete(endpoint)
    await session.flush()


# --- recording ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Event:
    key: str
    type: EventType
    vendor_id: uuid.UUID | None
    data: dict[str, Any]


async def record(session: AsyncSession, changes: Changes, *, since: datetime) -> int:
    """The events of what `changes` marked, and of what the settle step derived from them
    since `since` (findings raised or resolved, vendors' duties opened). Answers how many were new."""
    if not await _listening(session):
        return 0  # nobody subscribed: one query per write, nothing recorded
    events: list[Event] = []
    for vendor in await _rows(session, Vendor, changes.vendors):
        kind = EventType.vendor_created if vendor.id in changes.created else EventType.vendor_changed
        events.append(_vendor_event(vendor, kind))
    for engagement in await _rows(session, Engagement, changes.engagements - changes.removed_engagements):
        kind = EventType.engagement_created if engagement.id in changes.created else EventType.engagement_changed
        events.append(_engagement_event(engagement, kind))
    for agreement in await _rows(session, Agreement, changes.agreements):
        if agreement.status in AGREEMENT_EVENTS:
            events.append(_agreement_event(agreement, AGREEMENT_EVENTS[agreement.status]))
    for attestation in await _rows(session, Attestation, changes.attestations):
        if attestation.status in ATTESTATION_EVENTS:
            events.append(_attestation_event(attestation, ATTESTATION_EVENTS[attestation.status]))
    raised = select(Finding).where(or_(col(Finding.raised_at) >= since, col(Finding.resolved_at) >= since))
    for finding in await session.scalars(raised):
        if finding.raised_at >= since:
            events.append(_finding_event(finding, EventType.finding_raised))
        if finding.status == FindingStatus.resolved and finding.resolved_at and finding.resolved_at >= since:
            events.append(_finding_event(finding, EventType.finding_resolved))
    opened = select(Obligation).where(
        col(Obligation.created_at) >= since,
        col(Obligation.party) == Party.vendor,
        col(Obligation.status) == ObligationStatus.open,
    )
    events += [_obligation_event(o, EventType.obligation_opened) for o in await session.scalars(opened)]
    return await _emit(session, events)


async def record_due(session: AsyncSession, now: datetime) -> int:
    """obligation.due on its day, obligation.overdue the day after (once per due date: a
    date that moves is a new event); the worker calls it on each pass, before it settles."""
    if not await _listening(session):
        return 0
    today = clock.local_date(now)
    query = select(Obligation).where(col(Obligation.status) == ObligationStatus.open, col(Obligation.due_on) <= today)
    events = [
        _obligation_event(o, EventType.obligation_due if o.due_on == today else EventType.obligation_overdue)
        for o in await session.scalars(query)
    ]
    return await _emit(session, events)


async def _listening(session: AsyncSession) -> bool:
    return bool(await session.scalar(select(exists().where(col(WebhookEndpoint.id).is_not(None)))))


async def _rows(session: AsyncSession, model: Any, ids: set[uuid.UUID]) -> list[Any]:
    if not ids:
        return []
    return list(await session.scalars(select(model).where(col(model.id).in_(list(ids)))))


def _vendor_event(vendor: Vendor, kind: EventType) -> Event:
    data = {
        "vendor": {
            "id": str(vendor.id),
            "name_zh": vendor.legal_name_zh,
            "name_en": vendor.legal_name_en,
            "credit_code": vendor.unified_social_credit_code,
        },
        "path": f"/vendors/{vendor.id}",
    }
    # A change has no natural name: each one is an event of its own.
    key = f"{kind}:{vendor.id}" if kind == EventType.vendor_created else f"{kind}:{vendor.id}:{uuid.uuid4()}"
    return Event(key, kind, None, data)


def _engagement_event(engagement: Engagement, kind: EventType) -> Event:
    data = {
        "engagement": {"id": str(engagement.id), "name": engagement.name, "vendor_id": str(engagement.vendor_id)},
        "path": f"/engagements/{engagement.id}",
    }
    key = (
        f"{kind}:{engagement.id}" if kind == EventType.engagement_created else f"{kind}:{engagement.id}:{uuid.uuid4()}"
    )
    return Event(key, kind, None, data)


def _agreement_event(agreement: Agreement, kind: EventType) -> Event:
    data = {
        "agreement": {
            "id": str(agreement.id),
            "number": agreement.number,
            "status": agreement.status.value,
            "engagement_id": str(agreement.engagement_id),
            "vendor_id": str(agreement.vendor_id),
            "ended_on": agreement.ended_on.isoformat() if agreement.ended_on else None,
            "end_reason": agreement.end_reason or None,
        },
        "path": f"/agreements/{agreement.id}",
        "vendor_api_path": f"/api/vendor/agreements/{agreement.id}",
    }
    return Event(f"{kind}:{agreement.id}", kind, agreement.vendor_id, data)


def _attestation_event(attestation: Attestation, kind: EventType) -> Event:
    data = {
        "attestation": {
            "id": str(attestation.id),
            "kind": attestation.kind.value,
            "status": attestation.status.value,
            "engagement_id": str(attestation.engagement_id),
            "vendor_id": str(attestation.vendor_id),
            "reason": attestation.review_reason or None,  # why it was rejected (or a note on acceptance)
        },
        "path": "/review",
        "vendor_api_path": f"/api/vendor/attestations/{attestation.id}",
    }
    return Event(f"{kind}:{attestation.id}", kind, attestation.vendor_id, data)


def _finding_event(finding: Finding, kind: EventType) -> Event:
    data = {
        "finding": {
            "id": str(finding.id),
            "rule_id": finding.rule_id,
            "severity": finding.severity.value,
            "status": finding.status.value,
            "title_zh": finding.title_zh,
            "title_en": finding.title_en,
            "articles": finding.articles,
            "engagement_id": str(finding.engagement_id) if finding.engagement_id else None,
            "vendor_id": str(finding.vendor_id) if finding.vendor_id else None,
        },
        "path": "/findings",
    }
    return Event(f"{kind}:{finding.id}", kind, None, data)


def _obligation_event(obligation: Obligation, kind: EventType) -> Event:
    spec = SPECS[obligation.kind]
    data = {
        "obligation": {
            "id": str(obligation.id),
            "kind": obligation.kind.value,
            "what_zh": spec.what_zh,
            "what_en": spec.what_en,
            "party": obligation.party.value,
            "due_on": obligation.due_on.isoformat(),
            "engagement_id": str(obligation.engagement_id) if obligation.engagement_id else None,
            "vendor_id": str(obligation.vendor_id) if obligation.vendor_id else None,
            "rule_id": obligation.rule_id,
            "article": obligation.article,
        },
        "path": f"/obligations/{obligation.id}",
        "vendor_api_path": "/api/vendor/obligations",
    }
    key = (
        f"{kind}:{obligation.id}"
        if kind == EventType.obligation_opened
        else f"{kind}:{obligation.id}:{obligation.due_on}"
    )
    vendor_id = obligation.vendor_id if obligation.party == Party.vendor else None
    return Event(key, kind, vendor_id, data)


async def _emit(session: AsyncSession, events: list[Event]) -> int:
    """Insert each event once (its key), and a delivery for each endpoint that hears of it."""
    if not events:
        return 0
    endpoints = list(await session.scalars(select(WebhookEndpoint)))
    if not endpoints:
        return 0
    keys = list({event.key for event in events})
    known: set[str] = set()
    for start in range(0, len(keys), 500):  # the worker's pass re-reads every overdue duty: skip those recorded
        chunk = keys[start : start + 500]
        known |= set(await session.scalars(select(col(WebhookEvent.key)).where(col(WebhookEvent.key).in_(chunk))))
    events = [event for event in events if event.key not in known]
    dialect = postgresql if _postgres(session) else sqlite
    now, new = utcnow(), 0
    for event in {event.key: event for event in events}.values():
        listeners = [
            endpoint
            for endpoint in endpoints
            if event.type in endpoint.events
            and (endpoint.vendor_id is None or (endpoint.vendor_id == event.vendor_id and event.type in VENDOR_EVENTS))
        ]
        if not listeners:
            continue  # nobody listens: nothing to keep (a later subscriber starts from its own time)
        row = {
            "id": uuid.uuid4(),
            "key": event.key,
            "type": event.type,
            "vendor_id": event.vendor_id,
            "data": event.data,
            "created_at": now,
        }
        statement = dialect.insert(WebhookEvent).values(row).on_conflict_do_nothing(index_elements=["key"])
        inserted = (await session.execute(statement.returning(col(WebhookEvent.id)))).scalar_one_or_none()
        if inserted is None:
            continue  # recorded already: never delivered twice
        new += 1
        session.add_all(
            WebhookDelivery(endpoint_id=endpoint.id, event_id=inserted, created_at=now, next_attempt_at=now)
            for endpoint in listeners
        )
    await session.flush()
    return new


# --- delivering -----------------------------------------------------------------------------


def body_of(event: WebhookEvent, *, base_url: str, to_vendor: bool) -> bytes:
    """The versioned envelope; links made absolute for the receiver (a vendor's point to its API)."""
    data = dict(event.data)
    path, vendor_path = data.pop("path", None), data.pop("vendor_api_path", None)
    link = vendor_path if to_vendor else path
    if link:
        data["url"] = base_url + link
    envelope = {
        "id": str(event.id),
        "type": event.type.value,
        "version": VERSION,
        "created_at": event.created_at.isoformat(),
        "data": data,
    }
    return json.dumps(envelope, ensure_ascii=False, separators=(",", ":")).encode()


@dataclass
class DeliveryReport:
    delivered: int = 0
    retried: int = 0
    dead: int = 0


async def deliver_one(
    session: AsyncSession,
    *,
    now: datetime,
    base_url: str,
    sealing_key: bytes,
    allow_private: bool,
    max_attempts: int,
    report: DeliveryReport,
) -> bool:
    """Claim one due delivery, post it, record the outcome (the caller settles after each).
    False when none is due."""
    query = (
        select(WebhookDelivery)
        .where(col(WebhookDelivery.status) == DeliveryStatus.pending, col(WebhookDelivery.next_attempt_at) <= now)
        .order_by(col(WebhookDelivery.next_attempt_at), col(WebhookDelivery.id))
        .limit(1)
    )
    if _postgres(session):
        query = query.with_for_update(skip_locked=True)  # two workers never post the same one
    delivery = (await session.scalars(query)).first()
    if delivery is None:
        return False
    endpoint = await session.get(WebhookEndpoint, delivery.endpoint_id)
    event = await session.get(WebhookEvent, delivery.event_id)
    assert endpoint is not None and event is not None
    body = body_of(event, base_url=base_url, to_vendor=endpoint.vendor_id is not None)
    try:
        secret = outbound.unseal(endpoint.secret_sealed, sealing_key)
    except outbound.SealError as error:
        answer = outbound.Answer(None, "", f"refused: cannot read the endpoint's secret: {error}")
    else:
        headers = {
            "X-DPA-Signature": outbound.webhook_signature(secret, body, now_s=int(utcnow().timestamp())),
            "X-DPA-Event": event.type.value,
            "X-DPA-Event-Id": str(event.id),
            "X-DPA-Delivery": str(delivery.id),
        }
        answer = await outbound.post(endpoint.url, body=body, headers=headers, allow_private=allow_private)
    delivery.attempts += 1
    delivery.last_status = answer.status
    if answer.status is not None and 200 <= answer.status < 300:
        delivery.status, delivery.delivered_at, delivery.last_error = DeliveryStatus.delivered, now, ""
        report.delivered += 1
    else:
        delivery.last_error = (answer.error or f"answered {answer.status}: {answer.text[:300]}")[:1000]
        if answer.error.startswith("refused") or delivery.attempts >= max_attempts:
            delivery.status = DeliveryStatus.dead
            report.dead += 1
        else:
            delivery.next_attempt_at = now + outbound.backoff(delivery.attempts, BACKOFF_BASE, BACKOFF_CAP)
            report.retried += 1
    await session.flush()
    return True


@dataclass(frozen=True)
class DeliveryFilter:
    vendor_id: uuid.UUID | None = None  # None: the company's endpoints
    endpoint_id: uuid.UUID | None = None
    status: DeliveryStatus | None = None


async def get_deliveries(
    session: AsyncSession, *, where: DeliveryFilter, limit: int, offset: int
) -> tuple[list[tuple[WebhookDelivery, EventType]], int]:
    """The delivery log, newest first, with each event's type."""
    query = _owned(
        select(WebhookDelivery).join(WebhookEndpoint, col(WebhookEndpoint.id) == col(WebhookDelivery.endpoint_id)),
        where.vendor_id,
    )
    if where.endpoint_id is not None:
        query = query.where(col(WebhookDelivery.endpoint_id) == where.endpoint_id)
    if where.status is not None:
        query = query.where(col(WebhookDelivery.status) == where.status)
    query = query.order_by(col(WebhookDelivery.created_at).desc(), col(WebhookDelivery.id))
    rows, total = await paginate(session, query, limit=limit, offset=offset)
    event_ids = {row.event_id for row in rows}
    types: dict[uuid.UUID, EventType] = {}
    if rows:
        query_types = select(col(WebhookEvent.id), col(WebhookEvent.type)).where(col(WebhookEvent.id).in_(event_ids))
        types = {event_id: kind for event_id, kind in (await session.execute(query_types)).all()}
    return [(row, types[row.event_id]) for row in rows], total


async def redeliver(
    session: AsyncSession, *, delivery_id: uuid.UUID, vendor_id: uuid.UUID | None, actor: Actor, now: datetime
) -> tuple[WebhookDelivery, EventType]:
    """The same event again to the same endpoint, as a new delivery (the log keeps both)."""
    if vendor_id is None:
        actor.require_role(Role.admin)
    query = _owned(
        select(WebhookDelivery).join(WebhookEndpoint, col(WebhookEndpoint.id) == col(WebhookDelivery.endpoint_id)),
        vendor_id,
    ).where(col(WebhookDelivery.id) == delivery_id)
    original = (await session.scalars(query)).first()
    if original is None:
        raise NotFoundError("no such delivery", zh="找不到该投递记录")
    again = WebhookDelivery(
        endpoint_id=original.endpoint_id,
        event_id=original.event_id,
        created_at=now,
        next_attempt_at=now,
        redelivery_of=original.id,
    )
    session.add(again)
    await session.flush()
    event_type = await session.scalar(select(col(WebhookEvent.type)).where(col(WebhookEvent.id) == original.event_id))
    assert event_type is not None
    return again, event_type
