"""Attestation rules: what a vendor may submit, and what accepting or rejecting it changes."""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

import anyio.to_thread
from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.agreements.library import library
from app.agreements.models import Agreement, AgreementDocument
from app.agreements.schemas import ENDED, IN_FORCE, AgreementTerms
from app.attestations.models import Attestation, EvidenceFile
from app.attestations.schemas import (
    AffectedSystem,
    AttestationDetails,
    AttestationKind,
    AttestationPublic,
    AttestationStatus,
    CertificationDetails,
    Check,
    Clock,
    DeletionDetails,
    EvidenceFilePublic,
    FaceCountDetails,
    IncidentDetails,
    PeriodicDetails,
    read_details,
)
from app.audit import services as audit
from app.audit.schemas import AuditAction, AuditObject
from app.core import clock
from app.core.actor import CLI_ACTOR, Actor, Role
from app.core.changes import mark, send_mail
from app.core.errors import ConflictError, FieldErrors, InvalidReferenceError, NotFoundError, PermissionDeniedError
from app.core.queries import get_or_404, get_owned, paginate, where_equal
from app.core.storage import FileStore, StorageError
from app.core.types import utcnow
from app.core.uploads import CheckedFile
from app.engagements import taxonomy
from app.engagements.models import Engagement, SubProcessor
from app.engagements.schemas import EngagementStatus
from app.handler.models import PROFILE_ID, AuditOrder, HandlerProfile
from app.questionnaires.models import QuestionnaireFile
from app.vendors.models import Vendor

MAX_FILES = 20
STATUS_ZH = {
    AttestationStatus.accepted: "接受",
    AttestationStatus.rejected: "退回",
    AttestationStatus.withdrawn: "撤回",
}
DEFAULT_NOTICE_HOURS = AgreementTerms.model_fields["incident_notice_hours"].default
REVIEWERS = (Role.owner, Role.dpo)
log = logging.getLogger(__name__)


async def files_of(session: AsyncSession, ids: list[uuid.UUID]) -> dict[uuid.UUID, list[EvidenceFile]]:
    found: dict[uuid.UUID, list[EvidenceFile]] = {attestation_id: [] for attestation_id in ids}
    if ids:
        query = select(EvidenceFile).where(col(EvidenceFile.attestation_id).in_(ids))
        for row in await session.scalars(query.order_by(col(EvidenceFile.created_at), col(EvidenceFile.id))):
            found[row.attestation_id].append(row)
    return found


def incident_clocks(
    details: IncidentDetails, submitted_at: datetime, notice_hours: int, handler_is_ciio: bool
) -> list[Clock]:
    """The hours that run from an incident's discovery: the vendor's first notice to us (the
    agreement's hours), and the operator's report of a 'relatively major' or worse incident
    (national incident reporting measures 2025 art. 4: 4 hours to the provincial CAC; 1 hour to
    the protection department and the police for critical infrastructure)."""
    at = details.detected_at
    notice = at + timedelta(hours=notice_hours)
    clocks = [
        Clock(
            party=AffectedSystem.vendor,
            duty_zh=f"受托方在发现后{notice_hours}小时内首次通知委托方",
            duty_en=f"The vendor's first notice to us, within {notice_hours} hours of discovery",
            deadline=notice,
            source="Agreement (B3); PIPL art. 57",
            met=submitted_at <= notice,
        )
    ]
    if details.system == AffectedSystem.handler and handler_is_ciio:
        clocks.append(
            Clock(
                party=AffectedSystem.handler,
                duty_zh="较大以上事件：1小时内报告保护工作部门和公安机关（关键信息基础设施）",
                duty_en="A relatively major or worse incident: report to the protection department and the "
                "police within 1 hour (critical infrastructure)",
                deadline=at + timedelta(hours=1),
                source="Incident reporting measures 2025 art. 4",
                met=None,
            )
        )
    else:
        clocks.append(
            Clock(
                party=details.system,
                duty_zh="较大以上事件：由受影响系统的运营者在4小时内报告省级网信部门"
                + ("（受托方报告后同时通知委托方）" if details.system == AffectedSystem.vendor else ""),
                duty_en="A relatively major or worse incident: the operator of the system hit reports to the "
                "provincial CAC within 4 hours" + (", copying us" if details.system == AffectedSystem.vendor else ""),
                deadline=at + timedelta(hours=4),
                source="Incident reporting measures 2025 art. 4",
                met=None,
            )
        )
    return clocks


