"""The clause library refuses what would put a blank or a wrong reference into a contract."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from app.agreements.library import LABELS, LIBRARY_DIR, PHRASES, PHRASES_SINCE, LibraryError, load, write_lock
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
    assert {f"B{n}" for n in range(1, 21)} <= covered
    assert set(library.requirements) == covered, "every requirement has a clause in the newest version"


def test_every_clause_has_both_languages() -> None:
    for clause in load().clauses.values():
        assert clause.paragraphs("zh") and clause.paragraphs("en"), clause.key


def _append_version(copy: Path, version: str) -> None:
    """Add a template version after the shipped ones."""
    path = copy / "pipl-entrusted-processing.yaml"
    path.write_text(path.read_text(encoding="utf-8") + version, encoding="utf-8")


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
    _edit(copy / "clauses" / "parties.v1.yaml", "双方订立本协议", "双方签订本协议")  # used by version 1 only
    problems = load(copy).problems()
    assert len(problems) == 1
    assert "pipl-entrusted-processing@1 was published and has changed" in problems[0]


def test_a_new_version_is_locked_without_touching_the_old(copy: Path) -> None:
    (copy / "clauses" / "liability.v3.yaml").write_text(
        (copy / "clauses" / "liability.v2.yaml").read_text(encoding="utf-8").replace("version: 2", "version: 3"),
        encoding="utf-8",
    )
    _append_version(
        copy, "  - version: 3\n    published: 2026-12-01\n    phrases: 2\n    clauses: [parties.v2, liability.v3]\n"
    )
    library = load(copy)
    assert library.problems() == ["pipl-entrusted-processing@3 is published but not in published.lock: run "
                                  "`dpa templates lock`"]  # fmt: skip
    before = dict(library.lock)
    added = write_lock(library, copy)
    assert list(added) == ["pipl-entrusted-processing@3"]
    relocked = load(copy)
    assert relocked.problems() == []
    assert {key: relocked.lock[key] for key in before} == before


def test_chinese_article_numbers() -> None:
    assert [zh_number(n) for n in (1, 9, 10, 11, 20, 24)] == ["一", "九", "十", "十一", "二十", "二十四"]


# ---------------------------------------------------------------- phrases


def test_the_shipped_phrases_name_every_code_and_say_every_phrase() -> None:
    library = load()
    phrases = library.phrases[max(library.phrases)]
    assert set(phrases.phrases) == set(PHRASES)
    # An older version says every phrase but those added since (PHRASES_SINCE); a document of it
    # takes those from the newest version.
    assert set(library.phrases[1].phrases) == {key for key in PHRASES if key not in PHRASES_SINCE}
    template = library.templates["pipl-entrusted-processing"]
    first = template.version(1)
    assert first is not None
    assert set(library.rendering_phrases(first).phrases) == set(PHRASES)
    assert library.rendering_phrases(first).say("document.signature", "zh") == "授权代表签字"
    for table, codes in LABELS.items():
        assert codes <= set(phrases.labels[table]), table
    assert phrases.say("agreement.audit.on_site", "en", notice_days="7").startswith(
        "The entrusting party may audit on site after 7 days' written notice"
    )
    assert phrases.label("method", "archiving", "zh") == "archiving"  # a code it does not name is shown as itself


def test_a_phrase_without_a_language_is_an_error(copy: Path) -> None:
    _edit(
        copy / "phrases" / "v1.yaml",
        '    en: "The agreement does not renew automatically."\n',
        "",
    )
    with pytest.raises(LibraryError, match=r"v1.yaml: phrases.agreement.renewal.none.en: Field required"):
        load(copy)


def test_an_empty_phrase_is_an_error(copy: Path) -> None:
    _edit(copy / "phrases" / "v1.yaml", 'zh: "本协议不自动续期。"', 'zh: ""')
    with pytest.raises(LibraryError, match=r"phrases.agreement.renewal.none.zh: String should have at least 1"):
        load(copy)


def test_an_unknown_placeholder_in_a_phrase_is_an_error(copy: Path) -> None:
    _edit(copy / "phrases" / "v1.yaml", "提前{{notice_days}}日", "提前{{notice_day}}日")
    with pytest.raises(
        LibraryError,
        match=r"v1.yaml: agreement.audit.on_site: unknown placeholder \{\{notice_day\}\} in the zh text; "
        "it may use notice_days",
    ):
        load(copy)


def test_a_placeholder_a_phrase_leaves_out_is_an_error(copy: Path) -> None:
    _edit(copy / "phrases" / "v1.yaml", "audit on site after {{notice_days}} days'", "audit on site after reasonable")
    with pytest.raises(LibraryError, match=r"agreement.audit.on_site: the en text leaves out \{\{notice_days\}\}"):
        load(copy)


def test_a_placeholder_in_a_phrase_that_takes_none_is_an_error(copy: Path) -> None:
    _edit(copy / "phrases" / "v1.yaml", '"本协议不自动续期。"', '"本协议{{agreement.renewal}}不自动续期。"')
    with pytest.raises(LibraryError, match=r"agreement\.renewal\.none: malformed placeholder in the zh text"):
        load(copy)
    _edit(copy / "phrases" / "v1.yaml", "{{agreement.renewal}}", "{{days}}")
    with pytest.raises(LibraryError, match=r"unknown placeholder \{\{days\}\} in the zh text; it may use none"):
        load(copy)


def test_a_missing_or_unknown_phrase_is_an_error(copy: Path) -> None:
    path = copy / "phrases" / "v1.yaml"
    _edit(path, "  agreement.renewal.none:\n", "  agreement.renewal.never:\n")
    with pytest.raises(LibraryError, match=r"v1\.yaml: phrase agreement\.renewal\.none is missing"):
        load(copy)
    _edit(
        path,
        "  agreement.renewal.never:\n",
        '  agreement.renewal.never: {zh: "从不", en: "never"}\n  agreement.renewal.none:\n',
    )
    with pytest.raises(LibraryError, match=r"v1\.yaml: unknown phrase agreement\.renewal\.never"):
        load(copy)


def test_a_table_of_labels_without_a_code_is_an_error(copy: Path) -> None:
    _edit(copy / "phrases" / "v3.yaml", '    deletion: {zh: "删除", en: "deletion"}\n', "")
    with pytest.raises(LibraryError, match=r"v3\.yaml: labels\.method does not name deletion"):
        load(copy)


def test_an_older_phrases_version_may_lack_a_code_added_since() -> None:
    """phrases v1 was locked before minors_under_18 existed: it shows the code as itself; the
    newest version names it."""
    library = load()
    assert "minors_under_18" not in library.phrases[1].labels["subject"]
    assert library.phrases[1].label("subject", "minors_under_18", "zh") == "minors_under_18"
    assert library.phrases[2].label("subject", "minors_under_18", "zh") == "不满十八周岁的未成年人"


def test_a_template_naming_missing_phrases_is_an_error(copy: Path) -> None:
    _edit(
        copy / "pipl-entrusted-processing.yaml",
        "    published: 2026-11-28\n",
        "    published: 2026-11-28\n    phrases: 9\n",
    )
    with pytest.raises(LibraryError, match="version 1 uses phrases v9, which does not exist"):
        load(copy)


def test_editing_published_phrases_is_detected(copy: Path) -> None:
    _edit(copy / "phrases" / "v1.yaml", "本协议不自动续期。", "本协议不会自动续期。")
    assert load(copy).problems() == [
        "phrases@1 is used by a published template version and has changed since: add a new phrases version "
        "and a new template version that uses it instead of editing this one"
    ]


def test_pointing_a_published_version_at_other_phrases_is_detected(copy: Path) -> None:
    (copy / "phrases" / "v4.yaml").write_text(
        (copy / "phrases" / "v3.yaml").read_text(encoding="utf-8").replace("\nversion: 3\n", "\nversion: 4\n"),
        encoding="utf-8",
    )
    _edit(
        copy / "pipl-entrusted-processing.yaml",
        "    published: 2026-11-28\n",
        "    published: 2026-11-28\n    phrases: 4\n",
    )
    problems = load(copy).problems()
    assert "pipl-entrusted-processing@1 was published and has changed since" in problems[0]
    assert problems[1].startswith("phrases@4 is published but not in published.lock")


def test_new_phrases_are_locked_with_a_new_version_without_touching_the_old(copy: Path) -> None:
    # (phrases v3, the English-text note, is used by no template version yet: the next is v4)
    (copy / "phrases" / "v4.yaml").write_text(
        (copy / "phrases" / "v3.yaml")
        .read_text(encoding="utf-8")
        .replace("\nversion: 3\n", "\nversion: 4\n")
        .replace("本协议不自动续期。", "本协议期限届满即终止，不自动续期。"),
        encoding="utf-8",
    )
    _append_version(
        copy, "  - version: 3\n    published: 2026-12-01\n    phrases: 4\n    clauses: [parties.v2, term.v2]\n"
    )
    library = load(copy)
    assert [problem.split(" ")[0] for problem in library.problems()] == ["pipl-entrusted-processing@3", "phrases@4"]
    before = dict(library.lock)
    assert sorted(write_lock(library, copy)) == ["phrases@4", "pipl-entrusted-processing@3"]
    relocked = load(copy)
    assert relocked.problems() == []
    assert {key: relocked.lock[key] for key in before} == before
    template = relocked.templates["pipl-entrusted-processing"]
    assert relocked.phrases_of(template.versions[1]).say("agreement.renewal.none", "zh") == "本协议不自动续期。"
    assert (
        relocked.phrases_of(template.versions[2]).say("agreement.renewal.none", "zh")
        == "本协议期限届满即终止，不自动续期。"
    )
