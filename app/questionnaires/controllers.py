"""Questionnaire routes: the internal ones (send, read, accept or return) and the vendor's own
(read, answer with evidence files, submit) under /api/vendor."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import anyio.to_thread
from litestar import Controller, Request, Response, get, post, put
from litestar.datastructures import UploadFile
from litestar.params import FromPath, FromQuery, JSONBody, MultipartBody
from pydantic import TypeAdapter

from app.core import uploads, versioning
from app.core.deps import CurrentActor, DbSession, Settle, Storage
from app.core.downloads import file_response
from app.core.errors import FieldErrors, field_error
from app.core.schemas import Limit, Offset, Page
from app.core.settings import Settings
from app.core.uploads import CheckedFile
from app.questionnaires import services
from app.questionnaires.schemas import (
    QuestionnaireAccept,
    QuestionnairePublic,
    QuestionnaireReturn,
    QuestionnaireSend,
    QuestionnaireStatus,
)

ANSWERS_PATH = f"{versioning.V1}/questionnaires/{{questionnaire_id}}/answers"
# Question id -> the answer; a file question names the indexes of its files in `files`.
answers_adapter: TypeAdapter[dict[str, Any]] = TypeAdapter(dict[str, Any])
UPLOAD_JSON_PARTS: dict[tuple[str, str], dict[str, TypeAdapter[Any]]] = {
    ("put", ANSWERS_PATH): {"answers": answers_adapter}
}


@dataclass
class AnswerUpload:
    """multipart/form-data: `answers` is one JSON object, question id -> answer (a file question:
    the list of indexes of its files in `files`, e.g. [0, 1]); `files` the evidence."""

    answers: str
    files: list[UploadFile] = field(default_factory=list)


async def _page(
    db_session: DbSession, rows: list[Any], total: int, limit: int, offset: int
) -> Page[QuestionnairePublic]:
    files = await services.files_of(db_session, [row.id for row in rows])
    items = [services.public(row, files[row.id]) for row in rows]
    return Page(items=items, total=total, limit=limit, offset=offset)


async def _read(
    request: Request[Any, Any, Any], data: AnswerUpload
) -> tuple[dict[str, Any], dict[str, list[CheckedFile]]]:
    """The answers, with each file question's indexes replaced by its checked files."""
    settings: Settings = request.app.state.settings
    try:
        raw = json.loads(data.answers)
    except json.JSONDecodeError as error:
        raise field_error("answers", f"not valid JSON ({error.msg})", zh=f"不是有效的 JSON（{error.msg}）") from None
    if not isinstance(raw, dict):
        raise field_error(
            "answers", "expects a JSON object: question id -> answer", zh="须为 JSON 对象：题目编号 -> 答案"
        )
    checked = []
    for index, upload in enumerate(data.files):
        check = partial(
            uploads.check_file,
            f"files.{index}",
            upload.filename or "",
            upload.content_type,
            await upload.read(),
            max_bytes=settings.upload_max_file_bytes,
        )
        checked.append(await anyio.to_thread.run_sync(check))  # a DOCX is decompressed to be checked
    answers: dict[str, Any] = {}
    files: dict[str, list[CheckedFile]] = {}
    claimed: set[int] = set()
    errors = FieldErrors()
    for question_id, value in raw.items():
        indexes = value if isinstance(value, list) and value and all(type(item) is int for item in value) else None
        if indexes is None:
            answers[question_id] = value
            continue
        bad = [index for index in indexes if not 0 <= index < len(checked) or index in claimed]
        if bad:
            errors.add(
                f"answers.{question_id}",
                f"names file {bad[0]}, which is not among the files sent (or named twice)",
                zh=f"引用的文件 {bad[0]} 不在上传的文件中（或被引用了两次）",
            )
            continue
        claimed.update(indexes)
        files[question_id] = [checked[index] for index in indexes]
    for index in range(len(checked)):
        if index not in claimed:
            errors.add(
                f"files.{index}",
                "no question names this file: give its index as the answer to a file question",
                zh="没有题目引用这个文件：请在需上传文件的题目的答案中填写它的序号",
            )
    errors.raise_if_any()
    return answers, files


