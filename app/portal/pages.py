"""The portal's pages: what we need from you, sending an attestation, agreements to download."""

from __future__ import annotations

import json
import re
import uuid
from datetime import UTC, datetime
from typing import Any

from litestar import Controller, Request, Response, get, post
from litestar.datastructures import UploadFile
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect, Template
from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts import services as accounts
from app.agreements import services as agreements
from app.agreements.library import library
from app.agreements.schemas import DocumentCopy
from app.attestations import services as attestations
from app.attestations.controllers import submit_upload
from app.attestations.schemas import AttestationKind, DeletionMethod
from app.contacts import services as contacts
from app.core import clock, idempotency
from app.core.actor import Actor, Role
from app.core.deps import CurrentActor, DbSession, Settle, Storage
from app.core.downloads import file_response
from app.core.errors import NotFoundError
from app.core.schemas import MAX_PAGE
from app.core.types import utcnow
from app.engagements import services as engagements
from app.engagements import taxonomy
from app.obligations import services as obligations
from app.obligations.schemas import Party
from app.pages.lookups import engagement_names
from app.pages.web import Errors, Message, errors_of, page, see_other
from app.reminders import services as reminders

# The kinds a person sends from the portal (a certificate goes through the API for now).
FORM_KINDS = (
    AttestationKind.deletion,
    AttestationKind.periodic,
    AttestationKind.sub_processor_change,
    AttestationKind.incident,
)
COUNTS = ("records_deleted", "individuals_deleted", "individuals_affected")
CHECKBOXES = ("backups_covered", "sub_processors_covered")
TEXTS = {
    AttestationKind.deletion: ("method", "method_description", "completed_on", "signer_name", "signer_title"),
    AttestationKind.periodic: ("period_start", "period_end"),
    AttestationKind.sub_processor_change: ("sub_processor_name", "activity", "country", "region", "effective_from"),
    AttestationKind.incident: ("system", "description", "measures_taken"),
}


def _count(raw: str) -> int | str | None:
    cleaned = re.sub(r"[,\s，]", "", raw)
    if not cleaned:
        return None
    return int(cleaned) if cleaned.isdigit() else raw  # not a number: the schema names the field


def metadata_of(form: Any, kind: AttestationKind, engagement_id: str) -> dict[str, Any]:
    """The form's fields as the API's `metadata` object: one validation for both."""
    data: dict[str, Any] = {"kind": kind, "engagement_id": engagement_id}
    for name in TEXTS.get(kind, ()):
        value = str(form.get(name, "")).strip()
        if value or name in ("method_description",):
            data[name] = value
    if kind == AttestationKind.deletion:
        for name in CHECKBOXES:
            data[name] = form.get(name) == "yes"
    for name in COUNTS:
        if name in form and (kind == AttestationKind.incident) == (name == "individuals_affected"):
            count = _count(str(form.get(name, "")))
            if count is not None:
                data[name] = count
    if kind in (AttestationKind.sub_processor_change, AttestationKind.incident):
        data["pi_categories"] = [str(code) for code in form.getall("pi_categories", [])]
    if kind == AttestationKind.incident and form.get("detected_at"):
        data["detected_at"] = _local_moment(str(form.get("detected_at")))
    if kind == AttestationKind.periodic:
        statements = []
        for requirement in library().requirements:
            answer = str(form.get(f"compliant.{requirement}", ""))
            if answer in ("yes", "no"):
                comment = str(form.get(f"comment.{requirement}", "")).strip()
                statements.append({"requirement": requirement, "compliant": answer == "yes", "comment": comment})
        data["statements"] = statements
    return data


def _local_moment(raw: str) -> str:
    """A datetime-local field (no zone) read in the company's zone, as the API wants it (aware)."""
    try:
        return datetime.fromisoformat(raw).replace(tzinfo=clock.zone()).isoformat()
    except ValueError:
        return raw  # the schema names the field


def _form_errors(error: Exception) -> Errors:
    """The API's field names (metadata.completed_on, files.0) as the form's (completed_on, files)."""
    errors = errors_of(error)
    fields: dict[str, Message] = {}
    for key, message in errors.fields.items():
        # A discriminated union names the kind first: metadata.deletion.signer_name.
        name = key.removeprefix("metadata.")
        name = next((name.removeprefix(f"{kind}.") for kind in AttestationKind if name.startswith(f"{kind}.")), name)
        name = "files" if name.startswith("files") else name.split(".")[0] if name.startswith("statements") else name
        fields.setdefault(name, message)
    return Errors(errors.summary, fields)


