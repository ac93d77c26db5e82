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
from xml.sax.saxutils import escape

import jinja2
import jinja2.ext
from docx import Document
from docx.enum.table import WD_ROW_HEIGHT_RULE, WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Twips
from markupsafe import Markup

from app.agreements import context
from app.agreements.library import PLACEHOLDER, Library, Phrases, Template, TemplateVersion
from app.agreements.schemas import AgreementSnapshot, AgreementTerms

LANGUAGE_SETS = {"zh": ("zh",), "en": ("en",), "bilingual": ("zh", "en")}
FONT_FAMILY = "Noto Serif CJK SC"  # the Song face of the PDF (fonts-noto-cjk)
ZH_NUMERALS = "零一二三四五六七八九"


# The fixed words around the clauses, shared by both writers: phrases of the template
# version's phrases (contract_templates/phrases/), by key.
Label = dict[str, str]
SIGNATURES = "document.signatures"
PARTY_ROLES = ("document.entrusting_party", "document.entrusted_party")
SIGNING_LINES = ("document.signature", "document.seal", "document.date")
SIGNATURE, SEAL, DATE = SIGNING_LINES
SIGNING_PLACE = "document.signing_place"
DATE_BLANK = "document.date_blank"
MAIN_CONTRACT = "document.main_contract"
PRECEDENCE = "document.precedence"
INTERNAL = "document.internal"
END_OF_TEXT = "document.end_of_text"
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
    # Each party's full name per language, for the signing block: (entrusting, entrusted).
    signatories: tuple[dict[str, str], ...] = ()

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
    phrases = library.rendering_phrases(version)
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
        (phrases.words("document.number"), {"zh": number, "en": number}),
        (phrases.words(PARTY_ROLES[0]), both("handler.name")),
        (phrases.words("document.credit_code"), both("handler.credit_code")),
        (phrases.words(PARTY_ROLES[1]), both("vendor.name")),
        (phrases.words("document.identification"), both("vendor.identifier")),
        (phrases.words("document.engagement"), both("engagement.name")),
        (phrases.words("document.term"), term),
    ]
    if terms.main_contract:
        parties.append((phrases.words(MAIN_CONTRACT), {"zh": terms.main_contract, "en": terms.main_contract}))
    return Composed(
        number=number,
        title=template.title.model_dump(),
        parties=parties,
        clauses=clauses,
        phrases=phrases,
        coverage=coverage(library, version, clauses) if annex else [],
        template=f"{template.id} v{version.version}",
        signatories=(both("handler.name"), both("vendor.name")),
    )


def signing_names(document: Composed) -> tuple[dict[str, str], ...]:
    return document.signatories


def header_text(document: Composed, languages: tuple[str, ...]) -> str:
    """The running header of both writers: the agreement's number."""
    label = document.words("document.number")
    if len(languages) == 2:
        return f"{label['zh']} {label['en']} {document.number}"
    return f"{label['zh']}：{document.number}" if languages == ("zh",) else f"{label['en']} {document.number}"


def date_blank(document: Composed, languages: tuple[str, ...]) -> str:
    """Where the date is written by hand: "    年  月  日" in a Chinese or bilingual document."""
    return document.phrases.say(DATE_BLANK, languages[0])


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
        parts += [document.phrases.say(key, lang) for key in (SIGNING_PLACE, DATE_BLANK, PRECEDENCE, END_OF_TEXT)]
        parts += [name[lang] for name in document.signatories]
        if document.coverage:
            parts += [document.phrases.say(key, lang) for key in (ANNEX, INTERNAL, *ANNEX_COLUMNS)]
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


def missing_glyphs(text: str) -> list[str]:
    """The characters of `text` the font cannot draw (each once, sorted)."""
    known = _font_characters()
    return sorted({ch for ch in text if ord(ch) not in known and ch not in "\n\t"})


def check_glyphs(text: str) -> None:
    """Refuse a character the font lacks: it would print as a blank box in a contract."""
    missing = missing_glyphs(text)
    if missing:
        shown = " ".join(f"{ch!r} (U+{ord(ch):04X})" for ch in missing[:10])
        raise RenderError(f"the font cannot show these characters: {shown}")


