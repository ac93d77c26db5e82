"""What a reader sees: the demo camera agreement rendered to page images and looked at.

The PDF goes through pdftoppm (poppler-utils); the DOCX through LibreOffice headless (as a
Chinese Word user's copy would be opened elsewhere), then pdftoppm. Checked on the pages: A4,
every font embedded and the CJK face a Simplified Chinese one, no replacement characters, and a
seal box at least 4.5 cm square beside 盖章 on the signing page. The images stay in
var/test-output/agreement-pages/ (git-ignored) for a person to look at after the run. A last
test reads the DOCX XML itself: page size, margins, language, fonts, styles and numbering.

`make test` installs poppler-utils and libreoffice-writer-nogui; without them the image tests
are skipped with the command that installs them.
"""

from __future__ import annotations

import io
import json
import os
import re
import shutil
import subprocess
import uuid
import zipfile
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from app.agreements import rendering, services
from app.agreements.models import Agreement

ROOT = Path(__file__).resolve().parents[2]
OUTPUT = ROOT / "var" / "test-output" / "agreement-pages"
SNAPSHOTS = json.loads((Path(__file__).parent / "agreement_text" / "stored_snapshots.json").read_text("utf-8"))
MAIN_CONTRACT = "《展厅智能客流分析服务合同》（合同编号：XC-2025-017）"
POINTS_PER_CM = 72 / 2.54
SEAL_MIN_CM = 4.5
W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
# LibreOffice has no SimSun here; a Chinese Office has. Tell fontconfig, for LibreOffice only,
# that SimSun/宋体 is the Song face that is installed, as a Chinese system would resolve it.
FONTCONFIG = """<?xml version="1.0"?>
<!DOCTYPE fontconfig SYSTEM "fonts.dtd">
<fontconfig>
  <include ignore_missing="yes">/etc/fonts/fonts.conf</include>
  <alias binding="same"><family>SimSun</family><prefer><family>Noto Serif CJK SC</family></prefer></alias>
  <alias binding="same"><family>宋体</family><prefer><family>Noto Serif CJK SC</family></prefer></alias>
</fontconfig>
"""


FONTS_CONF = OUTPUT.parent / "fonts.conf"
LIBREOFFICE_FONTS = {"FONTCONFIG_FILE": str(FONTS_CONF)}


def _tool(name: str, package: str) -> str:
    found = shutil.which(name)
    if found is None:
        pytest.skip(f"{name} is missing: apt-get install -y --no-install-recommends {package} (make test does)")
    return found


def camera_agreement() -> Agreement:
    """The demo camera engagement as the agreements table stores it, on the newest template."""
    return Agreement(
        number="DPA-2026-CAMERA01",
        engagement_id=uuid.UUID(int=1),
        vendor_id=uuid.UUID(int=2),
        template_id="pipl-entrusted-processing",
        template_version=2,
        snapshot=json.loads(json.dumps(SNAPSHOTS["camera"])),
        term_start=date(2026, 1, 5),
        term_end=date(2027, 1, 4),
        main_contract=MAIN_CONTRACT,
    )


@pytest.fixture(scope="module")
def rendered() -> dict[str, bytes]:
    """The camera agreement as PDF and DOCX, Chinese and bilingual, written to the output folder."""
    OUTPUT.mkdir(parents=True, exist_ok=True)
    FONTS_CONF.write_text(FONTCONFIG, encoding="utf-8")
    document = services.compose(camera_agreement())
    files = {}
    for lang in ("zh", "bilingual"):
        languages = rendering.LANGUAGE_SETS[lang]
        files[f"camera-{lang}.pdf"] = rendering.to_pdf(document, languages)
        files[f"camera-{lang}.docx"] = rendering.to_docx(document, languages)
    for name, data in files.items():
        (OUTPUT / name).write_bytes(data)
    return files


