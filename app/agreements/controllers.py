from __future__ import annotations

import hashlib
import uuid
from datetime import UTC, datetime
from typing import Annotated

from litestar import Controller, Response, delete, get, patch, post
from litestar.datastructures import UploadFile
from litestar.params import FromPath, FromQuery, JSONBody, MultipartBody, QueryParameter

from app.agreements import services
from app.agreements.library import library
from app.agreements.models import Agreement, AgreementDocument
from app.agreements.schemas import (
    AgreementCreate,
    AgreementPublic,
    AgreementStatus,
    AgreementUpdate,
    Coverage,
    DocumentFormat,
    DocumentPublic,
    Expiry,
    Language,
    Override,
    RenderRequest,
    SnapshotChange,
    TemplatePublic,
    TemplateVersionPublic,
    Termination,
    VendorAgreement,
)
from app.core.deps import CurrentActor, DbSession, Settle, Storage
from app.core.downloads import file_response
from app.core.errors import field_error
from app.core.queries import get_owned
from app.core.schemas import Limit, Offset, Page
from app.engagements import services as engagements
from app.engagements.models import Engagement
from app.engagements.schemas import EngagementStatus, VendorEngagement, VendorSubProcessor

SIGNED_COPY_LIMIT = 20 * 1024 * 1024


async def _download(
    db_session: DbSession,
    settle: Settle,
    storage: Storage,
    actor: CurrentActor,
    agreement_id: uuid.UUID,
    document_id: uuid.UUID,
) -> Response[bytes]:
    document, content = await services.get_document(
        db_session, agreement_id=agreement_id, document_id=document_id, storage=storage, actor=actor
    )
    await settle()  # a vendor's download is audited
    return file_response(
        content, content_type=document.content_type, filename=document.filename, sha256=document.sha256
    )


async def _document_public(db_session: DbSession, document: AgreementDocument) -> DocumentPublic:
    agreement = await services.get(db_session, agreement_id=document.agreement_id)
    return DocumentPublic.model_validate(document, update={"stage": services.copy_of(document, agreement)})


async def _documents(
    db_session: DbSession, agreement: Agreement, limit: int, offset: int, *, for_vendor: bool = False
) -> Page[DocumentPublic]:
    issued_since = (agreement.issued_at or datetime.max.replace(tzinfo=UTC)) if for_vendor else None
    where = services.DocumentFilter(agreement_id=agreement.id, issued_since=issued_since)
    rows, total = await services.get_documents(db_session, where=where, limit=limit, offset=offset)
    items = [DocumentPublic.model_validate(row, update={"stage": services.copy_of(row, agreement)}) for row in rows]
    return Page(items=items, total=total, limit=limit, offset=offset)


class TemplateController(Controller):
    path = "/api/templates"
    tags = ("agreements",)

    @get("/", summary="Agreement templates and their versions")
    async def list_templates(self) -> list[TemplatePublic]:
        lib = library()
        return [
            TemplatePublic(
                id=template.id,
                title_zh=template.title.zh,
                title_en=template.title.en,
                versions=[
                    TemplateVersionPublic(
                        version=version.version,
                        published=version.published,
                        clauses=list(version.clauses),
                        fingerprint=lib.fingerprint(template, version),
                    )
                    for version in template.versions
                ],
            )
            for template in lib.templates.values()
        ]


