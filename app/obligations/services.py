"""Obligations: every deadline derived from the registry's data, never typed in by hand.

Deriving is idempotent: each obligation has a key naming its source (kind, object,
period), so deriving again updates the open obligation instead of adding another. What the
data no longer calls for is waived "by the data" (kept, as history) and reopens if the data
calls for it again; what a person waived stays waived. Deadlines counted in working days
use China's calendar (app/workdays) and are marked provisional in a year whose holidays
are not announced yet.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections import defaultdict
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, String, cast, or_, select
from sqlalchemy import delete as sql_delete
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.agreements import coverage
from app.agreements.models import Agreement
from app.agreements.schemas import ENDED, IN_FORCE, AgreementStatus
from app.attestations.models import Attestation
from app.attestations.schemas import AttestationKind, AttestationStatus
from app.audit import services as audit
from app.audit.schemas import AuditAction, AuditObject
from app.core import clock
from app.core.actor import Actor, Role
from app.core.changes import mark
from app.core.errors import ConflictError
from app.core.queries import get_or_404, paginate, where_equal
from app.core.types import utcnow
from app.engagements import taxonomy
from app.engagements.models import Engagement
from app.engagements.schemas import CrossBorderMechanism, EngagementStatus
from app.handler.models import PROFILE_ID, AuditOrder, HandlerProfile
from app.obligations.kinds import CERTIFICATE_LEAD_WORKING_DAYS, FACES_FILING, SPECS, pipia_kept_until
from app.obligations.models import Obligation
from app.obligations.schemas import (
    ObligationKind,
    ObligationPublic,
    ObligationStatus,
    Party,
    StatusFilter,
    VendorObligation,
    VendorState,
)
from app.workdays import services as workdays
from app.workdays.calendar import WorkingCalendar

Kind = ObligationKind
BY_DATA = "data"  # closed_by / waived by the registry's data rather than a person


# The vendor's attestation kind that closes each vendor-side obligation when accepted.
CLOSED_BY_ATTESTATION = {
    spec.attestation_kind: kind for kind, spec in SPECS.items() if spec.attestation_kind and not spec.met_by_data
}
# The decision we owe when a vendor notifies us of something.
OWED_FOR_NOTICE = {
    AttestationKind.sub_processor_change: Kind.sub_processor_consent,
    AttestationKind.incident: Kind.incident_review,
}
RUNNING = frozenset({AgreementStatus.active}) | ENDED


@dataclass(frozen=True)
class Wanted:
    """An obligation as the data calls for it."""

    key: str
    kind: Kind
    due: date
    provisional: bool = False
    basis_on: date | None = None
    met_by: str = ""  # set when the data itself shows the duty is met
    facts: dict[str, Any] | None = None  # stored on a new row: what it was derived from
    note: str = ""  # on a new row: why it is owed (which facts changed)


def overdue(obligation: Obligation, today: date | None = None) -> bool:
    return obligation.status == ObligationStatus.open and obligation.due_on < (today or clock.today())


def public(obligation: Obligation) -> ObligationPublic:
    spec = SPECS[obligation.kind]
    return ObligationPublic.model_validate(
        {**obligation.model_dump(), "overdue": overdue(obligation), "what_zh": spec.what_zh, "what_en": spec.what_en}
    )


def for_vendor(obligation: Obligation, state: VendorState = VendorState.open) -> VendorObligation:
    spec = SPECS[obligation.kind]
    return VendorObligation(
        state=state,
        id=obligation.id,
        kind=obligation.kind,
        engagement_id=obligation.engagement_id,
        agreement_id=obligation.agreement_id,
        due_on=obligation.due_on,
        overdue=overdue(obligation),
        what_zh=spec.what_zh,
        what_en=spec.what_en,
        attestation_kind=spec.attestation_kind or "",
        last_rejection=obligation.last_rejection,
    )


async def vendor_states(session: AsyncSession, obligations: list[Obligation]) -> dict[uuid.UUID, VendorState]:
    """Each duty's state for the vendor: an open one with an attestation of its kind awaiting our
    review is `submitted` (so nobody sends it twice); one whose last try we refused, `rejected`."""
    engagements = {o.engagement_id for o in obligations if o.status == ObligationStatus.open and o.engagement_id}
    pending: set[tuple[uuid.UUID, AttestationKind]] = set()
    if engagements:
        query = select(col(Attestation.engagement_id), col(Attestation.kind)).where(
            col(Attestation.engagement_id).in_(engagements), col(Attestation.status) == AttestationStatus.submitted
        )
        pending = {(row[0], row[1]) for row in await session.execute(query)}
    states = {}
    for obligation in obligations:
        kind = SPECS[obligation.kind].attestation_kind
        if obligation.status == ObligationStatus.done and obligation.closed_by.startswith("attestation:"):
            states[obligation.id] = VendorState.accepted
        elif obligation.status != ObligationStatus.open:
            states[obligation.id] = VendorState.closed
        elif kind is not None and (obligation.engagement_id, kind) in pending:
            states[obligation.id] = VendorState.submitted
        elif obligation.last_rejection:
            states[obligation.id] = VendorState.rejected
        else:
            states[obligation.id] = VendorState.open
    return states


def from_agreement(agreement: Agreement, today: date | None = None) -> list[Wanted]:
    wanted = []
    if agreement.status in IN_FORCE:
        renewal = agreement.term_end - timedelta(days=agreement.notice_days)
        wanted.append(Wanted(f"{Kind.renewal_decision}:{agreement.id}", Kind.renewal_decision, renewal))
        wanted.append(Wanted(f"{Kind.agreement_expiry}:{agreement.id}", Kind.agreement_expiry, agreement.term_end))
    if agreement.status in RUNNING:
        end = agreement.ended_on or agreement.term_end
        years = 1
        while (due := clock.years_after(agreement.term_start, years)) <= end:
            wanted.append(Wanted(f"{Kind.periodic_attestation}:{agreement.id}:{years}", Kind.periodic_attestation, due))
            years += 1
    if agreement.status in ENDED and agreement.ended_on is not None:
        due = agreement.ended_on + timedelta(days=agreement.deletion_days)
        wanted.append(Wanted(f"{Kind.deletion_attestation}:{agreement.id}", Kind.deletion_attestation, due))
    return wanted + face_count_reports(agreement, today or clock.today())


FACE_COUNT_REQUIREMENT = "B14"  # the agreement's duty to report faces stored each month
FACE_COUNT_DUE_DAY = 5  # by the 5th, for the end of the previous month (人脸信息 clause v2)


def month_end(day: date) -> date:
    following = date(day.year + day.month // 12, day.month % 12 + 1, 1)
    return following - timedelta(days=1)


def face_count_reports(agreement: Agreement, today: date) -> list[Wanted]:
    """The vendor's monthly count of faces stored, while an agreement obliging it (clause B14)
    runs: one report per month from when it is in force (its term's start, or its activation if
    later: a contract signed late owes no counts for the months before), due on the 5th of the next
    month; listed up to the month under way, so the next one is always in view."""
    if agreement.status not in RUNNING or FACE_COUNT_REQUIREMENT not in coverage.covered(agreement):
        return []
    start = agreement.term_start
    if agreement.activated_at is not None:
        start = max(start, clock.local_date(agreement.activated_at))
    last = min(agreement.ended_on or agreement.term_end, today)
    if start > last:
        return []  # ended (or not begun) before it was in force: no month to count
    wanted, month = [], date(start.year, start.month, 1)
    kind = Kind.face_count_report
    while month <= last:
        end = month_end(month)
        due = end + timedelta(days=FACE_COUNT_DUE_DAY)
        wanted.append(Wanted(f"{kind}:{agreement.id}:{month:%Y-%m}", kind, due, basis_on=end))
        month = end + timedelta(days=1)
    return wanted


def from_certificates(certificates: Collection[Attestation], calendar: WorkingCalendar) -> list[Wanted]:
    """Each accepted certificate is to be renewed before it expires: the vendor sends the new one
    CERTIFICATE_LEAD_WORKING_DAYS working days ahead. A later certificate of the same kind,
    accepted, meets it."""
    wanted = []
    kind = Kind.certification_renewal
    for certificate in certificates:
        until = date.fromisoformat(certificate.details["valid_until"])
        later = [
            other
            for other in certificates
            if other.details["certification"] == certificate.details["certification"]
            and date.fromisoformat(other.details["valid_until"]) > until
        ]
        met = f"{BY_DATA}:renewed by attestation {later[0].id}" if later else ""
        due = calendar.add_working_days(until, -CERTIFICATE_LEAD_WORKING_DAYS)
        key = f"{kind}:{certificate.engagement_id}:{certificate.id}"
        wanted.append(Wanted(key, kind, due, provisional=calendar.provisional(due, until), basis_on=until, met_by=met))
    return wanted


def standard_contract_facts(engagement: Engagement) -> dict[str, Any]:
    """What a filed standard contract states and whose change calls for supplementing or
    re-signing it and filing again (standard contract measures art. 8): the overseas recipients,
    the purpose, the categories (and so their sensitivity), the volume band that decides the
    mechanism (2024 provisions arts. 7-8), and where the PI is stored abroad. Order does not matter,
    nor does a count that stays in its band."""
    categories = sorted(engagement.pi_categories)
    sensitive = bool(taxonomy.sensitive(categories)) or taxonomy.MINORS in engagement.data_subjects
    count = engagement.individuals_count or 0
    if sensitive:
        band = "sensitive: under 10,000" if count < 10_000 else "sensitive: 10,000 or more"
    else:
        band = (
            "under 100,000" if count < 100_000 else "100,000 to 999,999" if count < 1_000_000 else "1,000,000 or more"
        )
    return {
        "recipients": sorted([each.name, each.country, each.purpose] for each in engagement.cross_border_recipients),
        "purpose": engagement.purpose,
        "categories": categories,
        "volume_band": band,
        "storage_abroad": sorted(
            [each.country, each.region or "", each.provider]
            for each in engagement.storage_locations
            if each.country != "CN"
        ),
    }


FILED_CONTRACT = (Kind.standard_contract_filing, Kind.standard_contract_refiling)


def standard_contract_refiling(
    engagement: Engagement, calendar: WorkingCalendar, existing: dict[str, Obligation], today: date
) -> list[Wanted]:
    """Once a standard contract is filed, a change of its facts calls for re-filing: the contract
    supplemented or re-signed, then filed within 10 working days of taking effect (standard
    contract measures arts. 7, 8), counted here from the day the change was recorded. One
    obligation per new set of facts; a change back to the filed facts needs nothing."""
    filed = [row for row in existing.values() if row.kind in FILED_CONTRACT and row.facts is not None]
    filed = [row for row in filed if row.status == ObligationStatus.done]
    if not filed:
        return []
    latest = max(filed, key=lambda row: row.closed_at or row.updated_at)
    now = standard_contract_facts(engagement)
    changed = [name for name, value in now.items() if (latest.facts or {}).get(name) != value]
    if not changed:
        return []
    kind = Kind.standard_contract_refiling
    digest = hashlib.sha256(json.dumps(now, ensure_ascii=False, sort_keys=True).encode()).hexdigest()[:16]
    key = f"{kind}:{engagement.id}:{digest}"
    seen = existing.get(key)
    start = (seen.basis_on if seen else None) or today
    due = calendar.add_working_days(start, 10)
    note = "changed since filed: " + ", ".join(changed)
    return [Wanted(key, kind, due, calendar.provisional(start, due), start, facts=now, note=note)]


def from_engagement(
    engagement: Engagement,
    calendar: WorkingCalendar,
    existing: dict[str, Obligation],
    today: date,
    certificates: Collection[Attestation] = (),
) -> list[Wanted]:
    wanted = from_certificates(certificates, calendar)

    def key(kind: Kind) -> str:
        return f"{kind}:{engagement.id}"

    if engagement.start_date is not None and engagement.status != EngagementStatus.terminated:
        met = f"{BY_DATA}:pipia_date {engagement.pipia_date}" if engagement.pipia_date else ""
        wanted.append(Wanted(key(Kind.pipia), Kind.pipia, engagement.start_date, met_by=met))
    if engagement.pipia_date is not None:
        keep_until = pipia_kept_until(engagement.pipia_date, engagement.end_date)
        kept = engagement.pipia_retained_until is not None and engagement.pipia_retained_until >= keep_until
        met = f"{BY_DATA}:pipia_retained_until {engagement.pipia_retained_until}" if kept else ""
        wanted.append(Wanted(key(Kind.pipia_retention), Kind.pipia_retention, engagement.pipia_date, met_by=met))
    effective = engagement.cross_border_effective_on
    if engagement.leaves_china and effective is not None:
        if engagement.cross_border_mechanism == CrossBorderMechanism.standard_contract:
            due = calendar.add_working_days(effective, 10)
            kind = Kind.standard_contract_filing
            wanted.append(Wanted(key(kind), kind, due, provisional=calendar.provisional(effective, due)))
            wanted += standard_contract_refiling(engagement, calendar, existing, today)
        elif engagement.cross_border_mechanism == CrossBorderMechanism.security_assessment:
            # Valid 3 years from the result; the extension is asked for in the 60 working days
            # before expiry (provisions 2024 art. 9): due at expiry, the window opening on basis_on.
            expires = clock.years_after(effective, 3)
            opens = calendar.add_working_days(expires, -60)
            kind = Kind.security_assessment_extension
            provisional = calendar.provisional(opens, expires)
            wanted.append(Wanted(key(kind), kind, expires, provisional=provisional, basis_on=opens))
        elif engagement.cross_border_mechanism == CrossBorderMechanism.certification:
            # Certification measures 2025: a certificate is valid 3 years.
            kind = Kind.cross_border_certification_renewal
            wanted.append(Wanted(key(kind), kind, clock.years_after(effective, 3)))
    return wanted


@dataclass(frozen=True, slots=True)
class CountedEngagement:
    """The columns of an engagement that the company's totals read: a plain row, not a whole
    mapped object (the totals read over a thousand of them on every page and settle)."""

    id: uuid.UUID
    vendor_id: uuid.UUID
    name: str
    pi_categories: list[str]
    data_subjects: list[str]
    leaves_china: bool
    status: EngagementStatus
    individuals_count: int | None
    individuals_count_as_of: date | None
    end_date: date | None
    created_at: datetime
    updated_at: datetime


COUNTED_COLUMNS = tuple(getattr(Engagement, name) for name in CountedEngagement.__slots__)


@dataclass(frozen=True)
class FaceReport:
    """A vendor's monthly count of faces stored for us, accepted on review."""

    faces: int
    as_of: date  # the day counted
    reported_on: date
    attestation_id: uuid.UUID


