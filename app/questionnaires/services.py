"""Questionnaire rules: who sends one, what a vendor may answer, submitting, reviewing, and the
facts the answers give the findings. Usable alike by the API, the pages and a vendor portal:
`answer` and `submit` take the questionnaire, the answers and files, and the actor."""

from __future__ import annotations

import math
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

import anyio.to_thread
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.audit import services as audit
from app.audit.schemas import AuditAction, AuditObject
from app.core.actor import Actor, Role
from app.core.changes import mark, send_mail
from app.core.errors import ConflictError, FieldErrors, InvalidReferenceError, NotFoundError, PermissionDeniedError
from app.core.fields import CONTROL_CHARACTERS
from app.core.messages import InvalidValue
from app.core.queries import get_or_404, get_owned, paginate, where_equal
from app.core.storage import FileStore
from app.core.types import utcnow
from app.core.uploads import CheckedFile
from app.engagements.models import Engagement
from app.questionnaires.library import CERTIFICATIONS, Question, QuestionnaireTemplate, questionnaires
from app.questionnaires.models import Questionnaire, QuestionnaireFile
from app.questionnaires.schemas import (
    ANSWERABLE,
    STATED,
    AnswerFilePublic,
    AnswerValue,
    DueDiligence,
    FaceStorage,
    QuestionnairePublic,
    QuestionnaireStatus,
    QuestionType,
)
from app.vendors.models import Vendor

SENDERS = (Role.procurement, Role.owner, Role.dpo)
REVIEWERS = (Role.owner, Role.dpo)
MAX_FILES = 20
MAX_TEXT = 4000
MAX_NUMBER = 10**12
STATUS_ZH = {
    QuestionnaireStatus.sent: "已发送",
    QuestionnaireStatus.submitted: "已提交",
    QuestionnaireStatus.accepted: "已接受",
    QuestionnaireStatus.returned: "已退回",
}
OPEN = (QuestionnaireStatus.sent, QuestionnaireStatus.returned, QuestionnaireStatus.submitted)


def template_of(questionnaire: Questionnaire) -> QuestionnaireTemplate:
    return questionnaires().version(questionnaire.template_version)


async def send(session: AsyncSession, *, engagement_id: uuid.UUID, actor: Actor, base_url: str) -> Questionnaire:
    """Send the newest published questionnaire to the engagement's vendor; its contacts with an
    e-mail address are told through the outbox when the write settles."""
    actor.require_role(*SENDERS)
    engagement = await session.get(Engagement, engagement_id)
    if engagement is None:
        raise InvalidReferenceError("engagement_id", "no engagement has this id", zh="找不到该委托处理")
    if actor.role in (Role.procurement, Role.owner) and engagement.owner_id != actor.user_id:
        # The permission table: procurement and owners run what they own.
        raise PermissionDeniedError(
            "only the engagement's owner, the DPO or an admin may send it",
            zh="只有该委托处理的负责人、个人信息保护负责人或管理员可以发送问卷",
        )
    pending = await session.scalar(
        select(col(Questionnaire.id)).where(
            col(Questionnaire.engagement_id) == engagement.id, col(Questionnaire.status).in_(OPEN)
        )
    )
    if pending is not None:
        raise ConflictError(
            f"questionnaire {pending} for this engagement is still open: review it first",
            zh=f"该委托处理的问卷 {pending} 尚未完成：请先审核",
        )
    template = questionnaires().newest()
    questionnaire = Questionnaire(
        vendor_id=engagement.vendor_id,
        engagement_id=engagement.id,
        template=template.id,
        template_version=template.version,
        sent_by_id=actor.user_id,
    )
    session.add(questionnaire)
    await session.flush()
    vendor = await get_or_404(session, Vendor, engagement.vendor_id, "vendor")
    recipients = sorted({contact.email for contact in vendor.contacts if contact.email})
    for recipient in recipients:
        send_mail(session, recipient=recipient, **_invitation(template, engagement, questionnaire, base_url))
    audit.record(
        session,
        actor,
        AuditAction.create,
        AuditObject.questionnaire,
        questionnaire.id,
        {"engagement_id": engagement.id, "template": template.key, "notified": recipients},
    )
    mark(session, f"questionnaire sent by {actor.label}", engagement=engagement.id)
    return questionnaire