class AgreementController(Controller):
    path = "/api/agreements"
    tags = ("agreements",)

    @get("/", summary="List agreements")
    async def list_agreements(
        self,
        db_session: DbSession,
        engagement_id: FromQuery[uuid.UUID | None] = None,
        vendor_id: FromQuery[uuid.UUID | None] = None,
        status: FromQuery[AgreementStatus | None] = None,
        sort: Annotated[str, QueryParameter(description="number, created_at, term_end or status; - to reverse")] = (
            "-created_at"
        ),
        limit: Limit = 50,
        offset: Offset = 0,
    ) -> Page[AgreementPublic]:
        where = services.AgreementFilter(engagement_id=engagement_id, vendor_id=vendor_id, status=status)
        rows, total = await services.get_all(db_session, where=where, sort=sort, limit=limit, offset=offset)
        return Page(items=[AgreementPublic.model_validate(r) for r in rows], total=total, limit=limit, offset=offset)

    @post("/", summary="Generate a draft agreement for an engagement")
    async def create_agreement(
        self, db_session: DbSession, settle: Settle, actor: CurrentActor, data: JSONBody[AgreementCreate]
    ) -> AgreementPublic:
        agreement = await services.create(db_session, data=data, actor=actor)
        await settle()
        return AgreementPublic.model_validate(agreement)

    @get("/{agreement_id:uuid}", summary="Get an agreement")
    async def get_agreement(self, db_session: DbSession, agreement_id: FromPath[uuid.UUID]) -> AgreementPublic:
        return AgreementPublic.model_validate(await services.get(db_session, agreement_id=agreement_id))

    @patch("/{agreement_id:uuid}", summary="Change a draft's terms")
    async def update_agreement(
        self,
        db_session: DbSession,
        settle: Settle,
        actor: CurrentActor,
        agreement_id: FromPath[uuid.UUID],
        data: JSONBody[AgreementUpdate],  # type: ignore[valid-type]
    ) -> AgreementPublic:
        agreement = await services.update(db_session, agreement_id=agreement_id, patch=data, actor=actor)
        await settle()
        return AgreementPublic.model_validate(agreement)

    @delete("/{agreement_id:uuid}", summary="Delete a draft")
    async def delete_agreement(
        self, db_session: DbSession, settle: Settle, actor: CurrentActor, agreement_id: FromPath[uuid.UUID]
    ) -> None:
        await services.delete(db_session, agreement_id=agreement_id, actor=actor)
        await settle()

    @get("/{agreement_id:uuid}/coverage", summary="Which clause covers which legal requirement (A1-A12, B1-B20)")
    async def get_coverage(self, db_session: DbSession, agreement_id: FromPath[uuid.UUID]) -> Coverage:
        return services.coverage(await services.get(db_session, agreement_id=agreement_id))

    @get(
        "/{agreement_id:uuid}/compliance-map",
        summary="The internal compliance map (requirement -> clause) as PDF or DOCX; not part of what the vendor signs",
    )
    async def get_compliance_map(
        self,
        db_session: DbSession,
        agreement_id: FromPath[uuid.UUID],
        format: Annotated[DocumentFormat, QueryParameter()] = DocumentFormat.pdf,
        lang: Annotated[Language, QueryParameter()] = Language.bilingual,
    ) -> Response[bytes]:
        agreement = await services.get(db_session, agreement_id=agreement_id)
        content, name, content_type = await services.compliance_map(agreement, fmt=format, lang=lang)
        return file_response(
            content, content_type=content_type, filename=name, sha256=hashlib.sha256(content).hexdigest()
        )

    @get("/{agreement_id:uuid}/changes", summary="What changed in the registry since the agreement was generated")
    async def get_changes(self, db_session: DbSession, agreement_id: FromPath[uuid.UUID]) -> list[SnapshotChange]:
        found = await services.changes(db_session, agreement_id=agreement_id)
        return [SnapshotChange.model_validate(change) for change in found]

    @post("/{agreement_id:uuid}/new-version", summary="A new draft from today's registry data, superseding this one")
    async def new_version(
        self, db_session: DbSession, settle: Settle, actor: CurrentActor, agreement_id: FromPath[uuid.UUID]
    ) -> AgreementPublic:
        agreement = await services.new_version(db_session, agreement_id=agreement_id, actor=actor)
        await settle()
        return AgreementPublic.model_validate(agreement)

    @post(
        "/{agreement_id:uuid}/override",
        status_code=200,
        summary="Let a draft with prohibited processing (R8b) be issued, with the DPO's reason",
    )
    async def override(
        self,
        db_session: DbSession,
        settle: Settle,
        actor: CurrentActor,
        agreement_id: FromPath[uuid.UUID],
        data: JSONBody[Override],
    ) -> AgreementPublic:
        agreement = await services.override(db_session, agreement_id=agreement_id, data=data, actor=actor)
        await settle()
        return AgreementPublic.model_validate(agreement)

    @post("/{agreement_id:uuid}/issue", status_code=200, summary="Issue to the vendor (needs A1-A12 covered)")
    async def issue(
        self,
        storage: Storage,
        db_session: DbSession,
        settle: Settle,
        actor: CurrentActor,
        agreement_id: FromPath[uuid.UUID],
    ) -> AgreementPublic:
        agreement = await services.issue(db_session, agreement_id=agreement_id, storage=storage, actor=actor)
        await settle()
        return AgreementPublic.model_validate(agreement)

    @post(
        "/{agreement_id:uuid}/sign",
        status_code=200,
        summary="Upload the signed copy (PDF, multipart field 'file')",
        request_max_body_size=SIGNED_COPY_LIMIT,
    )
    async def sign(
        self,
        storage: Storage,
        db_session: DbSession,
        settle: Settle,
        actor: CurrentActor,
        agreement_id: FromPath[uuid.UUID],
        data: MultipartBody[dict[str, UploadFile]],
    ) -> AgreementPublic:
        upload = data.get("file")
        if not isinstance(upload, UploadFile):
            raise field_error(
                "file",
                "send the signed copy as the multipart field 'file'",
                zh="请在 multipart 字段 file 中上传已签署的协议",
            )
        content = await upload.read()
        agreement = await services.sign(
            db_session, agreement_id=agreement_id, signed_pdf=content, storage=storage, actor=actor
        )
        await settle()
        return AgreementPublic.model_validate(agreement)

    @post("/{agreement_id:uuid}/activate", status_code=200, summary="Mark a signed agreement active")
    async def activate(
        self, db_session: DbSession, settle: Settle, actor: CurrentActor, agreement_id: FromPath[uuid.UUID]
    ) -> AgreementPublic:
        agreement = await services.activate(db_session, agreement_id=agreement_id, actor=actor)
        await settle()
        return AgreementPublic.model_validate(agreement)

    @post("/{agreement_id:uuid}/terminate", status_code=200, summary="Terminate; the deletion deadline runs from then")
    async def terminate(
        self,
        db_session: DbSession,
        settle: Settle,
        actor: CurrentActor,
        agreement_id: FromPath[uuid.UUID],
        data: JSONBody[Termination],
    ) -> AgreementPublic:
        agreement = await services.terminate(db_session, agreement_id=agreement_id, data=data, actor=actor)
        await settle()
        return AgreementPublic.model_validate(agreement)

    @post("/{agreement_id:uuid}/expire", status_code=200, summary="Mark an active agreement expired")
    async def expire(
        self,
        db_session: DbSession,
        settle: Settle,
        actor: CurrentActor,
        agreement_id: FromPath[uuid.UUID],
        data: JSONBody[Expiry],
    ) -> AgreementPublic:
        agreement = await services.expire(db_session, agreement_id=agreement_id, data=data, actor=actor)
        await settle()
        return AgreementPublic.model_validate(agreement)

    @post("/{agreement_id:uuid}/documents", summary="Render the agreement as DOCX or PDF and store it")
    async def render_document(
        self,
        storage: Storage,
        db_session: DbSession,
        settle: Settle,
        actor: CurrentActor,
        agreement_id: FromPath[uuid.UUID],
        data: JSONBody[RenderRequest],
    ) -> DocumentPublic:
        document = await services.render_document(
            db_session, agreement_id=agreement_id, request=data, storage=storage, actor=actor
        )
        await settle()
        return await _document_public(db_session, document)

    @get("/{agreement_id:uuid}/documents", summary="Rendered and signed files of an agreement")
    async def list_documents(
        self, db_session: DbSession, agreement_id: FromPath[uuid.UUID], limit: Limit = 50, offset: Offset = 0
    ) -> Page[DocumentPublic]:
        agreement = await services.get(db_session, agreement_id=agreement_id)
        return await _documents(db_session, agreement, limit, offset)

    @get("/{agreement_id:uuid}/documents/{document_id:uuid}/content", summary="Download a file")
    async def download(
        self,
        storage: Storage,
        db_session: DbSession,
        settle: Settle,
        actor: CurrentActor,
        agreement_id: FromPath[uuid.UUID],
        document_id: FromPath[uuid.UUID],
    ) -> Response[bytes]:
        return await _download(db_session, settle, storage, actor, agreement_id, document_id)


