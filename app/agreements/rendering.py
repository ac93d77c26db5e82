"""One document model, two writers: DOCX (python-docx) and PDF (WeasyPrint from HTML).

`compose` fills the clauses of a template version from an agreement's snapshot and terms;
`to_docx` and `to_pdf` lay out the same `Composed` document with the same fixed labels,
so the two files always carry the same clauses, numbers and words. Both are CPU-bound and
blocking: the web process runs DOCX in a thread and PDF in a worker process.
"""

from __future__ import annotations

import html
import io
import subprocess
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from docx import Document
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Pt

from app.agreements import context
from app.agreements.library import PLACEHOLDER, Library, Template, TemplateVersion
from app.agreements.schemas import AgreementSnapshot, AgreementTerms

LANGUAGE_SETS = {"zh": ("zh",), "en": ("en",), "bilingual": ("zh", "en")}
FONT_FAMILY = "Noto Sans CJK SC"
ZH_NUMERALS = "零一二三四五六七八九"


# The fixed wording around the clauses, shared by both writers.
Label = dict[str, str]
SIGNATURES: Label = {"zh": "签署", "en": "Signatures"}
PARTY_ROLES: tuple[Label, Label] = (
    {"zh": "委托方", "en": "Entrusting party"},
    {"zh": "受托方", "en": "Entrusted party"},
)
SIGNING_LINES: tuple[Label, ...] = (
    {"zh": "授权代表签字", "en": "Authorised signature"},
    {"zh": "盖章", "en": "Seal"},
    {"zh": "日期", "en": "Date"},
)
ANNEX: Label = {"zh": "附件：法定要求对照表", "en": "Annex: legal requirements covered"}
ANNEX_COLUMNS: tuple[Label, ...] = (
    {"zh": "要求", "en": "Requirement"},
    {"zh": "依据", "en": "Source"},
    {"zh": "条款", "en": "Article"},
)


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
    coverage: list[dict[str, Any]] = field(default_factory=list)
    template: str = ""


def zh_number(n: int) -> str:
    """Chinese article numbers: 1 -> 一, 12 -> 十二, 24 -> 二十四."""
    if n < 10:
        return ZH_NUMERALS[n]
    tens, ones = divmod(n, 10)
    return ("" if tens == 1 else ZH_NUMERALS[tens]) + "十" + (ZH_NUMERALS[ones] if ones else "")


def heading(clause: ComposedClause, lang: str) -> str:
    if lang == "zh":
        return f"第{zh_number(clause.number)}条 {clause.title['zh']}"
    return f"Article {clause.number}. {clause.title['en']}"


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
    values = {lang: context.placeholders(data, terms, number, lang) for lang in ("zh", "en")}
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
        lang: f"{values[lang]['agreement.term_start']} – {values[lang]['agreement.term_end']}" for lang in ("zh", "en")
    }
    parties = [
        (PARTY_ROLES[0], both("handler.name")),
        ({"zh": "统一社会信用代码", "en": "Credit code"}, both("handler.credit_code")),
        (PARTY_ROLES[1], both("vendor.name")),
        ({"zh": "受托方身份", "en": "Identification"}, both("vendor.identifier")),
        ({"zh": "委托处理事项", "en": "Engagement"}, both("engagement.name")),
        ({"zh": "协议期限", "en": "Term"}, term),
    ]
    return Composed(
        number=number,
        title=template.title.model_dump(),
        parties=parties,
        clauses=clauses,
        coverage=coverage(library, clauses) if annex else [],
        template=f"{template.id} v{version.version}",
    )