class VendorQuestionnaireController(Controller):
    """A vendor's own questionnaires (under the /api/vendor router, with its upload limit)."""

    path = "/questionnaires"
    tags = ("vendor API",)

    @get("/", summary="Your due-diligence questionnaires", operation_id="list_questionnaires")
    async def list_questionnaires(
        self,
        db_session: DbSession,
        actor: CurrentActor,
        status: FromQuery[QuestionnaireStatus | None] = None,
        limit: Limit = 50,
        offset: Offset = 0,
    ) -> Page[QuestionnairePublic]:
        where = services.QuestionnaireFilter(vendor_id=actor.vendor, status=status)
        rows, total = await services.get_all(db_session, where=where, limit=limit, offset=offset)
        return await _page(db_session, rows, total, limit, offset)

    @get(
        "/{questionnaire_id:uuid}",
        summary="One of your questionnaires, with its questions in Chinese and English",
        operation_id="get_questionnaire",
    )
    async def get_questionnaire(
        self, db_session: DbSession, actor: CurrentActor, questionnaire_id: FromPath[uuid.UUID]
    ) -> QuestionnairePublic:
        questionnaire = await services.get(db_session, questionnaire_id=questionnaire_id, vendor_id=actor.vendor)
        return await services.present(db_session, questionnaire, with_questions=True)

    @put(
        "/{questionnaire_id:uuid}/answers",
        status_code=200,
        operation_id="answer_questionnaire",
        summary="Save answers and evidence files (multipart: answers + files); submit when complete",
        description=(
            "Answers are merged into those saved before (null clears one). A file question's answer is the "
            "list of indexes of its files in `files`. Files: PDF, PNG, JPEG or DOCX. A wrong answer is a 400 "
            "naming the question (`answers.<question id>`), and nothing is saved."
        ),
    )
    async def answer(
        self,
        request: Request[Any, Any, Any],
        db_session: DbSession,
        settle: Settle,
        actor: CurrentActor,
        storage: Storage,
        questionnaire_id: FromPath[uuid.UUID],
        data: MultipartBody[AnswerUpload],
    ) -> QuestionnairePublic:
        questionnaire = await services.get(db_session, questionnaire_id=questionnaire_id, vendor_id=actor.vendor)
        answers, files = await _read(request, data)
        await services.answer(db_session, questionnaire, answers, files, actor, storage=storage)
        await settle()
        return await services.present(db_session, questionnaire, with_questions=True)

    @post(
        "/{questionnaire_id:uuid}/submit",
        status_code=200,
        operation_id="submit_questionnaire",
        summary="Submit your answers for review; every required question must be answered",
    )
    async def submit(
        self, db_session: DbSession, settle: Settle, actor: CurrentActor, questionnaire_id: FromPath[uuid.UUID]
    ) -> QuestionnairePublic:
        questionnaire = await services.get(db_session, questionnaire_id=questionnaire_id, vendor_id=actor.vendor)
        await services.submit(db_session, questionnaire, actor)
        await settle()
        return await services.present(db_session, questionnaire)

    @get(
        "/{questionnaire_id:uuid}/files/{questionnaire_file_id:uuid}/content",
        summary="Download one of your evidence files",
        operation_id="download_questionnaire_file",
    )
    async def download(
        self,
        db_session: DbSession,
        actor: CurrentActor,
        storage: Storage,
        questionnaire_id: FromPath[uuid.UUID],
        questionnaire_file_id: FromPath[uuid.UUID],
    ) -> Response[bytes]:
        return await _download(db_session, actor, storage, questionnaire_id, questionnaire_file_id)


async def _download(
    db_session: DbSession, actor: CurrentActor, storage: Storage, questionnaire_id: uuid.UUID, file_id: uuid.UUID
) -> Response[bytes]:
    file, content = await services.get_file(
        db_session, questionnaire_id=questionnaire_id, file_id=file_id, storage=storage, actor=actor
    )
    return file_response(content, content_type=file.content_type, filename=file.filename, sha256=file.sha256)


class QuestionnaireController(Controller):
    path = "/api/questionnaires"
    tags = ("questionnaires",)

    @post("/", status_code=201, summary="Send the due-diligence questionnaire to an engagement's vendor")
    async def send(
        self,
        request: Request[Any, Any, Any],
        db_session: DbSession,
        settle: Settle,
        actor: CurrentActor,
        data: JSONBody[QuestionnaireSend],
    ) -> QuestionnairePublic:
        settings: Settings = request.app.state.settings
        questionnaire = await services.send(
            db_session, engagement_id=data.engagement_id, actor=actor, base_url=settings.base_url
        )
        await settle()
        return await services.present(db_session, questionnaire)

    @get("/", summary="Questionnaires sent, and their answers")
    async def list_questionnaires(
        self,
        db_session: DbSession,
        vendor_id: FromQuery[uuid.UUID | None] = None,
        engagement_id: FromQuery[uuid.UUID | None] = None,
        status: FromQuery[QuestionnaireStatus | None] = None,
        limit: Limit = 50,
        offset: Offset = 0,
    ) -> Page[QuestionnairePublic]:
        where = services.QuestionnaireFilter(vendor_id=vendor_id, engagement_id=engagement_id, status=status)
        rows, total = await services.get_all(db_session, where=where, limit=limit, offset=offset)
        return await _page(db_session, rows, total, limit, offset)

    @get("/{questionnaire_id:uuid}", summary="One questionnaire, with its questions")
    async def get_questionnaire(
        self, db_session: DbSession, questionnaire_id: FromPath[uuid.UUID]
    ) -> QuestionnairePublic:
        questionnaire = await services.get(db_session, questionnaire_id=questionnaire_id)
        return await services.present(db_session, questionnaire, with_questions=True)

    @get("/{questionnaire_id:uuid}/files/{questionnaire_file_id:uuid}/content", summary="Download an evidence file")
    async def download(
        self,
        db_session: DbSession,
        actor: CurrentActor,
        storage: Storage,
        questionnaire_id: FromPath[uuid.UUID],
        questionnaire_file_id: FromPath[uuid.UUID],
    ) -> Response[bytes]:
        return await _download(db_session, actor, storage, questionnaire_id, questionnaire_file_id)

    @post("/{questionnaire_id:uuid}/accept", status_code=200, summary="Accept the answers (owner or DPO)")
    async def accept(
        self,
        db_session: DbSession,
        settle: Settle,
        actor: CurrentActor,
        questionnaire_id: FromPath[uuid.UUID],
        data: JSONBody[QuestionnaireAccept],
    ) -> QuestionnairePublic:
        questionnaire = await services.review(
            db_session, questionnaire_id=questionnaire_id, accept=True, reason=data.reason, actor=actor
        )
        await settle()
        return await services.present(db_session, questionnaire)

    @post("/{questionnaire_id:uuid}/return", status_code=200, summary="Return to the vendor with a reason it sees")
    async def return_questionnaire(
        self,
        db_session: DbSession,
        settle: Settle,
        actor: CurrentActor,
        questionnaire_id: FromPath[uuid.UUID],
        data: JSONBody[QuestionnaireReturn],
    ) -> QuestionnairePublic:
        questionnaire = await services.review(
            db_session, questionnaire_id=questionnaire_id, accept=False, reason=data.reason, actor=actor
        )
        await settle()
        return await services.present(db_session, questionnaire)
