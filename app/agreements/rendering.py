"""One document model, two writers: DOCX (python-docx) and PDF (WeasyPrint from the HTML of templates/agreement.html).

`compose` fills the clauses of a template version from an agreement's snapshot and terms;
`to_docx` and `to_pdf` lay out the same `Composed` document with the same fixed labels,
so the two files always carry the same clauses, numbers and words. Both are CPU-bound and
blocking: the web process runs DOCX in a thread and PDF in a worker process.
"""

from __future__ import annotations

import io
import re
import subprocess
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import jinja2
import jinja2.ext
from docx import Document
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Pt
from markupsafe import Markup

from app.agreements import context
from app.agreements.library import PLACEHOLDER, Library, Phrases, Template, TemplateVersion
from app.agreements.schemas import AgreementSnapshot, AgreementTerms

LANGUAGE_SETS = {"zh": ("zh",), "en": ("en",), "bilingual": ("zh", "en")}
FONT_FAMILY = "Noto Sans CJK SC"
ZH_NUMERALS = "零一二三四五六七八九"


# The fixed words around the clauses, shared by both writers: phrases of the template
# version's phrases (contract_templates/phrases/), by key.
Label = dict[str, str]
SIGNATURES = "document.signatures"
PARTY_ROLES = ("document.entrusting_party", "document.entrusted_party")
SIGNING_LINES = ("document.signature", "document.seal", "document.date")
ANNEX = "document.annex"
ANNEX_COLUMNS = ("document.annex.requirement", "document.annex.source", "document.annex.article")
FILL_IN = "："  # after a signing line's words, where the signatory writes


def joined(label: Label, languages: tuple[str, ...]) -> str:
    """A label in the document's languages: "委托方 / Entrusting party"."""
    return " / ".join(label[lang] for lang in languages)


def annex_cells(row: dict[str, Any], languages: tuple[str, ...]) -> tuple[str, str, str]:
    return f"{row['id']} {joined(row, languages)}", row["source"], ", ".join(row["articles"]) or "—"


class RenderError(ValueError):
    """The document cannot be rendered faithfully (a character no font can show, say)."""


@dataclass(frozen=True)
class ComposedClause:
    number: int
    key: str
    covers: tuple[str, ...]
    title: dict[str, str]
    paragraphs: dict[str, list[str]]


@dataclass(frozen=True)
class Composed:
    number: str
    title: dict[str, str]
    parties: list[tuple[dict[str, str], dict[str, str]]]  # (label per language, value per language)
    clauses: list[ComposedClause]
    phrases: Phrases  # the words around the clauses
    coverage: list[dict[str, Any]] = field(default_factory=list)
    template: str = ""

    def words(self, key: str) -> Label:
        """A fixed phrase in every language: {"zh": "签署", "en": "Signatures"}."""
        return self.phrases.words(key)

    def heading(self, clause: ComposedClause, lang: str) -> str:
        number = zh_number(clause.number) if lang == "zh" else str(clause.number)
        return self.phrases.say("document.heading", lang, number=number, title=clause.title[lang])


def zh_number(n: int) -> str:
    """Chinese article numbers: 1 -> 一, 12 -> 十二, 24 -> 二十四."""
    if n < 10:
        return ZH_NUMERALS[n]
    tens, ones = divmod(n, 10)
    return ("" if tens == 1 else ZH_NUMERALS[tens]) + "十" + (ZH_NUMERALS[ones] if ones else "")


def fill(text: str, values: dict[str, str]) -> str:
    return PLACEHOLDER.sub(lambda match: values[match.group(1)], text)


def compose(
    library: Library,
    template: Template,
    version: TemplateVersion,
    data: AgreementSnapshot,
    terms: AgreementTerms,
    number: str,
    *,
    annex: bool = False,
) -> Composed:
    applies = context.conditions(data)
    phrases = library.phrases_of(version)
    values = {lang: context.placeholders(data, terms, number, lang, phrases) for lang in ("zh", "en")}
    clauses: list[ComposedClause] = []
    for clause in library.clauses_of(version):
        if clause.when is not None and clause.when not in applies:
            continue
        clauses.append(
            ComposedClause(
                number=len(clauses) + 1,
                key=clause.key,
                covers=clause.covers,
                title={lang: fill(getattr(clause.title, lang), values[lang]) for lang in ("zh", "en")},
                paragraphs={lang: [fill(p, values[lang]) for p in clause.paragraphs(lang)] for lang in ("zh", "en")},
            )
        )

    def both(name: str) -> dict[str, str]:
        return {lang: values[lang][name] for lang in ("zh", "en")}

    term = {
        lang: phrases.say(
            "document.term_range",
            lang,
            start=values[lang]["agreement.term_start"],
            end=values[lang]["agreement.term_end"],
        )
        for lang in ("zh", "en")
    }
    parties = [
        (phrases.words(PARTY_ROLES[0]), both("handler.name")),
        (phrases.words("document.credit_code"), both("handler.credit_code")),
        (phrases.words(PARTY_ROLES[1]), both("vendor.name")),
        (phrases.words("document.identification"), both("vendor.identifier")),
        (phrases.words("document.engagement"), both("engagement.name")),
        (phrases.words("document.term"), term),
    ]
    return Composed(
        number=number,
        title=template.title.model_dump(),
        parties=parties,
        clauses=clauses,
        phrases=phrases,
        coverage=coverage(library, version, clauses) if annex else [],
        template=f"{template.id} v{version.version}",
    )