def coverage(library: Library, clauses: list[ComposedClause]) -> list[dict[str, Any]]:
    """Every requirement (A1-A12, B1-B10) with the clauses of this agreement that cover it."""
    rows = []
    for requirement in library.requirements.values():
        covering = [clause for clause in clauses if requirement.id in clause.covers]
        rows.append(
            {
                **requirement.model_dump(),
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
            parts.append(heading(clause, lang))
            parts += clause.paragraphs[lang]
        parts += [joined(label, (lang,)) for label in (SIGNATURES, *PARTY_ROLES, *SIGNING_LINES)]
        if document.coverage:
            parts += [joined(label, (lang,)) for label in (ANNEX, *ANNEX_COLUMNS)]
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
    header.text = (
        f"协议编号 Agreement No. {document.number}"
        if len(languages) == 2
        else (f"协议编号：{document.number}" if languages == ("zh",) else f"Agreement No. {document.number}")
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
            styled(heading(clause, lang), heading_style)
            for paragraph in clause.paragraphs[lang]:
                doc.add_paragraph(paragraph)

    styled(joined(SIGNATURES, languages), heading_style)
    signatures = doc.add_table(rows=1, cols=2)
    signatures.style = grid
    for cell, party in zip(signatures.rows[0].cells, PARTY_ROLES, strict=True):
        cell.text = joined(party, languages)
    for line in SIGNING_LINES:
        for cell in signatures.add_row().cells:
            cell.text = joined(line, languages) + "："

    if document.coverage:
        styled(joined(ANNEX, languages), heading_style)
        annex = doc.add_table(rows=1, cols=3)
        annex.style = grid
        for cell, column in zip(annex.rows[0].cells, ANNEX_COLUMNS, strict=True):
            cell.text = joined(column, languages)
        for row in document.coverage:
            for cell, text in zip(annex.add_row().cells, annex_cells(row, languages), strict=True):
                cell.text = text

    buffer = io.BytesIO()
    doc.save(buffer)
    return buffer.getvalue()


# ---------------------------------------------------------------- HTML and PDF

CSS = f"""
@page {{ size: A4; margin: 22mm 20mm 22mm 20mm;
  @top-right {{ content: "{{number}}"; font-size: 8pt; color: #555; }}
  @bottom-center {{ content: counter(page) " / " counter(pages); font-size: 8pt; color: #555; }} }}
body {{ font-family: "{FONT_FAMILY}", sans-serif; font-size: 10pt; line-height: 1.55; }}
h1 {{ text-align: center; font-size: 16pt; margin: 0 0 4pt 0; }}
h2 {{ font-size: 11pt; margin: 14pt 0 4pt 0; break-after: avoid; }}
p {{ margin: 0 0 6pt 0; text-align: justify; }}
p.en, h2.en {{ color: #222; }}
table {{ width: 100%; border-collapse: collapse; margin: 10pt 0; font-size: 9pt; }}
td, th {{ border: 0.5pt solid #444; padding: 4pt 6pt; vertical-align: top; text-align: left; }}
table.signatures td {{ height: 28pt; }}
.meta {{ text-align: center; color: #555; font-size: 8pt; margin-bottom: 10pt; }}
"""


def to_html(document: Composed, languages: tuple[str, ...]) -> str:
    e = html.escape
    both = len(languages) == 2
    out = [
        "<!DOCTYPE html><html lang='zh-CN'><head><meta charset='utf-8'>",
        f"<title>{e(document.number)}</title>",
        f"<style>{CSS.replace('{number}', e(document.number).replace(chr(34), ''))}</style></head><body>",
    ]
    for lang in languages:
        out.append(f"<h1 lang='{lang}'>{e(document.title[lang])}</h1>")
    out.append(f"<div class='meta'>{e(document.number)} · {e(document.template)}</div>")
    out.append("<table class='parties'>")
    for label, value in document.parties:
        shown = "<br>".join(e(v) for v in dict.fromkeys(value[lang] for lang in languages))
        out.append(f"<tr><th>{e(joined(label, languages))}</th><td>{shown}</td></tr>")
    out.append("</table>")
    for clause in document.clauses:
        for lang in languages:
            css = f" class='{lang}'" if both else ""
            out.append(f"<h2 lang='{lang}'{css}>{e(heading(clause, lang))}</h2>")
            out.extend(f"<p lang='{lang}'{css}>{e(paragraph)}</p>" for paragraph in clause.paragraphs[lang])
    out.append(f"<h2>{e(joined(SIGNATURES, languages))}</h2><table class='signatures'><tr>")
    out.extend(f"<th>{e(joined(party, languages))}</th>" for party in PARTY_ROLES)
    out.append("</tr>")
    for line in SIGNING_LINES:
        text = e(joined(line, languages))
        out.append(f"<tr><td>{text}：</td><td>{text}：</td></tr>")
    out.append("</table>")
    if document.coverage:
        out.append(f"<h2 style='break-before: page'>{e(joined(ANNEX, languages))}</h2><table class='coverage'><tr>")
        out.extend(f"<th>{e(joined(column, languages))}</th>" for column in ANNEX_COLUMNS)
        out.append("</tr>")
        for row in document.coverage:
            out.append("<tr>" + "".join(f"<td>{e(cell)}</td>" for cell in annex_cells(row, languages)) + "</tr>")
        out.append("</table>")
    out.append("</body></html>")
    return "".join(out)


def to_pdf(document: Composed, languages: tuple[str, ...]) -> bytes:
    from weasyprint import HTML

    pdf: bytes = HTML(string=to_html(document, languages)).write_pdf()
    return pdf
