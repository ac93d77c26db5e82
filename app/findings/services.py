"""Findings: the rules run over the registry, stored with their history.

`refresh` runs every rule for some engagements (or all) and brings the stored findings in
line: a new one is raised, one that still holds is updated, one that no longer holds is
resolved (kept, with when and by which change). It runs in the transaction of each change
that can alter a finding, and daily from the worker (a deadline passing is a change too).
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date
from typing import Any

from sqlalchemy import case, func, insert, select
from sqlalchemy import delete as sql_delete
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.agreements.coverage import covered
from app.agreements.models import Agreement
from app.attestations.models import Attestation
from app.core import clock
from app.core.errors import InvalidReferenceError
from app.core.queries import paginate, where_equal
from app.core.types import utcnow
from app.engagements import taxonomy
from app.engagements.models import Engagement, SubProcessor
from app.findings import rules
from app.findings.models import Finding
from app.findings.rules import Company, Facts, Raised
from app.findings.schemas import (
    CompanyView,
    CountSource,
    Dashboard,
    FeedingEngagement,
    FindingPublic,
    FindingStatus,
    OverdueItem,
    Severity,
    SeverityCount,
    VendorRisk,
)
from app.handler.models import PROFILE_ID, HandlerProfile
from app.obligations import services as obligations
from app.obligations.kinds import FACES_FILING
from app.obligations.models import Obligation
from app.obligations.schemas import ObligationStatus, StatusFilter
from app.questionnaires import services as questionnaires
from app.vendors.models import Vendor

SEVERITY_ORDER = {Severity.critical: 0, Severity.high: 1, Severity.medium: 2, Severity.review: 3}


def _group(rows: Iterable[Any], attribute: str) -> dict[Any, list[Any]]:
    grouped: dict[Any, list[Any]] = defaultdict(list)
    for row in rows:
        grouped[getattr(row, attribute)].append(row)
    return grouped


async def company(session: AsyncSession, today: date, totals: obligations.CompanyTotals | None = None) -> Company:
    """The company-wide counts the rules compare with the law, and the company's own duties."""
    totals = totals or await obligations.company_totals(session, today)
    owed = await session.scalars(select(Obligation).where(col(Obligation.engagement_id).is_(None)))
    return Company(totals.faces_total, totals.abroad, totals.abroad_sensitive, list(owed))


async def _facts(
    session: AsyncSession, engagements: Sequence[Engagement], today: date, totals: obligations.CompanyTotals
) -> list[Facts]:
    """Everything the rules need for these engagements, in one query per table."""
    ids = [engagement.id for engagement in engagements]
    if not ids:
        return []
    whole = await company(session, today, totals)
    within = len(ids) <= 1000  # past that, reading everything is cheaper than a long IN list

    async def rows(model: Any) -> dict[Any, list[Any]]:
        query = select(model)
        if model is Attestation:
            query = query.where(col(Attestation.test).is_(False))  # a sandbox rehearsal proves nothing
        if within:
            query = query.where(col(model.engagement_id).in_(ids))
        return _group(await session.scalars(query), "engagement_id")

    vendor_ids = {engagement.vendor_id for engagement in engagements}
    vendors = {v.id: v for v in await session.scalars(select(Vendor).where(col(Vendor.id).in_(vendor_ids)))}
    handler = await session.get(HandlerProfile, PROFILE_ID)
    subs, agreements, attestations, obligations = (
        await rows(SubProcessor),
        await rows(Agreement),
        await rows(Attestation),
        await rows(Obligation),
    )
    stated = await questionnaires.stated(session, ids if within else None)
    return [
        Facts(
            engagement=engagement,
            vendor=vendors[engagement.vendor_id],
            handler=handler,
            sub_processors=subs.get(engagement.id, []),
            agreements=agreements.get(engagement.id, []),
            attestations=attestations.get(engagement.id, []),
            obligations=obligations.get(engagement.id, []),
            covered=covered,
            today=today,
            company=whole,
            due_diligence=stated.get(engagement.id),
        )
        for engagement in engagements
    ]


def _key(raised: Raised, owner: str) -> str:
    return f"{raised.rule_id}:{owner}:{raised.detail}"


def _text(raised: Raised) -> dict[str, Any]:
    return {
        "rule_id": raised.rule_id,
        "severity": raised.severity,
        "title_zh": raised.title[0],
        "title_en": raised.title[1],
        "explanation_zh": raised.explanation[0],
        "explanation_en": raised.explanation[1],
        "action_zh": raised.action[0],
        "action_en": raised.action[1],
        "articles": list(raised.articles),
        "facts": raised.facts,
    }


CAUSE_LENGTH = 200  # findings.raised_by and resolved_by