@dataclass(frozen=True)
class CompanyTotals:
    """What the law counts over the whole company, not per engagement: the faces it stores
    (facial-recognition measures art. 15) and the individuals whose PI leaves China this year
    (cross-border provisions 2024, counted since 1 January, splitting forbidden). A face
    engagement counts its vendor's latest accepted monthly report, or else its owner's estimate
    (`individuals_count`); the estimate is an upper bound, as one person may be in two engagements."""

    faces: dict[uuid.UUID, int] = field(default_factory=dict)  # engagement in use -> individuals
    abroad: int = 0
    abroad_sensitive: int = 0
    minors: bool = False  # PI of minors is processed this year
    engagements: dict[uuid.UUID, CountedEngagement] = field(default_factory=dict)  # every one counted, ended ones too
    face_reports: dict[uuid.UUID, FaceReport] = field(default_factory=dict)  # where a vendor's count is used

    @property
    def faces_total(self) -> int:
        return sum(self.faces.values())

    @property
    def faces_as_of(self) -> date | None:
        """The date of the newest face count: when the total was as it is."""
        dates = [self.faces_counted_on(id_) for id_ in self.faces]
        return max((day for day in dates if day is not None), default=None)

    def faces_counted_on(self, engagement_id: uuid.UUID) -> date | None:
        report = self.face_reports.get(engagement_id)
        return report.as_of if report else self.engagements[engagement_id].individuals_count_as_of