def _sent(form: Any) -> list[UploadFile]:
    return [f for f in form.getall("files", []) if isinstance(f, UploadFile) and f.filename]


async def _notify_dpo(
    session: AsyncSession, request: Request[Any, Any, Any], attestation_id: str, actor: Actor
) -> None:
    """An incident reaches the DPO at once, by e-mail through the outbox, not with the next digest."""
    dpos, _ = await accounts.get_all(
        session, where=accounts.UserFilter(role=Role.dpo, active=True), limit=MAX_PAGE, offset=0
    )
    link = f"{request.app.state.settings.base_url}/review"
    body = (
        f"受托方报告了个人信息安全事件，请立即审核：\n{link}\n\n"
        f"A vendor reported a personal information incident; review it now:\n{link}\n\n{actor.label}\n"
    )
    for dpo in dpos:
        reminders.queue_message(
            session,
            recipient=dpo.email,
            subject="[dpa] 安全事件报告 / Incident reported",
            body=body,
            now=utcnow(),
        )


def portal_page(request: Request[Any, Any, Any], name: str, *, status_code: int = 200, **context: Any) -> Template:
    """A portal page: the pages' own, with the contact and its vendor for the top bar."""
    visit = request.scope.get("user")
    if isinstance(visit, contacts.Visit):
        context["contact"] = visit
        context["vendor_name"] = visit.vendor_name
    return page(request, name, status_code=status_code, **context)