class VendorAgreementController(Controller):
    path = "/agreements"
    tags = ("vendor API",)

    @get(
        "/", summary="Your agreements with us (issued and later; drafts stay internal)", operation_id="list_agreements"
    )
    async def list_agreements(
        self, db_session: DbSession, actor: CurrentActor, limit: Limit = 50, offset: Offset = 0
    ) -> Page[VendorAgreement]:
        where = services.AgreementFilter(vendor_id=actor.vendor, issued_only=True)
        rows, total = await services.get_all(db_session, where=where, sort="-created_at", limit=limit, offset=offset)
        return Page(items=[VendorAgreement.model_validate(r) for r in rows], total=total, limit=limit, offset=offset)

    @get("/{agreement_id:uuid}", summary="One of your agreements", operation_id="get_agreement")
    async def get_agreement(
        self, db_session: DbSession, actor: CurrentActor, agreement_id: FromPath[uuid.UUID]
    ) -> VendorAgreement:
        agreement = await services.get_for_vendor(db_session, agreement_id=agreement_id, vendor_id=actor.vendor)
        return VendorAgreement.model_validate(agreement)

    @get(
        "/{agreement_id:uuid}/documents",
        summary="The issued and signed files of one of your agreements",
        operation_id="list_documents",
    )
    async def list_documents(
        self,
        db_session: DbSession,
        actor: CurrentActor,
        agreement_id: FromPath[uuid.UUID],
        limit: Limit = 50,
        offset: Offset = 0,
    ) -> Page[DocumentPublic]:
        agreement = await services.get_for_vendor(db_session, agreement_id=agreement_id, vendor_id=actor.vendor)
        return await _documents(db_session, agreement, limit, offset, for_vendor=True)

    @get(
        "/{agreement_id:uuid}/documents/{document_id:uuid}/content",
        summary="Download one of its files",
        operation_id="download_document",
    )
    async def download(
        self,
        storage: Storage,
        db_session: DbSession,
        settle: Settle,
        actor: CurrentActor,
        agreement_id: FromPath[uuid.UUID],
        document_id: FromPath[uuid.UUID],
    ) -> Response[bytes]:
        return await _download(db_session, settle, storage, actor, agreement_id, document_id)