def counted_this_year(engagement: CountedEngagement, year_start: date) -> bool:
    """In this year's counts: still running, or ended since 1 January."""
    ended = engagement.status == EngagementStatus.terminated
    return not ended or (engagement.end_date is not None and engagement.end_date >= year_start)


async def latest_face_reports(
    session: AsyncSession, engagement_ids: Collection[uuid.UUID]
) -> dict[uuid.UUID, FaceReport]:
    """Each engagement's latest accepted face count: the newest day counted, then the newest sent."""
    if not engagement_ids:
        return {}
    query = select(Attestation).where(
        col(Attestation.kind) == AttestationKind.face_count,
        col(Attestation.status) == AttestationStatus.accepted,
        col(Attestation.engagement_id).in_(list(engagement_ids)),
    )
    found: dict[uuid.UUID, FaceReport] = {}
    for row in await session.scalars(query):
        report = FaceReport(
            int(row.details["faces_stored"]),
            date.fromisoformat(row.details["as_of"]),
            clock.local_date(row.submitted_at),
            row.id,
        )
        best = found.get(row.engagement_id)
        if best is None or (report.as_of, report.reported_on) > (best.as_of, best.reported_on):
            found[row.engagement_id] = report
    return found


async def company_totals(session: AsyncSession, today: date | None = None) -> CompanyTotals:
    """Two queries: the engagements that can count (faces, minors, transfers abroad), and the
    vendors' accepted face counts of those with faces."""
    today = today or clock.today()
    year_start = date(today.year, 1, 1)
    categories, subjects = cast(col(Engagement.pi_categories), String), cast(col(Engagement.data_subjects), String)
    query = select(*COUNTED_COLUMNS).where(
        or_(
            categories.contains(f'"{taxonomy.FACE}"'),
            subjects.contains('"minors_under_'),
            col(Engagement.leaves_china),
        )
    )
    engagements = {row.id: CountedEngagement(*row) for row in await session.execute(query)}
    in_use = [
        engagement.id
        for engagement in engagements.values()
        if taxonomy.FACE in engagement.pi_categories and engagement.status != EngagementStatus.terminated
    ]
    reports = await latest_face_reports(session, in_use)
    faces = {id_: reports[id_].faces if id_ in reports else engagements[id_].individuals_count or 0 for id_ in in_use}
    abroad, abroad_sensitive, minors = 0, 0, False
    for engagement in engagements.values():
        count = engagement.individuals_count or 0
        if not counted_this_year(engagement, year_start):
            continue
        minors = minors or any(str(subject).startswith("minors_under_") for subject in engagement.data_subjects)
        if engagement.leaves_china:
            sensitive = (
                taxonomy.sensitive(list(engagement.pi_categories)) or taxonomy.MINORS in engagement.data_subjects
            )
            abroad += count
            abroad_sensitive += count if sensitive else 0
    return CompanyTotals(faces, abroad, abroad_sensitive, minors, engagements, reports)