# ---------------------------------------------------------------- DOCX
#
# A document Chinese Word takes as its own: A4 with Word's Chinese margins, East Asian language
# zh-CN, its own styles (no theme fonts or colours: black headings, the body in SimSun/宋体 for
# Chinese and Times New Roman for Latin text), clause headings numbered by Word (第一条, Article 1.)
# from a numbering definition bound to the heading style, so that Word renumbers when a clause
# is added or removed. The parts that do not depend on the agreement are built once.

A4_TWIPS = (11906, 16838)
MARGINS_TWIPS = {"top": 1440, "bottom": 1440, "left": 1800, "right": 1800}  # 2.54 cm, 3.17 cm
TEXT_WIDTH = A4_TWIPS[0] - MARGINS_TWIPS["left"] - MARGINS_TWIPS["right"]
SEAL_TWIPS = 2835  # 5 cm: a round company seal is 4.0-4.5 cm across
W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
CLAUSE_STYLES = {"zh": "ClauseZh", "en": "ClauseEn"}


def _clause_number_text(phrases: Phrases, lang: str) -> str | None:
    """Word's level text from the heading phrase's part before the title: 第{{number}}条 {{title}}
    gives 第%1条; None if the phrase does not put the number before the title."""
    text: str = getattr(phrases.phrases["document.heading"], lang)
    prefix, found, rest = text.partition("{{title}}")
    if not found or rest.strip() or "{{number}}" not in prefix:
        return None
    return prefix.strip().replace("{{number}}", "%1")


