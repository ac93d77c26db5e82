"""导入 Import: the template to fill in, an upload that previews each row (create, update,
unchanged, or the error with its column), then the apply, on the same service as /api/imports.

Between preview and apply the file waits in the evidence store under its SHA-256, so the apply
writes exactly the bytes that were previewed and the browser need not send them twice. No row
refers to it, so the worker's daily orphan sweep removes it later (`dpa evidence verify` lists
it as unreferenced until then)."""

from __future__ import annotations

from pathlib import PurePath
from typing import Any

import anyio
from litestar import Controller, Request, Response, get, post
from litestar.datastructures import UploadFile
from litestar.exceptions import ValidationException
from litestar.response import Template

from app.core.actor import Actor
from app.core.deps import CurrentActor, DbSession, Settle, Storage
from app.core.errors import DomainError, field_error
from app.core.storage import FileStore, StorageError, check_name
from app.imports import services, workbook
from app.imports.controllers import REQUEST_LIMIT, xlsx_response
from app.imports.schemas import ImportReport
from app.pages.web import Errors, Message, errors_of, page


def _may_import(actor: Actor) -> None:
    actor.require_writer(creating=True)  # as the API: each row's own service decides about its record


def _file_name(value: object) -> str:
    """Only the name's last part, for telling XLSX from CSV and for showing it back."""
    return PurePath(str(value or "upload.csv").replace("\\", "/")).name[:200] or "upload.csv"


class ImportPages(Controller):
    path = "/imports"
    include_in_schema = False

    @get("/")
    async def imports(self, request: Request[Any, Any, Any], actor: CurrentActor) -> Template:
        _may_import(actor)
        return _page(request)

    @get("/template.xlsx")
    async def template(self, actor: CurrentActor) -> Response[bytes]:
        _may_import(actor)
        return xlsx_response(services.template(), "dpa-import-template.xlsx")

    @post("/preview", request_max_body_size=REQUEST_LIMIT)
    async def preview(
        self, request: Request[Any, Any, Any], db_session: DbSession, storage: Storage, actor: CurrentActor
    ) -> Template:
        _may_import(actor)
        form = await request.form()
        upload = form.get("file")
        try:
            if not isinstance(upload, UploadFile) or not upload.filename:
                raise field_error("file", "choose a file to upload", zh="请选择要上传的文件")
            content = await upload.read()
            name = _file_name(upload.filename)
            tables = workbook.read(content, name)  # refuses what is not a workbook or a CSV, by content
            stored = await anyio.to_thread.run_sync(storage.put, content)
            report = await services.run(db_session, tables=tables, actor=actor, apply=False)
        except (DomainError, ValidationException) as error:  # the file's or a row's refusal, at the file field
            return _page(request, errors=errors_of(error), status_code=error.status_code)
        return _page(request, report=report, sha256=stored.sha256, name=name)

    @post("/apply")
    async def apply(
        self,
        request: Request[Any, Any, Any],
        db_session: DbSession,
        settle: Settle,
        storage: Storage,
        actor: CurrentActor,
    ) -> Template:
        _may_import(actor)
        form = await request.form()
        name = _file_name(form.get("name"))
        try:
            content = await _staged(storage, str(form.get("sha256", "")))
            tables = workbook.read(content, name)
            report = await services.run(db_session, tables=tables, actor=actor, apply=True)
        except (DomainError, ValidationException) as error:  # the file's or a row's refusal, at the file field
            return _page(request, errors=errors_of(error), status_code=error.status_code)
        if not report.applied:  # rolled back: say which rows, as the preview did
            refusal = services.refusal(report)
            return _page(
                request,
                report=report,
                name=name,
                errors=Errors(Message(refusal.detail, refusal.detail_zh)),
                status_code=409,
            )
        await settle()
        return _page(request, report=report, name=name)


async def _staged(storage: FileStore, sha256: str) -> bytes:
    try:
        return await anyio.to_thread.run_sync(storage.get, check_name(sha256))
    except StorageError:
        raise field_error(
            "file", "the upload has expired: upload the file again", zh="上传的文件已过期，请重新上传"
        ) from None


def _page(
    request: Request[Any, Any, Any],
    *,
    report: ImportReport | None = None,
    sha256: str = "",
    name: str = "",
    errors: Errors | None = None,
    status_code: int = 200,
) -> Template:
    return page(
        request,
        "imports.html",
        status_code=status_code,
        nav="imports",
        report=report,
        sha256=sha256,
        file_name=name,
        errors=errors or Errors(),
    )
