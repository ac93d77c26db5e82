"""The text of every agreement stays exactly what it was when the wording moved out of the code.

stored_snapshots.json holds snapshots as the agreements table stores them: six written by the
code of commit bd560f8 for the demo's engagements and the benchmark's every-condition one, and
four varied by hand to reach every branch (a foreign vendor with a registration number and no
Chinese name, unknown codes, nothing estimated or agreed, every venue type and mechanism).
expected_text.json, expected_html.json and expected_docx.json were written by the code of
commit bd560f8, before any of this moved: the composed text in each language, with automatic
renewal and on-site audits on and off; the PDF's HTML; and the DOCX's words. Issue 15 (the
Word-native A4 layout and the seal-ready signing block) rewrote the HTML and DOCX files and only
added lines to the text file (the signing block's words); no clause line of it changed.
"""

from __future__ import annotations

import io
import json
import re
import shutil
import uuid
from datetime import date
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from docx import Document

from app.agreements import context, rendering, services
from app.agreements.library import LIBRARY_DIR, load
from app.agreements.models import Agreement
from app.agreements.schemas import AgreementSnapshot, AgreementTerms

DATA = Path(__file__).parent / "agreement_text"
SNAPSHOTS: dict[str, dict[str, Any]] = json.loads((DATA / "stored_snapshots.json").read_text(encoding="utf-8"))
TERMS: dict[str, dict[str, Any]] = {
    "renew+onsite": {"auto_renew": True, "audit_on_site": True, "audit_notice_days": 10, "notice_days": 30},
    "renew+remote": {"auto_renew": True, "audit_on_site": False, "audit_notice_days": 10, "notice_days": 60},
    "fixed+onsite": {"auto_renew": False, "audit_on_site": True, "audit_notice_days": 0, "notice_days": 0},
    "fixed+remote": {"auto_renew": False, "audit_on_site": False, "audit_notice_days": 90, "notice_days": 365},
}
# Every snapshot with one combination of terms in turn; two snapshots with all four.
CASES = [
    (name, terms)
    for index, name in enumerate(SNAPSHOTS)
    for terms in (TERMS if name in ("every-condition", "foreign-vendor") else [list(TERMS)[index % len(TERMS)]])
]
# The documents whose layout is compared: both languages with the annex, and one language without.
DOCUMENTS = [("every-condition", "renew+onsite", "bilingual", True), ("foreign-vendor", "fixed+remote", "zh", False)]


def agreement(name: str, terms: str, version: int = 1) -> Agreement:
    """An agreement row as loaded from the database: the stored JSON snapshot, the terms."""
    return Agreement(
        number="DPA-2026-0A1B2C3D",
        engagement_id=uuid.UUID(int=1),
        vendor_id=uuid.UUID(int=2),
        template_id="pipl-entrusted-processing",
        template_version=version,
        snapshot=json.loads(json.dumps(SNAPSHOTS[name])),
        term_start=date(2026, 1, 5),
        term_end=date(2026, 12, 31),
        deletion_days=15,
        incident_notice_hours=48,
        **TERMS[terms],
    )


def composed_text(name: str, terms: str, version: int = 1) -> dict[str, list[str]]:
    """Every line the documents show in each language (headings, paragraphs, parties, labels, annex)."""
    document = services.compose(agreement(name, terms, version), annex=True)
    return {lang: rendering.text_of(document, (lang,)).split("\n") for lang in ("zh", "en")}


def html_of(name: str, terms: str, lang: str, annex: bool, version: int = 1) -> str:
    document = services.compose(agreement(name, terms, version), annex=annex)
    return rendering.to_html(document, rendering.LANGUAGE_SETS[lang])


def docx_words(name: str, terms: str, lang: str, annex: bool, version: int = 1) -> list[str]:
    document = services.compose(agreement(name, terms, version), annex=annex)
    doc = Document(io.BytesIO(rendering.to_docx(document, rendering.LANGUAGE_SETS[lang])))
    words = [paragraph.text for paragraph in doc.sections[0].header.paragraphs]
    body = doc.element.body
    for block in body.iterchildren():
        if block.tag.endswith("}p"):
            words.append("".join(node.text or "" for node in block.iter() if node.tag.endswith("}t")))
        elif block.tag.endswith("}tbl"):
            for table in doc.tables:
                if table._tbl is block:
                    words += [f"| {cell.text}" for row in table.rows for cell in row.cells]
    return words