async def clocks_of(session: AsyncSession, attestations: list[Attestation]) -> dict[uuid.UUID, list[Clock]]:
    """The incidents' clocks, with each engagement's agreed notice hours (2 without an agreement)."""
    incidents = [a for a in attestations if a.kind == AttestationKind.incident]
    if not incidents:
        return {}
    engagement_ids = {a.engagement_id for a in incidents}
    hours: dict[uuid.UUID, int] = {}
    query = select(Agreement).where(
        col(Agreement.engagement_id).in_(engagement_ids), col(Agreement.status).in_(IN_FORCE)
    )
    for agreement in await session.scalars(query.order_by(col(Agreement.created_at))):
        hours[agreement.engagement_id] = agreement.incident_notice_hours  # the newest in force wins
    handler = await session.get(HandlerProfile, PROFILE_ID)
    ciio = handler is not None and handler.is_ciio
    found = {}
    for attestation in incidents:
        details = read_details(attestation.kind, attestation.engagement_id, attestation.details)
        if not isinstance(details, IncidentDetails):
            continue
        notice = hours.get(attestation.engagement_id, DEFAULT_NOTICE_HOURS)
        found[attestation.id] = incident_clocks(details, attestation.submitted_at, notice, ciio)
    return found


async def checks_of(session: AsyncSession, attestations: list[Attestation]) -> dict[uuid.UUID, list[Check]]:
    """Sanity checks for the reviewer: what a deletion or periodic attestation says that the
    registry contradicts or that leaves part of the duty out. Shown, never silently accepted
    and never a refusal (the vendor may be right: the reviewer decides). One query per kind
    of data, whatever the number of attestations."""
    relevant = [a for a in attestations if a.kind in (AttestationKind.deletion, AttestationKind.periodic)]
    if not relevant:
        return {}
    engagement_ids = {a.engagement_id for a in relevant}
    engagements = {
        e.id: e for e in await session.scalars(select(Engagement).where(col(Engagement.id).in_(engagement_ids)))
    }
    ended: dict[uuid.UUID, date] = {}
    query = select(Agreement).where(col(Agreement.engagement_id).in_(engagement_ids), col(Agreement.status).in_(ENDED))
    for agreement in await session.scalars(query):
        if agreement.ended_on is not None:
            ended[agreement.engagement_id] = max(agreement.ended_on, ended.get(agreement.engagement_id, date.min))
    found: dict[uuid.UUID, list[Check]] = {}
    for attestation in relevant:
        details = read_details(attestation.kind, attestation.engagement_id, attestation.details)
        engagement = engagements.get(attestation.engagement_id)
        registered = engagement.individuals_count if engagement is not None else None
        checks: list[Check] = []
        if isinstance(details, DeletionDetails):
            checks = _deletion_checks(details, ended.get(attestation.engagement_id), registered, attestation)
        elif isinstance(details, PeriodicDetails):
            checks = [
                Check(
                    code="duty_unmet",
                    field=f"statements.{index}",
                    message_zh=f"受托方声明未满足 {statement.requirement}：{statement.comment or '未说明'}",
                    message_en=f"The vendor states {statement.requirement} is not met: "
                    + (statement.comment or "no comment"),
                )
                for index, statement in enumerate(details.statements)
                if not statement.compliant
            ]
        if checks:
            found[attestation.id] = checks
    return found