def _fit(cause: str) -> str:
    """The changes that raised or resolved a finding, shortened to fit its column: one write
    can carry many (the demo's story of an agreement: issued, signed, active, ...), and
    PostgreSQL refuses a longer value where SQLite would store it."""
    return cause if len(cause) <= CAUSE_LENGTH else cause[: CAUSE_LENGTH - 1] + "…"


@dataclass
class Outcome:
    raised: int = 0
    resolved: int = 0


async def _apply(
    session: AsyncSession,
    wanted: Mapping[str, tuple[Raised, uuid.UUID | None, uuid.UUID | None]],
    existing: Sequence[Finding],
    cause: str,
) -> Outcome:
    outcome, now = Outcome(), utcnow()
    cause = _fit(cause)
    stored = {finding.key: finding for finding in existing}
    new = []
    for key, (raised, engagement_id, vendor_id) in wanted.items():
        text = _text(raised)
        finding = stored.get(key)
        if finding is None:
            new.append(
                {
                    "id": uuid.uuid4(),
                    "key": key,
                    "status": FindingStatus.open,
                    "engagement_id": engagement_id,
                    "vendor_id": vendor_id,
                    "raised_at": now,
                    "raised_by": cause,
                    "resolved_by": "",
                    "updated_at": now,
                    **text,
                }
            )
        elif any(getattr(finding, name) != value for name, value in text.items()):
            for name, value in text.items():
                setattr(finding, name, value)
            finding.updated_at = now
    for start in range(0, len(new), 1000):  # one statement per thousand: a first pass raises many
        await session.execute(insert(Finding), new[start : start + 1000])
    outcome.raised = len(new)
    for key, finding in stored.items():
        if key not in wanted:
            finding.status = FindingStatus.resolved
            finding.resolved_at = finding.updated_at = now
            finding.resolved_by = cause
            outcome.resolved += 1
    return outcome


async def refresh(
    session: AsyncSession,
    engagement_ids: Iterable[uuid.UUID] | None,
    cause: str,
    *,
    totals: obligations.CompanyTotals | None = None,
) -> Outcome:
    """Run the rules for these engagements (None: all of them); the caller commits."""
    if engagement_ids is not None and not engagement_ids:
        return Outcome()  # a write that touched no engagement (a new vendor, say): nothing to judge
    await session.flush()
    today = clock.today()
    totals = totals or await obligations.company_totals(session, today)
    query = select(Engagement)
    ids = None if engagement_ids is None else list(dict.fromkeys(engagement_ids))
    if ids is not None and set(ids) & set(totals.engagements):
        # A change to one face or cross-border engagement moves the company totals every other
        # one is judged by.
        ids = list(dict.fromkeys([*ids, *totals.engagements]))
    if ids is not None:
        query = query.where(col(Engagement.id).in_(ids))
    engagements = list(await session.scalars(query))
    wanted: dict[str, tuple[Raised, uuid.UUID | None, uuid.UUID | None]] = {}
    for engagement, facts in zip(engagements, await _facts(session, engagements, today, totals), strict=True):
        for raised in rules.evaluate(facts):
            wanted[_key(raised, str(engagement.id))] = (raised, engagement.id, engagement.vendor_id)
    open_query = select(Finding).where(
        col(Finding.status) == FindingStatus.open, col(Finding.engagement_id).is_not(None)
    )
    if ids is not None:
        open_query = open_query.where(col(Finding.engagement_id).in_(ids))
    return await _apply(session, wanted, list(await session.scalars(open_query)), cause)


async def refresh_handler(session: AsyncSession, cause: str) -> Outcome:
    handler = await session.get(HandlerProfile, PROFILE_ID)
    raised = list(rules.handler_rules(handler)) if handler else []
    wanted = {_key(item, "handler"): (item, None, None) for item in raised}
    existing = await session.scalars(
        select(Finding).where(col(Finding.status) == FindingStatus.open, col(Finding.engagement_id).is_(None))
    )
    return await _apply(session, wanted, list(existing), cause)


async def refresh_all(session: AsyncSession, cause: str, *, totals: obligations.CompanyTotals | None = None) -> Outcome:
    engagements = await refresh(session, None, cause, totals=totals)
    handler = await refresh_handler(session, cause)
    return Outcome(engagements.raised + handler.raised, engagements.resolved + handler.resolved)


async def delete_for_engagement(session: AsyncSession, engagement_id: uuid.UUID) -> None:
    await session.execute(sql_delete(Finding).where(col(Finding.engagement_id) == engagement_id))


def _public_of(raised: Raised, engagement_id: uuid.UUID | None, vendor_id: uuid.UUID | None) -> FindingPublic:
    return FindingPublic.model_validate({**_text(raised), "engagement_id": engagement_id, "vendor_id": vendor_id})