COMPANY = "company"  # the key's object for the company's own duties


def from_company(
    totals: CompanyTotals,
    handler: HandlerProfile | None,
    calendar: WorkingCalendar,
    existing: dict[str, Obligation],
    today: date,
    orders: Collection[AuditOrder] = (),
) -> list[Wanted]:
    wanted: list[Wanted] = []

    def counted_from(kind: Kind, key: str, reached: date) -> None:
        """Due 30 working days from `reached`; the first day seen is kept even if counts are redone."""
        seen = existing.get(key)
        start = (seen.basis_on if seen else None) or reached
        due = calendar.add_working_days(start, 30)
        wanted.append(Wanted(key, kind, due, provisional=calendar.provisional(start, due), basis_on=start))

    filing_key = f"{Kind.facial_recognition_filing}:{COMPANY}"
    filing = existing.get(filing_key)
    if totals.faces_total >= FACES_FILING or (filing is not None and filing.status == ObligationStatus.done):
        # Once filed it stays wanted (done), so that later changes are measured against it.
        counted_from(Kind.facial_recognition_filing, filing_key, totals.faces_as_of or today)
    if filing is not None and filing.status == ObligationStatus.done and filing.closed_at is not None:
        filed_on = clock.local_date(filing.closed_at)
        ended = []
        for engagement in totals.engagements.values():
            if taxonomy.FACE not in engagement.pi_categories:
                continue
            if engagement.created_at > filing.closed_at:
                kind = Kind.facial_recognition_filing_change
                counted_from(kind, f"{kind}:{engagement.id}:start", clock.local_date(engagement.created_at))
            if engagement.status == EngagementStatus.terminated and engagement.updated_at > filing.closed_at:
                # Ended since the filing: from its end date, or the day it was marked ended.
                end = engagement.end_date
                ended.append(
                    (engagement.id, end if end and end >= filed_on else clock.local_date(engagement.updated_at))
                )
        if ended and not totals.faces:
            kind = Kind.facial_recognition_deregistration
            counted_from(kind, f"{kind}:{COMPANY}", max(stopped for _, stopped in ended))
        else:
            for engagement_id, stopped_on in ended:
                kind = Kind.facial_recognition_filing_change
                counted_from(kind, f"{kind}:{engagement_id}:end", stopped_on)
    people = handler.individuals_total if handler else 0
    if handler is not None and people >= 1_000_000:
        officer = handler.pi_protection_officer_name.strip() or "unnamed"
        counted_from(
            Kind.pi_officer_report, f"{Kind.pi_officer_report}:{officer}", handler.individuals_total_as_of or today
        )
    if handler is not None and people > 10_000_000:
        last = handler.last_compliance_audit_on
        key = f"{Kind.compliance_audit}:{last or 'never'}"
        seen = existing.get(key)
        due = clock.years_after(last, 2) if last else (seen.due_on if seen else today)
        wanted.append(Wanted(key, Kind.compliance_audit, due))
    if totals.minors:
        key = f"{Kind.minors_audit_report}:{today.year}"
        wanted.append(Wanted(key, Kind.minors_audit_report, date(today.year + 1, 1, 31)))
    for order in orders:
        # Due at the regulator's deadline; the audit report, once recorded, is the evidence that meets it.
        kind = Kind.regulator_ordered_audit
        met = f"{BY_DATA}:audit report {order.report_sha256[:16]}" if order.report_sha256 else ""
        wanted.append(Wanted(f"{kind}:{order.id}", kind, order.deadline, basis_on=order.ordered_on, met_by=met))
    return wanted