def coverage(library: Library, version: TemplateVersion, clauses: list[ComposedClause]) -> list[dict[str, Any]]:
    """Every requirement the version lists (A1-A12, B1-B10, and from version 2 on B11-B20),
    worded as when the version was published, with the clauses of this agreement that cover it."""
    rows = []
    for requirement in library.requirements_of(version):
        covering = [clause for clause in clauses if requirement.id in clause.covers]
        rows.append(
            {
                **requirement.row(),
                "clauses": [clause.key for clause in covering],
                "articles": [f"{clause.number}" for clause in covering],
            }
        )
    return rows


def text_of(document: Composed, languages: tuple[str, ...]) -> str:
    """Every character the rendered document will show, for the glyph check."""
    parts = [document.number, document.template]
    for lang in languages:
        parts.append(document.title[lang])
        for label, value in document.parties:
            parts += [label[lang], value[lang]]
        for clause in document.clauses:
            parts.append(document.heading(clause, lang))
            parts += clause.paragraphs[lang]
        parts += [document.phrases.say(key, lang) for key in (SIGNATURES, *PARTY_ROLES, *SIGNING_LINES)]
        if document.coverage:
            parts += [document.phrases.say(key, lang) for key in (ANNEX, *ANNEX_COLUMNS)]
        for row in document.coverage:
            parts += annex_cells(row, (lang,))
    return "\n".join(parts)


@cache
def _font_characters() -> frozenset[int]:
    """Code points the CJK font can draw (it carries Latin, digits and punctuation too)."""
    from fontTools.ttLib import TTCollection, TTFont

    path = subprocess.run(  # noqa: S603 - fixed command, no shell
        ["/usr/bin/fc-match", "-f", "%{file}", FONT_FAMILY],
        capture_output=True,
        text=True,
        check=False,
    ).stdout.strip()
    if not path or "CJK" not in path:
        raise RenderError(f"the font {FONT_FAMILY} is not installed (Debian package fonts-noto-cjk)")
    fonts = TTCollection(path).fonts if path.endswith(".ttc") else [TTFont(path)]
    characters: set[int] = set()
    for font in fonts[:1]:
        characters.update(font.getBestCmap().keys())
    return frozenset(characters)


def check_glyphs(text: str) -> None:
    """Refuse a character the font lacks: it would print as a blank box in a contract."""
    known = _font_characters()
    missing = sorted({ch for ch in text if ord(ch) not in known and ch not in "\n\t"})
    if missing:
        shown = " ".join(f"{ch!r} (U+{ord(ch):04X})" for ch in missing[:10])
        raise RenderError(f"the font cannot show these characters: {shown}")


# ---------------------------------------------------------------- DOCX


def _east_asian(style_or_run: Any, name: str = FONT_FAMILY) -> None:
    rpr = style_or_run.element.get_or_add_rPr()
    fonts = rpr.find(qn("w:rFonts"))
    if fonts is None:
        fonts = OxmlElement("w:rFonts")
        rpr.append(fonts)
    for attribute in ("w:ascii", "w:hAnsi", "w:eastAsia", "w:cs"):
        fonts.set(qn(attribute), name)


def _page_number(paragraph: Any) -> None:
    for text in ("PAGE", None, "NUMPAGES"):
        if text is None:
            paragraph.add_run(" / ")
            continue
        field_run = OxmlElement("w:fldSimple")
        field_run.set(qn("w:instr"), text)
        run = OxmlElement("w:r")
        value = OxmlElement("w:t")
        value.text = "1"
        run.append(value)
        field_run.append(run)
        paragraph._p.append(field_run)