class PortalPages(Controller):
    include_in_schema = False

    @get("/")
    async def duties(self, request: Request[Any, Any, Any], db_session: DbSession, actor: CurrentActor) -> Template:
        where = obligations.ObligationFilter(vendor_id=actor.vendor, party=Party.vendor)
        rows, total = await obligations.get_all(db_session, where=where, limit=MAX_PAGE)
        states = await obligations.vendor_states(db_session, rows)
        duties = [obligations.for_vendor(row, states[row.id]) for row in rows]
        sent, _ = await attestations.get_all(
            db_session, where=attestations.AttestationFilter(vendor_id=actor.vendor), limit=20
        )
        names = await engagement_names(db_session, [d.engagement_id for d in duties] + [a.engagement_id for a in sent])
        return portal_page(
            request, "portal/duties.html", nav="duties", duties=duties, total=total, sent=sent, names=names
        )

    @get("/attestations/new")
    async def new_attestation(
        self,
        request: Request[Any, Any, Any],
        db_session: DbSession,
        actor: CurrentActor,
        kind: FromQuery[AttestationKind] = AttestationKind.deletion,
        engagement_id: FromQuery[uuid.UUID | None] = None,
    ) -> Template:
        if kind not in FORM_KINDS:
            raise NotFoundError("no such form", zh="没有这张表单")
        return await _form(request, db_session, actor, kind, {"engagement_id": str(engagement_id or "")})

    @post("/attestations")
    async def send(
        self,
        request: Request[Any, Any, Any],
        db_session: DbSession,
        settle: Settle,
        actor: CurrentActor,
        storage: Storage,
    ) -> Template | Redirect:
        form = await request.form()
        try:
            kind = AttestationKind(str(form.get("kind", "")))
        except ValueError:
            raise NotFoundError("no such form", zh="没有这张表单") from None
        if kind not in FORM_KINDS:
            raise NotFoundError("no such form", zh="没有这张表单")
        metadata = metadata_of(form, kind, str(form.get("engagement_id", "")))
        try:
            key = idempotency.check_key(str(form.get("idempotency_key", "")) or None)
            outcome = await submit_upload(
                request, db_session, settle, actor, storage, metadata=json.dumps(metadata), sent=_sent(form), key=key
            )
        except Exception as error:  # shown beside its field, the input kept; errors_of re-raises a bug
            await db_session.rollback()
            status_code = getattr(error, "status_code", 400)
            shown: dict[str, Any] = {name: str(form.get(name, "")) for name in form if name != "files"}
            shown["pi_categories"] = [str(code) for code in form.getall("pi_categories", [])]
            return await _form(request, db_session, actor, kind, shown, _form_errors(error), status_code)
        attestation_id = str(outcome.body["id"])
        if kind == AttestationKind.incident and not outcome.replayed:
            await _notify_dpo(db_session, request, attestation_id, actor)
            await settle()
        return see_other(f"/portal/attestations/{attestation_id}")

    @get("/attestations/{attestation_id:uuid}")
    async def attestation(
        self,
        request: Request[Any, Any, Any],
        db_session: DbSession,
        actor: CurrentActor,
        attestation_id: FromPath[uuid.UUID],
    ) -> Template:
        row = await attestations.get(db_session, attestation_id=attestation_id, vendor_id=actor.vendor)
        shown = await attestations.present(db_session, row)
        names = await engagement_names(db_session, [row.engagement_id])
        return portal_page(request, "portal/attestation.html", nav="duties", a=shown, names=names)

    @get("/attestations/{attestation_id:uuid}/files/{file_id:uuid}")
    async def evidence(
        self,
        db_session: DbSession,
        settle: Settle,
        storage: Storage,
        actor: CurrentActor,
        attestation_id: FromPath[uuid.UUID],
        file_id: FromPath[uuid.UUID],
    ) -> Response[bytes]:
        file, content = await attestations.get_file(
            db_session, attestation_id=attestation_id, file_id=file_id, storage=storage, actor=actor
        )
        await settle()  # a vendor's download is audited
        return file_response(content, content_type=file.content_type, filename=file.filename, sha256=file.sha256)

    @get("/agreements")
    async def agreements_list(
        self, request: Request[Any, Any, Any], db_session: DbSession, actor: CurrentActor
    ) -> Template:
        where = agreements.AgreementFilter(vendor_id=actor.vendor, issued_only=True)
        rows, _ = await agreements.get_all(db_session, where=where, sort="-created_at", limit=MAX_PAGE, offset=0)
        documents = {}
        for agreement in rows:  # a vendor has a handful of agreements
            never = datetime.max.replace(tzinfo=UTC)
            found, _ = await agreements.get_documents(
                db_session,
                where=agreements.DocumentFilter(agreement_id=agreement.id, issued_since=agreement.issued_at or never),
                limit=MAX_PAGE,
                offset=0,
            )
            documents[agreement.id] = [
                (doc, agreements.copy_of(doc, agreement))
                for doc in found
                if agreements.copy_of(doc, agreement) != DocumentCopy.draft
            ]
        names = await engagement_names(db_session, [a.engagement_id for a in rows])
        return portal_page(
            request, "portal/agreements.html", nav="agreements", rows=rows, documents=documents, names=names
        )

    @get("/agreements/{agreement_id:uuid}/documents/{document_id:uuid}")
    async def document(
        self,
        db_session: DbSession,
        settle: Settle,
        storage: Storage,
        actor: CurrentActor,
        agreement_id: FromPath[uuid.UUID],
        document_id: FromPath[uuid.UUID],
    ) -> Response[bytes]:
        document, content = await agreements.get_document(
            db_session, agreement_id=agreement_id, document_id=document_id, storage=storage, actor=actor
        )
        await settle()  # a vendor's download is audited
        return file_response(
            content, content_type=document.content_type, filename=document.filename, sha256=document.sha256
        )


async def _form(
    request: Request[Any, Any, Any],
    session: AsyncSession,
    actor: Actor,
    kind: AttestationKind,
    values: dict[str, Any],
    errors: Errors | None = None,
    status_code: int = 200,
) -> Template:
    rows, _ = await engagements.get_all(
        session, where=engagements.EngagementFilter(vendor_id=actor.vendor), sort="name", limit=MAX_PAGE, offset=0
    )
    values.setdefault(
        "idempotency_key", str(uuid.uuid4())
    )  # kept on a refused form: one attestation, however often sent
    values.setdefault("pi_categories", [])
    return portal_page(
        request,
        "portal/form.html",
        status_code=status_code,
        nav="duties",
        kind=kind,
        kinds=FORM_KINDS,
        engagements=rows,
        v=values,
        methods=list(DeletionMethod),
        categories=list(taxonomy.categories().values()),
        requirements=list(library().requirements.values()),
        today=clock.today().isoformat(),
        errors=errors or Errors(),
    )
