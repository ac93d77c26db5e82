"""Agreement rules: generation from a snapshot, lifecycle, coverage, rendering and storage."""

from __future__ import annotations

import re
import time
import unicodedata
import uuid
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import anyio
import anyio.to_process
from pydantic import BaseModel
from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.agreements import context, rendering
from app.agreements.library import Library, LibraryError, Template, TemplateVersion, library
from app.agreements.models import Agreement, AgreementDocument
from app.agreements.schemas import (
    ENDED,
    AgreementCreate,
    AgreementSnapshot,
    AgreementStatus,
    AgreementTerms,
    AgreementTermsUpdate,
    Coverage,
    CoverageRow,
    DocumentCopy,
    DocumentFormat,
    DocumentKind,
    Expiry,
    Language,
    Override,
    RenderRequest,
    Termination,
)
from app.audit import services as audit
from app.audit.schemas import AuditAction, AuditObject
from app.core import clock, uploads
from app.core.actor import Actor, Role
from app.core.changes import mark
from app.core.errors import (
    ConflictError,
    FieldErrors,
    InvalidReferenceError,
    NotFoundError,
    UnprocessableError,
    field_error,
    field_item,
)
from app.core.queries import get_or_404, get_owned, order_by, paginate, where_equal
from app.core.schemas import merge_patch
from app.core.storage import FileStore
from app.core.types import utcnow
from app.engagements import services as engagements
from app.engagements.models import Engagement
from app.engagements.schemas import prohibited
from app.handler.models import PROFILE_ID, HandlerProfile
from app.vendors.models import Vendor

Status = AgreementStatus
# action: (statuses it may start from, status it leads to)
TRANSITIONS: dict[str, tuple[frozenset[Status], Status]] = {
    "issue": (frozenset({Status.draft}), Status.issued),
    "sign": (frozenset({Status.issued}), Status.signed),
    "activate": (frozenset({Status.signed}), Status.active),
    "terminate": (frozenset({Status.issued, Status.signed, Status.active}), Status.terminated),
    "expire": (frozenset({Status.active}), Status.expired),
}
# The words of the pages' status tags, for messages in Chinese.
STATUS_ZH = {
    Status.draft: "草稿",
    Status.issued: "已出具",
    Status.signed: "已签署",
    Status.active: "生效",
    Status.expired: "已到期",
    Status.terminated: "已终止",
}
ACTIONS_ZH = {"issue": "出具", "sign": "标记为已签署", "activate": "生效", "terminate": "终止", "expire": "到期"}
CONTENT_TYPES = {
    DocumentFormat.docx: "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    DocumentFormat.pdf: "application/pdf",
}
SORT_COLUMNS = {
    "number": col(Agreement.number),
    "created_at": col(Agreement.created_at),
    "term_end": col(Agreement.term_end),
    "status": col(Agreement.status),
}


def _template(lib: Library, template_id: str, number: int | None) -> tuple[Template, TemplateVersion]:
    template = lib.templates.get(template_id)
    if template is None:
        raise InvalidReferenceError(
            "template_id", f"no template {template_id!r}; see GET /api/templates", zh=f"没有模板 {template_id!r}"
        )
    version = template.version(number)
    if version is None or version.published is None:
        raise InvalidReferenceError(
            "template_version", "no such published version of this template", zh="该模板没有这一已发布版本"
        )
    return template, version


def _check_terms(data: AgreementTerms) -> None:
    errors = FieldErrors()
    if data.term_end < data.term_start:
        errors.add(
            "term_end",
            f"{data.term_end} is before term_start {data.term_start}",
            zh=f"期限结束日 {data.term_end} 早于开始日 {data.term_start}",
        )
    errors.raise_if_any()


async def current_snapshot(session: AsyncSession, engagement_id: uuid.UUID) -> AgreementSnapshot:
    engagement = await engagements.get(session, engagement_id=engagement_id)
    handler = await session.get(HandlerProfile, PROFILE_ID)
    if handler is None:
        raise ConflictError(
            "set the handler profile first (PUT /api/handler): it is a party to the agreement",
            zh="请先填写公司信息：公司是协议的一方（设置 → 公司信息）",
        )
    vendor = await get_or_404(session, Vendor, engagement.vendor_id, "vendor")
    subs = (await engagements.sub_processors_of(session, [engagement.id]))[engagement.id]
    return context.snapshot(handler, vendor, engagement, subs)


