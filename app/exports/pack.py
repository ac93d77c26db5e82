"""The evidence pack for an inspection: one ZIP, for one vendor or for everything.

It holds the processing register, the agreements (generated DOCX and PDF, and the signed
copies), each attestation with its evidence files, the due-diligence questionnaires with their
answers and evidence files, the findings with their history, the
obligations, and the audit trail of all those objects; `manifest.json` gives the SHA-256
and size of every file, and `index.html` lists them for a person. The ZIP is written as a
stream, one file at a time, so a pack of gigabytes never sits in memory.
"""

from __future__ import annotations

import hashlib
import html
import io
import json
import uuid
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import anyio.to_process
from pydantic_core import to_jsonable_python
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import SQLModel, col

from app.agreements.models import Agreement, AgreementDocument
from app.attestations.models import Attestation, EvidenceFile
from app.audit.models import AuditEntry
from app.core import clock
from app.core.errors import NotFoundError
from app.core.storage import FileStore, StorageError
from app.core.types import utcnow
from app.engagements.models import Engagement, SubProcessor
from app.exports import pages, register
from app.findings.models import Finding
from app.obligations.models import Obligation
from app.questionnaires.models import Questionnaire, QuestionnaireFile
from app.vendors.models import Vendor

COMPRESSED = (".json", ".html", ".csv")


@dataclass(frozen=True)
class Entry:
    path: str
    load: Callable[[], bytes]  # called when the file is written, so only one is in memory


def _json(value: Any) -> bytes:
    def plain(item: Any) -> Any:
        # Rows hold enum fields as the plain strings stored; that is what the pack should show.
        return item.model_dump(mode="json", warnings=False) if isinstance(item, SQLModel) else item

    data = [plain(item) for item in value] if isinstance(value, list) else plain(value)
    return json.dumps(to_jsonable_python(data), ensure_ascii=False, indent=2).encode()


def _data(data: bytes) -> Callable[[], bytes]:
    return lambda: data


