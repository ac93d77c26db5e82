"""The questionnaire templates: contract_templates/questionnaires/v<n>.yaml, beside the clause library.

Like the clause library (app/agreements/library.py), the templates are plain YAML a lawyer
reviews in a diff, refused at load with the file and the reason when inconsistent, and a
published version never changes: published.lock beside them holds the SHA-256 of each
published version's full text, `dpa templates check` fails when one was edited, and `dpa
templates lock` adds a newly published version (never rewriting an entry).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from functools import cache
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from app.agreements.library import LIBRARY_DIR, Bilingual
from app.questionnaires.schemas import FaceStorage, OptionPublic, QuestionPublic, QuestionType

QUESTIONNAIRE_DIR = LIBRARY_DIR / "questionnaires"
LOCK_FILE = "published.lock"
ID_PATTERN = r"^[a-z][a-z0-9_]{0,59}$"
CERTIFICATIONS = frozenset(
    {"mlps_level_2", "mlps_level_3", "mlps_level_4", "iso_iec_27001", "iso_iec_27701", "pi_protection", "none"}
)
# The facts of an engagement a question may feed (app/findings/rules.py reads them), each with the
# answer type it takes and, for a choice, the values the code knows.
FACTS: dict[str, tuple[QuestionType, frozenset[str] | None]] = {
    "face_storage": (QuestionType.choice, frozenset(member.value for member in FaceStorage)),
    "transfers_abroad": (QuestionType.yes_no, None),
    "certifications": (QuestionType.multi_choice, CERTIFICATIONS),
    "security_assessment": (QuestionType.yes_no, None),
}
CHOICES = (QuestionType.choice, QuestionType.multi_choice)


class QuestionnaireLibraryError(ValueError):
    """A questionnaire template is inconsistent; the message names the file and the reason."""


class Option(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    value: str = Field(pattern=ID_PATTERN)
    zh: str = Field(min_length=1)
    en: str = Field(min_length=1)


class Question(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    id: str = Field(pattern=ID_PATTERN)
    type: QuestionType
    required: bool = False
    text: Bilingual
    evidences: tuple[str, ...] = Field(min_length=1)  # the article or standard the answer evidences
    fact: str | None = None
    options: tuple[Option, ...] = ()

    @model_validator(mode="after")
    def _consistent(self) -> Question:
        if (self.type in CHOICES) != bool(self.options):
            raise ValueError(f"{self.id}: a choice needs options, and only a choice takes them")
        values = [option.value for option in self.options]
        if len(set(values)) != len(values):
            raise ValueError(f"{self.id}: an option value appears twice")
        if self.fact is not None:
            if self.fact not in FACTS:
                raise ValueError(f"{self.id}: unknown fact {self.fact!r}; one of {', '.join(sorted(FACTS))}")
            kind, known = FACTS[self.fact]
            if self.type != kind:
                raise ValueError(f"{self.id}: the fact {self.fact} takes a {kind} answer")
            if known is not None and set(values) - known:
                raise ValueError(f"{self.id}: the fact {self.fact} knows only {', '.join(sorted(known))}")
        return self

    def values(self) -> list[str]:
        return [option.value for option in self.options]

    def shown(self, value: Any, files: Mapping[str, str] | None = None) -> str:
        """An answer in words, Chinese then English (a file: its names, from `files` by id)."""
        if value is None:
            return ""
        if self.type == QuestionType.yes_no:
            return "是 yes" if value else "否 no"
        if self.type in CHOICES:
            labels = {option.value: f"{option.zh} {option.en}" for option in self.options}
            chosen = value if isinstance(value, list) else [value]
            return "；".join(labels.get(str(item), str(item)) for item in chosen)
        if self.type == QuestionType.file:
            return "；".join((files or {}).get(str(item), str(item)) for item in value)
        return str(value)


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    id: str = Field(pattern=ID_PATTERN)
    title: Bilingual
    questions: tuple[Question, ...] = Field(min_length=1)


class QuestionnaireTemplate(BaseModel):
    """One version of the questionnaire."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    id: str
    version: int = Field(ge=1)
    published: date | None = None
    title: Bilingual
    sections: tuple[Section, ...] = Field(min_length=1)

    @property
    def key(self) -> str:
        return f"{self.id}@{self.version}"

    def questions(self) -> dict[str, Question]:
        return {question.id: question for section in self.sections for question in section.questions}

    def public(self) -> list[QuestionPublic]:
        """Every question, in order, in both languages."""
        return [
            QuestionPublic(
                id=question.id,
                section=section.id,
                type=question.type,
                required=question.required,
                zh=question.text.zh,
                en=question.text.en,
                evidences=list(question.evidences),
                options=[OptionPublic(**option.model_dump()) for option in question.options],
            )
            for section in self.sections
            for question in section.questions
        ]

    def fingerprint(self) -> str:
        content = self.model_dump(mode="json")
        return hashlib.sha256(json.dumps(content, ensure_ascii=False, sort_keys=True).encode()).hexdigest()