async def get(session: AsyncSession, *, agreement_id: uuid.UUID) -> Agreement:
    return await get_or_404(session, Agreement, agreement_id, "agreement")


@dataclass(frozen=True)
class AgreementFilter:
    engagement_id: uuid.UUID | None = None
    vendor_id: uuid.UUID | None = None
    status: AgreementStatus | None = None
    issued_only: bool = False  # what a vendor sees: drafts are ours until issued


@dataclass(frozen=True)
class DocumentFilter:
    agreement_id: uuid.UUID
    issued_since: datetime | None = None  # only the issued and signed copies: what a vendor sees


def copy_of(document: AgreementDocument, agreement: Agreement) -> DocumentCopy:
    if document.kind == DocumentKind.signed:
        return DocumentCopy.signed
    issued = agreement.issued_at is not None and document.created_at >= agreement.issued_at
    return DocumentCopy.issued if issued else DocumentCopy.draft


async def get_all(
    session: AsyncSession, *, where: AgreementFilter, sort: str, limit: int, offset: int
) -> tuple[list[Agreement], int]:
    query = where_equal(
        select(Agreement),
        [
            (col(Agreement.engagement_id), where.engagement_id),
            (col(Agreement.vendor_id), where.vendor_id),
            (col(Agreement.status), where.status),
        ],
    )
    if where.issued_only:
        query = query.where(col(Agreement.status) != Status.draft)
    query = query.order_by(*order_by(sort, SORT_COLUMNS, Agreement.id))
    return await paginate(session, query, limit=limit, offset=offset)


async def create(
    session: AsyncSession, *, data: AgreementCreate, actor: Actor, supersedes: Agreement | None = None
) -> Agreement:
    actor.require_writer(creating=True)
    _check_terms(data)
    template, version = _template(library(), data.template_id, data.template_version)
    try:
        engagement = await engagements.get(session, engagement_id=data.engagement_id)
    except NotFoundError:
        raise InvalidReferenceError("engagement_id", "no engagement has this id", zh="找不到该委托处理") from None
    actor.require_writer(engagement.owner_id)  # an agreement binds its engagement: its owner or an admin
    snapshot = await current_snapshot(session, engagement.id)
    agreement = Agreement(
        **data.model_dump(exclude={"engagement_id", "template_id", "template_version"}),
        engagement_id=engagement.id,
        vendor_id=engagement.vendor_id,
        template_id=template.id,
        template_version=version.version,
        number=f"DPA-{clock.today().year}-{uuid.uuid4().hex[:8].upper()}",
        owner_id=actor.user_id,
        snapshot=snapshot.model_dump(mode="json"),
        supersedes_id=supersedes.id if supersedes else None,
    )
    session.add(agreement)
    await session.flush()
    audit.record(
        session,
        actor,
        AuditAction.create,
        AuditObject.agreement,
        agreement.id,
        {**data.model_dump(), "number": agreement.number, "template_version": version.version},
    )
    return agreement


async def require_writer(session: AsyncSession, agreement: Agreement, actor: Actor) -> None:
    """Acting on an agreement takes the right to act on its engagement: its owner or an admin."""
    engagement = await session.get(Engagement, agreement.engagement_id)
    actor.require_writer(engagement.owner_id if engagement else agreement.owner_id)


def _require_draft(agreement: Agreement) -> None:
    if agreement.status != Status.draft:
        raise ConflictError(
            f"agreement {agreement.number} is {agreement.status}; only a draft can be changed",
            zh=f"协议 {agreement.number} 的状态为{STATUS_ZH[agreement.status]}：只有草稿可以修改",
        )


async def update(session: AsyncSession, *, agreement_id: uuid.UUID, patch: BaseModel, actor: Actor) -> Agreement:
    agreement = await get(session, agreement_id=agreement_id)
    await require_writer(session, agreement, actor)
    _require_draft(agreement)
    data = merge_patch(agreement, patch, AgreementTermsUpdate)
    _check_terms(data)
    audit.apply_update(session, actor, agreement, data, AuditObject.agreement)
    return agreement


async def delete(session: AsyncSession, *, agreement_id: uuid.UUID, actor: Actor) -> None:
    agreement = await get(session, agreement_id=agreement_id)
    await require_writer(session, agreement, actor)
    _require_draft(agreement)
    audit.record(session, actor, AuditAction.delete, AuditObject.agreement, agreement.id, {"number": agreement.number})
    documents = select(AgreementDocument).where(col(AgreementDocument.agreement_id) == agreement.id)
    for document in await session.scalars(documents):
        await session.delete(document)
    await session.flush()
    await session.delete(agreement)