def _invitation(
    template: QuestionnaireTemplate, engagement: Engagement, questionnaire: Questionnaire, base_url: str
) -> dict[str, str]:
    page = f"{base_url}/portal/questionnaires/{questionnaire.id}"
    api = f"{base_url}/api/vendor/v1/questionnaires/{questionnaire.id}"
    body = (
        f"我们请贵方在委托处理“{engagement.name}”开始前填写《{template.title.zh}》。\n"
        f"请登录受托方门户填写：{page}\n（贵方系统也可使用 API 密钥：{api}，说明见 {base_url}/api/vendor/docs）\n\n"
        f'Before the engagement "{engagement.name}" we ask you to answer our {template.title.en}.\n'
        f"Answer it in the vendor portal: {page}\n"
        f"(or from your systems with your API key: {api}, documented at {base_url}/api/vendor/docs)\n"
    )
    return {"subject": f"[dpa] 尽职调查问卷 / Due-diligence questionnaire: {engagement.name}", "body": body}


async def get(
    session: AsyncSession, *, questionnaire_id: uuid.UUID, vendor_id: uuid.UUID | None = None
) -> Questionnaire:
    if vendor_id is not None:
        return await get_owned(session, Questionnaire, questionnaire_id, vendor_id, "questionnaire")
    return await get_or_404(session, Questionnaire, questionnaire_id, "questionnaire")


@dataclass(frozen=True)
class QuestionnaireFilter:
    vendor_id: uuid.UUID | None = None
    engagement_id: uuid.UUID | None = None
    status: QuestionnaireStatus | None = None


async def get_all(
    session: AsyncSession, *, where: QuestionnaireFilter, limit: int = 50, offset: int = 0
) -> tuple[list[Questionnaire], int]:
    query = where_equal(
        select(Questionnaire),
        [
            (col(Questionnaire.vendor_id), where.vendor_id),
            (col(Questionnaire.engagement_id), where.engagement_id),
            (col(Questionnaire.status), where.status),
        ],
    )
    query = query.order_by(col(Questionnaire.sent_at).desc(), col(Questionnaire.id))
    return await paginate(session, query, limit=limit, offset=offset)


def _value(question: Question, value: Any) -> Any:
    """The answer as stored, or InvalidValue saying what the question expects."""
    kind = question.type
    if kind == QuestionType.yes_no:
        if not isinstance(value, bool):
            raise InvalidValue("expects true or false", zh="请选择是或否")
        return value
    values = ", ".join(question.values())
    if kind == QuestionType.choice:
        if not isinstance(value, str) or value not in question.values():
            raise InvalidValue(f"expects one of {values}", zh="请选择一个选项")
        return value
    if kind == QuestionType.multi_choice:
        if not isinstance(value, list) or not value or not all(isinstance(item, str) for item in value):
            raise InvalidValue(f"expects a non-empty list of {values}", zh="请至少选择一个选项")
        unknown = [item for item in value if item not in question.values()]
        if unknown:
            raise InvalidValue(f"{unknown[0]!r} is not one of {values}", zh=f"{unknown[0]!r} 不是本题的选项")
        if "none" in value and len(set(value)) > 1:
            raise InvalidValue("'none' cannot be chosen with anything else", zh="选了“无”就不能再选其他选项")
        return sorted(set(value), key=question.values().index)
    if kind == QuestionType.text:
        if not isinstance(value, str):
            raise InvalidValue("expects text", zh="请填写文字")
        text = value.strip()
        if len(text) > MAX_TEXT:
            raise InvalidValue(f"at most {MAX_TEXT} characters", zh=f"最多 {MAX_TEXT} 个字符")
        if CONTROL_CHARACTERS.search(text):
            raise InvalidValue("must not contain control characters", zh="不能包含控制字符")
        return text or None
    if kind == QuestionType.number:
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
            raise InvalidValue("expects a number", zh="请填写数字")
        if not 0 <= value <= MAX_NUMBER:
            raise InvalidValue(f"expects a number from 0 to {MAX_NUMBER}", zh=f"请填写 0 至 {MAX_NUMBER:,} 之间的数字")
        return value
    if kind == QuestionType.date:
        if isinstance(value, str) and len(value) == 10:
            try:
                return date.fromisoformat(value).isoformat()
            except ValueError:
                pass
        raise InvalidValue("expects a date, YYYY-MM-DD", zh="请按 YYYY-MM-DD 填写日期")
    raise InvalidValue("takes files: upload them with the answers", zh="本题需上传文件：请随答案一起上传")