@dataclass(frozen=True)
class QuestionnaireLibrary:
    versions: dict[int, QuestionnaireTemplate]
    lock: dict[str, str]

    def newest(self) -> QuestionnaireTemplate:
        """The newest published version: what a new questionnaire is sent with."""
        published = [template for template in self.versions.values() if template.published is not None]
        if not published:
            raise QuestionnaireLibraryError("no questionnaire version is published")
        return max(published, key=lambda template: template.version)

    def version(self, number: int) -> QuestionnaireTemplate:
        return self.versions[number]

    def published(self) -> dict[str, str]:
        return {t.key: t.fingerprint() for t in self.versions.values() if t.published is not None}

    def unlocked(self) -> dict[str, str]:
        return {name: value for name, value in self.published().items() if name not in self.lock}

    def problems(self) -> list[str]:
        """Published versions that changed since publication, or that the lock does not know."""
        issues = []
        for name, fingerprint in self.published().items():
            if name not in self.lock:
                issues.append(f"questionnaire {name} is published but not in {LOCK_FILE}: run `dpa templates lock`")
            elif self.lock[name] != fingerprint:
                issues.append(
                    f"questionnaire {name} was published and has changed since: write a new version "
                    "(v<n+1>.yaml) instead of editing a published one"
                )
        return issues


def _check(template: QuestionnaireTemplate, path: Path) -> None:
    if path.name != f"v{template.version}.yaml":
        raise QuestionnaireLibraryError(
            f"{path.name}: holds version {template.version}; name it v{template.version}.yaml"
        )
    ids = [question.id for section in template.sections for question in section.questions]
    twice = sorted({name for name in ids if ids.count(name) > 1})
    if twice:
        raise QuestionnaireLibraryError(f"{path.name}: question {twice[0]} appears twice")
    facts = [question.fact for section in template.sections for question in section.questions if question.fact]
    if len(set(facts)) != len(facts):
        raise QuestionnaireLibraryError(f"{path.name}: a fact is fed by two questions")


def load(directory: Path = QUESTIONNAIRE_DIR) -> QuestionnaireLibrary:
    versions: dict[int, QuestionnaireTemplate] = {}
    for path in sorted(directory.glob("v*.yaml")):
        try:
            raw = yaml.safe_load(path.read_text(encoding="utf-8"))
            template = QuestionnaireTemplate.model_validate(raw)
        except (OSError, yaml.YAMLError) as error:
            raise QuestionnaireLibraryError(f"{path.name}: cannot read: {error}") from None
        except ValidationError as error:
            first = error.errors(include_url=False)[0]
            where = ".".join(str(part) for part in first["loc"]) or "file"
            raise QuestionnaireLibraryError(f"{path.name}: {where}: {first['msg']}") from None
        _check(template, path)
        versions[template.version] = template
    lock_path = directory / LOCK_FILE
    lock = json.loads(lock_path.read_text(encoding="utf-8")) if lock_path.exists() else {}
    return QuestionnaireLibrary(versions=versions, lock=lock)


def write_lock(library: QuestionnaireLibrary, directory: Path = QUESTIONNAIRE_DIR) -> dict[str, str]:
    """Add fingerprints of newly published versions; existing entries never change."""
    added = library.unlocked()
    if added:
        merged = {**library.lock, **added}
        (directory / LOCK_FILE).write_text(json.dumps(merged, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return added


@cache
def questionnaires() -> QuestionnaireLibrary:
    """The templates the service uses, loaded once; an inconsistency stops the start."""
    loaded = load()
    problems = loaded.problems()
    if problems:
        raise QuestionnaireLibraryError(problems[0])
    return loaded