def _terms(agreement: Agreement) -> dict[str, Any]:
    return {name: getattr(agreement, name) for name in AgreementTermsUpdate.model_fields}


def _compose(job: dict[str, Any], *, annex: bool) -> rendering.Composed:
    lib = library()
    template = lib.templates[job["template_id"]]
    version = template.version(job["template_version"])
    if version is None:
        raise LibraryError(f"{template.id} v{job['template_version']} is no longer in the library")
    snapshot, terms = AgreementSnapshot.model_validate(job["snapshot"]), AgreementTerms.model_validate(job["terms"])
    return rendering.compose(lib, template, version, snapshot, terms, job["number"], annex=annex)


def compose(agreement: Agreement, *, annex: bool = False) -> rendering.Composed:
    return _compose(_job(agreement), annex=annex)


def coverage(agreement: Agreement) -> Coverage:
    document = compose(agreement, annex=True)
    rows = [CoverageRow.model_validate(row) for row in document.coverage]
    return Coverage(
        agreement_id=agreement.id,
        template=document.template,
        requirements=rows,
        uncovered_required=[row.id for row in rows if row.required and not row.clauses],
    )


async def changes(session: AsyncSession, *, agreement_id: uuid.UUID) -> list[dict[str, Any]]:
    """What changed in the registry since the agreement was generated."""
    agreement = await get(session, agreement_id=agreement_id)
    stored = AgreementSnapshot.model_validate(agreement.snapshot)
    return context.changes(stored, await current_snapshot(session, agreement.engagement_id))


async def new_version(session: AsyncSession, *, agreement_id: uuid.UUID, actor: Actor) -> Agreement:
    """A new draft from today's registry data, with the same terms, superseding this one."""
    old = await get(session, agreement_id=agreement_id)
    data = AgreementCreate(
        **_terms(old), engagement_id=old.engagement_id, template_id=old.template_id, template_version=None
    )
    return await create(session, data=data, actor=actor, supersedes=old)


def render(agreement: Agreement, request: RenderRequest) -> bytes:
    """Blocking: compose, check every character has a glyph, lay out."""
    return render_job(_job(agreement, request))


def _job(agreement: Agreement, request: RenderRequest | None = None) -> dict[str, Any]:
    """Everything a render needs, as plain data that crosses into a worker process."""
    return {
        "template_id": agreement.template_id,
        "template_version": agreement.template_version,
        "snapshot": agreement.snapshot,
        "terms": _terms(agreement),
        "number": agreement.number,
        "request": request.model_dump(mode="json") if request else None,
    }


async def render_async(agreement: Agreement, request: RenderRequest) -> bytes:
    """Off the event loop. WeasyPrint's layout is pure Python and holds the GIL for a second
    or more, so a PDF renders in a worker process; a DOCX is quick enough for a thread."""
    job = _job(agreement, request)
    if request.format == DocumentFormat.pdf:
        return await anyio.to_process.run_sync(render_job, job, cancellable=False)
    return await anyio.to_thread.run_sync(render_job, job)


async def warm_renderer() -> float:
    """Start the PDF worker process and make it render once, so that the first agreement a
    person asks for is not a cold start (WeasyPrint's import, the CJK font: seconds). The
    server does it at start and the demo before its first agreement; the worker stays in
    the pool and is reused. Answers the seconds it took."""
    started = time.perf_counter()
    async with anyio.create_task_group() as group:
        group.start_soon(anyio.to_thread.run_sync, rendering.warm_docx)  # a DOCX renders in this process
        await anyio.to_process.run_sync(rendering.warm, cancellable=False)
    return time.perf_counter() - started


def render_job(job: dict[str, Any]) -> bytes:
    """Compose, check every character has a glyph, lay out (blocking; top level, so picklable)."""
    request = RenderRequest.model_validate(job["request"])
    document = _compose(job, annex=request.annex)
    languages = rendering.LANGUAGE_SETS[request.lang.value]
    try:
        rendering.check_glyphs(rendering.text_of(document, languages))
    except rendering.RenderError as exc:
        raise UnprocessableError(str(exc)) from None
    only_map = bool(job.get("compliance_map"))
    if request.format == DocumentFormat.docx:
        return rendering.to_docx(document, languages, compliance_map=only_map)
    return rendering.to_pdf(document, languages, compliance_map=only_map)