def _styles_xml(faces: tuple[str, str]) -> str:
    latin, song = faces
    fonts = f'<w:rFonts w:ascii="{latin}" w:hAnsi="{latin}" w:eastAsia="{song}" w:cs="{latin}" w:hint="eastAsia"/>'
    black = '<w:color w:val="000000"/>'

    def heading(style_id: str, name: str, num_id: int) -> str:
        return (
            f'<w:style w:type="paragraph" w:customStyle="1" w:styleId="{style_id}"><w:name w:val="{name}"/>'
            '<w:basedOn w:val="Heading1"/><w:next w:val="BodyText"/><w:qFormat/>'
            f'<w:pPr><w:numPr><w:numId w:val="{num_id}"/></w:numPr></w:pPr></w:style>'
        )

    return (
        f'<w:styles xmlns:w="{W}">'
        f'<w:docDefaults><w:rPrDefault><w:rPr>{fonts}<w:kern w:val="2"/>'
        '<w:sz w:val="21"/><w:szCs w:val="21"/><w:lang w:val="en-US" w:eastAsia="zh-CN" w:bidi="ar-SA"/>'
        '</w:rPr></w:rPrDefault><w:pPrDefault><w:pPr><w:spacing w:after="0" w:line="312" w:lineRule="auto"/>'
        "</w:pPr></w:pPrDefault></w:docDefaults>"
        '<w:style w:type="paragraph" w:default="1" w:styleId="Normal"><w:name w:val="Normal"/><w:qFormat/>'
        f'<w:pPr><w:widowControl w:val="0"/><w:jc w:val="both"/></w:pPr><w:rPr>{black}</w:rPr></w:style>'
        '<w:style w:type="character" w:default="1" w:styleId="DefaultParagraphFont">'
        '<w:name w:val="Default Paragraph Font"/><w:uiPriority w:val="1"/><w:semiHidden/><w:unhideWhenUsed/></w:style>'
        '<w:style w:type="table" w:default="1" w:styleId="TableNormal"><w:name w:val="Normal Table"/>'
        '<w:uiPriority w:val="99"/><w:semiHidden/><w:unhideWhenUsed/><w:tblPr><w:tblInd w:w="0" w:type="dxa"/>'
        '<w:tblCellMar><w:top w:w="0" w:type="dxa"/><w:left w:w="108" w:type="dxa"/>'
        '<w:bottom w:w="0" w:type="dxa"/><w:right w:w="108" w:type="dxa"/></w:tblCellMar></w:tblPr></w:style>'
        '<w:style w:type="numbering" w:default="1" w:styleId="NoList"><w:name w:val="No List"/>'
        '<w:uiPriority w:val="99"/><w:semiHidden/><w:unhideWhenUsed/></w:style>'
        '<w:style w:type="paragraph" w:styleId="Title"><w:name w:val="Title"/><w:basedOn w:val="Normal"/>'
        '<w:next w:val="Normal"/><w:qFormat/><w:pPr><w:keepNext/><w:spacing w:before="120" w:after="120"/>'
        f'<w:jc w:val="center"/></w:pPr><w:rPr><w:b/><w:bCs/>{black}<w:sz w:val="36"/><w:szCs w:val="36"/>'
        "</w:rPr></w:style>"
        '<w:style w:type="paragraph" w:styleId="Heading1"><w:name w:val="heading 1"/><w:basedOn w:val="Normal"/>'
        '<w:next w:val="BodyText"/><w:qFormat/><w:pPr><w:keepNext/><w:keepLines/>'
        '<w:spacing w:before="240" w:after="120"/><w:jc w:val="left"/><w:outlineLvl w:val="0"/></w:pPr>'
        f'<w:rPr><w:b/><w:bCs/>{black}<w:sz w:val="24"/><w:szCs w:val="24"/></w:rPr></w:style>'
        + heading(CLAUSE_STYLES["zh"], "条款标题", 1)
        + heading(CLAUSE_STYLES["en"], "Clause heading", 2)
        + '<w:style w:type="paragraph" w:styleId="BodyText"><w:name w:val="Body Text"/><w:basedOn w:val="Normal"/>'
        '<w:qFormat/><w:pPr><w:spacing w:after="60"/><w:ind w:firstLineChars="200" w:firstLine="420"/>'
        '<w:jc w:val="both"/></w:pPr></w:style>'
        # Chinese text: a long Latin token (a credit code, an address) may break inside, as Chinese
        # Word does, instead of leaving a justified line with wide gaps before it.
        '<w:style w:type="paragraph" w:customStyle="1" w:styleId="BodyTextZh"><w:name w:val="正文文本"/>'
        '<w:basedOn w:val="BodyText"/><w:qFormat/><w:pPr><w:wordWrap w:val="0"/></w:pPr></w:style>'
        '<w:style w:type="paragraph" w:styleId="Header"><w:name w:val="header"/><w:basedOn w:val="Normal"/>'
        '<w:pPr><w:pBdr><w:bottom w:val="single" w:sz="4" w:space="1" w:color="000000"/></w:pBdr>'
        '<w:jc w:val="right"/></w:pPr><w:rPr><w:sz w:val="18"/><w:szCs w:val="18"/></w:rPr></w:style>'
        '<w:style w:type="paragraph" w:styleId="Footer"><w:name w:val="footer"/><w:basedOn w:val="Normal"/>'
        '<w:pPr><w:jc w:val="center"/></w:pPr><w:rPr><w:sz w:val="18"/><w:szCs w:val="18"/></w:rPr></w:style>'
        '<w:style w:type="paragraph" w:customStyle="1" w:styleId="TableText"><w:name w:val="Table Text"/>'
        '<w:basedOn w:val="Normal"/><w:qFormat/><w:pPr><w:jc w:val="left"/></w:pPr>'
        '<w:rPr><w:sz w:val="20"/><w:szCs w:val="20"/></w:rPr></w:style>'
        '<w:style w:type="table" w:styleId="TableGrid"><w:name w:val="Table Grid"/><w:basedOn w:val="TableNormal"/>'
        '<w:uiPriority w:val="59"/><w:pPr><w:spacing w:after="0" w:line="240" w:lineRule="auto"/></w:pPr>'
        '<w:tblPr><w:tblBorders><w:top w:val="single" w:sz="4" w:space="0" w:color="auto"/>'
        '<w:left w:val="single" w:sz="4" w:space="0" w:color="auto"/>'
        '<w:bottom w:val="single" w:sz="4" w:space="0" w:color="auto"/>'
        '<w:right w:val="single" w:sz="4" w:space="0" w:color="auto"/>'
        '<w:insideH w:val="single" w:sz="4" w:space="0" w:color="auto"/>'
        '<w:insideV w:val="single" w:sz="4" w:space="0" w:color="auto"/></w:tblBorders>'
        '<w:tblCellMar><w:top w:w="40" w:type="dxa"/><w:left w:w="108" w:type="dxa"/>'
        '<w:bottom w:w="40" w:type="dxa"/><w:right w:w="108" w:type="dxa"/></w:tblCellMar></w:tblPr></w:style>'
        "</w:styles>"
    )


