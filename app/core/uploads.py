"""Checks every uploaded file passes before it is stored (OWASP ASVS chapter 5).

The declared type (the part's Content-Type, or the name's extension when the client
sends none) must be one we accept and must match what the bytes are (magic numbers);
sizes are capped per file; a .docx, being a ZIP, is opened and fully decompressed
under a cap, so a small archive that expands to gigabytes is refused; the client's
file name is kept for display only, cleaned, and never used as a storage path.
"""

from __future__ import annotations

import hashlib
import io
import re
import unicodedata
import zipfile
from dataclasses import dataclass

from pypdf import PdfReader
from pypdf.errors import PdfReadError, PdfStreamError

from app.core.errors import PayloadTooLargeError, UnsupportedMediaTypeError, field_error

PDF = "application/pdf"
PNG = "image/png"
JPEG = "image/jpeg"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
EXTENSIONS = {PDF: "pdf", PNG: "png", JPEG: "jpg", DOCX: "docx"}
BY_EXTENSION = {"pdf": PDF, "png": PNG, "jpg": JPEG, "jpeg": JPEG, "docx": DOCX}
GENERIC_TYPES = frozenset({"", "application/octet-stream"})
ACCEPTED = "PDF, PNG, JPEG or DOCX"
ACCEPTED_ZH = "PDF、PNG、JPEG 或 DOCX"

# A real .docx holds a few dozen parts and rarely expands past a few megabytes of XML.
DOCX_MAX_ENTRIES = 1_000
DOCX_MAX_EXPANDED = 100 * 1024 * 1024
DOCX_REQUIRED_PARTS = ("[Content_Types].xml", "word/document.xml")
MAX_NAME_LENGTH = 120


@dataclass(frozen=True)
class CheckedFile:
    filename: str  # cleaned, for display and Content-Disposition only
    content_type: str
    data: bytes
    sha256: str  # of data, computed once here (its storage name, the idempotency fingerprint)


def sniff(data: bytes) -> str | None:
    """The accepted type these bytes really are, by their magic numbers."""
    if data.startswith(b"%PDF-"):
        return PDF
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return PNG
    if data.startswith(b"\xff\xd8\xff"):
        return JPEG
    if data.startswith(b"PK\x03\x04"):
        return DOCX  # confirmed, or refused, by check_docx
    return None


def declared_type(content_type: str | None, filename: str) -> str | None:
    declared = (content_type or "").split(";")[0].strip().lower()
    if declared in GENERIC_TYPES:
        extension = filename.rsplit(".", 1)[-1].lower() if "." in filename else ""
        return BY_EXTENSION.get(extension)
    return declared


def check_docx(field: str, data: bytes) -> None:
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile:
        raise UnsupportedMediaTypeError(
            field, "not a valid DOCX (the ZIP archive is broken)", zh="不是有效的 DOCX 文件（ZIP 压缩包已损坏）"
        ) from None
    with archive:
        entries = archive.infolist()
        if len(entries) > DOCX_MAX_ENTRIES:
            raise PayloadTooLargeError(
                field,
                f"the DOCX holds {len(entries)} parts (at most {DOCX_MAX_ENTRIES})",
                zh=f"该 DOCX 含 {len(entries)} 个部件（最多 {DOCX_MAX_ENTRIES} 个）",
            )
        names = {entry.filename for entry in entries}
        missing = [part for part in DOCX_REQUIRED_PARTS if part not in names]
        if missing:
            raise UnsupportedMediaTypeError(
                field,
                f"not a DOCX: the archive has no {', '.join(missing)}",
                zh=f"不是 DOCX 文件：压缩包中没有 {'、'.join(missing)}",
            )
        # Declared sizes can lie, so count what really comes out, and stop at the cap.
        expanded = 0
        try:
            for entry in entries:
                with archive.open(entry) as part:
                    while chunk := part.read(1024 * 1024):
                        expanded += len(chunk)
                        if expanded > DOCX_MAX_EXPANDED:
                            raise PayloadTooLargeError(
                                field,
                                f"the DOCX expands to more than {DOCX_MAX_EXPANDED // (1024 * 1024)} MB",
                                zh=f"该 DOCX 解压后超过 {DOCX_MAX_EXPANDED // (1024 * 1024)} MB",
                            )
        except (zipfile.BadZipFile, zipfile.LargeZipFile, NotImplementedError, RuntimeError, EOFError) as error:
            raise UnsupportedMediaTypeError(field, f"not a valid DOCX ({error})", zh="不是有效的 DOCX 文件") from None


def check_pdf(field: str, data: bytes) -> None:
    """A PDF by its structure, not only its first bytes: a cross-reference table a reader can
    follow, and at least one page. `%PDF-` followed by anything else is refused."""
    try:
        pages = len(PdfReader(io.BytesIO(data), strict=False).pages)
    except (PdfReadError, PdfStreamError, ValueError, KeyError, TypeError, RecursionError) as error:
        raise UnsupportedMediaTypeError(field, f"not a readable PDF ({error})", zh="无法读取该 PDF 文件") from None
    if pages == 0:
        raise UnsupportedMediaTypeError(field, "the PDF has no page", zh="该 PDF 没有页面")


def clean_filename(raw: str, extension: str) -> str:
    """The last path segment, letters, digits and a few marks only, with the extension of
    the type the content really is. `../../x.pdf` becomes `x.pdf`."""
    name = unicodedata.normalize("NFC", raw.replace("\\", "/").rsplit("/", 1)[-1])
    stem = name.rsplit(".", 1)[0] if "." in name else name
    stem = "".join(ch if unicodedata.category(ch)[0] in "LN" or ch in " -_()" else "_" for ch in stem)
    stem = re.sub(r"[_ ]{2,}", "_", stem).strip(" ._-")[:MAX_NAME_LENGTH]
    return f"{stem or 'evidence'}.{extension}"


def check_file(field: str, filename: str, content_type: str | None, data: bytes, *, max_bytes: int) -> CheckedFile:
    if len(data) > max_bytes:
        raise PayloadTooLargeError(
            field,
            f"the file is larger than {max_bytes // (1024 * 1024)} MB",
            zh=f"文件超过 {max_bytes // (1024 * 1024)} MB",
        )
    if not data:
        raise field_error(field, "the file is empty", zh="文件是空的")
    declared = declared_type(content_type, filename)
    if declared not in EXTENSIONS:
        raise UnsupportedMediaTypeError(
            field,
            f"type {content_type or 'unknown'} is not accepted; send {ACCEPTED}",
            zh=f"不接受类型 {content_type or '未知'}；请上传 {ACCEPTED_ZH} 文件",
        )
    actual = sniff(data)
    if actual != declared:
        what = "none of " + ACCEPTED if actual is None else actual
        raise UnsupportedMediaTypeError(
            field,
            f"declared as {declared} but the content is {what}",
            zh=f"文件声明为 {declared}，但内容{'不是 ' + ACCEPTED_ZH if actual is None else '是 ' + actual}",
        )
    if actual == DOCX:
        check_docx(field, data)
    elif actual == PDF:
        check_pdf(field, data)
    return CheckedFile(
        filename=clean_filename(filename, EXTENSIONS[actual]),
        content_type=actual,
        data=data,
        sha256=hashlib.sha256(data).hexdigest(),
    )