async def answer(
    session: AsyncSession,
    questionnaire: Questionnaire,
    answers: Mapping[str, AnswerValue],
    files: Mapping[str, Sequence[CheckedFile]],
    actor: Actor,
    *,
    storage: FileStore,
) -> Questionnaire:
    """Save answers (merged into those saved before; None clears one) and evidence files (added to
    their question's). Every answer is checked against its question first: on any error nothing is
    stored, and the 400 names each question (`answers.<id>`, `files.<id>`)."""
    if actor.vendor_id is not None and questionnaire.vendor_id != actor.vendor_id:
        raise NotFoundError("questionnaire not found", zh="找不到该问卷")
    if questionnaire.status not in ANSWERABLE:
        raise ConflictError(
            f"this questionnaire is {questionnaire.status}: it can no longer be answered",
            zh=f"该问卷{STATUS_ZH[questionnaire.status]}，不能再作答",
        )
    questions = template_of(questionnaire).questions()
    errors, merged = FieldErrors(), dict(questionnaire.answers)
    for question_id, value in answers.items():
        question = questions.get(question_id)
        if question is None:
            errors.add(f"answers.{question_id}", "no such question in this questionnaire", zh="本问卷没有这道题")
            continue
        if value is None:
            if question.type != QuestionType.file:
                merged.pop(question_id, None)
            continue
        try:
            stored = _value(question, value)
        except InvalidValue as error:
            errors.add(f"answers.{question_id}", str(error), zh=error.zh)
            continue
        if stored is None:
            merged.pop(question_id, None)
        else:
            merged[question_id] = stored
    for question_id, uploads in files.items():
        question = questions.get(question_id)
        if question is None:
            errors.add(f"files.{question_id}", "no such question in this questionnaire", zh="本问卷没有这道题")
        elif question.type != QuestionType.file:
            errors.add(
                f"files.{question_id}",
                f"this question takes a {question.type} answer, not files",
                zh="本题不需要上传文件",
            )
        elif len(uploads) + len(merged.get(question_id, [])) > MAX_FILES:
            errors.add(
                f"files.{question_id}", f"at most {MAX_FILES} files per question", zh=f"每道题最多 {MAX_FILES} 个文件"
            )
    errors.raise_if_any()
    added = []
    for question_id, uploads in files.items():
        for upload in uploads:
            stored_file = await anyio.to_thread.run_sync(storage.put, upload.data, upload.sha256)
            row = QuestionnaireFile(
                questionnaire_id=questionnaire.id,
                question_id=question_id,
                sha256=stored_file.sha256,
                size=stored_file.size,
                content_type=upload.content_type,
                filename=upload.filename,
            )
            session.add(row)
            added.append(row)
            merged[question_id] = [*merged.get(question_id, []), str(row.id)]
    before = dict(questionnaire.answers)
    questionnaire.answers = merged
    questionnaire.answered_at = utcnow()
    await session.flush()
    changed = {
        key: [before.get(key), merged.get(key)]
        for key in set(before) | set(merged)
        if before.get(key) != merged.get(key)
    }
    audit.record(
        session,
        actor,
        AuditAction.update,
        AuditObject.questionnaire,
        questionnaire.id,
        {"answers": changed, "files": [row.filename for row in added]},
    )
    return questionnaire


async def submit(session: AsyncSession, questionnaire: Questionnaire, actor: Actor) -> Questionnaire:
    """Hand the answers in for review; every required question must be answered (each one left
    open is named). The engagement's findings follow the answers as the write settles."""
    if actor.vendor_id is not None and questionnaire.vendor_id != actor.vendor_id:
        raise NotFoundError("questionnaire not found", zh="找不到该问卷")
    if questionnaire.status not in ANSWERABLE:
        raise ConflictError(
            f"this questionnaire is already {questionnaire.status}", zh=f"该问卷{STATUS_ZH[questionnaire.status]}"
        )
    errors = FieldErrors()
    for question in template_of(questionnaire).questions().values():
        if question.required and question.id not in questionnaire.answers:
            errors.add(
                f"answers.{question.id}", "required: answer this question before submitting", zh="必答题：提交前请作答"
            )
    errors.raise_if_any()
    before = questionnaire.status
    questionnaire.status = QuestionnaireStatus.submitted
    questionnaire.submitted_at = utcnow()
    audit.record(
        session,
        actor,
        AuditAction.submit,
        AuditObject.questionnaire,
        questionnaire.id,
        {"status": [before, questionnaire.status]},
    )
    mark(session, f"questionnaire answered by {actor.label}", engagement=questionnaire.engagement_id)
    return questionnaire