async def compliance_map(agreement: Agreement, *, fmt: DocumentFormat, lang: Language) -> tuple[bytes, str, str]:
    """The internal table of which clause covers which legal requirement, as a file of its own
    (never stored with the agreement's documents, which the vendor reads): bytes, name, type."""
    job = {**_job(agreement, RenderRequest(format=fmt, lang=lang, annex=True)), "compliance_map": True}
    if fmt == DocumentFormat.pdf:
        data = await anyio.to_process.run_sync(render_job, job, cancellable=False)
    else:
        data = await anyio.to_thread.run_sync(render_job, job)
    return data, filename(agreement, "compliance-map", fmt), CONTENT_TYPES[fmt]


def filename(agreement: Agreement, suffix: str, extension: str) -> str:
    """Readable and safe: the number, the vendor's name, no path or control characters."""
    vendor = AgreementSnapshot.model_validate(agreement.snapshot).vendor
    name = vendor.legal_name_zh or vendor.legal_name_en
    name = "".join(ch if unicodedata.category(ch)[0] in "LN" else "-" for ch in name)
    name = re.sub("-{2,}", "-", name).strip("-")[:60]
    return f"{agreement.number}-{name}-{suffix}.{extension}"


async def _store(
    session: AsyncSession,
    storage: FileStore,
    agreement: Agreement,
    data: bytes,
    *,
    kind: DocumentKind,
    fmt: DocumentFormat,
    lang: Language | None,
) -> AgreementDocument:
    stored = await anyio.to_thread.run_sync(storage.put, data)
    document = AgreementDocument(
        agreement_id=agreement.id,
        kind=kind,
        format=fmt,
        lang=lang,
        template_version=agreement.template_version,
        sha256=stored.sha256,
        size=stored.size,
        filename=filename(agreement, lang or kind, fmt),
        content_type=CONTENT_TYPES[fmt],
    )
    session.add(document)
    return document


async def render_document(
    session: AsyncSession, *, agreement_id: uuid.UUID, request: RenderRequest, storage: FileStore, actor: Actor
) -> AgreementDocument:
    agreement = await get(session, agreement_id=agreement_id)
    await require_writer(session, agreement, actor)  # a stored file is a write: not for the reading roles
    issued = await issued_document(session, agreement, request)
    if issued is not None:
        return issued  # rendered once, at issue: an issued agreement's text never changes
    data = await render_async(agreement, request)
    document = await _store(
        session, storage, agreement, data, kind=DocumentKind.generated, fmt=request.format, lang=request.lang
    )
    await session.flush()
    audit.record(
        session,
        actor,
        AuditAction.create,
        AuditObject.agreement_document,
        document.id,
        {"agreement_id": agreement.id, "sha256": document.sha256, "format": document.format},
    )
    return document


async def issued_document(
    session: AsyncSession, agreement: Agreement, request: RenderRequest
) -> AgreementDocument | None:
    """The document stored when the agreement was issued, if it answers this request: after
    issue nothing it is made from can change (its snapshot and terms are frozen), so it is
    served from storage rather than rendered again. Issue stores both formats, bilingual,
    without the internal annex (what the vendor signs); another language, or an internal copy
    with the annex, is rendered (and stored) on request."""
    if agreement.issued_at is None or request.annex:
        return None
    query = select(AgreementDocument).where(
        col(AgreementDocument.agreement_id) == agreement.id,
        col(AgreementDocument.kind) == DocumentKind.generated,
        col(AgreementDocument.format) == request.format,
        col(AgreementDocument.lang) == request.lang,
        col(AgreementDocument.template_version) == agreement.template_version,
        col(AgreementDocument.created_at) >= agreement.issued_at,
    )
    return (await session.scalars(query.order_by(col(AgreementDocument.created_at)).limit(1))).first()


async def get_documents(
    session: AsyncSession, *, where: DocumentFilter, limit: int, offset: int
) -> tuple[list[AgreementDocument], int]:
    query = select(AgreementDocument).where(col(AgreementDocument.agreement_id) == where.agreement_id)
    if where.issued_since is not None:
        query = query.where(
            or_(
                col(AgreementDocument.kind) == DocumentKind.signed,
                col(AgreementDocument.created_at) >= where.issued_since,
            )
        )
    query = query.order_by(col(AgreementDocument.created_at), col(AgreementDocument.id))
    return await paginate(session, query, limit=limit, offset=offset)