def ordered(findings: list[FindingPublic]) -> list[FindingPublic]:
    return sorted(findings, key=lambda f: (SEVERITY_ORDER[f.severity], f.rule_id))


async def check(session: AsyncSession, proposal: Any) -> list[FindingPublic]:
    """The before-you-buy check: the findings a proposed engagement would raise. Nothing is stored."""
    vendor = await session.get(Vendor, proposal.vendor_id)
    if vendor is None:
        raise InvalidReferenceError("vendor_id", "no vendor has this id", zh="找不到该受托方")
    today = clock.today()
    stored = await company(session, today)
    # The proposal is not stored yet: the company as it would be with it.
    count = proposal.individuals_count or 0
    abroad = count if proposal.leaves_china else 0
    sensitive = abroad if taxonomy.sensitive(list(proposal.pi_categories)) else 0
    faces = count if taxonomy.FACE in proposal.pi_categories else 0
    facts = Facts(
        engagement=proposal,
        vendor=vendor,
        handler=await session.get(HandlerProfile, PROFILE_ID),
        covered=covered,
        today=today,
        company=replace(
            stored,
            faces_total=stored.faces_total + faces,
            abroad=stored.abroad + abroad,
            abroad_sensitive=stored.abroad_sensitive + sensitive,
        ),
    )
    return ordered([_public_of(raised, None, vendor.id) for raised in rules.evaluate(facts)])


@dataclass(frozen=True)
class FindingFilter:
    engagement_id: uuid.UUID | None = None
    vendor_id: uuid.UUID | None = None
    rule_id: str | None = None
    severity: Severity | None = None
    status: FindingStatus | None = FindingStatus.open


async def get_all(
    session: AsyncSession, *, where: FindingFilter, limit: int = 50, offset: int = 0, worst_first: bool = False
) -> tuple[list[Finding], int]:
    """Newest first; or, `worst_first`, the open ones by severity and rule, then the resolved, newest first."""
    query = where_equal(
        select(Finding),
        [
            (col(Finding.engagement_id), where.engagement_id),
            (col(Finding.vendor_id), where.vendor_id),
            (col(Finding.rule_id), where.rule_id),
            (col(Finding.severity), where.severity),
            (col(Finding.status), where.status),
        ],
    )
    if worst_first:
        is_open = col(Finding.status) == FindingStatus.open
        severity = case(*((col(Finding.severity) == level, rank) for level, rank in SEVERITY_ORDER.items()))
        query = query.order_by(
            case((is_open, 0), else_=1), case((is_open, severity), else_=0), case((is_open, col(Finding.rule_id)))
        )
    query = query.order_by(col(Finding.raised_at).desc(), col(Finding.rule_id), col(Finding.id))
    # The page's ids, ranked from a covering index (ix_findings_worst_first), then their rows: ranking
    # whole rows (texts, facts) read every one of 34,000 open findings (bench/pages.py).
    ids, total = await paginate(session, query.with_only_columns(col(Finding.id)), limit=limit, offset=offset)
    rows = {row.id: row for row in await session.scalars(select(Finding).where(col(Finding.id).in_(ids)))}
    return [rows[id_] for id_ in ids], total


WEIGHTS = {Severity.critical: 10, Severity.high: 5, Severity.medium: 2, Severity.review: 1}
SCORING = (
    "A vendor's risk is the sum, over its open findings, of 10 per critical, 5 per high, 2 per medium "
    "and 1 per review finding; `why` lists each finding and its points."
)