def _deletion_checks(
    details: DeletionDetails, ended_on: date | None, registered: int | None, attestation: Attestation
) -> list[Check]:
    checks = []
    if ended_on is not None and details.completed_on < ended_on:
        checks.append(
            Check(
                code="deletion_before_end",
                field="completed_on",
                message_zh=f"删除完成日期 {details.completed_on} 早于协议终止日 {ended_on}：之后处理的数据可能未删除",
                message_en=f"Deletion completed on {details.completed_on}, before the agreement ended on {ended_on}: "
                "data processed after that may remain",
            )
        )
    if details.completed_on > clock.local_date(attestation.submitted_at):
        checks.append(
            Check(
                code="deletion_in_future",
                field="completed_on",
                message_zh=f"删除完成日期 {details.completed_on} 晚于提交日",
                message_en=f"Deletion completed on {details.completed_on}, after the day it was sent",
            )
        )
    for name, count, zh in (
        ("records_deleted", details.records_deleted, "删除记录数"),
        ("individuals_deleted", details.individuals_deleted, "删除个人数"),
    ):
        if registered is not None and count is not None and count > registered:
            checks.append(
                Check(
                    code="count_above_registered",
                    field=name,
                    message_zh=f"{zh} {count:,} 超过本委托处理登记的 {registered:,} 人：登记数可能过低",
                    message_en=f"{name} {count:,} is above the {registered:,} individuals this engagement registers: "
                    "the register may understate what the vendor held",
                )
            )
    if not details.backups_covered:
        checks.append(
            Check(
                code="backups_not_covered",
                field="backups_covered",
                message_zh="删除范围不含备份",
                message_en="The deletion does not cover backups",
            )
        )
    if not details.sub_processors_covered:
        checks.append(
            Check(
                code="sub_processors_not_covered",
                field="sub_processors_covered",
                message_zh="删除范围不含转委托方（再委托的受托方）",
                message_en="The deletion does not cover the sub-processors",
            )
        )
    return checks


def public(
    attestation: Attestation,
    files: list[EvidenceFile],
    clocks: list[Clock] | None = None,
    checks: list[Check] | None = None,
) -> AttestationPublic:
    return AttestationPublic(
        id=attestation.id,
        vendor_id=attestation.vendor_id,
        engagement_id=attestation.engagement_id,
        kind=attestation.kind,
        status=attestation.status,
        details=attestation.details,
        files=[EvidenceFilePublic.model_validate(file) for file in files],
        submitted_at=attestation.submitted_at,
        reviewed_at=attestation.reviewed_at,
        review_reason=attestation.review_reason,
        clocks=clocks or [],
        test=attestation.test,
        checks=checks or [],
    )


async def present(session: AsyncSession, attestation: Attestation) -> AttestationPublic:
    files = (await files_of(session, [attestation.id]))[attestation.id]
    clocks = (await clocks_of(session, [attestation])).get(attestation.id)
    return public(attestation, files, clocks, (await checks_of(session, [attestation])).get(attestation.id))


async def _check(session: AsyncSession, details: AttestationDetails, engagement: Engagement, files: int) -> None:
    errors = FieldErrors()
    today = clock.today()
    if files > MAX_FILES:
        errors.add("files", f"at most {MAX_FILES} files per attestation", zh=f"每份证明最多 {MAX_FILES} 个文件")
    if isinstance(details, DeletionDetails):
        if files == 0:
            errors.add(
                "files",
                "a deletion attestation needs at least one evidence file (the signed statement)",
                zh="删除证明至少需要一个证据文件（签署的书面说明）",
            )
        if details.completed_on > today:
            errors.add("metadata.completed_on", "is in the future", zh="完成日期不能晚于今天")
        ended = await session.scalar(
            select(col(Agreement.id)).where(
                col(Agreement.engagement_id) == engagement.id, col(Agreement.status).in_(ENDED)
            )
        )
        if ended is None and engagement.status != EngagementStatus.terminated:
            raise ConflictError(
                "this engagement has not ended: there is nothing to delete yet",
                zh="该委托处理尚未结束，还没有需要删除的个人信息",
            )
    elif isinstance(details, PeriodicDetails):
        known = library().requirements
        for index, statement in enumerate(details.statements):
            if statement.requirement not in known:
                errors.add(
                    f"metadata.statements.{index}.requirement",
                    f"no requirement {statement.requirement!r}",
                    zh=f"没有编号为 {statement.requirement!r} 的要求",
                )
        if details.period_end > today:
            errors.add(
                "metadata.period_end",
                "is in the future: attest to a period that has passed",
                zh="期间结束日晚于今天：请对已经过去的期间作出声明",
            )
    elif isinstance(details, IncidentDetails) and details.detected_at > datetime.now(details.detected_at.tzinfo):
        errors.add("metadata.detected_at", "is in the future", zh="发现时间不能晚于现在")
    elif isinstance(details, CertificationDetails) and files == 0:
        errors.add(
            "files",
            "a certification needs the certificate itself (a PDF or an image of it)",
            zh="请上传证书本身（PDF 或图片）",
        )
    elif isinstance(details, FaceCountDetails):
        if details.as_of > today:
            errors.add(
                "metadata.as_of",
                "is in the future: count the faces stored on a day that has passed",
                zh="统计日期晚于今天：请统计已经过去的某一天存储的人脸信息",
            )
        if taxonomy.FACE not in engagement.pi_categories:
            errors.add(
                "metadata.engagement_id",
                "this engagement processes no facial information to count",
                zh="该委托处理不涉及人脸信息，无需统计",
            )
    errors.raise_if_any()


