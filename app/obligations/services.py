"""Obligations derived from agreements and attestations.

Deriving is idempotent: each obligation has a key naming its source (kind, object,
period), so running the derivation again updates the due date of an open obligation
instead of adding another. An open obligation the data no longer calls for is removed;
one that was done or waived stays, as history.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.agreements.models import Agreement
from app.attestations.models import Attestation
from app.core import clock
from app.core.queries import paginate, where_equal
from app.core.types import utcnow
from app.engagements.models import Engagement
from app.obligations.models import Obligation
from app.obligations.schemas import ObligationKind, ObligationPublic, ObligationStatus, Party, VendorObligation

Kind = ObligationKind


@dataclass(frozen=True)
class Spec:
    party: Party
    rule_id: str
    article: str
    what_zh: str
    what_en: str
    attestation_kind: str = ""  # what the vendor sends to meet it


SPECS: dict[Kind, Spec] = {
    Kind.deletion_attestation: Spec(
        Party.vendor,
        "R13",
        "PIPL art. 21(2)",
        "委托关系终止后删除或返还个人信息，并提交书面说明（含备份和转委托方）",
        "After the engagement ended, delete or return the PI and send a written attestation "
        "(covering backups and sub-processors)",
        "deletion",
    ),
    Kind.periodic_attestation: Spec(
        Party.vendor,
        "A7",
        "PIPL art. 21(1)",
        "年度合规声明：逐项说明协议义务的履行情况、现有转委托方和认证",
        "Yearly compliance statement: each duty of the agreement, current sub-processors and certifications",
        "periodic",
    ),
    Kind.sub_processor_consent: Spec(
        Party.handler,
        "R3",
        "PIPL art. 21(3)",
        "受托方通知了转委托变更：在其生效前决定是否同意",
        "The vendor gave notice of a sub-processor change: decide whether to consent before it takes effect",
    ),
    Kind.incident_review: Spec(
        Party.handler,
        "R18",
        "PIPL art. 57",
        "受托方报告了个人信息安全事件：立即评估、采取补救措施并决定是否通知监管部门和个人",
        "The vendor reported a PI incident: assess it at once, take remedial measures and decide on "
        "notifying the regulator and the individuals",
    ),
}
# The vendor's attestation kind that closes each vendor-side obligation when accepted.
CLOSED_BY_ATTESTATION = {spec.attestation_kind: kind for kind, spec in SPECS.items() if spec.attestation_kind}
ENDED = frozenset({"terminated", "expired"})
RUNNING = frozenset({"active"}) | ENDED


def overdue(obligation: Obligation, today: date | None = None) -> bool:
    return obligation.status == ObligationStatus.open and obligation.due_on < (today or clock.today())


def public(obligation: Obligation) -> ObligationPublic:
    spec = SPECS[Kind(obligation.kind)]
    return ObligationPublic.model_validate(
        {
            **obligation.model_dump(),
            "overdue": overdue(obligation),
            "what_zh": spec.what_zh,
            "what_en": spec.what_en,
        }
    )


def for_vendor(obligation: Obligation) -> VendorObligation:
    spec = SPECS[Kind(obligation.kind)]
    return VendorObligation(
        id=obligation.id,
        kind=Kind(obligation.kind),
        engagement_id=obligation.engagement_id,
        agreement_id=obligation.agreement_id,
        due_on=obligation.due_on,
        overdue=overdue(obligation),
        what_zh=spec.what_zh,
        what_en=spec.what_en,
        attestation_kind=spec.attestation_kind,
        last_rejection=obligation.last_rejection,
    )


def _anniversary(start: date, years: int) -> date:
    try:
        return start.replace(year=start.year + years)
    except ValueError:  # 29 February
        return start.replace(year=start.year + years, day=28)


def _derived(agreement: Agreement) -> dict[str, tuple[Kind, date]]:
    """What an agreement calls for: key -> (kind, due date)."""
    wanted: dict[str, tuple[Kind, date]] = {}
    if agreement.status in RUNNING:
        end = agreement.ended_on or agreement.term_end
        years = 1
        while (due := _anniversary(agreement.term_start, years)) <= end:
            wanted[f"{Kind.periodic_attestation}:{agreement.id}:{years}"] = (Kind.periodic_attestation, due)
            years += 1
    if agreement.status in ENDED and agreement.ended_on is not None:
        due = agreement.ended_on + timedelta(days=agreement.deletion_days)
        wanted[f"{Kind.deletion_attestation}:{agreement.id}"] = (Kind.deletion_attestation, due)
    return wanted


async def sync_agreement(session: AsyncSession, agreement: Agreement) -> None:
    """Bring the agreement's obligations in line with its status and dates; the caller commits."""
    engagement = await session.get(Engagement, agreement.engagement_id)
    owner_id = engagement.owner_id if engagement else agreement.owner_id
    wanted = _derived(agreement)
    existing = {
        row.key: row
        for row in await session.scalars(select(Obligation).where(col(Obligation.agreement_id) == agreement.id))
    }
    for key, (kind, due) in wanted.items():
        row = existing.get(key)
        if row is None:
            spec = SPECS[kind]
            session.add(
                Obligation(
                    key=key,
                    kind=kind.value,
                    party=spec.party.value,
                    vendor_id=agreement.vendor_id,
                    engagement_id=agreement.engagement_id,
                    agreement_id=agreement.id,
                    owner_id=owner_id,
                    due_on=due,
                    rule_id=spec.rule_id,
                    article=spec.article,
                )
            )
        elif row.status == ObligationStatus.open and row.due_on != due:
            row.due_on, row.updated_at = due, utcnow()
    for key, row in existing.items():
        if key not in wanted and row.status == ObligationStatus.open:
            await session.delete(row)