class _Structure(HTMLParser):
    """Tags, attributes and text in document order. Whitespace alone between two tags is left
    out (it does not change the layout); any other text is kept exactly."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.items: list[tuple[str, ...]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.items.append(("<", tag, *(f"{key}={value}" for key, value in sorted(attrs))))

    def handle_endtag(self, tag: str) -> None:
        self.items.append(("/", tag))

    def handle_data(self, data: str) -> None:
        if data.strip():
            self.items.append(("text", data))

    def handle_decl(self, decl: str) -> None:
        self.items.append(("!", decl.lower()))


def structure(markup: str) -> list[tuple[str, ...]]:
    parser = _Structure()
    parser.feed(markup)
    parser.close()
    return parser.items


def case_id(name: str, terms: str) -> str:
    return f"{name}/{terms}"


@pytest.fixture(scope="module")
def expected_text() -> dict[str, dict[str, list[str]]]:
    loaded: dict[str, dict[str, list[str]]] = json.loads((DATA / "expected_text.json").read_text(encoding="utf-8"))
    return loaded


@pytest.mark.parametrize(("name", "terms"), CASES, ids=[case_id(*case) for case in CASES])
def test_composed_text_is_unchanged(name: str, terms: str, expected_text: dict[str, dict[str, list[str]]]) -> None:
    assert composed_text(name, terms) == expected_text[case_id(name, terms)]


def test_the_cases_reach_every_sentence(expected_text: dict[str, dict[str, list[str]]]) -> None:
    """Renewal and audit rights each way, in both languages, are in the expected texts."""
    every = "\n".join(line for case in expected_text.values() for lines in case.values() for line in lines)
    for sentence in (
        "本协议自动续期一年",
        "本协议不自动续期。",
        "renews for one year at a time",
        "does not renew automatically",
        "委托方可以提前10日书面通知后进行现场审计",
        "委托方可以提前0日书面通知后进行现场审计",
        "审计以书面问卷和远程检查方式进行。",
        "may audit on site after 10 days' written notice",
        "by written questionnaire and remote inspection",
    ):
        assert sentence in every, sentence
    assert len(expected_text) == len(CASES)


@pytest.mark.parametrize(("name", "terms", "lang", "annex"), DOCUMENTS)
def test_pdf_html_is_unchanged(name: str, terms: str, lang: str, annex: bool) -> None:
    expected = json.loads((DATA / "expected_html.json").read_text(encoding="utf-8"))
    markup = html_of(name, terms, lang, annex)
    assert structure(markup) == structure(expected[f"{name}/{terms}/{lang}"])
    # No whitespace between tags either, as before: WeasyPrint lays out each run as a box (~10% slower).
    assert not re.search(r">\s+<", markup)


@pytest.mark.parametrize(("name", "terms", "lang", "annex"), DOCUMENTS)
def test_docx_words_are_unchanged(name: str, terms: str, lang: str, annex: bool) -> None:
    expected = json.loads((DATA / "expected_docx.json").read_text(encoding="utf-8"))
    assert docx_words(name, terms, lang, annex) == expected[f"{name}/{terms}/{lang}"]


# Template version 2 (2026-11-29) has goldens of its own, written when it was published
# (write_expected_v2): its text, like version 1's, must never move.
V2 = "_v2"


def _expected(file: str) -> Any:
    return json.loads((DATA / file).read_text(encoding="utf-8"))


@pytest.mark.parametrize(("name", "terms"), CASES, ids=[case_id(*case) for case in CASES])
def test_version_2_text_is_unchanged(name: str, terms: str) -> None:
    assert composed_text(name, terms, 2) == _expected(f"expected_text{V2}.json")[case_id(name, terms)]


@pytest.mark.parametrize(("name", "terms", "lang", "annex"), DOCUMENTS)
def test_version_2_html_and_docx_are_unchanged(name: str, terms: str, lang: str, annex: bool) -> None:
    markup = html_of(name, terms, lang, annex, 2)
    assert structure(markup) == structure(_expected(f"expected_html{V2}.json")[f"{name}/{terms}/{lang}"])
    assert not re.search(r">\s+<", markup)
    assert docx_words(name, terms, lang, annex, 2) == _expected(f"expected_docx{V2}.json")[f"{name}/{terms}/{lang}"]


def test_the_wording_is_not_in_the_code() -> None:
    """context.py chooses phrases and fills them; no sentence of Chinese or English is left in it."""
    source = Path(context.__file__).read_text(encoding="utf-8")
    assert not re.search(r"[\u3000-\u303f\u4e00-\u9fff\uff00-\uffef]", source)
    for sentence in (
        "renews for one year",
        "does not renew",
        "written notice",
        "questionnaire",
        "credit code:",
        "registration number",
        "not estimated",
        "not agreed",
        "as of",
        "in all",
        "People's Republic",
    ):
        assert sentence not in source, sentence  # fmt: skip


def test_a_new_phrases_version_changes_only_the_template_versions_that_use_it(tmp_path: Path) -> None:
    copy = tmp_path / "contract_templates"
    shutil.copytree(LIBRARY_DIR, copy)
    newest = max(int(path.stem[1:]) for path in (copy / "phrases").glob("v*.yaml"))
    (copy / "phrases" / "v99.yaml").write_text(
        (copy / "phrases" / f"v{newest}.yaml")
        .read_text(encoding="utf-8")
        .replace(f"version: {newest}", "version: 99")
        .replace("Audits are carried out by written questionnaire", "Audits are done by written questionnaire"),
        encoding="utf-8",
    )
    template_file = copy / "pipl-entrusted-processing.yaml"
    text = template_file.read_text(encoding="utf-8")
    clauses = text[text.index("    clauses:") : text.index("  # Version 2")]
    template_file.write_text(
        text + "  - version: 99\n    published: 2026-12-01\n    phrases: 99\n" + clauses, encoding="utf-8"
    )
    library = load(copy)
    template = library.templates["pipl-entrusted-processing"]
    row = agreement("crm", "fixed+remote")
    snapshot, terms = (
        AgreementSnapshot.model_validate(row.snapshot),
        AgreementTerms.model_validate(TERMS["fixed+remote"] | {"term_start": row.term_start, "term_end": row.term_end}),
    )

    def english(version: int) -> str:
        found = template.version(version)
        assert found is not None
        return rendering.text_of(rendering.compose(library, template, found, snapshot, terms, row.number), ("en",))

    assert "Audits are carried out by written questionnaire" in english(1)
    assert "Audits are carried out by written questionnaire" in english(2)
    assert "Audits are done by written questionnaire" in english(99)


def write_expected() -> None:
    """How the expected files were written (once, by the code before the wording moved)."""
    texts = {case_id(name, terms): composed_text(name, terms) for name, terms in CASES}
    htmls = {f"{n}/{t}/{lang}": html_of(n, t, lang, annex) for n, t, lang, annex in DOCUMENTS}
    docxs = {f"{n}/{t}/{lang}": docx_words(n, t, lang, annex) for n, t, lang, annex in DOCUMENTS}
    for file, content in (("expected_text.json", texts), ("expected_html.json", htmls), ("expected_docx.json", docxs)):
        (DATA / file).write_text(json.dumps(content, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")


def write_expected_v2() -> None:
    """How the version 2 expected files were written, once, when version 2 was published."""
    texts = {case_id(name, terms): composed_text(name, terms, 2) for name, terms in CASES}
    htmls = {f"{n}/{t}/{lang}": html_of(n, t, lang, annex, 2) for n, t, lang, annex in DOCUMENTS}
    docxs = {f"{n}/{t}/{lang}": docx_words(n, t, lang, annex, 2) for n, t, lang, annex in DOCUMENTS}
    for file, content in (("expected_text", texts), ("expected_html", htmls), ("expected_docx", docxs)):
        (DATA / f"{file}{V2}.json").write_text(
            json.dumps(content, ensure_ascii=False, indent=1) + "\n", encoding="utf-8"
        )