async def submit(
    session: AsyncSession,
    *,
    details: AttestationDetails,
    files: list[CheckedFile],
    storage: FileStore,
    actor: Actor,
) -> Attestation:
    """Record a vendor's attestation and its files; the caller commits (see core.idempotency)."""
    vendor_id = actor.vendor
    engagement = await session.get(Engagement, details.engagement_id)
    if engagement is None or engagement.vendor_id != vendor_id:
        # The same answer whether the engagement is missing or another vendor's.
        raise InvalidReferenceError(
            "metadata.engagement_id", "none of your engagements has this id", zh="您的委托处理中没有这一项"
        )
    await _check(session, details, engagement, len(files))
    attestation = Attestation(
        vendor_id=vendor_id,
        engagement_id=engagement.id,
        kind=details.kind,
        details=details.model_dump(mode="json", exclude={"kind", "engagement_id"}),
        submitted_by_key_id=actor.key_id,
        test=actor.test,
    )
    if actor.test:
        # The sandbox's simulated review: accepted at once, so a vendor rehearses the whole flow
        # without a reviewer; nothing follows from it (settle closes no duty for a test).
        attestation.status, attestation.reviewed_at = AttestationStatus.accepted, utcnow()
        attestation.review_reason = SANDBOX_REASON
    session.add(attestation)
    await session.flush()
    for file in files:
        stored = await anyio.to_thread.run_sync(storage.put, file.data, file.sha256)
        session.add(
            EvidenceFile(
                attestation_id=attestation.id,
                sha256=stored.sha256,
                size=stored.size,
                content_type=file.content_type,
                filename=file.filename,
            )
        )
    if isinstance(details, IncidentDetails) and not actor.test:
        engagement.incident_reported_at = attestation.submitted_at
    await session.flush()
    audit.record(
        session,
        actor,
        AuditAction.submit,
        AuditObject.attestation,
        attestation.id,
        {"kind": attestation.kind, "engagement_id": engagement.id, "files": [file.filename for file in files]},
    )
    # A notice opens a decision we owe (a sub-processor change, an incident review) when it settles.
    mark(session, f"{attestation.kind} attestation from {actor.label}", attestation=attestation.id)
    return attestation


async def get(session: AsyncSession, *, attestation_id: uuid.UUID, vendor_id: uuid.UUID | None = None) -> Attestation:
    if vendor_id is not None:
        return await get_owned(session, Attestation, attestation_id, vendor_id, "attestation")
    return await get_or_404(session, Attestation, attestation_id, "attestation")


@dataclass(frozen=True)
class AttestationFilter:
    vendor_id: uuid.UUID | None = None
    engagement_id: uuid.UUID | None = None
    kind: AttestationKind | None = None
    status: AttestationStatus | None = None
    updated_since: datetime | None = None  # submitted, reviewed or withdrawn since


async def get_all(
    session: AsyncSession, *, where: AttestationFilter, limit: int = 50, offset: int = 0
) -> tuple[list[Attestation], int]:
    query = where_equal(
        select(Attestation),
        [
            (col(Attestation.vendor_id), where.vendor_id),
            (col(Attestation.engagement_id), where.engagement_id),
            (col(Attestation.kind), where.kind),
            (col(Attestation.status), where.status),
        ],
    )
    if where.updated_since is not None:
        since = where.updated_since
        query = query.where(or_(col(Attestation.submitted_at) >= since, col(Attestation.reviewed_at) >= since))
    query = query.order_by(col(Attestation.submitted_at).desc(), col(Attestation.id))
    return await paginate(session, query, limit=limit, offset=offset)


async def get_file(
    session: AsyncSession,
    *,
    attestation_id: uuid.UUID,
    file_id: uuid.UUID,
    storage: FileStore,
    actor: Actor,
) -> tuple[EvidenceFile, bytes]:
    attestation = await get(session, attestation_id=attestation_id, vendor_id=actor.vendor_id)
    file = await session.get(EvidenceFile, file_id)
    if file is None or file.attestation_id != attestation.id:
        raise NotFoundError("file not found", zh="找不到该文件")
    content = await anyio.to_thread.run_sync(storage.get, file.sha256)
    if actor.vendor_id is not None:
        audit.record(session, actor, AuditAction.download, AuditObject.evidence_file, file.id, {"sha256": file.sha256})
    return file, content