def _run(*command: str, env: dict[str, str] | None = None, timeout: int = 180) -> str:
    done = subprocess.run(command, capture_output=True, text=True, timeout=timeout, env=env, check=False)  # noqa: S603
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.fixture(scope="module")
def docx_as_pdf(rendered: dict[str, bytes], tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The DOCX files as LibreOffice lays them out, converted to PDF beside them."""
    soffice = _tool("soffice", "libreoffice-writer-nogui")
    work = tmp_path_factory.mktemp("libreoffice")
    env = {**os.environ, **LIBREOFFICE_FONTS, "HOME": str(work)}
    names = [name for name in rendered if name.endswith(".docx")]
    _run(
        soffice,
        f"-env:UserInstallation=file://{work}/profile",  # its own profile: other runs may convert at once
        "--headless",
        "--convert-to",
        "pdf",
        "--outdir",
        str(OUTPUT / "libreoffice"),
        *(str(OUTPUT / name) for name in names),
        env=env,
    )
    return {name: OUTPUT / "libreoffice" / name.replace(".docx", ".pdf") for name in names}


def _pages(pdf: Path) -> list[Path]:
    """Every page as a PNG at 60 dpi (kept), named <file>-<page>.png."""
    pdftoppm = _tool("pdftoppm", "poppler-utils")
    prefix = pdf.with_suffix("")
    for old in pdf.parent.glob(f"{prefix.name}-*.png"):
        old.unlink()
    _run(pdftoppm, "-r", "60", "-png", str(pdf), str(prefix))
    return sorted(pdf.parent.glob(f"{prefix.name}-*.png"))


def _page_sizes(pdf: Path) -> list[tuple[float, float]]:
    info = _run(_tool("pdfinfo", "poppler-utils"), "-f", "1", "-l", "999", str(pdf))
    return [(float(w), float(h)) for w, h in re.findall(r"Page\s+\d+ size:\s+([\d.]+) x ([\d.]+) pts", info)]


def _fonts(pdf: Path) -> list[list[str]]:
    listing = _run(_tool("pdffonts", "poppler-utils"), str(pdf)).splitlines()[2:]
    return [line.split() for line in listing]


def _words(pdf: Path) -> list[tuple[int, str, float, float, float, float]]:
    """(page, word, xMin, yMin, xMax, yMax) in points, from pdftotext -bbox."""
    markup = _run(_tool("pdftotext", "poppler-utils"), "-bbox", str(pdf), "-")
    found = []
    for page, body in enumerate(markup.split("<page ")[1:], start=1):
        for x0, y0, x1, y1, word in re.findall(
            r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">([^<]*)</word>', body
        ):
            found.append((page, word, float(x0), float(y0), float(x1), float(y1)))
    return found


def _seal_box_cm(pdf: Path) -> tuple[float, float]:
    """The dashed square under the first 盖章 (seal): its width and height in cm, measured on a
    72 dpi image of the page (one pixel a point) between 盖章 and the 日期 (date) line below."""
    words = _words(pdf)
    page, _, x0, _, _, y1 = next(w for w in words if w[1].startswith("盖章"))
    below = min(w[3] for w in words if w[0] == page and w[1].startswith("日期") and w[3] > y1)
    prefix = pdf.parent / f"{pdf.stem}-seal"
    _run(_tool("pdftoppm", "poppler-utils"), "-r", "72", "-gray", "-png", "-f", str(page), "-l", str(page),
         "-singlefile", str(pdf), str(prefix))  # fmt: skip
    image = Image.open(f"{prefix}.png").convert("L")
    left, top, right, bottom = int(x0) - 10, int(y1) + 1, int(x0) + 200, int(below) - 1
    region = image.crop((left, top, right, bottom))
    width, height = region.size
    dark = [[region.getpixel((x, y)) < 128 for x in range(width)] for y in range(height)]  # type: ignore[operator]
    columns = [x for x in range(width) if sum(row[x] for row in dark) > 0.3 * height]
    rows = [y for y in range(height) if sum(dark[y]) > 0.3 * (max(columns) - min(columns) if columns else width)]
    assert columns and rows, "no box under 盖章"
    return (max(columns) - min(columns)) / POINTS_PER_CM, (max(rows) - min(rows)) / POINTS_PER_CM


def _check_pages(pdf: Path, *, producer: str) -> None:
    sizes = _page_sizes(pdf)
    assert sizes and all(abs(w - 595.3) < 1 and abs(h - 841.9) < 1 for w, h in sizes), (producer, sizes)  # A4
    fonts = _fonts(pdf)
    assert fonts and all(font[-5] == "yes" for font in fonts), (producer, fonts)  # embedded
    # The CJK face is embedded. (Noto's collection gives every regional face the one CFF name
    # NotoSerifCJKjp, so the face LibreOffice chose is told by fontconfig, not by this name.)
    assert any("CJK" in font[0] for font in fonts), (producer, fonts)
    text = _run(_tool("pdftotext", "poppler-utils"), str(pdf), "-")
    assert "\ufffd" not in text and "上海慧眼视觉科技有限公司" in text.replace("\n", ""), producer
    seal_width, seal_height = _seal_box_cm(pdf)
    assert seal_width >= SEAL_MIN_CM and seal_height >= SEAL_MIN_CM, (producer, seal_width, seal_height)


@pytest.mark.parametrize("lang", ["zh", "bilingual"])
def test_the_pdf_pages_are_a4_in_a_song_face_with_a_seal_box(rendered: dict[str, bytes], lang: str) -> None:
    pdf = OUTPUT / f"camera-{lang}.pdf"
    _check_pages(pdf, producer="WeasyPrint")
    assert any(font[0].endswith("+Noto-Serif-CJK-SC") for font in _fonts(pdf))  # the Simplified Chinese face
    pages = _pages(pdf)
    assert len(pages) >= 2
    text = _run(_tool("pdftotext", "poppler-utils"), "-f", "1", "-l", "1", str(pdf), "-").replace("\n", "")
    assert "DPA-2026-CAMERA01" in text and "所属主合同" in text


@pytest.mark.parametrize("lang", ["zh", "bilingual"])
def test_the_docx_opened_in_libreoffice_is_a4_with_a_seal_box(docx_as_pdf: dict[str, Path], lang: str) -> None:
    fc_match = _run(_tool("fc-match", "fontconfig"), "SimSun:lang=zh-cn", env={**os.environ, **LIBREOFFICE_FONTS})
    assert "Noto Serif CJK SC" in fc_match  # SimSun resolves to the Simplified Chinese Song face
    pdf = docx_as_pdf[f"camera-{lang}.docx"]
    _check_pages(pdf, producer="LibreOffice")
    assert len(_pages(pdf)) >= 2
    text = _run(_tool("pdftotext", "poppler-utils"), str(pdf), "-")
    assert "第一条" in text and "第二十" in text  # Word numbering, laid out by LibreOffice
    assert ("以中文文本为准" in text) == (lang == "bilingual")


def test_the_docx_xml_says_a4_chinese_and_its_own_fonts(rendered: dict[str, bytes]) -> None:
    with zipfile.ZipFile(io.BytesIO(rendered["camera-zh.docx"])) as package:
        document = package.read("word/document.xml").decode()
        styles = package.read("word/styles.xml").decode()
        numbering = package.read("word/numbering.xml").decode()
        settings = package.read("word/settings.xml").decode()
        fonts = package.read("word/fontTable.xml").decode()
    assert '<w:pgSz w:w="11906" w:h="16838"/>' in document  # A4, in twips
    assert re.search(r'<w:pgMar w:top="1440" w:right="1800" w:bottom="1440" w:left="1800"', document)
    assert 'w:eastAsia="zh-CN"' in styles and 'w:eastAsia="zh-CN"' in settings
    assert "ja-JP" not in styles + settings and 'w:eastAsia="en-US"' not in styles
    assert 'w:eastAsia="SimSun"' in styles and 'w:ascii="Times New Roman"' in styles
    assert "Theme" not in styles  # no theme fonts or colours: the document's own styles
    assert re.findall(r'<w:color w:val="([0-9A-F]+)"', styles) and set(
        re.findall(r'<w:color w:val="([0-9A-F]+)"', styles)
    ) == {"000000"}
    assert '<w:altName w:val="宋体"/>' in fonts and "ＭＳ" not in fonts
    assert '<w:numFmt w:val="chineseCounting"/>' in numbering and '<w:lvlText w:val="第%1条"/>' in numbering
    assert '<w:pStyle w:val="ClauseZh"/>' in numbering
    # Chinese paragraphs let a long Latin token break (no wide gaps before a credit code); English
    # ones keep whole words.
    assert re.search(r'w:styleId="BodyTextZh">.*?<w:wordWrap w:val="0"/>', styles)
    assert '<w:pStyle w:val="BodyTextZh"/>' in document
    # The clause headings carry their title only; Word writes the number.
    assert not re.search(r'<w:pStyle w:val="ClauseZh"/>(?:(?!</w:p>).)*<w:t[^>]*>第', document)
    # No blank page: no empty paragraph at the end, no page break but the annex's (absent here).
    assert "w:pageBreakBefore" not in document and 'w:type="page"' not in document
    body = document[document.index("<w:body>") :]
    assert not re.search(r"<w:p>\s*</w:p>\s*<w:sectPr", body) and not re.search(r"<w:p/>\s*<w:sectPr", body)


def test_the_signing_block_in_the_docx_has_a_seal_square(rendered: dict[str, Any]) -> None:
    with zipfile.ZipFile(io.BytesIO(rendered["camera-bilingual.docx"])) as package:
        document = package.read("word/document.xml").decode()
    assert "法定代表人或授权代表（签字） / Legal or authorised representative (signature)" in document
    assert "签订地点 / Place of signing" in document and "年　　月　　日" in document
    square = rendering.SEAL_TWIPS / 567  # twips per cm
    assert square >= SEAL_MIN_CM
    assert f'<w:trHeight w:val="{rendering.SEAL_TWIPS}" w:hRule="exact"/>' in document
    assert document.count('w:val="dashed"') >= 8  # two boxes, four sides each


def test_template_version_2_names_places_where_version_1_printed_codes() -> None:
    version_2 = services.compose(camera_agreement())
    row = camera_agreement()
    row.template_version = 1
    version_1 = services.compose(row)
    assert "中国上海市" in rendering.text_of(version_2, ("zh",)) and "CN-SH" not in rendering.text_of(
        version_2, ("zh",)
    )
    assert "Shanghai, China" in rendering.text_of(version_2, ("en",))
    assert "CN-SH" in rendering.text_of(version_1, ("zh",))  # a published version's text never changes