def _numbering_xml(levels: dict[str, str | None]) -> str:
    """One single-level list per language, each bound to its clause heading style."""
    formats = {"zh": "chineseCounting", "en": "decimal"}
    parts = []
    for index, lang in enumerate(("zh", "en"), start=1):
        text = levels[lang] or "%1"
        parts.append(
            f'<w:abstractNum w:abstractNumId="{index}"><w:multiLevelType w:val="singleLevel"/>'
            f'<w:lvl w:ilvl="0"><w:start w:val="1"/><w:numFmt w:val="{formats[lang]}"/>'
            f'<w:pStyle w:val="{CLAUSE_STYLES[lang]}"/><w:lvlText w:val="{escape(text)}"/><w:lvlJc w:val="left"/>'
            '<w:suff w:val="space"/><w:pPr><w:ind w:left="0" w:firstLine="0"/></w:pPr></w:lvl></w:abstractNum>'
        )
    nums = "".join(f'<w:num w:numId="{i}"><w:abstractNumId w:val="{i}"/></w:num>' for i in (1, 2))
    return f'<w:numbering xmlns:w="{W}">{"".join(parts)}{nums}</w:numbering>'


DOCX_FACES = ("Times New Roman", "SimSun")  # Latin, East Asian (宋体; Noto Serif CJK SC in the PDF)
# The font table names only the two faces (the default template's named Japanese MS fonts).
FONT_TABLE = (
    f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<w:fonts xmlns:w="{W}">'
    '<w:font w:name="Times New Roman"><w:panose1 w:val="02020603050405020304"/><w:charset w:val="00"/>'
    '<w:family w:val="roman"/><w:pitch w:val="variable"/></w:font>'
    '<w:font w:name="SimSun"><w:altName w:val="宋体"/><w:panose1 w:val="02010600030101010101"/>'
    '<w:charset w:val="86"/><w:family w:val="auto"/><w:pitch w:val="variable"/></w:font></w:fonts>'
)


@cache
def _docx_base(levels: tuple[tuple[str, str | None], ...]) -> bytes:
    """The empty document: page, styles, numbering, language, fonts; built once per wording."""
    from docx.oxml import parse_xml

    doc = Document()
    doc.part._styles_part._element = parse_xml(_styles_xml(DOCX_FACES))
    doc.part.numbering_part._element = parse_xml(_numbering_xml(dict(levels)))
    settings = doc.settings.element
    language = settings.find(qn("w:themeFontLang"))
    if language is not None:
        language.set(qn("w:val"), "en-US")
        language.set(qn("w:eastAsia"), "zh-CN")
    for part in doc.part.package.iter_parts():
        if str(part.partname).endswith("/fontTable.xml"):
            part._blob = FONT_TABLE.encode("utf-8")
    section = doc.sections[0]
    section.page_width, section.page_height = Twips(A4_TWIPS[0]), Twips(A4_TWIPS[1])
    section.top_margin, section.bottom_margin = Twips(MARGINS_TWIPS["top"]), Twips(MARGINS_TWIPS["bottom"])
    section.left_margin, section.right_margin = Twips(MARGINS_TWIPS["left"]), Twips(MARGINS_TWIPS["right"])
    section.header_distance = section.footer_distance = Twips(851)  # 1.5 cm
    buffer = io.BytesIO()
    doc.save(buffer)
    return buffer.getvalue()


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


def _widths(table: Any, widths: tuple[int, ...], *, borders: bool = True) -> None:
    """Fixed column widths in twips (Word and LibreOffice otherwise size columns by content)."""
    tbl = table._tbl
    properties = tbl.tblPr
    for tag, value in (("w:tblW", sum(widths)),):
        element = properties.find(qn(tag))
        if element is None:
            element = OxmlElement(tag)
            properties.append(element)
        element.set(qn("w:w"), str(value))
        element.set(qn("w:type"), "dxa")
    layout = OxmlElement("w:tblLayout")
    layout.set(qn("w:type"), "fixed")
    properties.append(layout)
    if not borders:
        none = OxmlElement("w:tblBorders")
        for side in ("top", "left", "bottom", "right", "insideH", "insideV"):
            edge = OxmlElement(f"w:{side}")
            edge.set(qn("w:val"), "nil")
            none.append(edge)
        properties.append(none)
    grid = tbl.tblGrid
    for column, width in zip(grid.findall(qn("w:gridCol")), widths, strict=True):
        column.set(qn("w:w"), str(width))
    for row in tbl.tr_lst:
        for cell, width in zip(row.tc_lst, widths, strict=False):
            cell.get_or_add_tcPr().get_or_add_tcW().set(qn("w:w"), str(width))
            cell.tcPr.tcW.set(qn("w:type"), "dxa")