def _close(obligation: Obligation, status: ObligationStatus, by: str, note: str = "") -> None:
    obligation.status = status
    obligation.closed_by, obligation.note = by, note
    obligation.closed_at = obligation.updated_at = utcnow()


def _apply(
    session: AsyncSession, existing: dict[str, Obligation], wanted: list[Wanted], make: Callable[[Wanted], Obligation]
) -> list[Obligation]:
    """Bring the stored obligations of one object in line with what its data calls for."""
    touched = []
    for want in wanted:
        row = existing.get(want.key)
        if row is None:
            row = make(want)
            session.add(row)
        elif row.status == ObligationStatus.waived and row.closed_by == BY_DATA:
            row.status, row.closed_by, row.closed_at, row.note = ObligationStatus.open, "", None, ""
        if row.status == ObligationStatus.open:
            if (row.due_on, row.provisional, row.basis_on) != (want.due, want.provisional, want.basis_on):
                row.due_on, row.provisional, row.basis_on = want.due, want.provisional, want.basis_on
                row.updated_at = utcnow()
            if want.met_by:
                _close(row, ObligationStatus.done, want.met_by)
            else:
                touched.append(row)
    keys = {want.key for want in wanted}
    for key, row in existing.items():
        if key not in keys and row.status == ObligationStatus.open:
            _close(row, ObligationStatus.waived, BY_DATA, "no longer applies")
    return touched


def _new(spec_kind: Kind, want: Wanted, **where: Any) -> Obligation:
    spec = SPECS[spec_kind]
    return Obligation(
        key=want.key,
        kind=spec_kind,
        party=spec.party,
        due_on=want.due,
        provisional=want.provisional,
        basis_on=want.basis_on,
        rule_id=spec.rule_id,
        article=spec.article,
        facts=want.facts,
        note=want.note,
        **where,
    )


async def _existing(session: AsyncSession, *where: ColumnElement[bool]) -> dict[str, Obligation]:
    return {row.key: row for row in await session.scalars(select(Obligation).where(*where))}


def _sync_agreement_rows(
    session: AsyncSession,
    agreement: Agreement,
    owner_id: uuid.UUID | None,
    existing: dict[str, Obligation],
    today: date,
) -> list[Obligation]:
    return _apply(
        session,
        existing,
        from_agreement(agreement, today),
        lambda want: _new(
            want.kind,
            want,
            vendor_id=agreement.vendor_id,
            engagement_id=agreement.engagement_id,
            agreement_id=agreement.id,
            owner_id=owner_id,
        ),
    )