async def review(
    session: AsyncSession, *, attestation_id: uuid.UUID, accept: bool, reason: str, actor: Actor
) -> Attestation:
    """Accept or reject; an accepted attestation closes the obligation it answers."""
    actor.require_role(*REVIEWERS)
    attestation = await get(session, attestation_id=attestation_id)
    engagement = await get_or_404(session, Engagement, attestation.engagement_id, "engagement")
    if actor.role == Role.owner and engagement.owner_id != actor.user_id:
        raise PermissionDeniedError(
            "only the engagement's owner, the DPO or an admin may review it",
            zh="只有该委托处理的负责人、个人信息保护负责人或管理员可以审核",
        )
    if attestation.status != AttestationStatus.submitted:
        raise ConflictError(
            f"this attestation was already {attestation.status}",
            zh=f"该证明已被{STATUS_ZH.get(attestation.status, attestation.status)}",
        )
    target = AttestationStatus.accepted if accept else AttestationStatus.rejected
    attestation.status = target
    attestation.reviewed_at, attestation.reviewed_by_id, attestation.review_reason = utcnow(), actor.user_id, reason
    if accept and attestation.kind == AttestationKind.sub_processor_change:
        await _consent(session, attestation, actor)
    audit.record(
        session,
        actor,
        AuditAction.review,
        AuditObject.attestation,
        attestation.id,
        {
            "status": [AttestationStatus.submitted, target],
            "reason": reason,
        },
    )
    # Accepted, it closes the duty it answers; refused, the duty stays open with the reason (settle).
    mark(session, f"attestation {target} by {actor.label}", attestation=attestation.id)
    if accept:  # a refusal reaches the vendor's contacts with its duty's notice (obligations)
        await _tell_vendor_accepted(session, attestation, engagement)
    return attestation


async def _tell_vendor_accepted(session: AsyncSession, attestation: Attestation, engagement: Engagement) -> None:
    """The vendor's contacts learn of the acceptance by e-mail, not only by polling the API."""
    vendor = await session.get(Vendor, attestation.vendor_id)
    recipients = sorted({contact.email for contact in vendor.contacts if contact.email} if vendor else set())
    reason = f"\n审核意见 Note: {attestation.review_reason}\n" if attestation.review_reason else ""
    body = (
        f"我方已接受贵方就委托处理“{engagement.name}”提交的证明（{attestation.kind}，"
        f"提交于 {clock.local_text(attestation.submitted_at)}）。\n"
        f'We accepted the attestation ({attestation.kind}) you sent for "{engagement.name}".\n{reason}'
    )
    for recipient in recipients:
        send_mail(
            session,
            recipient=recipient,
            subject=f"[dpa] 证明已接受 / Attestation accepted: {engagement.name}",
            body=body,
        )


WITHDRAWN_REASON = "withdrawn by the vendor before its review"
SANDBOX_REASON = "沙盒：自动通过，不产生任何效力 (sandbox: accepted automatically; a test changes nothing)"


async def withdraw(session: AsyncSession, *, attestation_id: uuid.UUID, actor: Actor) -> tuple[Attestation, list[str]]:
    """The vendor takes back an attestation nobody has reviewed yet: it stays in the record as
    withdrawn (audited), its evidence rows go, and the caller deletes their bytes after the
    commit (`delete_unreferenced`). Returns the attestation and the hashes its files had."""
    attestation = await get(session, attestation_id=attestation_id, vendor_id=actor.vendor)
    if attestation.status != AttestationStatus.submitted:
        raise ConflictError(
            f"this attestation was already {attestation.status}: only an unreviewed one can be withdrawn",
            zh=f"该证明已被{STATUS_ZH.get(attestation.status, attestation.status)}，只有未审核的证明可以撤回",
        )
    files = (await files_of(session, [attestation.id]))[attestation.id]
    for file in files:
        await session.delete(file)
    attestation.status = AttestationStatus.withdrawn
    attestation.reviewed_at, attestation.review_reason = utcnow(), WITHDRAWN_REASON
    audit.record(
        session,
        actor,
        AuditAction.update,
        AuditObject.attestation,
        attestation.id,
        {
            "status": [AttestationStatus.submitted, AttestationStatus.withdrawn],
            "files_deleted": [file.sha256 for file in files],
        },
    )
    # A notice's decision we owed is no longer owed (settle closes it).
    mark(session, f"attestation withdrawn by {actor.label}", attestation=attestation.id)
    return attestation, [file.sha256 for file in files]


