from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from functools import partial
from typing import Annotated, Any

import anyio.to_thread
from litestar import Controller, Request, Response, get, post
from litestar.datastructures import ResponseHeader, UploadFile
from litestar.params import FromPath, FromQuery, HeaderParameter, JSONBody, MultipartBody
from pydantic import TypeAdapter, ValidationError

from app.attestations import services
from app.attestations.schemas import (
    AttestationKind,
    AttestationPublic,
    AttestationStatus,
    Rejection,
    Review,
    details_adapter,
)
from app.core import conditional, idempotency, uploads, versioning
from app.core.deps import CurrentActor, DbSession, Settle, Storage
from app.core.downloads import file_response
from app.core.errors import field_error, validation_exception
from app.core.schemas import Limit, Offset, Page
from app.core.settings import Settings


@dataclass
class AttestationUpload:
    """multipart/form-data: `metadata` is one JSON object (see the attestation kinds), `files` the evidence."""

    metadata: str
    files: list[UploadFile] = field(default_factory=list)


# The upload's `metadata` part is one JSON object, one of the attestation kinds (app.main documents it).
UPLOAD_JSON_PARTS: dict[tuple[str, str], dict[str, TypeAdapter[Any]]] = {
    ("post", f"{versioning.V1}/attestations"): {"metadata": details_adapter}
}
REPLAYED = ResponseHeader(
    name="Idempotent-Replayed",
    description="`true` when this is the stored answer to an earlier request with the same Idempotency-Key",
    documentation_only=True,
    required=False,
)


async def _page(db_session: DbSession, rows: list[Any], total: int, limit: int, offset: int) -> Page[AttestationPublic]:
    files = await services.files_of(db_session, [row.id for row in rows])
    clocks = await services.clocks_of(db_session, rows)
    checks = await services.checks_of(db_session, rows)
    items = [services.public(row, files[row.id], clocks.get(row.id), checks.get(row.id)) for row in rows]
    return Page(items=items, total=total, limit=limit, offset=offset)


async def submit_upload(
    request: Request[Any, Any, Any],
    db_session: DbSession,
    settle: Settle,
    actor: CurrentActor,
    storage: Storage,
    *,
    metadata: str,
    sent: list[UploadFile],
    key: str | None,
) -> idempotency.Outcome:
    """An attestation as a vendor sends it (the API's multipart upload, or the portal's form):
    the metadata validated as its kind, each file checked by content, the same key and request
    answered once (a retry or a double submit replays the first answer). Settles."""
    settings: Settings = request.app.state.settings
    try:
        details = details_adapter.validate_python(json.loads(metadata))
    except json.JSONDecodeError as error:
        raise field_error("metadata", f"not valid JSON ({error.msg})", zh=f"不是有效的 JSON（{error.msg}）") from None
    except ValidationError as error:
        raise validation_exception(error, prefix="metadata") from None
    files = []
    for index, upload in enumerate(sent):
        check = partial(
            uploads.check_file,
            f"files.{index}",
            upload.filename or "",
            upload.content_type,
            await upload.read(),
            max_bytes=settings.upload_max_file_bytes,
        )
        files.append(await anyio.to_thread.run_sync(check))  # a DOCX is decompressed to be checked
    fingerprint = {
        "path": versioning.canonical(request.url.path),  # one key, whether sent to v1 or its alias
        "metadata": details.model_dump(mode="json"),
        "files": [[f.filename, f.content_type, f.sha256] for f in files],
    }

    async def work() -> idempotency.Outcome:
        attestation = await services.submit(db_session, details=details, files=files, storage=storage, actor=actor)
        await db_session.flush()
        body = (await services.present(db_session, attestation)).model_dump(mode="json")
        return idempotency.Outcome(201, body)

    return await idempotency.run(
        db_session,
        # A sandbox key's keys are its own: a test never answers for a real upload, nor the reverse.
        scope=f"vendor:{actor.vendor}" + (":test" if actor.test else ""),
        key=key,
        request=fingerprint,
        work=work,
        settle=settle,
    )


