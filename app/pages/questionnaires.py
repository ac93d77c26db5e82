"""The due-diligence questionnaire on the engagement page: send it, read the vendor's answers and
evidence, accept or return them with a reason (the vendor answers through the vendor API)."""

from __future__ import annotations

import uuid
from typing import Any

from litestar import Controller, Request, Response, get, post
from litestar.params import FromPath
from litestar.response import Redirect

from app.core.deps import CurrentActor, DbSession, Settle, Storage
from app.core.downloads import file_response
from app.core.errors import field_error
from app.core.schemas import MAX_PAGE
from app.core.settings import Settings
from app.pages.web import Errors, errors_of, see_other
from app.questionnaires import services
from app.questionnaires.schemas import QuestionnaireStatus

FAILED = "dpa.questionnaire_failed"  # on the request: which form failed, and why


async def section(session: Any, engagement_id: uuid.UUID) -> dict[str, Any]:
    """What the engagement page shows of its questionnaires: each with its questions, answers in
    words and evidence files, newest first."""
    rows, _ = await services.get_all(
        session, where=services.QuestionnaireFilter(engagement_id=engagement_id), limit=MAX_PAGE
    )
    files = await services.files_of(session, [row.id for row in rows])
    shown = []
    for row in rows:
        template = services.template_of(row)
        names = {str(file.id): file.filename for file in files[row.id]}
        answers = [
            (question, question.shown(row.answers.get(question.id), names))
            for question in template.questions().values()
        ]
        shown.append({"row": row, "template": template, "answers": answers, "files": files[row.id]})
    open_one = any(row.status != QuestionnaireStatus.accepted for row in rows)
    return {"questionnaires": shown, "questionnaire_open": open_one}


class QuestionnairePages(Controller):
    path = "/questionnaires"
    include_in_schema = False

    @post("/send/{engagement_id:uuid}")
    async def send(
        self,
        request: Request[Any, Any, Any],
        db_session: DbSession,
        settle: Settle,
        actor: CurrentActor,
        engagement_id: FromPath[uuid.UUID],
    ) -> Redirect:
        settings: Settings = request.app.state.settings
        await services.send(db_session, engagement_id=engagement_id, actor=actor, base_url=settings.base_url)
        await settle()
        return see_other(f"/engagements/{engagement_id}#questionnaires")

    @post("/{questionnaire_id:uuid}/review")
    async def review(
        self,
        request: Request[Any, Any, Any],
        db_session: DbSession,
        settle: Settle,
        actor: CurrentActor,
        questionnaire_id: FromPath[uuid.UUID],
    ) -> Redirect | Response[Any]:
        form = await request.form()
        reason = str(form.get("reason", "")).strip()
        accept = form.get("decision") == "accept"
        questionnaire = await services.get(db_session, questionnaire_id=questionnaire_id)
        engagement_id = questionnaire.engagement_id
        try:
            if not accept and len(reason) < 10:
                raise field_error(
                    "reason", "Say why it is returned (10 characters or more)", zh="退回时请说明理由（至少 10 个字符）"
                )
            await services.review(
                db_session, questionnaire_id=questionnaire_id, accept=accept, reason=reason, actor=actor
            )
        except Exception as error:  # shown on the engagement page; errors_of re-raises a bug
            errors: Errors = errors_of(error)
            await db_session.rollback()
            from app.pages.engagements import render_detail  # the page this form sits on

            return await render_detail(
                request,
                db_session,
                engagement_id,
                failed=(questionnaire_id, errors),
                status_code=getattr(error, "status_code", 400),
            )
        await settle()
        return see_other(f"/engagements/{engagement_id}#questionnaires")

    @get("/{questionnaire_id:uuid}/files/{file_id:uuid}")
    async def evidence(
        self,
        db_session: DbSession,
        storage: Storage,
        actor: CurrentActor,
        questionnaire_id: FromPath[uuid.UUID],
        file_id: FromPath[uuid.UUID],
    ) -> Response[bytes]:
        file, content = await services.get_file(
            db_session, questionnaire_id=questionnaire_id, file_id=file_id, storage=storage, actor=actor
        )
        return file_response(content, content_type=file.content_type, filename=file.filename, sha256=file.sha256)