async def plan(session: AsyncSession, storage: FileStore, vendor_id: uuid.UUID | None) -> tuple[str, list[Entry]]:
    """What goes into the pack; metadata is read now, stored files when they are written."""
    if vendor_id is not None:
        vendor = await session.get(Vendor, vendor_id)
        if vendor is None:
            raise NotFoundError("vendor not found", zh="找不到该受托方")
        vendors = [vendor]
        title = vendor.legal_name_zh or vendor.legal_name_en
    else:
        vendors = list(await session.scalars(select(Vendor).order_by(col(Vendor.legal_name_zh))))
        title = "全部受托方 all vendors"
    vendor_ids = [v.id for v in vendors]

    async def of(model: Any, column: Any, ids: list[Any]) -> list[Any]:
        return list(await session.scalars(select(model).where(column.in_(ids)))) if ids else []

    engagements = await of(Engagement, col(Engagement.vendor_id), vendor_ids)
    engagement_ids = [e.id for e in engagements]
    subs = await of(SubProcessor, col(SubProcessor.engagement_id), engagement_ids)
    agreements = await of(Agreement, col(Agreement.vendor_id), vendor_ids)
    documents = await of(AgreementDocument, col(AgreementDocument.agreement_id), [a.id for a in agreements])
    # A sandbox key's rehearsals, and whatever it did, are no part of the record.
    attestations = [a for a in await of(Attestation, col(Attestation.vendor_id), vendor_ids) if not a.test]
    files = await of(EvidenceFile, col(EvidenceFile.attestation_id), [a.id for a in attestations])
    obligations = await of(Obligation, col(Obligation.vendor_id), vendor_ids)
    asked = await of(Questionnaire, col(Questionnaire.vendor_id), vendor_ids)
    asked.sort(key=lambda q: q.sent_at)
    answered = await of(QuestionnaireFile, col(QuestionnaireFile.questionnaire_id), [q.id for q in asked])
    findings = await of(Finding, col(Finding.vendor_id), vendor_ids)
    if vendor_id is None:  # the company's own findings (R17) belong to the full pack
        findings += list(await session.scalars(select(Finding).where(col(Finding.vendor_id).is_(None))))
    objects = [
        str(item.id)
        for group in (vendors, engagements, subs, agreements, documents, attestations, files, obligations, asked)
        for item in group
    ]
    trail = [
        entry for entry in await of(AuditEntry, col(AuditEntry.object_id), objects) if not entry.changes.get("test")
    ]
    trail.sort(key=lambda entry: entry.seq or 0)

    findings.sort(key=lambda f: (f.raised_at, f.rule_id))
    obligations.sort(key=lambda o: (o.due_on, o.kind))
    names = {v.id: v.legal_name_zh or v.legal_name_en for v in vendors}
    engagement_names = {e.id: e.name for e in engagements}
    # What the audit trail's object ids stand for, where the pack holds the object.
    known = {
        **{str(key): value for key, value in names.items()},
        **{str(key): value for key, value in engagement_names.items()},
        **{str(sub.id): sub.name for sub in subs},
        **{str(agreement.id): agreement.number for agreement in agreements},
        **{str(file.id): file.filename for file in files},
    }
    generated = utcnow()
    tables = [
        pages.findings(findings, names, engagement_names),
        pages.obligations(obligations, trail, names, engagement_names),
        pages.audit_trail(trail, known),
        pages.questionnaires(asked, answered, names, engagement_names),
    ]
    # Laid out now, in a worker process (WeasyPrint holds the GIL for as long as it lays out).
    printable = await anyio.to_process.run_sync(
        pages.pdf, title, tables, clock.local_text(generated), cancellable=False
    )
    entries = [
        Entry("register.csv", _data(register.to_csv(await register.rows(session, vendor_id)))),
        Entry(
            "register-en.csv",
            _data(register.to_csv(await register.rows(session, vendor_id, register.RegisterLanguage.en))),
        ),
        Entry("vendors.json", _data(_json(vendors))),
        Entry("engagements.json", _data(_json(engagements))),
        Entry("sub_processors.json", _data(_json(subs))),
        Entry("findings.json", _data(_json(findings))),
        Entry("findings.html", _data(pages.html(title, tables[0], generated))),
        Entry("obligations.json", _data(_json(obligations))),
        Entry("obligations.html", _data(pages.html(title, tables[1], generated))),
        Entry("questionnaires.json", _data(_json(asked))),
        Entry("questionnaires.html", _data(pages.html(title, tables[3], generated))),
        Entry("audit_trail.json", _data(_json(trail))),
        Entry("audit_trail.html", _data(pages.html(title, tables[2], generated))),
        Entry("evidence-pack.pdf", _data(printable)),
    ]
    for agreement in sorted(agreements, key=lambda a: a.number):
        entries.append(Entry(f"agreements/{agreement.number}/agreement.json", _data(_json(agreement))))
        for document in documents:
            if document.agreement_id == agreement.id:
                entries.append(
                    Entry(
                        f"agreements/{agreement.number}/{document.kind}-{document.id.hex[:8]}-{document.filename}",
                        _stored(storage, document.sha256),
                    )
                )
    for attestation in sorted(attestations, key=lambda a: a.submitted_at):
        folder = f"attestations/{attestation.submitted_at:%Y%m%d}-{attestation.kind}-{attestation.id.hex[:8]}"
        entries.append(Entry(f"{folder}/attestation.json", _data(_json(attestation))))
        for file in files:
            if file.attestation_id == attestation.id:
                entries.append(Entry(f"{folder}/{file.id.hex[:8]}-{file.filename}", _stored(storage, file.sha256)))
    for questionnaire in asked:
        folder = f"questionnaires/{questionnaire.sent_at:%Y%m%d}-{questionnaire.id.hex[:8]}"
        for answer_file in answered:
            if answer_file.questionnaire_id == questionnaire.id:
                path = f"{folder}/{answer_file.question_id}-{answer_file.id.hex[:8]}-{answer_file.filename}"
                entries.append(Entry(path, _stored(storage, answer_file.sha256)))
    return title, entries


def _stored(storage: FileStore, sha256: str) -> Callable[[], bytes]:
    return lambda: storage.get(sha256)  # checked against its hash as it is read