class VendorAttestationController(Controller):
    """A vendor's own attestations (under the /api/vendor router, with its upload limit)."""

    path = "/attestations"
    tags = ("vendor API",)

    @post(
        "/",
        status_code=201,
        operation_id="submit_attestation",
        response_headers=[REPLAYED],
        summary="Submit an attestation with its evidence files (multipart: metadata + files)",
        description=(
            "Send an Idempotency-Key header to make retries safe: the same key with the same request "
            "returns the first response; with a different request, 422. Files: PDF, PNG, JPEG or DOCX."
        ),
    )
    async def submit(
        self,
        request: Request[Any, Any, Any],
        db_session: DbSession,
        settle: Settle,
        actor: CurrentActor,
        storage: Storage,
        data: MultipartBody[AttestationUpload],
        idempotency_key: Annotated[
            str | None, HeaderParameter(name=idempotency.HEADER, description="Makes a retry safe; keep it 24 hours.")
        ] = None,
    ) -> Response[AttestationPublic]:
        key = idempotency.check_key(idempotency_key)
        outcome = await submit_upload(
            request, db_session, settle, actor, storage, metadata=data.metadata, sent=data.files, key=key
        )
        headers = {"Idempotent-Replayed": "true"} if outcome.replayed else None
        body = AttestationPublic.model_validate(outcome.body)
        return Response(body, status_code=outcome.status_code, headers=headers)

    @post(
        "/{attestation_id:uuid}/withdraw",
        status_code=200,
        operation_id="withdraw_attestation",
        summary="Withdraw one of your attestations before its review; its evidence files are deleted",
    )
    async def withdraw(
        self,
        db_session: DbSession,
        settle: Settle,
        actor: CurrentActor,
        storage: Storage,
        attestation_id: FromPath[uuid.UUID],
    ) -> AttestationPublic:
        attestation, hashes = await services.withdraw(db_session, attestation_id=attestation_id, actor=actor)
        await settle()
        await services.delete_unreferenced(db_session, storage, hashes)
        return await services.present(db_session, attestation)

    @get(
        "/",
        summary="Your attestations and their review status",
        operation_id="list_attestations",
        response_headers=[conditional.ETAG],
        responses=conditional.NOT_MODIFIED,
    )
    async def list_attestations(
        self,
        db_session: DbSession,
        actor: CurrentActor,
        engagement_id: FromQuery[uuid.UUID | None] = None,
        kind: FromQuery[AttestationKind | None] = None,
        status: FromQuery[AttestationStatus | None] = None,
        updated_since: conditional.UpdatedSince = None,
        if_none_match: conditional.IfNoneMatch = None,
        limit: Limit = 50,
        offset: Offset = 0,
    ) -> Response[Page[AttestationPublic]]:
        where = services.AttestationFilter(
            vendor_id=actor.vendor,
            engagement_id=engagement_id,
            kind=kind,
            status=status,
            updated_since=conditional.since(updated_since),
        )
        rows, total = await services.get_all(db_session, where=where, limit=limit, offset=offset)
        return conditional.respond(await _page(db_session, rows, total, limit, offset), if_none_match)

    @get("/{attestation_id:uuid}", summary="One of your attestations", operation_id="get_attestation")
    async def get_attestation(
        self, db_session: DbSession, actor: CurrentActor, attestation_id: FromPath[uuid.UUID]
    ) -> AttestationPublic:
        attestation = await services.get(db_session, attestation_id=attestation_id, vendor_id=actor.vendor)
        return await services.present(db_session, attestation)

    @get(
        "/{attestation_id:uuid}/files/{file_id:uuid}/content",
        summary="Download one of your evidence files",
        operation_id="download_evidence_file",
    )
    async def download(
        self,
        db_session: DbSession,
        settle: Settle,
        actor: CurrentActor,
        storage: Storage,
        attestation_id: FromPath[uuid.UUID],
        file_id: FromPath[uuid.UUID],
    ) -> Response[bytes]:
        return await _download(db_session, settle, actor, storage, attestation_id, file_id)


async def _download(
    db_session: DbSession,
    settle: Settle,
    actor: CurrentActor,
    storage: Storage,
    attestation_id: uuid.UUID,
    file_id: uuid.UUID,
) -> Response[bytes]:
    file, content = await services.get_file(
        db_session, attestation_id=attestation_id, file_id=file_id, storage=storage, actor=actor
    )
    await settle()  # a vendor's download is audited
    return file_response(content, content_type=file.content_type, filename=file.filename, sha256=file.sha256)


class AttestationController(Controller):
    path = "/api/attestations"
    tags = ("attestations",)

    @get("/", summary="Attestations vendors sent, to review")
    async def list_attestations(
        self,
        db_session: DbSession,
        vendor_id: FromQuery[uuid.UUID | None] = None,
        engagement_id: FromQuery[uuid.UUID | None] = None,
        kind: FromQuery[AttestationKind | None] = None,
        status: FromQuery[AttestationStatus | None] = None,
        limit: Limit = 50,
        offset: Offset = 0,
    ) -> Page[AttestationPublic]:
        where = services.AttestationFilter(vendor_id=vendor_id, engagement_id=engagement_id, kind=kind, status=status)
        rows, total = await services.get_all(db_session, where=where, limit=limit, offset=offset)
        return await _page(db_session, rows, total, limit, offset)

    @get("/{attestation_id:uuid}", summary="One attestation")
    async def get_attestation(self, db_session: DbSession, attestation_id: FromPath[uuid.UUID]) -> AttestationPublic:
        return await services.present(db_session, await services.get(db_session, attestation_id=attestation_id))

    @get("/{attestation_id:uuid}/files/{file_id:uuid}/content", summary="Download an evidence file")
    async def download(
        self,
        db_session: DbSession,
        settle: Settle,
        actor: CurrentActor,
        storage: Storage,
        attestation_id: FromPath[uuid.UUID],
        file_id: FromPath[uuid.UUID],
    ) -> Response[bytes]:
        return await _download(db_session, settle, actor, storage, attestation_id, file_id)

    @post("/{attestation_id:uuid}/accept", status_code=200, summary="Accept (owner or DPO); closes its obligation")
    async def accept(
        self,
        db_session: DbSession,
        settle: Settle,
        actor: CurrentActor,
        attestation_id: FromPath[uuid.UUID],
        data: JSONBody[Review],
    ) -> AttestationPublic:
        attestation = await services.review(
            db_session, attestation_id=attestation_id, accept=True, reason=data.reason, actor=actor
        )
        await settle()
        return await services.present(db_session, attestation)

    @post("/{attestation_id:uuid}/reject", status_code=200, summary="Reject with a reason the vendor will see")
    async def reject(
        self,
        db_session: DbSession,
        settle: Settle,
        actor: CurrentActor,
        attestation_id: FromPath[uuid.UUID],
        data: JSONBody[Rejection],
    ) -> AttestationPublic:
        attestation = await services.review(
            db_session, attestation_id=attestation_id, accept=False, reason=data.reason, actor=actor
        )
        await settle()
        return await services.present(db_session, attestation)