def to_docx(document: Composed, languages: tuple[str, ...]) -> bytes:
    doc = Document()
    styles = doc.styles
    for name in ("Normal", "Title", "Heading 1", "Heading 2"):
        _east_asian(styles[name])
    styles["Normal"].font.size = Pt(10.5)
    section = doc.sections[0]
    header = section.header.paragraphs[0]
    label = document.words("document.number")
    header.text = (
        f"{label['zh']} {label['en']} {document.number}"
        if len(languages) == 2
        else (f"{label['zh']}：{document.number}" if languages == ("zh",) else f"{label['en']} {document.number}")
    )
    header.alignment = WD_ALIGN_PARAGRAPH.RIGHT
    footer = section.footer.paragraphs[0]
    footer.alignment = WD_ALIGN_PARAGRAPH.CENTER
    _page_number(footer)

    # Styles set by id: python-docx resolves a style given by name or object by scanning
    # every style for each paragraph, which was most of the time spent here.
    title_style, heading_style, grid = styles["Title"].style_id, styles["Heading 1"].style_id, styles["Table Grid"]

    def styled(text: str, style_id: str) -> None:
        doc.add_paragraph(text)._p.style = style_id

    for lang in languages:
        styled(document.title[lang], title_style)
    table = doc.add_table(rows=0, cols=2)
    table.style = grid
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    for label, value in document.parties:
        cells = table.add_row().cells
        cells[0].text = joined(label, languages)
        cells[1].text = "\n".join(dict.fromkeys(value[lang] for lang in languages))

    for clause in document.clauses:
        for lang in languages:
            styled(document.heading(clause, lang), heading_style)
            for paragraph in clause.paragraphs[lang]:
                doc.add_paragraph(paragraph)

    styled(joined(document.words(SIGNATURES), languages), heading_style)
    signatures = doc.add_table(rows=1, cols=2)
    signatures.style = grid
    for cell, party in zip(signatures.rows[0].cells, PARTY_ROLES, strict=True):
        cell.text = joined(document.words(party), languages)
    for line in SIGNING_LINES:
        for cell in signatures.add_row().cells:
            cell.text = joined(document.words(line), languages) + FILL_IN

    if document.coverage:
        styled(joined(document.words(ANNEX), languages), heading_style)
        annex = doc.add_table(rows=1, cols=3)
        annex.style = grid
        for cell, column in zip(annex.rows[0].cells, ANNEX_COLUMNS, strict=True):
            cell.text = joined(document.words(column), languages)
        for row in document.coverage:
            for cell, text in zip(annex.add_row().cells, annex_cells(row, languages), strict=True):
                cell.text = text

    buffer = io.BytesIO()
    doc.save(buffer)
    return buffer.getvalue()


# ---------------------------------------------------------------- HTML and PDF

TEMPLATES = Path(__file__).parent / "templates"
# A line break between two tags of the template's source, with the indentation around it.
BETWEEN_TAGS = re.compile(r"(?:(?<=>)|(?<=%\})|(?<=#\}))[ \t]*\n\s*(?=<|\{%|\{#)")


class _NoBreaksBetweenTags(jinja2.ext.Extension):
    """The template is laid out on lines for reading; the HTML it writes has no whitespace
    between tags, as the concatenated HTML had: WeasyPrint makes a box of every such run,
    which made the layout some 10% slower. Only the template's source is touched, before it
    is compiled: a value never is, and text inside an element (the page CSS) keeps its lines."""

    def preprocess(self, source: str, name: str | None, filename: str | None = None) -> str:
        return BETWEEN_TAGS.sub("", source)


def _css_string(value: str) -> Markup:
    """A value for inside a double-quoted CSS string in <style>: a character that could end
    the string or the element is a CSS escape instead (HTML escapes mean nothing there)."""
    escaped = "".join(f"\\{ord(ch):x} " if ch in '"\\<>&' or ord(ch) < 0x20 else ch for ch in value)
    return Markup(escaped)  # noqa: S704 - safe: nothing in it can end the string or the element


@cache
def _html_template() -> jinja2.Template:
    """app/agreements/templates/agreement.html, compiled once per process."""
    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        extensions=[_NoBreaksBetweenTags],
    )
    environment.filters["css_string"] = _css_string
    return environment.get_template("agreement.html")


def to_html(document: Composed, languages: tuple[str, ...]) -> str:
    """The PDF's HTML, from the template; every value is escaped there."""
    return _html_template().render(
        document=document,
        languages=languages,
        both=len(languages) == 2,
        font_family=FONT_FAMILY,
        joined=lambda label: joined(label, languages),
        distinct=lambda value: list(dict.fromkeys(value[lang] for lang in languages)),
        words=lambda key: joined(document.words(key), languages),
        annex_cells=lambda row: annex_cells(row, languages),
        signatures=SIGNATURES,
        party_roles=PARTY_ROLES,
        signing_lines=SIGNING_LINES,
        annex=ANNEX,
        annex_columns=ANNEX_COLUMNS,
        fill_in=FILL_IN,
    )


def warm() -> int:
    """Everything a first PDF pays for once per process: WeasyPrint's import, the HTML
    template, the CJK font's character map, and a page laid out and subset in that font.
    Answers the warm-up PDF's size."""
    from weasyprint import HTML

    _font_characters()
    _html_template()
    page = f'<p style="font-family: {FONT_FAMILY}">委托处理协议 Entrusted-processing agreement 人脸识别 0123</p>'
    return len(HTML(string=page).write_pdf())


def warm_docx() -> None:
    """What a first DOCX pays for in this process: the CJK font's character map (the glyph
    check) and python-docx's default template."""
    _font_characters()
    Document()


def to_pdf(document: Composed, languages: tuple[str, ...]) -> bytes:
    from weasyprint import HTML

    pdf: bytes = HTML(string=to_html(document, languages)).write_pdf()
    return pdf
