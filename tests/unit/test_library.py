"""The clause library refuses what would put a blank or a wrong reference into a contract."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from app.agreements.library import LIBRARY_DIR, LibraryError, load, write_lock
from app.agreements.rendering import zh_number


@pytest.fixture
def copy(tmp_path: Path) -> Path:
    target = tmp_path / "contract_templates"
    shutil.copytree(LIBRARY_DIR, target)
    return target


def test_the_shipped_library_is_consistent_and_locked() -> None:
    library = load()
    assert library.problems() == []
    template = library.templates["pipl-entrusted-processing"]
    version = template.version()
    assert version is not None and version.published is not None
    covered = {requirement for clause in library.clauses_of(version) for requirement in clause.covers}
    assert {f"A{n}" for n in range(1, 13)} <= covered
    assert {f"B{n}" for n in range(1, 11)} <= covered


def test_every_clause_has_both_languages() -> None:
    for clause in load().clauses.values():
        assert clause.paragraphs("zh") and clause.paragraphs("en"), clause.key


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new), encoding="utf-8")


def test_a_placeholder_typo_is_an_error(copy: Path) -> None:
    _edit(copy / "clauses" / "purpose.v1.yaml", "{{engagement.purpose}}", "{{engagement.purpse}}")
    with pytest.raises(LibraryError, match=r"purpose.v1.yaml: unknown placeholder \{\{engagement.purpse\}\}"):
        load(copy)


def test_a_malformed_placeholder_is_an_error(copy: Path) -> None:
    _edit(copy / "clauses" / "purpose.v1.yaml", "{{engagement.purpose}}", "{{engagement.purpose}")
    with pytest.raises(LibraryError, match="malformed placeholder"):
        load(copy)


def test_an_unknown_requirement_or_condition_is_an_error(copy: Path) -> None:
    _edit(copy / "clauses" / "purpose.v1.yaml", "covers: [A1]", "covers: [A99]")
    with pytest.raises(LibraryError, match="covers unknown requirement A99"):
        load(copy)
    _edit(copy / "clauses" / "purpose.v1.yaml", "covers: [A99]", "covers: [A1]\nwhen: raining")
    with pytest.raises(LibraryError, match="unknown condition 'raining'"):
        load(copy)


def test_a_template_naming_a_missing_clause_is_an_error(copy: Path) -> None:
    _edit(copy / "pipl-entrusted-processing.yaml", "- purpose.v1", "- purpose.v7")
    with pytest.raises(LibraryError, match=r"names purpose\.v7, which does not exist"):
        load(copy)


def test_editing_a_published_version_is_detected(copy: Path) -> None:
    _edit(copy / "clauses" / "liability.v1.yaml", "应当承担赔偿责任", "可以承担赔偿责任")
    problems = load(copy).problems()
    assert len(problems) == 1
    assert "pipl-entrusted-processing@1 was published and has changed" in problems[0]


def test_a_new_version_is_locked_without_touching_the_old(copy: Path) -> None:
    (copy / "clauses" / "liability.v2.yaml").write_text(
        (copy / "clauses" / "liability.v1.yaml").read_text(encoding="utf-8").replace("version: 1", "version: 2"),
        encoding="utf-8",
    )
    _edit(
        copy / "pipl-entrusted-processing.yaml",
        "      - governing-law.v1\n",
        "      - governing-law.v1\n"
        "  - version: 2\n    published: 2026-12-01\n    clauses: [parties.v1, liability.v2]\n",
    )
    library = load(copy)
    assert library.problems() == ["pipl-entrusted-processing@2 is published but not in published.lock: run "
                                  "`dpa templates lock`"]  # fmt: skip
    before = dict(library.lock)
    added = write_lock(library, copy)
    assert list(added) == ["pipl-entrusted-processing@2"]
    relocked = load(copy)
    assert relocked.problems() == []
    assert {key: relocked.lock[key] for key in before} == before


def test_chinese_article_numbers() -> None:
    assert [zh_number(n) for n in (1, 9, 10, 11, 20, 24)] == ["一", "九", "十", "十一", "二十", "二十四"]