def _sync_engagement_rows(
    session: AsyncSession,
    engagement: Engagement,
    calendar: WorkingCalendar,
    existing: dict[str, Obligation],
    today: date,
    certificates: Collection[Attestation],
) -> list[Obligation]:
    for row in existing.values():
        if row.owner_id != engagement.owner_id and row.status == ObligationStatus.open:
            row.owner_id = engagement.owner_id
        if row.kind == Kind.standard_contract_filing and row.status == ObligationStatus.done and row.facts is None:
            # Filed in the write being settled (or before facts were kept): these are the filed facts.
            row.facts = standard_contract_facts(engagement)
    return _apply(
        session,
        existing,
        from_engagement(engagement, calendar, existing, today, certificates),
        lambda want: _new(
            want.kind, want, vendor_id=engagement.vendor_id, engagement_id=engagement.id, owner_id=engagement.owner_id
        ),
    )


@dataclass
class Derived:
    """What deriving changed, for the reminders: open obligations that may be due a reminder
    now, obligations an attestation closed (their queued reminders are cancelled), and
    one-off notices (a refused attestation)."""

    due: list[Obligation] = field(default_factory=list)
    closed: set[uuid.UUID] = field(default_factory=set)
    notices: list[tuple[Obligation, str]] = field(default_factory=list)


async def sync(
    session: AsyncSession, engagement_ids: Collection[uuid.UUID] | None = None, *, totals: CompanyTotals | None = None
) -> list[Obligation]:
    """Bring the obligations of these engagements (None: all) and of their agreements in line
    with the data; return the open ones, which may be due a reminder. One query per table,
    whatever the size: the settle step runs it after each change, the worker daily (a year's
    holidays get announced; "today" moves on)."""
    calendar, today = await workdays.load(session), clock.today()
    stored = select(Obligation).where(col(Obligation.attestation_id).is_(None))
    engagement_query, agreement_query = select(Engagement), select(Agreement)
    if engagement_ids is not None:
        ids = list(engagement_ids)
        if not ids:
            return await _sync_company(session, calendar, today, totals)
        stored = stored.where(col(Obligation.engagement_id).in_(ids))
        engagement_query = engagement_query.where(col(Engagement.id).in_(ids))
        agreement_query = agreement_query.where(col(Agreement.engagement_id).in_(ids))
    by_agreement: dict[uuid.UUID, dict[str, Obligation]] = defaultdict(dict)
    by_engagement: dict[uuid.UUID, dict[str, Obligation]] = defaultdict(dict)
    for row in await session.scalars(stored.where(col(Obligation.engagement_id).is_not(None))):
        if row.agreement_id is not None:
            by_agreement[row.agreement_id][row.key] = row
        elif row.engagement_id is not None:
            by_engagement[row.engagement_id][row.key] = row
    engagements = {engagement.id: engagement for engagement in await session.scalars(engagement_query)}
    certificates = await _accepted_certificates(session, engagement_ids)
    touched = []
    for engagement in engagements.values():
        touched += _sync_engagement_rows(
            session, engagement, calendar, by_engagement[engagement.id], today, certificates[engagement.id]
        )
    for agreement in await session.scalars(agreement_query):
        parent = engagements.get(agreement.engagement_id)
        owner_id = parent.owner_id if parent else agreement.owner_id
        touched += _sync_agreement_rows(session, agreement, owner_id, by_agreement[agreement.id], today)
    return touched + await _sync_company(session, calendar, today, totals)


async def _sync_company(
    session: AsyncSession, calendar: WorkingCalendar, today: date, totals: CompanyTotals | None
) -> list[Obligation]:
    """The company's own duties, from totals over every engagement: a write to any one
    engagement can move them, so they are derived on every settle (two small queries)."""
    existing = await _existing(
        session, col(Obligation.engagement_id).is_(None), col(Obligation.attestation_id).is_(None)
    )
    handler = await session.get(HandlerProfile, PROFILE_ID)
    totals = totals or await company_totals(session, today)
    orders = list(await session.scalars(select(AuditOrder)))
    wanted = from_company(totals, handler, calendar, existing, today, orders)
    return _apply(session, existing, wanted, lambda want: _new(want.kind, want))


async def _accepted_certificates(
    session: AsyncSession, engagement_ids: Collection[uuid.UUID] | None
) -> dict[uuid.UUID, list[Attestation]]:
    query = select(Attestation).where(
        col(Attestation.kind) == AttestationKind.certification,
        col(Attestation.status) == AttestationStatus.accepted,
        col(Attestation.test).is_(False),
    )
    if engagement_ids is not None:
        query = query.where(col(Attestation.engagement_id).in_(list(engagement_ids)))
    found: dict[uuid.UUID, list[Attestation]] = defaultdict(list)
    for attestation in await session.scalars(query.order_by(col(Attestation.submitted_at))):
        found[attestation.engagement_id].append(attestation)
    return found


async def delete_for_engagement(session: AsyncSession, engagement_id: uuid.UUID) -> None:
    """With the engagement itself: the obligations derived from it (their reminders first)."""
    await session.execute(sql_delete(Obligation).where(col(Obligation.engagement_id) == engagement_id))


