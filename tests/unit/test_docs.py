"""The README's examples run as written, and nothing points outside the repository."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _shipped() -> list[Path]:
    files = [ROOT / "README.md", ROOT / "Makefile"]
    for folder in ("app", "contract_templates", "fixtures"):
        files += [path for path in (ROOT / folder).rglob("*") if path.is_file() and path.suffix != ".pyc"]
    return files


def test_nothing_cites_a_file_outside_the_repository() -> None:
    outside = [
        f"{path.relative_to(ROOT)}:{number}"
        for path in _shipped()
        for number, line in enumerate(path.read_text(encoding="utf-8", errors="replace").splitlines(), 1)
        if "../shared" in line or "shared/reference" in line
    ]
    assert not outside, "cite the law by name, not a file outside the repository: " + ", ".join(outside)


def test_readme_urls_are_ascii() -> None:
    """uvicorn answers 400 to raw UTF-8 in a URL: a Chinese query goes through --data-urlencode."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    raw = [url for url in re.findall(r"https?://[^\s\"')]+", readme) if not url.isascii()]
    assert not raw, raw