class _Chunks(io.RawIOBase):
    """A write-only, unseekable sink: zipfile then writes data descriptors and never seeks back."""

    def __init__(self) -> None:
        self.buffer = bytearray()
        self.position = 0

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        self.buffer += data
        self.position += len(data)
        return len(data)

    def tell(self) -> int:
        return self.position

    def take(self) -> bytes:
        chunk = bytes(self.buffer)
        self.buffer.clear()
        return chunk


def _index(title: str, generated: datetime, manifest: list[dict[str, Any]], problems: list[dict[str, str]]) -> bytes:
    rows = "\n".join(
        f'<tr><td><a href="{html.escape(item["path"])}">{html.escape(item["path"])}</a></td>'
        f"<td align=right>{item['size']:,}</td><td><code>{item['sha256']}</code></td></tr>"
        for item in manifest
    )
    warning = "".join(f"<li>{html.escape(item['path'])}: {html.escape(item['error'])}</li>" for item in problems)
    if warning:
        warning = f"<h2>无法读取的文件 Files that could not be read</h2><ul>{warning}</ul>"
    page = f"""<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8"><title>证据包 Evidence pack: {html.escape(title)}</title></head>
<body style="font-family: sans-serif">
<h1>个人信息委托处理证据包<br>Entrusted-processing evidence pack</h1>
<p>{html.escape(title)} · 生成于 generated {html.escape(clock.local_text(generated))} · {len(manifest)} 个文件 files</p>
<p>可直接阅读 To read: <a href="findings.html">findings.html</a> 合规发现 findings ·
<a href="obligations.html">obligations.html</a> 义务及其处理记录 obligations and their history ·
<a href="audit_trail.html">audit_trail.html</a> 审计记录 audit trail ·
<a href="evidence-pack.pdf">evidence-pack.pdf</a> 以上三项的可打印版本 the three, for printing ·
register.csv 登记簿（中文） register in Chinese · register-en.csv (English)</p>
<p>manifest.json 列出每个文件的 SHA-256 和大小，可用于核对文件未被改动。<br>
manifest.json gives each file's SHA-256 and size, to check that none was altered.</p>
<table cellpadding=4 border=1 style="border-collapse: collapse">
<tr><th>文件 File</th><th>字节 Bytes</th><th>SHA-256</th></tr>
{rows}
</table>
{warning}
</body></html>
"""
    return page.encode()


def stream(
    title: str, entries: list[Entry], generated: datetime | None = None, unreadable: list[dict[str, str]] | None = None
) -> Iterator[bytes]:
    """The ZIP, chunk by chunk: each file is read, hashed, written and let go. A stored file
    that is missing or no longer matches its hash is left out and named in the manifest
    (and in `unreadable`), rather than cutting the pack short."""
    generated = generated or utcnow()
    stamp = generated.timetuple()[:6]
    sink, manifest = _Chunks(), []
    problems = unreadable if unreadable is not None else []

    def add(archive: zipfile.ZipFile, path: str, data: bytes) -> None:
        info = zipfile.ZipInfo(path, date_time=stamp)
        info.compress_type = zipfile.ZIP_DEFLATED if path.endswith(COMPRESSED) else zipfile.ZIP_STORED
        archive.writestr(info, data)

    with zipfile.ZipFile(sink, "w", allowZip64=True) as archive:
        for entry in entries:
            try:
                data = entry.load()
            except StorageError as error:
                problems.append({"path": entry.path, "error": str(error)})
                continue
            add(archive, entry.path, data)
            manifest.append({"path": entry.path, "sha256": hashlib.sha256(data).hexdigest(), "size": len(data)})
            del data
            yield sink.take()
        index = _index(title, generated, manifest, problems)
        add(archive, "index.html", index)
        manifest.append({"path": "index.html", "sha256": hashlib.sha256(index).hexdigest(), "size": len(index)})
        document = {"title": title, "generated_at": generated.isoformat(), "files": manifest, "unreadable": problems}
        add(archive, "manifest.json", json.dumps(document, ensure_ascii=False, indent=2).encode())
    yield sink.take()