class VendorEngagementController(Controller):
    """A vendor's engagements (here, not in engagements, because whether one has ended is read
    from its agreements: from the day the agreement ended the vendor sees it terminated)."""

    path = "/engagements"
    tags = ("vendor API",)

    @get("/", summary="Your engagements: what you process for us, and how", operation_id="list_engagements")
    async def list_engagements(
        self, db_session: DbSession, actor: CurrentActor, limit: Limit = 50, offset: Offset = 0
    ) -> Page[VendorEngagement]:
        where = engagements.EngagementFilter(vendor_id=actor.vendor)
        rows, total = await engagements.get_all(db_session, where=where, sort="name", limit=limit, offset=offset)
        items = await _engagements_for_vendor(db_session, rows)
        return Page(items=items, total=total, limit=limit, offset=offset)

    @get("/{engagement_id:uuid}", summary="One of your engagements", operation_id="get_engagement")
    async def get_engagement(
        self, db_session: DbSession, actor: CurrentActor, engagement_id: FromPath[uuid.UUID]
    ) -> VendorEngagement:
        engagement = await get_owned(db_session, Engagement, engagement_id, actor.vendor, "engagement")
        return (await _engagements_for_vendor(db_session, [engagement]))[0]


async def _engagements_for_vendor(db_session: DbSession, rows: list[Engagement]) -> list[VendorEngagement]:
    ids = [row.id for row in rows]
    subs = await engagements.sub_processors_of(db_session, ids)
    ended = await services.ended_on_of(db_session, ids)
    views = []
    for row in rows:
        view = VendorEngagement.model_validate(row)
        view.sub_processors = [VendorSubProcessor.model_validate(sub) for sub in subs[row.id]]
        if row.id in ended:
            view.ended_on = ended[row.id]
            if view.status in (EngagementStatus.active, EngagementStatus.suspended):
                view.status = EngagementStatus.terminated
        views.append(view)
    return views
