"""The due-diligence questionnaire in the portal: a vendor's person answers it in the browser,
with evidence files, saves as often as they like and submits once complete. The same service
as the vendor API (app.questionnaires), so the same checks and the same 404 for another vendor's."""

from __future__ import annotations

import uuid
from functools import partial
from typing import Any

import anyio.to_thread
from litestar import Controller, Request, Response, get, post
from litestar.datastructures import UploadFile
from litestar.params import FromPath
from litestar.response import Redirect, Template
from sqlalchemy.ext.asyncio import AsyncSession

from app.core import uploads
from app.core.deps import CurrentActor, DbSession, Settle, Storage
from app.core.downloads import file_response
from app.core.schemas import MAX_PAGE
from app.core.uploads import CheckedFile
from app.pages.lookups import engagement_names
from app.pages.web import Errors, errors_of, see_other
from app.portal.pages import portal_page
from app.questionnaires import services
from app.questionnaires.library import Question
from app.questionnaires.models import Questionnaire
from app.questionnaires.schemas import ANSWERABLE, AnswerValue, QuestionnaireStatus, QuestionType


def answers_of(form: Any, questions: dict[str, Question]) -> dict[str, AnswerValue]:
    """The form's fields as the service's answers: a field left empty clears its answer, a number
    or a yes/no that is not one is passed on as typed, for the service to name the question."""
    answers: dict[str, AnswerValue] = {}
    for question in questions.values():
        name = f"q.{question.id}"
        if question.type == QuestionType.file:
            continue
        if question.type == QuestionType.multi_choice:
            if f"{name}.shown" in form:  # the checkboxes were on the page: none ticked clears it
                chosen = [str(value) for value in form.getall(name, [])]
                answers[question.id] = chosen or None
            continue
        if name not in form:
            continue
        raw = str(form.get(name, "")).strip()
        if not raw:
            answers[question.id] = None
        elif question.type == QuestionType.yes_no:
            answers[question.id] = {"yes": True, "no": False}.get(raw, raw)
        elif question.type == QuestionType.number:
            cleaned = raw.replace(",", "").replace("，", "")
            try:
                answers[question.id] = int(cleaned) if cleaned.isdigit() else float(cleaned)
            except ValueError:
                answers[question.id] = raw
        else:
            answers[question.id] = raw
    return answers


async def files_of(
    request: Request[Any, Any, Any], form: Any, questions: dict[str, Question]
) -> dict[str, list[CheckedFile]]:
    """Each file question's new files, checked by content as every upload is."""
    max_bytes = request.app.state.settings.upload_max_file_bytes
    found: dict[str, list[CheckedFile]] = {}
    for question in questions.values():
        if question.type != QuestionType.file:
            continue
        sent = [f for f in form.getall(f"q.{question.id}", []) if isinstance(f, UploadFile) and f.filename]
        for upload in sent:
            check = partial(
                uploads.check_file,
                f"files.{question.id}",
                upload.filename or "",
                upload.content_type,
                await upload.read(),
                max_bytes=max_bytes,
            )
            found.setdefault(question.id, []).append(await anyio.to_thread.run_sync(check))
    return found


def _form_errors(error: Exception) -> Errors:
    """The service's keys (answers.<id>, files.<id>) as the form's fields (q.<id>)."""
    errors = errors_of(error)
    fields = {f"q.{key.split('.', 1)[1]}" if "." in key else key: message for key, message in errors.fields.items()}
    return Errors(errors.summary, fields)


class PortalQuestionnairePages(Controller):
    path = "/questionnaires"
    include_in_schema = False

    @get("/")
    async def list_questionnaires(
        self, request: Request[Any, Any, Any], db_session: DbSession, actor: CurrentActor
    ) -> Template:
        where = services.QuestionnaireFilter(vendor_id=actor.vendor)
        rows, _ = await services.get_all(db_session, where=where, limit=MAX_PAGE)
        names = await engagement_names(db_session, [row.engagement_id for row in rows])
        titles = {row.id: services.template_of(row).title for row in rows}
        return portal_page(
            request, "portal/questionnaires.html", nav="questionnaires", rows=rows, names=names, titles=titles
        )

    @get("/{questionnaire_id:uuid}")
    async def questionnaire(
        self,
        request: Request[Any, Any, Any],
        db_session: DbSession,
        actor: CurrentActor,
        questionnaire_id: FromPath[uuid.UUID],
    ) -> Template:
        row = await services.get(db_session, questionnaire_id=questionnaire_id, vendor_id=actor.vendor)
        return await _page(request, db_session, row, dict(row.answers), Errors())

    @post("/{questionnaire_id:uuid}")
    async def answer(
        self,
        request: Request[Any, Any, Any],
        db_session: DbSession,
        settle: Settle,
        actor: CurrentActor,
        storage: Storage,
        questionnaire_id: FromPath[uuid.UUID],
    ) -> Template | Redirect:
        row = await services.get(db_session, questionnaire_id=questionnaire_id, vendor_id=actor.vendor)
        form = await request.form()
        questions = services.template_of(row).questions()
        answers = answers_of(form, questions)
        submitting = form.get("action") == "submit"
        try:
            files = await files_of(request, form, questions)
            await services.answer(db_session, row, answers, files, actor, storage=storage)
            if submitting:
                await services.submit(db_session, row, actor)
            await settle()
        except Exception as error:  # shown beside its question, what was typed kept; errors_of re-raises a bug
            await db_session.rollback()
            row = await services.get(db_session, questionnaire_id=questionnaire_id, vendor_id=actor.vendor)
            shown = {**row.answers, **{key: value for key, value in answers.items() if value is not None}}
            status_code = getattr(error, "status_code", 400)
            return await _page(request, db_session, row, shown, _form_errors(error), status_code)
        return see_other(f"/portal/questionnaires/{row.id}?{'submitted' if submitting else 'saved'}=1")

    @get("/{questionnaire_id:uuid}/files/{file_id:uuid}")
    async def evidence(
        self,
        db_session: DbSession,
        settle: Settle,
        storage: Storage,
        actor: CurrentActor,
        questionnaire_id: FromPath[uuid.UUID],
        file_id: FromPath[uuid.UUID],
    ) -> Response[bytes]:
        file, content = await services.get_file(
            db_session, questionnaire_id=questionnaire_id, file_id=file_id, storage=storage, actor=actor
        )
        await settle()  # a download may be audited
        return file_response(content, content_type=file.content_type, filename=file.filename, sha256=file.sha256)


async def _page(
    request: Request[Any, Any, Any],
    session: AsyncSession,
    row: Questionnaire,
    values: dict[str, Any],
    errors: Errors,
    status_code: int = 200,
) -> Template:
    names = await engagement_names(session, [row.engagement_id])
    files = (await services.files_of(session, [row.id])).get(row.id, [])
    return portal_page(
        request,
        "portal/questionnaire.html",
        status_code=status_code,
        nav="questionnaires",
        q=row,
        template=services.template_of(row),
        answerable=row.status in ANSWERABLE,
        returned=row.status == QuestionnaireStatus.returned,
        values=values,
        files=files,
        names=names,
        errors=errors,
        saved="saved" in request.query_params,
        submitted="submitted" in request.query_params,
    )
