from __future__ import annotations

from litestar import Controller, Response, get, post
from litestar.datastructures import UploadFile
from litestar.params import FromQuery, MultipartBody

from app.core.deps import CurrentActor, DbSession, Settle
from app.core.downloads import content_disposition
from app.core.errors import field_error
from app.imports import services, workbook
from app.imports.schemas import ImportReport

# The file's own limit is workbook.MAX_BYTES (413 with the reason); the body may hold a little more.
REQUEST_LIMIT = workbook.MAX_BYTES + 1024 * 1024


def xlsx_response(data: bytes, name: str) -> Response[bytes]:
    return Response(
        data,
        media_type=workbook.XLSX_TYPE,
        headers={"Content-Disposition": content_disposition(name), "X-Content-Type-Options": "nosniff"},
    )


class ImportController(Controller):
    path = "/api/imports"
    tags = ("imports",)

    @get("/template.xlsx", summary="The import template: vendors, engagements, sub-processors (zh/en headers, lists)")
    async def template(self) -> Response[bytes]:
        return xlsx_response(services.template(), "dpa-import-template.xlsx")

    @get("/export.xlsx", summary="The registry in the import template's format (import it elsewhere as it is)")
    async def export(self, db_session: DbSession) -> Response[bytes]:
        return xlsx_response(await services.export(db_session), "dpa-registry.xlsx")

    @post(
        "/",
        status_code=200,
        summary="Import an XLSX (the template) or a CSV (one sheet's columns; UTF-8 or GB18030), multipart "
        "field 'file'. apply=false (the default) previews each row: create, update, unchanged or the error; "
        "apply=true writes every row in one transaction, or, if any row has an error, nothing (409).",
        request_max_body_size=REQUEST_LIMIT,
    )
    async def upload(
        self,
        db_session: DbSession,
        settle: Settle,
        actor: CurrentActor,
        data: MultipartBody[dict[str, UploadFile]],
        apply: FromQuery[bool] = False,
    ) -> ImportReport:
        actor.require_writer(creating=True)  # the rows' own services decide about each record
        upload = data.get("file")
        if not isinstance(upload, UploadFile):
            raise field_error(
                "file",
                "send the workbook or CSV as the multipart field 'file'",
                zh="请在 multipart 字段 file 中上传工作簿或 CSV 文件",
            )
        content = await upload.read()
        tables = workbook.read(content, upload.filename or "upload.csv")
        report = await services.run(db_session, tables=tables, actor=actor, apply=apply)
        if apply and not report.applied:
            raise services.refusal(report)
        if apply:
            await settle()
        return report