async def follow_attestations(session: AsyncSession, attestation_ids: Collection[uuid.UUID]) -> Derived:
    """What the vendor's submissions and our reviews of them change: a notice opens a decision
    we owe; an accepted attestation closes the duty it answers; a refused one leaves it open,
    says why, and the vendor is told."""
    derived = Derived()
    if not attestation_ids:
        return derived
    query = select(Attestation).where(col(Attestation.id).in_(list(attestation_ids)))
    for attestation in await session.scalars(query.order_by(col(Attestation.submitted_at))):
        if attestation.test:
            # A sandbox rehearsal: refused like a real one where a real one would be; follows nothing.
            await _refuse_if_closed(session, attestation)
            continue
        if attestation.status == AttestationStatus.submitted:
            await _refuse_if_closed(session, attestation)
            derived.due += await _open_for_notice(session, attestation)
        elif attestation.status == AttestationStatus.accepted:
            closed = await _close_for(session, attestation)
            derived.closed |= {closed.id} if closed else set()
        elif attestation.status == AttestationStatus.rejected:
            await _note_rejection(session, attestation, derived)
        elif attestation.status == AttestationStatus.withdrawn:
            derived.closed |= await _close_withdrawn(session, attestation)
    return derived


async def _refuse_if_closed(session: AsyncSession, attestation: Attestation) -> None:
    """An attestation that answers a duty (deletion, periodic) while that duty is already closed
    is refused before anything is committed: it would close nothing and only add to the record."""
    kind = CLOSED_BY_ATTESTATION.get(attestation.kind)
    if kind is None or attestation.kind == AttestationKind.face_count:
        return  # a face count is data for the company's total too: a correction or an extra one is welcome
    of_kind = select(Obligation).where(
        col(Obligation.engagement_id) == attestation.engagement_id, col(Obligation.kind) == kind
    )
    rows = list(await session.scalars(of_kind.order_by(col(Obligation.due_on).desc())))
    if not rows or any(row.status == ObligationStatus.open for row in rows):
        return
    duty = rows[0]
    raise ConflictError(
        f"the duty this {attestation.kind} attestation answers is already closed: {SPECS[kind].what_en} "
        f"(obligation {duty.id}, due {duty.due_on}, {duty.status}); nothing is left to attest",
        code="duty_already_closed",
        zh=f"该证明所对应的义务已关闭：{SPECS[kind].what_zh}（义务 {duty.id}，截止 {duty.due_on}），无需再提交",
    )


async def _close_withdrawn(session: AsyncSession, attestation: Attestation) -> set[uuid.UUID]:
    """A withdrawn notice no longer asks us for a decision (or a report)."""
    query = select(Obligation).where(
        col(Obligation.attestation_id) == attestation.id, col(Obligation.status) == ObligationStatus.open
    )
    closed = set()
    for obligation in await session.scalars(query):
        _close(obligation, ObligationStatus.waived, f"withdrawn:{attestation.id}", "the vendor withdrew the notice")
        closed.add(obligation.id)
    return closed


async def _open_for_notice(session: AsyncSession, attestation: Attestation) -> list[Obligation]:
    """What we owe because a vendor told us something: a decision (a sub-processor change, an
    incident), and for an incident the report to the authorities, owed by whoever runs the
    system that was hit (national incident reporting measures 2025 art. 4)."""
    kind = OWED_FOR_NOTICE.get(attestation.kind)
    if kind is None:
        return []
    key = f"{kind}:{attestation.id}"
    if (await session.scalars(select(Obligation).where(col(Obligation.key) == key))).first() is not None:
        return []
    # Owed from the day the vendor told us, however late this runs (a notice back-dated by the demo).
    due = clock.local_date(attestation.submitted_at)
    if kind == Kind.sub_processor_consent:
        due = max(due, date.fromisoformat(attestation.details["effective_from"]))
    engagement = await session.get(Engagement, attestation.engagement_id)
    where = {
        "vendor_id": attestation.vendor_id,
        "engagement_id": attestation.engagement_id,
        "attestation_id": attestation.id,
        "owner_id": engagement.owner_id if engagement else None,
    }
    opened = [_new(kind, Wanted(key, kind, due), **where)]
    if kind == Kind.incident_review:
        report = Kind.incident_regulator_report
        detected = date.fromisoformat(str(attestation.details["detected_at"])[:10])
        row = _new(report, Wanted(f"{report}:{attestation.id}", report, detected), **where)
        row.party = Party(attestation.details.get("system", Party.vendor))
        opened.append(row)
    session.add_all(opened)
    return opened


async def _first_open(session: AsyncSession, attestation: Attestation) -> Obligation | None:
    """The obligation an attestation answers: the notice's own, or the earliest open one of its kind."""
    query = select(Obligation).where(col(Obligation.status) == ObligationStatus.open)
    if attestation.kind in CLOSED_BY_ATTESTATION:
        query = query.where(
            col(Obligation.engagement_id) == attestation.engagement_id,
            col(Obligation.kind) == CLOSED_BY_ATTESTATION[attestation.kind],
        )
    else:
        # The decision the notice asked for, not the report an incident also opened.
        owed = OWED_FOR_NOTICE.get(attestation.kind)
        query = query.where(col(Obligation.attestation_id) == attestation.id)
        query = query if owed is None else query.where(col(Obligation.kind) == owed)
    return (await session.scalars(query.order_by(col(Obligation.due_on)).limit(1))).first()


async def _close_for(session: AsyncSession, attestation: Attestation) -> Obligation | None:
    obligation = await _first_open(session, attestation)
    if obligation is not None:
        _close(obligation, ObligationStatus.done, f"attestation:{attestation.id}")
    return obligation