def _cell_text(cell: Any, lines: list[str], style_id: str, *, bold: bool = False) -> None:
    """The cell's paragraphs, one per line, in the table style."""
    first = cell.paragraphs[0]
    for index, line in enumerate(lines):
        paragraph = first if index == 0 else cell.add_paragraph()
        paragraph._p.style = style_id
        run = paragraph.add_run(line)
        if bold:
            run.bold = True


def _keep_with_next(paragraph: Any) -> None:
    paragraph.paragraph_format.keep_with_next = True


def _row_cant_split(row: Any, height: int | None = None) -> None:
    properties = row._tr.get_or_add_trPr()
    properties.append(OxmlElement("w:cantSplit"))
    if height is not None:
        row.height = Twips(height)
        row.height_rule = WD_ROW_HEIGHT_RULE.AT_LEAST


def _seal_box(cell: Any) -> None:
    """A dashed 5 cm square inside the cell, where the company seal goes."""
    box = cell.add_table(rows=1, cols=1)
    _widths(box, (SEAL_TWIPS,))
    properties = box._tbl.tblPr
    borders = OxmlElement("w:tblBorders")
    for side in ("top", "left", "bottom", "right"):
        edge = OxmlElement(f"w:{side}")
        edge.set(qn("w:val"), "dashed")
        edge.set(qn("w:sz"), "6")
        edge.set(qn("w:space"), "0")
        edge.set(qn("w:color"), "000000")
        borders.append(edge)
    properties.append(borders)
    row = box.rows[0]
    row.height = Twips(SEAL_TWIPS)
    row.height_rule = WD_ROW_HEIGHT_RULE.EXACTLY
    row._tr.get_or_add_trPr().append(OxmlElement("w:cantSplit"))
    cell.add_paragraph()  # Word needs a paragraph after a nested table


def to_docx(document: Composed, languages: tuple[str, ...], *, compliance_map: bool = False) -> bytes:
    """The agreement; with `compliance_map`, only the internal requirement -> clause table."""
    phrases = document.phrases
    levels = tuple((lang, _clause_number_text(phrases, lang)) for lang in ("zh", "en"))
    doc = Document(io.BytesIO(_docx_base(levels)))
    section = doc.sections[0]
    header = section.header.paragraphs[0]
    header._p.style = "Header"
    header.text = header_text(document, languages)
    footer = section.footer.paragraphs[0]
    footer._p.style = "Footer"
    _page_number(footer)

    def styled(text: str, style_id: str) -> Any:
        paragraph = doc.add_paragraph(text)
        paragraph._p.style = style_id
        return paragraph

    if compliance_map:
        for lang in languages:
            styled(document.title[lang], "Title")
        _annex_docx(doc, document, languages, styled, new_page=False)
        buffer = io.BytesIO()
        doc.save(buffer)
        return buffer.getvalue()

    for index, lang in enumerate(languages):
        title = styled(document.title[lang], "Title")
        if index:  # the second language's title, smaller: one line under the first
            title.runs[0].font.size = Twips(280)
    table = doc.add_table(rows=0, cols=2)
    table.style = doc.styles["Table Grid"]
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    for label_words, value in document.parties:
        cells = table.add_row().cells
        _cell_text(cells[0], [joined(label_words, languages)], "TableText", bold=True)
        _cell_text(cells[1], list(dict.fromkeys(value[lang] for lang in languages)), "TableText")
    label_width = 2900 if len(languages) == 2 else 2200
    _widths(table, (label_width, TEXT_WIDTH - label_width))

    for clause in document.clauses:
        for lang in languages:
            if _clause_number_text(phrases, lang) is None:
                styled(document.heading(clause, lang), "Heading1")
            else:
                styled(clause.title[lang], CLAUSE_STYLES[lang])
            body_style = "BodyTextZh" if lang == "zh" else "BodyText"
            for paragraph in clause.paragraphs[lang]:
                styled(paragraph, body_style)
    if len(languages) == 2:
        for lang in languages:
            styled(document.phrases.say(PRECEDENCE, lang), "BodyTextZh" if lang == "zh" else "BodyText")
    end = styled(joined(document.words(END_OF_TEXT), languages).replace(" / ", " "), "Normal")
    end.alignment = WD_ALIGN_PARAGRAPH.CENTER

    signatures_heading = styled(joined(document.words(SIGNATURES), languages), "Heading1")
    _keep_with_next(signatures_heading)
    block = doc.add_table(rows=1, cols=2)
    half = TEXT_WIDTH // 2
    for cell, party, name in zip(block.rows[0].cells, PARTY_ROLES, signing_names(document), strict=True):
        _cell_text(cell, [joined(document.words(party), languages) + FILL_IN], "TableText", bold=True)
        _cell_text_more(cell, [name[lang] for lang in dict.fromkeys(languages)])
        _cell_text_more(cell, ["", joined(document.words(SIGNATURE), languages) + FILL_IN, "", ""])
        _cell_text_more(cell, [joined(document.words(SEAL), languages) + FILL_IN])
        _seal_box(cell)
        _cell_text_more(cell, [joined(document.words(DATE), languages) + FILL_IN + date_blank(document, languages)])
    _row_cant_split(block.rows[0])
    _widths(block, (half, TEXT_WIDTH - half), borders=False)
    styled(joined(document.words(SIGNING_PLACE), languages) + FILL_IN + "_" * 24, "Normal")

    if document.coverage:
        _annex_docx(doc, document, languages, styled)

    buffer = io.BytesIO()
    doc.save(buffer)
    return buffer.getvalue()