async def get_document(
    session: AsyncSession, *, agreement_id: uuid.UUID, document_id: uuid.UUID, storage: FileStore, actor: Actor
) -> tuple[AgreementDocument, bytes]:
    agreement = await get(session, agreement_id=agreement_id)
    if actor.vendor_id is not None:
        agreement = await get_for_vendor(session, agreement_id=agreement_id, vendor_id=actor.vendor_id)
    document = await get_or_404(session, AgreementDocument, document_id, "document")
    if document.agreement_id != agreement_id:
        raise NotFoundError("document not found", zh="找不到该文件")
    if actor.vendor_id is not None and copy_of(document, agreement) == DocumentCopy.draft:
        raise NotFoundError("document not found", zh="找不到该文件")  # a draft render stays ours
    content = await anyio.to_thread.run_sync(storage.get, document.sha256)
    if actor.vendor_id is not None:
        audit.record(
            session,
            actor,
            AuditAction.download,
            AuditObject.agreement_document,
            document.id,
            {"sha256": document.sha256},
        )
    return document, content


async def ended_on_of(session: AsyncSession, engagement_ids: list[uuid.UUID]) -> dict[uuid.UUID, date]:
    """The day each engagement's processing ended by its agreement: one ended (terminated or
    expired) and none issued or in force since. Engagements still running are absent."""
    if not engagement_ids:
        return {}
    query = select(col(Agreement.engagement_id), col(Agreement.status), col(Agreement.ended_on)).where(
        col(Agreement.engagement_id).in_(engagement_ids), col(Agreement.status) != Status.draft
    )
    ended: dict[uuid.UUID, date] = {}
    running: set[uuid.UUID] = set()
    for engagement_id, status, ended_on in await session.execute(query):
        if status in ENDED and ended_on is not None:
            ended[engagement_id] = max(ended_on, ended.get(engagement_id, ended_on))
        elif status not in ENDED:
            running.add(engagement_id)
    return {engagement_id: day for engagement_id, day in ended.items() if engagement_id not in running}


async def get_for_vendor(session: AsyncSession, *, agreement_id: uuid.UUID, vendor_id: uuid.UUID) -> Agreement:
    """A vendor sees its agreements once issued; drafts are ours until then."""
    agreement = await get_owned(session, Agreement, agreement_id, vendor_id, "agreement")
    if agreement.status == Status.draft:
        raise NotFoundError("agreement not found", zh="找不到该协议")
    return agreement


async def _transition(session: AsyncSession, agreement: Agreement, action: str, actor: Actor) -> None:
    await require_writer(session, agreement, actor)
    allowed, target = TRANSITIONS[action]
    if agreement.status not in allowed:
        raise ConflictError(
            f"cannot {action} agreement {agreement.number}: it is {agreement.status} "
            f"(allowed from {', '.join(sorted(allowed))})",
            zh=f"协议 {agreement.number} 的状态为{STATUS_ZH[agreement.status]}，不能{ACTIONS_ZH.get(action, action)}"
            f"（仅限{'、'.join(STATUS_ZH[status] for status in sorted(allowed))}）",
        )
    audit.record(
        session, actor, AuditAction.update, AuditObject.agreement, agreement.id, {"status": [agreement.status, target]}
    )
    agreement.status = target
    agreement.updated_at = utcnow()
    # A status starts or ends duties (renewal, deletion) and moves the engagement's findings.
    mark(session, f"agreement {agreement.number} {target} by {actor.label}", agreement=agreement.id)


async def issue(session: AsyncSession, *, agreement_id: uuid.UUID, storage: FileStore, actor: Actor) -> Agreement:
    """Issue to the vendor: only with A1-A12 covered; the bilingual DOCX and PDF are stored."""
    agreement = await get(session, agreement_id=agreement_id)
    await _transition(session, agreement, "issue", actor)
    uncovered = coverage(agreement).uncovered_required
    if uncovered:
        raise ConflictError(
            f"cannot issue: required items not covered by any clause: {', '.join(uncovered)}",
            [field_item(requirement, "not covered", "没有条款涵盖") for requirement in uncovered],
            zh=f"不能出具：以下必备事项没有条款涵盖：{'、'.join(uncovered)}",
        )
    forbidden = prohibited_venues(agreement)
    if forbidden and not agreement.override_reason:
        raise ConflictError(
            "cannot issue: the law forbids image capture or recognition equipment in private spaces (R8b, "
            f"facial recognition measures 2025 art. 13): {'; '.join(forbidden)}. Remove it and generate a new "
            "version, or the DPO records an override with a reason (POST .../override)",
            [field_item("R8b", venue, venue) for venue in forbidden],
            zh="不能出具：法律禁止在私密空间安装图像采集或个人身份识别设备（R8b，《人脸识别技术应用安全管理办法》第十三条）："
            f"{'；'.join(forbidden)}。请删除后生成新版本，或由个人信息保护负责人记录理由后放行",
        )
    agreement.issued_at = utcnow()  # before its documents: those stored from now on are the issued ones
    for fmt in DocumentFormat:
        # The vendor signs the agreement alone: the compliance map is ours (GET .../compliance-map).
        request = RenderRequest(format=fmt, lang=Language.bilingual, annex=False)
        data = await render_async(agreement, request)
        await _store(session, storage, agreement, data, kind=DocumentKind.generated, fmt=fmt, lang=Language.bilingual)
    return agreement