async def review(
    session: AsyncSession, *, questionnaire_id: uuid.UUID, accept: bool, reason: str, actor: Actor
) -> Questionnaire:
    """Accept, or return to the vendor with a reason it sees (it answers again and resubmits)."""
    actor.require_role(*REVIEWERS)
    questionnaire = await get(session, questionnaire_id=questionnaire_id)
    engagement = await get_or_404(session, Engagement, questionnaire.engagement_id, "engagement")
    if actor.role == Role.owner and engagement.owner_id != actor.user_id:
        raise PermissionDeniedError(
            "only the engagement's owner, the DPO or an admin may review it",
            zh="只有该委托处理的负责人、个人信息保护负责人或管理员可以审核问卷",
        )
    if questionnaire.status != QuestionnaireStatus.submitted:
        raise ConflictError(
            f"this questionnaire is {questionnaire.status}: only a submitted one is reviewed",
            zh=f"该问卷{STATUS_ZH[questionnaire.status]}：只有已提交的问卷可以审核",
        )
    target = QuestionnaireStatus.accepted if accept else QuestionnaireStatus.returned
    questionnaire.status = target
    questionnaire.reviewed_at, questionnaire.reviewed_by_id = utcnow(), actor.user_id
    questionnaire.review_reason = reason
    audit.record(
        session,
        actor,
        AuditAction.review,
        AuditObject.questionnaire,
        questionnaire.id,
        {"status": [QuestionnaireStatus.submitted, target], "reason": reason},
    )
    # Returned, its answers no longer stand for the vendor's statement (the findings follow).
    mark(session, f"questionnaire {target} by {actor.label}", engagement=questionnaire.engagement_id)
    return questionnaire


async def files_of(session: AsyncSession, ids: list[uuid.UUID]) -> dict[uuid.UUID, list[QuestionnaireFile]]:
    found: dict[uuid.UUID, list[QuestionnaireFile]] = {questionnaire_id: [] for questionnaire_id in ids}
    if ids:
        query = select(QuestionnaireFile).where(col(QuestionnaireFile.questionnaire_id).in_(ids))
        for row in await session.scalars(query.order_by(col(QuestionnaireFile.created_at), col(QuestionnaireFile.id))):
            found[row.questionnaire_id].append(row)
    return found


async def get_file(
    session: AsyncSession, *, questionnaire_id: uuid.UUID, file_id: uuid.UUID, storage: FileStore, actor: Actor
) -> tuple[QuestionnaireFile, bytes]:
    questionnaire = await get(session, questionnaire_id=questionnaire_id, vendor_id=actor.vendor_id)
    file = await session.get(QuestionnaireFile, file_id)
    if file is None or file.questionnaire_id != questionnaire.id:
        raise NotFoundError("file not found", zh="找不到该文件")
    content = await anyio.to_thread.run_sync(storage.get, file.sha256)
    return file, content


def public(
    questionnaire: Questionnaire, files: list[QuestionnaireFile], *, with_questions: bool = False
) -> QuestionnairePublic:
    template = template_of(questionnaire)
    return QuestionnairePublic(
        id=questionnaire.id,
        vendor_id=questionnaire.vendor_id,
        engagement_id=questionnaire.engagement_id,
        template=questionnaire.template,
        template_version=questionnaire.template_version,
        title_zh=template.title.zh,
        title_en=template.title.en,
        status=questionnaire.status,
        answers=questionnaire.answers,
        files=[AnswerFilePublic.model_validate(file, from_attributes=True) for file in files],
        sent_at=questionnaire.sent_at,
        submitted_at=questionnaire.submitted_at,
        reviewed_at=questionnaire.reviewed_at,
        review_reason=questionnaire.review_reason,
        questions=template.public() if with_questions else [],
    )


async def present(
    session: AsyncSession, questionnaire: Questionnaire, *, with_questions: bool = False
) -> QuestionnairePublic:
    files = (await files_of(session, [questionnaire.id]))[questionnaire.id]
    return public(questionnaire, files, with_questions=with_questions)


def due_diligence(questionnaire: Questionnaire) -> DueDiligence:
    """The facts the answers state, by the `fact` each question of its template feeds."""
    facts: dict[str, Any] = {}
    for question in template_of(questionnaire).questions().values():
        if question.fact is None or question.id not in questionnaire.answers:
            continue
        value = questionnaire.answers[question.id]
        if question.fact == "face_storage":
            facts["face_storage"] = FaceStorage(value)
        elif question.fact == "certifications":
            facts["certifications"] = frozenset(value) & (CERTIFICATIONS - {"none"})
        else:
            facts[question.fact] = bool(value)
    return DueDiligence(questionnaire_id=questionnaire.id, submitted_at=questionnaire.submitted_at, **facts)


async def stated(session: AsyncSession, engagement_ids: Sequence[uuid.UUID] | None) -> dict[uuid.UUID, DueDiligence]:
    """For each engagement, the facts of the newest questionnaire its vendor stands by (submitted
    or accepted); None: of every engagement."""
    query = select(Questionnaire).where(col(Questionnaire.status).in_(STATED))
    if engagement_ids is not None:
        if not engagement_ids:
            return {}
        query = query.where(col(Questionnaire.engagement_id).in_(list(engagement_ids)))
    found: dict[uuid.UUID, Questionnaire] = {}
    for row in await session.scalars(query.order_by(col(Questionnaire.submitted_at))):
        found[row.engagement_id] = row  # the newest wins
    return {engagement_id: due_diligence(row) for engagement_id, row in found.items()}