def _cell_text_more(cell: Any, lines: list[str]) -> None:
    for line in lines:
        paragraph = cell.add_paragraph(line)
        paragraph._p.style = "TableText"


def _annex_docx(
    doc: Any, document: Composed, languages: tuple[str, ...], styled: Any, *, new_page: bool = True
) -> None:
    heading = styled(joined(document.words(ANNEX), languages), "Heading1")
    heading.paragraph_format.page_break_before = new_page
    styled(joined(document.words(INTERNAL), languages).replace(" / ", " "), "Normal")
    annex = doc.add_table(rows=1, cols=3)
    annex.style = doc.styles["Table Grid"]
    for cell, column in zip(annex.rows[0].cells, ANNEX_COLUMNS, strict=True):
        _cell_text(cell, [joined(document.words(column), languages)], "TableText", bold=True)
    for row in document.coverage:
        for cell, text in zip(annex.add_row().cells, annex_cells(row, languages), strict=True):
            _cell_text(cell, [text], "TableText")
    _widths(annex, (TEXT_WIDTH - 3300, 1900, 1400))


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


def to_html(document: Composed, languages: tuple[str, ...], *, compliance_map: bool = False) -> str:
    """The PDF's HTML, from the template; every value is escaped there. With `compliance_map`,
    only the internal requirement -> clause table."""
    return _html_template().render(
        document=document,
        compliance_map=compliance_map,
        languages=languages,
        both=len(languages) == 2,
        font_family=FONT_FAMILY,
        header=header_text(document, languages),
        joined=lambda label: joined(label, languages),
        distinct=lambda value: list(dict.fromkeys(value[lang] for lang in languages)),
        words=lambda key: joined(document.words(key), languages),
        say=document.phrases.say,
        annex_cells=lambda row: annex_cells(row, languages),
        signatures=SIGNATURES,
        party_roles=PARTY_ROLES,
        signatories=document.signatories,
        signature=SIGNATURE,
        seal=SEAL,
        date=DATE,
        date_blank=date_blank(document, languages),
        signing_place=SIGNING_PLACE,
        precedence=PRECEDENCE,
        end_of_text=END_OF_TEXT,
        internal=INTERNAL,
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


def to_pdf(document: Composed, languages: tuple[str, ...], *, compliance_map: bool = False) -> bytes:
    from weasyprint import HTML

    pdf: bytes = HTML(string=to_html(document, languages, compliance_map=compliance_map)).write_pdf()
    return pdf