def prohibited_venues(agreement: Agreement) -> list[str]:
    """The venues of the agreement's engagement, as generated, where the law bans its equipment."""
    venues = AgreementSnapshot.model_validate(agreement.snapshot).engagement.venues
    return [
        f"{venue.description} ({venue.venue_type}, {venue.equipment})"
        for venue in venues
        if prohibited(venue.venue_type, venue.equipment)
    ]


async def override(session: AsyncSession, *, agreement_id: uuid.UUID, data: Override, actor: Actor) -> Agreement:
    """The DPO decides a draft may be issued despite prohibited processing; the reason stays on the
    agreement and in the audit trail. The finding itself stays open: the law is not changed by it."""
    actor.require_role(Role.dpo)
    agreement = await get(session, agreement_id=agreement_id)
    _require_draft(agreement)
    if not prohibited_venues(agreement):
        raise ConflictError(
            f"agreement {agreement.number} has no prohibited processing to override",
            zh=f"协议 {agreement.number} 没有需要放行的禁止处理",
        )
    agreement.override_reason, agreement.override_by = data.reason, actor.label
    agreement.override_at = agreement.updated_at = utcnow()
    audit.record(
        session, actor, AuditAction.update, AuditObject.agreement, agreement.id, {"override_reason": data.reason}
    )
    mark(session, f"agreement {agreement.number} prohibition overridden by {actor.label}", agreement=agreement.id)
    return agreement


async def sign(
    session: AsyncSession, *, agreement_id: uuid.UUID, signed_pdf: bytes, storage: FileStore, actor: Actor
) -> Agreement:
    agreement = await get(session, agreement_id=agreement_id)
    await _transition(session, agreement, "sign", actor)
    if not signed_pdf.startswith(b"%PDF-"):
        raise field_error(
            "file",
            "the signed copy must be a PDF (its content does not start with %PDF-)",
            zh="已签署的协议须为 PDF 文件",
        )
    await anyio.to_thread.run_sync(uploads.check_pdf, "file", signed_pdf)  # parsed, not only its first bytes
    await _store(session, storage, agreement, signed_pdf, kind=DocumentKind.signed, fmt=DocumentFormat.pdf, lang=None)
    agreement.signed_at = utcnow()
    return agreement


async def activate(session: AsyncSession, *, agreement_id: uuid.UUID, actor: Actor) -> Agreement:
    agreement = await get(session, agreement_id=agreement_id)
    await _transition(session, agreement, "activate", actor)
    agreement.activated_at = utcnow()
    return agreement


async def terminate(session: AsyncSession, *, agreement_id: uuid.UUID, data: Termination, actor: Actor) -> Agreement:
    """Terminate; `ended_on` is the date from which the vendor's deletion deadline runs."""
    agreement = await get(session, agreement_id=agreement_id)
    await _transition(session, agreement, "terminate", actor)
    if data.ended_on < agreement.term_start:
        raise field_error(
            "ended_on",
            f"{data.ended_on} is before the term start {agreement.term_start}",
            zh=f"终止日期 {data.ended_on} 早于协议期限开始日 {agreement.term_start}",
        )
    agreement.ended_on, agreement.end_reason = data.ended_on, data.reason
    return agreement


async def expire(session: AsyncSession, *, agreement_id: uuid.UUID, data: Expiry, actor: Actor) -> Agreement:
    agreement = await get(session, agreement_id=agreement_id)
    await _transition(session, agreement, "expire", actor)
    agreement.ended_on = data.ended_on or agreement.term_end
    agreement.end_reason = "expired"
    return agreement
