"""The PDF's HTML comes from a template with autoescape: whatever a name or a clause says is
text in the PDF, never markup."""

from __future__ import annotations

import copy
import dataclasses
import io
import shutil
from pathlib import Path

from pypdf import PdfReader

from app.agreements import rendering, services
from app.agreements.library import LIBRARY_DIR, load
from app.agreements.models import Agreement
from app.agreements.schemas import AgreementSnapshot, AgreementTerms
from tests.unit.test_agreement_text import SNAPSHOTS, agreement, structure

SCRIPT = '<script>alert("x")</script>'
HOSTILE_ZH = f"{SCRIPT}数据 & <服务>有限公司"
HOSTILE_EN = f"R&D {SCRIPT} & Sons <Co> 'Ltd' &amp; &lt;b&gt;"
PURPOSE = f"Analytics & <b>reporting</b> {SCRIPT} &copy; 2026"


def hostile_agreement() -> Agreement:
    row = agreement("crm", "renew+onsite")
    snapshot = copy.deepcopy(SNAPSHOTS["crm"])
    snapshot["vendor"].update(legal_name_zh=HOSTILE_ZH, legal_name_en=HOSTILE_EN)
    snapshot["engagement"]["purpose"] = PURPOSE
    row.snapshot = snapshot
    return row


def texts(markup: str) -> list[str]:
    return [item[1] for item in structure(markup) if item[0] == "text"]


def tags(markup: str) -> list[str]:
    return [item[1] for item in structure(markup) if item[0] == "<"]


def squash(text: str) -> str:
    # PDF text extraction breaks lines where the layout wrapped them.
    return "".join(text.split())


def test_a_party_name_and_a_value_in_a_clause_are_text_in_the_html() -> None:
    document = services.compose(hostile_agreement())
    markup = rendering.to_html(document, rendering.LANGUAGE_SETS["bilingual"])
    assert "script" not in tags(markup)
    assert "b" not in tags(markup)
    shown = texts(markup)
    row = shown.index("受托方 / Entrusted party")  # the vendor's row of the parties, a name a line
    assert shown[row + 1 : row + 3] == [HOSTILE_ZH, HOSTILE_EN]
    assert any(f"受托方：{HOSTILE_ZH}（" in text for text in shown)  # the parties clause
    assert any(f"Entrusted party: {HOSTILE_EN} (" in text for text in shown)
    assert any(PURPOSE in text for text in shown)  # the purpose clause
    assert "&lt;script&gt;" in markup and "&amp;amp;" in markup and SCRIPT not in markup


def test_they_read_back_from_the_pdf_as_written() -> None:
    document = services.compose(hostile_agreement())
    pdf = rendering.to_pdf(document, rendering.LANGUAGE_SETS["bilingual"])
    text = squash("\n".join(page.extract_text() or "" for page in PdfReader(io.BytesIO(pdf)).pages))
    for value in (HOSTILE_ZH, HOSTILE_EN, PURPOSE):
        assert squash(value) in text, value
    assert "&lt;" not in text.replace(squash("&lt;b&gt;"), "")


def test_a_clause_text_is_text_too(tmp_path: Path) -> None:
    target = tmp_path / "contract_templates"
    shutil.copytree(LIBRARY_DIR, target)
    clause = target / "clauses" / "liability.v1.yaml"
    clause.write_text(
        clause.read_text(encoding="utf-8").replace("应当承担赔偿责任", f"应当承担赔偿责任 {SCRIPT} & <i>"),
        encoding="utf-8",
    )
    library = load(target)
    template = library.templates["pipl-entrusted-processing"]
    version = template.version(1)
    assert version is not None
    row = agreement("crm", "renew+onsite")
    terms = AgreementTerms.model_validate({name: getattr(row, name) for name in AgreementTerms.model_fields})
    document = rendering.compose(
        library, template, version, AgreementSnapshot.model_validate(row.snapshot), terms, row.number
    )
    markup = rendering.to_html(document, ("zh",))
    assert "script" not in tags(markup) and "i" not in tags(markup)
    assert any(f"应当承担赔偿责任 {SCRIPT} & <i>" in text for text in texts(markup))


def test_the_number_cannot_leave_the_page_css() -> None:
    document = dataclasses.replace(services.compose(agreement("crm", "renew+onsite")), number='X"; } </style><b>&')
    markup = rendering.to_html(document, ("en",))
    assert tags(markup)[:5] == ["html", "head", "meta", "title", "style"]
    assert "b" not in tags(markup)
    style = structure(markup)[structure(markup).index(("<", "style")) + 1][1]
    assert 'content: "Agreement No. X\\22 ; } \\3c /style\\3e \\3c b\\3e \\26 ";' in style