async def dashboard(session: AsyncSession, *, top: int = 10) -> Dashboard:
    is_open = col(Finding.status) == FindingStatus.open
    counts = dict.fromkeys(Severity, 0)
    for severity, count in await session.execute(
        select(col(Finding.severity), func.count()).where(is_open).group_by(col(Finding.severity))
    ):
        counts[Severity(severity)] = count
    # The ranking is summed and cut to `top` in the database, and only the top vendors' findings
    # are read for their reasons: reading every open finding and every vendor with one made the
    # dashboard grow with the registry (bench/pages.py: 0.7 s at 1,000 engagements).
    score = func.sum(case(*((col(Finding.severity) == level, points) for level, points in WEIGHTS.items()), else_=0))
    scores = (
        select(col(Finding.vendor_id).label("vendor_id"), score.label("score"))
        .where(is_open, col(Finding.vendor_id).is_not(None))
        .group_by(col(Finding.vendor_id))
        .subquery()
    )
    name = func.coalesce(func.nullif(col(Vendor.legal_name_zh), ""), col(Vendor.legal_name_en))
    leaders = (
        await session.execute(
            select(scores.c.vendor_id, scores.c.score, name.label("name"))
            .join(Vendor, col(Vendor.id) == scores.c.vendor_id)
            .order_by(scores.c.score.desc(), name, scores.c.vendor_id)
            .limit(top)
        )
    ).all()
    by_vendor: dict[uuid.UUID, list[Any]] = defaultdict(list)
    if leaders:
        reasons = select(
            col(Finding.vendor_id), col(Finding.severity), col(Finding.rule_id), col(Finding.title_en)
        ).where(is_open, col(Finding.vendor_id).in_([row.vendor_id for row in leaders]))
        for finding in await session.execute(reasons):
            by_vendor[finding.vendor_id].append(finding)
    ranked = []
    for row in leaders:
        found = sorted(by_vendor[row.vendor_id], key=lambda f: (SEVERITY_ORDER[f.severity], f.rule_id))
        why = [f"{f.rule_id} {f.severity} +{WEIGHTS[f.severity]}: {f.title_en}" for f in found]
        ranked.append(VendorRisk(vendor_id=row.vendor_id, name=row.name or "", score=row.score, why=why))
    today = clock.today()
    late = await session.scalars(
        select(Obligation)
        .where(col(Obligation.status) == ObligationStatus.open, col(Obligation.due_on) < today)
        .order_by(col(Obligation.due_on), col(Obligation.id))
        .limit(top)
    )
    return Dashboard(
        findings_by_severity=[SeverityCount(severity=severity, open=count) for severity, count in counts.items()],
        most_overdue=[
            OverdueItem(
                obligation_id=o.id,
                kind=o.kind,
                vendor_id=o.vendor_id,
                engagement_id=o.engagement_id,
                due_on=o.due_on.isoformat(),
                days_overdue=(today - o.due_on).days,
            )
            for o in late
        ],
        vendors_by_risk=ranked[:top],
        scoring=SCORING,
    )


async def company_view(session: AsyncSession) -> CompanyView:
    today = clock.today()
    totals = await obligations.company_totals(session, today)
    vendor_ids = {engagement.vendor_id for engagement in totals.engagements.values()}
    # The names only: a whole vendor row carries its contacts and certifications as JSON.
    named = select(col(Vendor.id), col(Vendor.legal_name_zh), col(Vendor.legal_name_en))
    names = {
        vendor_id: name_zh or name_en
        for vendor_id, name_zh, name_en in await session.execute(named.where(col(Vendor.id).in_(vendor_ids)))
    }

    def feeding(ids: Iterable[uuid.UUID], counts: dict[uuid.UUID, int] | None = None) -> list[FeedingEngagement]:
        """Each engagement with the number it adds; for faces, whether a vendor reported it."""
        rows = [totals.engagements[id_] for id_ in ids]
        fed = []
        for row in rows:
            report = totals.face_reports.get(row.id) if counts is not None else None
            individuals = counts[row.id] if counts is not None else row.individuals_count or 0
            counted: date | None
            reported: date | None
            if report is not None:
                source, counted, reported = CountSource.reported, report.as_of, report.reported_on
                zh, en = (
                    f"受托方报告（截至{counted}，{reported}报送）",
                    f"reported by the vendor on {reported} (as of {counted})",
                )
            else:
                source, counted, reported = CountSource.estimated, row.individuals_count_as_of, None
                zh, en = f"负责人估算（{counted or '日期未填'}）", f"estimated by the owner ({counted or 'undated'})"
            fed.append(
                FeedingEngagement(
                    engagement_id=row.id,
                    name=row.name,
                    vendor=names.get(row.vendor_id, ""),
                    individuals=individuals,
                    source=source,
                    source_zh=zh,
                    source_en=en,
                    counted_on=counted,
                    reported_on=reported,
                )
            )
        return sorted(fed, key=lambda each: -each.individuals)

    year_start = date(today.year, 1, 1)
    abroad = [
        row.id
        for row in totals.engagements.values()
        if row.leaves_china and obligations.counted_this_year(row, year_start)
    ]
    owed, _ = await obligations.get_all(
        session, where=obligations.ObligationFilter(company=True, status=StatusFilter.open), limit=200
    )
    raised = await session.scalars(
        select(Finding)
        .where(col(Finding.status) == FindingStatus.open, col(Finding.engagement_id).is_(None))
        .order_by(col(Finding.rule_id))
    )
    return CompanyView(
        faces_total=totals.faces_total,
        faces_filing_threshold=FACES_FILING,
        faces_by_engagement=feeding(totals.faces, totals.faces),
        abroad_this_year=totals.abroad,
        abroad_sensitive_this_year=totals.abroad_sensitive,
        abroad_by_engagement=feeding(abroad),
        obligations=[obligations.public(row) for row in owed],
        findings=[FindingPublic.model_validate(row) for row in raised],
    )
