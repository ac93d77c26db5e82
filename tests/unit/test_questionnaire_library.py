"""The questionnaire templates: consistent, bilingual, and a published version never changes."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from app.cli import cli
from app.questionnaires.library import (
    FACTS,
    QUESTIONNAIRE_DIR,
    QuestionnaireLibraryError,
    load,
    questionnaires,
    write_lock,
)
from app.questionnaires.schemas import QuestionType


@pytest.fixture
def copy(tmp_path: Path) -> Path:
    target = tmp_path / "questionnaires"
    shutil.copytree(QUESTIONNAIRE_DIR, target)
    return target


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def test_the_shipped_questionnaire_is_consistent_locked_and_covers_the_subjects() -> None:
    template = questionnaires().newest()
    assert template.published is not None and load().problems() == []
    questions = template.questions()
    # Every question speaks both languages and says what it evidences; every fact is fed.
    assert all(q.text.zh and q.text.en and q.evidences for q in questions.values())
    assert {q.fact for q in questions.values() if q.fact} == set(FACTS)
    assert {q.type for q in questions.values()} == set(QuestionType)
    assert {"security", "certifications", "storage", "sub_processors", "cross_border", "incidents", "deletion"} <= {
        section.id for section in template.sections
    }
    assert set(questions["face_storage"].values()) >= {"device", "vendor_cloud", "our_servers"}


def test_editing_a_published_version_fails_the_check(copy: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _edit(copy / "v1.yaml", "仅在人脸识别设备内", "在设备内")
    problems = load(copy).problems()
    assert problems == [
        "questionnaire due-diligence@1 was published and has changed since: write a new version "
        "(v<n+1>.yaml) instead of editing a published one"
    ]
    # `dpa templates check` fails on it too, naming it.
    monkeypatch.setattr("app.questionnaires.library.QUESTIONNAIRE_DIR", copy)
    monkeypatch.setattr(load, "__defaults__", (copy,))
    result = CliRunner().invoke(cli, ["templates", "check"])
    assert result.exit_code != 0 and "due-diligence@1 was published and has changed" in result.output


def test_a_new_version_is_locked_without_touching_the_old(copy: Path) -> None:
    text = (copy / "v1.yaml").read_text(encoding="utf-8")
    (copy / "v2.yaml").write_text(text.replace("version: 1", "version: 2").replace("2026-11-29", "2026-12-01"), "utf-8")
    library = load(copy)
    assert library.problems() == [
        "questionnaire due-diligence@2 is published but not in published.lock: run `dpa templates lock`"
    ]
    before = dict(library.lock)
    assert list(write_lock(library, copy)) == ["due-diligence@2"]
    relocked = load(copy)
    assert relocked.problems() == [] and relocked.newest().version == 2
    assert {key: relocked.lock[key] for key in before} == before


def test_an_inconsistent_question_is_refused_with_the_file(copy: Path) -> None:
    _edit(copy / "v1.yaml", "fact: transfers_abroad", "fact: weather")
    with pytest.raises(QuestionnaireLibraryError, match=r"v1\.yaml: .*unknown fact 'weather'"):
        load(copy)
    _edit(copy / "v1.yaml", "fact: weather", "fact: face_storage")
    with pytest.raises(QuestionnaireLibraryError, match=r"v1\.yaml: .*face_storage takes a choice answer"):
        load(copy)