async def _note_rejection(session: AsyncSession, attestation: Attestation, derived: Derived) -> None:
    """A refused attestation leaves its obligation open and says why, for the vendor to see."""
    if attestation.kind not in CLOSED_BY_ATTESTATION:
        closed = await _close_for(session, attestation)  # a decision was made: consent refused, say
        derived.closed |= {closed.id} if closed else set()
        return
    obligation = await _first_open(session, attestation)
    if obligation is not None:
        obligation.last_rejection = attestation.review_reason
        obligation.updated_at = utcnow()
        derived.notices.append((obligation, f"refused-{attestation.id.hex[:8]}"))


async def _for_change(session: AsyncSession, obligation_id: uuid.UUID, actor: Actor) -> Obligation:
    obligation = await get_or_404(session, Obligation, obligation_id, "obligation")
    if actor.role != Role.dpo and not (actor.role == Role.owner and obligation.owner_id == actor.user_id):
        actor.require_role(Role.dpo)  # admins pass; owners only for their own obligations
    if obligation.status != ObligationStatus.open:
        raise ConflictError(
            f"this obligation is already {obligation.status}",
            zh=f"该义务已{ {'done': '完成', 'waived': '豁免'}.get(obligation.status, '关闭') }",
        )
    return obligation


async def _close_by(
    session: AsyncSession, obligation: Obligation, status: ObligationStatus, note: str, actor: Actor
) -> Obligation:
    """A person closes it: no reminder goes out for it any more; its findings follow (settle)."""
    _close(obligation, status, f"user:{actor.label}", note)
    changes = {
        "status": [ObligationStatus.open, status],
        "reason" if status == ObligationStatus.waived else "reference": note,
    }
    audit.record(session, actor, AuditAction.update, AuditObject.obligation, obligation.id, changes)
    mark(
        session,
        f"obligation {status.value} by {actor.label}",
        engagement=obligation.engagement_id,
        closed_obligation=obligation.id,
    )
    return obligation


async def waive(session: AsyncSession, *, obligation_id: uuid.UUID, reason: str, actor: Actor) -> Obligation:
    """A person decides a duty does not apply."""
    obligation = await _for_change(session, obligation_id, actor)
    return await _close_by(session, obligation, ObligationStatus.waived, reason, actor)


async def complete(session: AsyncSession, *, obligation_id: uuid.UUID, reference: str, actor: Actor) -> Obligation:
    """Mark done a duty no data of ours can show done (a filing, a renewal decision)."""
    obligation = await _for_change(session, obligation_id, actor)
    if not SPECS[obligation.kind].manual:
        raise ConflictError(
            f"a {obligation.kind} obligation closes by itself (an accepted attestation or the registry's data)",
            zh=f"这类义务（{SPECS[obligation.kind].what_zh}）会自动关闭：证明被接受或登记的数据满足要求后即完成",
        )
    return await _close_by(session, obligation, ObligationStatus.done, reference, actor)


@dataclass(frozen=True)
class ObligationFilter:
    vendor_id: uuid.UUID | None = None
    engagement_id: uuid.UUID | None = None
    agreement_id: uuid.UUID | None = None
    owner_id: uuid.UUID | None = None
    kind: Kind | None = None
    status: StatusFilter | None = None
    party: Party | None = None
    due_before: date | None = None
    due_after: date | None = None
    company: bool | None = None  # True: only the company's own duties; False: only engagements'
    updated_since: datetime | None = None

    @classmethod
    def owed_by(cls, vendor_id: uuid.UUID, updated_since: datetime | None = None) -> ObligationFilter:
        """What a vendor sees on its own API: its open duties."""
        return cls(vendor_id=vendor_id, status=StatusFilter.open, party=Party.vendor, updated_since=updated_since)


async def get_all(
    session: AsyncSession, *, where: ObligationFilter, limit: int = 50, offset: int = 0
) -> tuple[list[Obligation], int]:
    status = where.status
    query = where_equal(
        select(Obligation),
        [
            (col(Obligation.vendor_id), where.vendor_id),
            (col(Obligation.engagement_id), where.engagement_id),
            (col(Obligation.agreement_id), where.agreement_id),
            (col(Obligation.owner_id), where.owner_id),
            (col(Obligation.kind), where.kind),
            (col(Obligation.party), where.party),
            (col(Obligation.status), ObligationStatus.open if status == StatusFilter.overdue else status),
        ],
    )
    if status == StatusFilter.overdue:
        query = query.where(col(Obligation.due_on) < clock.today())
    if where.updated_since is not None:
        query = query.where(col(Obligation.updated_at) >= where.updated_since)
    if where.company is not None:
        engagement = col(Obligation.engagement_id)
        query = query.where(engagement.is_(None) if where.company else engagement.is_not(None))
    if where.due_before is not None:
        query = query.where(col(Obligation.due_on) <= where.due_before)
    if where.due_after is not None:
        query = query.where(col(Obligation.due_on) >= where.due_after)
    query = query.order_by(col(Obligation.due_on), col(Obligation.id))
    return await paginate(session, query, limit=limit, offset=offset)