async def delete_unreferenced(session: AsyncSession, storage: FileStore, hashes: list[str]) -> list[str]:
    """After a commit that dropped evidence rows: delete the bytes no row refers to any more
    (identical bytes are stored once and may belong to another attestation too). A failure
    here leaves an unreferenced file, which `dpa evidence verify` lists and the worker sweeps."""
    referenced = await _referenced(session)
    deleted = []
    for name in sorted(set(hashes) - referenced):
        try:
            await anyio.to_thread.run_sync(storage.delete, name)
        except Exception as error:  # the commit stands; the sweep deletes it later
            log.warning("could not delete withdrawn evidence %s: %s", name, error)
            continue
        deleted.append(name)
    return deleted


async def _consent(session: AsyncSession, attestation: Attestation, actor: Actor) -> None:
    """Accepting a sub-processor change notice is our consent (art. 21(3)): register it."""
    details = attestation.details
    sub = SubProcessor(
        engagement_id=attestation.engagement_id,
        name=details["sub_processor_name"],
        activity=details["activity"],
        country=details["country"],
        region=details.get("region"),
        handler_consented=True,
        consented_on=clock.today(),
    )
    session.add(sub)
    await session.flush()
    audit.record(
        session,
        actor,
        AuditAction.create,
        AuditObject.sub_processor,
        sub.id,
        {**details, "from_attestation": attestation.id},
    )


@dataclass
class Verification:
    checked: int = 0
    altered: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    unreferenced: list[str] = field(default_factory=list)  # stored, but no row refers to it
    deleted: list[str] = field(default_factory=list)


async def verify_evidence(
    session: AsyncSession, storage: FileStore, *, delete_orphans_older_than: timedelta | None = None
) -> Verification:
    """Re-hash every stored object, and find every referenced one; nothing is trusted as stored.
    An object no row refers to (an upload whose transaction failed) is reported, and deleted
    when asked, if older than the given age: a younger one may be an upload still in flight."""
    report = Verification()
    stored: set[str] = set()
    for name in await anyio.to_thread.run_sync(lambda: list(storage.names())):
        stored.add(name)
        report.checked += 1
        try:
            await anyio.to_thread.run_sync(storage.get, name)
        except StorageError:
            report.altered.append(name)
    referenced = await _referenced(session)
    report.missing = sorted(referenced - stored)
    report.unreferenced = sorted(stored - referenced)
    if delete_orphans_older_than is not None:
        report.deleted = await sweep_orphans(session, storage, older_than=delete_orphans_older_than)
    return report


async def _referenced(session: AsyncSession) -> set[str]:
    # Every table that names stored bytes: a file none of them names is an orphan the sweep deletes.
    found: set[str] = set()
    for column in (EvidenceFile.sha256, AgreementDocument.sha256, QuestionnaireFile.sha256):
        found |= set(await session.scalars(select(col(column))))
    reports = select(col(AuditOrder.report_sha256)).where(col(AuditOrder.report_sha256).is_not(None))
    return found | {sha256 for sha256 in await session.scalars(reports) if sha256}


async def sweep_orphans(session: AsyncSession, storage: FileStore, *, older_than: timedelta) -> list[str]:
    """Delete stored files no row refers to and older than `older_than` (a younger one may be an
    upload still in flight); audited. The worker runs it daily, so such files do not linger."""
    names = set(await anyio.to_thread.run_sync(lambda: list(storage.names())))
    cutoff, deleted = utcnow() - older_than, []
    for name in sorted(names - await _referenced(session)):
        if await anyio.to_thread.run_sync(storage.modified, name) < cutoff:
            await anyio.to_thread.run_sync(storage.delete, name)
            deleted.append(name)
    if deleted:
        changes = {"deleted": deleted, "older_than_minutes": int(older_than.total_seconds() // 60)}
        audit.record(session, CLI_ACTOR, AuditAction.delete, AuditObject.evidence_file, "orphans", changes)
    return deleted