async def open_for_notice(session: AsyncSession, attestation: Attestation, kind: Kind, due: date) -> Obligation:
    """A decision we owe because a vendor told us something (a sub-processor change, an incident)."""
    engagement = await session.get(Engagement, attestation.engagement_id)
    spec = SPECS[kind]
    obligation = Obligation(
        key=f"{kind}:{attestation.id}",
        kind=kind.value,
        party=spec.party.value,
        vendor_id=attestation.vendor_id,
        engagement_id=attestation.engagement_id,
        attestation_id=attestation.id,
        owner_id=engagement.owner_id if engagement else None,
        due_on=due,
        rule_id=spec.rule_id,
        article=spec.article,
    )
    session.add(obligation)
    return obligation


async def _first_open(session: AsyncSession, attestation: Attestation) -> Obligation | None:
    """The obligation an attestation answers: the notice's own, or the earliest open one of its kind."""
    query = select(Obligation).where(col(Obligation.status) == ObligationStatus.open)
    if attestation.kind in CLOSED_BY_ATTESTATION:
        query = query.where(
            col(Obligation.engagement_id) == attestation.engagement_id,
            col(Obligation.kind) == CLOSED_BY_ATTESTATION[attestation.kind].value,
        )
    else:
        query = query.where(col(Obligation.attestation_id) == attestation.id)
    return (await session.scalars(query.order_by(col(Obligation.due_on)).limit(1))).first()


async def close_for(session: AsyncSession, attestation: Attestation) -> Obligation | None:
    obligation = await _first_open(session, attestation)
    if obligation is not None:
        obligation.status = ObligationStatus.done.value
        obligation.closed_by = f"attestation:{attestation.id}"
        obligation.closed_at = obligation.updated_at = utcnow()
    return obligation


async def note_rejection(session: AsyncSession, attestation: Attestation, reason: str) -> Obligation | None:
    """A refused attestation leaves its obligation open and says why, for the vendor to see."""
    if attestation.kind not in CLOSED_BY_ATTESTATION:
        return await close_for(session, attestation)  # a decision was made: consent refused, say
    obligation = await _first_open(session, attestation)
    if obligation is not None:
        obligation.last_rejection = reason
        obligation.updated_at = utcnow()
    return obligation


async def get_all(
    session: AsyncSession,
    *,
    vendor_id: uuid.UUID | None = None,
    engagement_id: uuid.UUID | None = None,
    kind: Kind | None = None,
    status: ObligationStatus | None = None,
    party: Party | None = None,
    limit: int = 50,
    offset: int = 0,
) -> tuple[list[Obligation], int]:
    query = where_equal(
        select(Obligation),
        [
            (col(Obligation.vendor_id), vendor_id),
            (col(Obligation.engagement_id), engagement_id),
            (col(Obligation.kind), kind),
            (col(Obligation.status), status),
            (col(Obligation.party), party),
        ],
    )
    query = query.order_by(col(Obligation.due_on), col(Obligation.id))
    return await paginate(session, query, limit=limit, offset=offset)


async def open_for_vendor(session: AsyncSession, *, vendor_id: uuid.UUID) -> list[Obligation]:
    rows, _ = await get_all(
        session, vendor_id=vendor_id, status=ObligationStatus.open, party=Party.vendor, limit=1000, offset=0
    )
    return rows
