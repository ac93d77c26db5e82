"""The clause library: requirements, clauses, phrases and templates, loaded from contract_templates/.

Everything a lawyer reviews is plain YAML in contract_templates/; this module reads it and
refuses, with the file and the reason, anything that would put a blank or a wrong
reference into a signed contract: an unknown placeholder, an unknown requirement id, an
unknown condition, a clause a template names but nobody wrote, a phrase that is missing or
lacks a language, or a published template version whose text (its clauses, or the phrases
it is rendered with) changed since it was published.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from functools import cache
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from app.agreements.schemas import GoverningLaw
from app.engagements.schemas import CrossBorderMechanism, DataSubject, Equipment, ProcessingMethod, VenueType

LIBRARY_DIR = Path(__file__).resolve().parents[2] / "contract_templates"
LOCK_FILE = "published.lock"
PLACEHOLDER = re.compile(r"\{\{\s*([a-z_]+\.[a-z_]+)\s*\}\}")
SLOT = re.compile(r"\{\{\s*([a-z_]+)\s*\}\}")  # in a phrase: {{notice_days}}

# The names clauses may use; app/agreements/context.py gives each a value in each language.
PLACEHOLDERS = frozenset(
    {
        "handler.name", "handler.credit_code", "handler.address",
        "vendor.name", "vendor.identifier", "vendor.address",
        "engagement.name", "engagement.purpose", "engagement.methods", "engagement.storage",
        "engagement.categories", "engagement.sensitive_categories", "engagement.subjects",
        "engagement.individuals", "engagement.retention", "engagement.venues", "engagement.recipients",
        "engagement.mechanism", "engagement.sub_processors",
        "agreement.number", "agreement.term_start", "agreement.term_end", "agreement.renewal",
        "agreement.notice_days", "agreement.deletion_days", "agreement.incident_hours",
        "agreement.audit_rights", "agreement.governing_law",
    }
)  # fmt: skip
# Conditions a clause may depend on; app/agreements/context.py decides each from the data.
CONDITIONS = frozenset({"sensitive", "facial", "biometric_other", "minors", "public_equipment", "cross_border"})
LANGUAGES = ("zh", "en")

# The phrases app/agreements/context.py and rendering.py say (contract_templates/phrases/),
# each with the {{names}} its text must use in each language; "name?" may be used.
PHRASES: dict[str, tuple[str, ...]] = {
    "none": (), "separator": (), "separator.long": (),
    "vendor.identifier.credit_code": ("code",), "vendor.identifier.registration": ("number", "country"),
    "engagement.individuals.estimated": ("count", "as_of"), "engagement.individuals.not_estimated": (),
    "engagement.retention.days": ("days",), "engagement.retention.with_note": ("retention", "note"),
    "engagement.retention.not_agreed": (),
    "engagement.storage.location": ("place", "provider"), "engagement.storage.not_agreed": (),
    "engagement.recipient": ("name", "country"), "engagement.mechanism.undetermined": (),
    "engagement.venue": ("description", "venue_count", "venue_type", "equipment_count", "equipment"),
    "engagement.sub_processor": ("name", "activity", "place"), "engagement.sub_processor.no_activity": (),
    "engagement.english_missing": (),
    "agreement.renewal.automatic": (), "agreement.renewal.none": (),
    "agreement.audit.on_site": ("notice_days",), "agreement.audit.remote": (),
    "date": ("year", "day", "month?", "month_name?"),
    "document.heading": ("number", "title"), "document.number": (),
    "document.entrusting_party": (), "document.entrusted_party": (), "document.credit_code": (),
    "document.identification": (), "document.engagement": (), "document.term": (),
    "document.term_range": ("start", "end"),
    "document.signatures": (), "document.signature": (), "document.seal": (), "document.date": (),
    "document.annex": (), "document.annex.requirement": (), "document.annex.source": (), "document.annex.article": (),
    "document.main_contract": (), "document.signing_place": (), "document.date_blank": (),
    "document.precedence": (), "document.internal": (), "document.end_of_text": (),
}  # fmt: skip
# Phrases a later phrases version added: an earlier (locked) version need not have them, and a
# document of a template version using it takes their words from the newest phrases version
# (they are the document's fixed layout words: the signing block, the first page, notes).
PHRASES_SINCE: dict[str, int] = {
    "document.main_contract": 2, "document.signing_place": 2, "document.date_blank": 2,
    "document.precedence": 2, "document.internal": 2, "document.end_of_text": 2,
    "engagement.english_missing": 3,
}  # fmt: skip


def _codes(enum: type[StrEnum], *leave_out: str) -> frozenset[str]:
    return frozenset(member.value for member in enum) - set(leave_out)


# Tables of labels the phrases must hold, each with the codes it must name (every code the
# registry accepts); a table may name more (a code since retired, say).
LABELS: dict[str, frozenset[str]] = {
    "method": _codes(ProcessingMethod),
    "subject": _codes(DataSubject),
    "mechanism": _codes(CrossBorderMechanism),
    "venue_type": _codes(VenueType),
    "equipment": _codes(Equipment, Equipment.none.value),
    "governing_law": _codes(GoverningLaw),
    "month": frozenset(str(month) for month in range(1, 13)),
}


class LibraryError(ValueError):
    """The clause library is inconsistent; the message names the file and the reason."""


class Bilingual(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    zh: str = Field(min_length=1)
    en: str = Field(min_length=1)


class Phrase(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    zh: str = Field(min_length=1)
    en: str = Field(min_length=1)


class Phrases(BaseModel):
    """One version of contract_templates/phrases/: the wording around the clauses."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    version: int = Field(ge=1)
    phrases: dict[str, Phrase]
    labels: dict[str, dict[str, Bilingual]]

    def say(self, key: str, lang: str, **values: str) -> str:
        """The phrase in one language, its {{names}} filled with `values`."""
        text: str = getattr(self.phrases[key], lang)
        return SLOT.sub(lambda match: values[match.group(1)], text) if "{{" in text else text

    def words(self, key: str) -> dict[str, str]:
        """A phrase without placeholders in every language: {"zh": .., "en": ..}."""
        return {lang: self.say(key, lang) for lang in LANGUAGES}

    def label(self, table: str, code: str, lang: str) -> str:
        """The name of a code; a code the table does not name is shown as itself."""
        found = self.labels[table].get(code)
        return code if found is None else str(getattr(found, lang))

    def fingerprint(self) -> str:
        content = self.model_dump(mode="json")
        return hashlib.sha256(json.dumps(content, ensure_ascii=False, sort_keys=True).encode()).hexdigest()


class EarlierWording(BaseModel):
    """How a requirement read for the template versions published before `until`: their
    annex keeps the words it was published with."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    until: date
    source: str | None = None
    zh: str | None = None
    en: str | None = None


class Requirement(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    id: str
    required: bool
    source: str
    zh: str
    en: str
    # Listed only for template versions published on or after this date (and drafts), so that
    # the annex of a version published before it was added does not change.
    since: date | None = None
    earlier: tuple[EarlierWording, ...] = ()

    def as_of(self, published: date | None) -> Requirement | None:
        """The requirement as a template version published on `published` lists it (None: a
        draft, which lists the current wording); None when that version does not list it."""
        if published is None:
            return self
        if self.since is not None and published < self.since:
            return None
        for wording in sorted(self.earlier, key=lambda earlier: earlier.until):
            if published < wording.until:
                changed = wording.model_dump(exclude={"until"}, exclude_none=True)
                return self.model_copy(update=changed)
        return self

    def row(self) -> dict[str, Any]:
        """What the annex and the coverage table show of it."""
        return self.model_dump(include={"id", "required", "source", "zh", "en"})


class Clause(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    id: str
    version: int = Field(ge=1)
    title: Bilingual
    covers: tuple[str, ...] = ()
    when: str | None = None
    text: Bilingual

    @property
    def key(self) -> str:
        return f"{self.id}.v{self.version}"

    def paragraphs(self, lang: str) -> list[str]:
        text: str = getattr(self.text, lang)
        return [part.strip() for part in text.split("\n\n") if part.strip()]


class TemplateVersion(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    version: int = Field(ge=1)
    published: date | None = None
    # The phrases version (contract_templates/phrases/v<n>.yaml) the version is rendered with.
    phrases: int = Field(default=1, ge=1)
    clauses: tuple[str, ...]


class Template(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    id: str
    title: Bilingual
    versions: tuple[TemplateVersion, ...]

    def version(self, number: int | None = None) -> TemplateVersion | None:
        """The given version, or the newest published one."""
        if number is None:
            published = [v for v in self.versions if v.published is not None]
            return max(published, key=lambda v: v.version) if published else None
        return next((v for v in self.versions if v.version == number), None)


@dataclass(frozen=True)
class Library:
    requirements: dict[str, Requirement]
    clauses: dict[str, Clause]
    templates: dict[str, Template]
    lock: dict[str, str]
    phrases: dict[int, Phrases] = field(default_factory=dict)

    def clauses_of(self, version: TemplateVersion) -> list[Clause]:
        return [self.clauses[key] for key in version.clauses]

    def requirements_of(self, version: TemplateVersion) -> list[Requirement]:
        """The requirements a version's annex lists, worded as when it was published."""
        found = (requirement.as_of(version.published) for requirement in self.requirements.values())
        return [requirement for requirement in found if requirement is not None]

    def phrases_of(self, version: TemplateVersion) -> Phrases:
        return self.phrases[version.phrases]

    def rendering_phrases(self, version: TemplateVersion) -> Phrases:
        """The version's phrases, with the phrases added since (PHRASES_SINCE) taken from the
        newest phrases version, so that an older agreement still renders every layout word."""
        own = self.phrases_of(version)
        missing = [key for key in PHRASES if key not in own.phrases]
        if not missing:
            return own
        newest = self.phrases[max(self.phrases)]
        added = {key: newest.phrases[key] for key in missing if key in newest.phrases}
        return own.model_copy(update={"phrases": {**own.phrases, **added}})

    def fingerprint(self, template: Template, version: TemplateVersion) -> str:
        """SHA-256 of everything a version says: its clauses' full text, in order, and which
        phrases version it uses (that version's text has a fingerprint of its own, "phrases@n").
        Phrases version 1 is left out, so that versions published before the phrases were data
        keep their fingerprint: version 1 holds the words the code said then."""
        content: dict[str, Any] = {
            "template": template.id,
            "title": template.title.model_dump(),
            "version": version.version,
            "clauses": [clause.model_dump(mode="json") for clause in self.clauses_of(version)],
        }
        if version.phrases != 1:
            content["phrases"] = version.phrases
        return hashlib.sha256(json.dumps(content, ensure_ascii=False, sort_keys=True).encode()).hexdigest()

    def published(self) -> dict[str, str]:
        """Every published version, as {"template@version": fingerprint}, and every phrases
        version a published version uses, as {"phrases@version": fingerprint}."""
        found = {}
        for template in self.templates.values():
            for version in template.versions:
                if version.published is not None:
                    found[f"{template.id}@{version.version}"] = self.fingerprint(template, version)
                    found[f"phrases@{version.phrases}"] = self.phrases_of(version).fingerprint()
        return found

    def unlocked(self) -> dict[str, str]:
        """Published versions whose fingerprint is not yet in the lock."""
        return {name: value for name, value in self.published().items() if name not in self.lock}

    def problems(self) -> list[str]:
        """Published versions that changed since publication, or that the lock does not know."""
        issues = []
        for name, fingerprint in self.published().items():
            if name not in self.lock:
                issues.append(f"{name} is published but not in {LOCK_FILE}: run `dpa templates lock`")
            elif self.lock[name] != fingerprint and name.startswith("phrases@"):
                issues.append(
                    f"{name} is used by a published template version and has changed since: add a new "
                    "phrases version and a new template version that uses it instead of editing this one"
                )
            elif self.lock[name] != fingerprint:
                issues.append(
                    f"{name} was published and has changed since: add new clause versions and a new "
                    "template version instead of editing a published one"
                )
        return issues


def _read(path: Path) -> Any:
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise LibraryError(f"{path.name}: cannot read: {exc}") from None


def _parse(model: type[BaseModel], raw: Any, path: Path) -> Any:
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        where = ".".join(str(part) for part in first["loc"]) or "file"
        raise LibraryError(f"{path.name}: {where}: {first['msg']}") from None


def _check_clause(clause: Clause, path: Path, requirements: dict[str, Requirement]) -> None:
    if path.name != f"{clause.key}.yaml":
        raise LibraryError(f"{path.name}: holds {clause.key}; name the file {clause.key}.yaml")
    for requirement in clause.covers:
        if requirement not in requirements:
            raise LibraryError(f"{path.name}: covers unknown requirement {requirement}")
    if clause.when is not None and clause.when not in CONDITIONS:
        raise LibraryError(f"{path.name}: unknown condition {clause.when!r}; one of {', '.join(sorted(CONDITIONS))}")
    for lang in LANGUAGES:
        text = getattr(clause.text, lang) + getattr(clause.title, lang)
        for name in PLACEHOLDER.findall(text):
            if name not in PLACEHOLDERS:
                raise LibraryError(f"{path.name}: unknown placeholder {{{{{name}}}}} in the {lang} text")
        leftover = PLACEHOLDER.sub("", text)
        if "{{" in leftover or "}}" in leftover:
            raise LibraryError(f"{path.name}: malformed placeholder in the {lang} text")


def _check_phrases(phrases: Phrases, path: Path, *, newest: bool) -> None:
    if path.name != f"v{phrases.version}.yaml":
        raise LibraryError(
            f"{path.name}: holds phrases version {phrases.version}; name the file v{phrases.version}.yaml"
        )
    missing = [key for key in PHRASES if key not in phrases.phrases and PHRASES_SINCE.get(key, 1) <= phrases.version]
    if missing:
        raise LibraryError(f"{path.name}: phrase {missing[0]} is missing")
    for key, phrase in phrases.phrases.items():
        if key not in PHRASES:
            raise LibraryError(f"{path.name}: unknown phrase {key}; the code says only those in library.PHRASES")
        required = {name for name in PHRASES[key] if not name.endswith("?")}
        allowed = {name.rstrip("?") for name in PHRASES[key]}
        for lang in LANGUAGES:
            text: str = getattr(phrase, lang)
            used = set(SLOT.findall(text))
            unknown, left_out = sorted(used - allowed), sorted(required - used)
            if unknown:
                raise LibraryError(
                    f"{path.name}: {key}: unknown placeholder {{{{{unknown[0]}}}}} in the {lang} text; "
                    f"it may use {', '.join(sorted(allowed)) or 'none'}"
                )
            if left_out:
                raise LibraryError(f"{path.name}: {key}: the {lang} text leaves out {{{{{left_out[0]}}}}}")
            leftover = SLOT.sub("", text)
            if "{{" in leftover or "}}" in leftover:
                raise LibraryError(f"{path.name}: {key}: malformed placeholder in the {lang} text")
    for table, labels in phrases.labels.items():
        if table not in LABELS:
            raise LibraryError(f"{path.name}: unknown table of labels {table}; one of {', '.join(sorted(LABELS))}")
        # The newest version names every code; an older one was locked before a code was added
        # since, and shows such a code as itself.
        unnamed = sorted(LABELS[table] - set(labels))
        if unnamed and newest:
            raise LibraryError(f"{path.name}: labels.{table} does not name {', '.join(unnamed)}")
        for code, label in labels.items():
            if any(mark in label.zh + label.en for mark in ("{{", "}}")):
                raise LibraryError(f"{path.name}: labels.{table}.{code}: a label takes no placeholders")
    missing = [table for table in LABELS if table not in phrases.labels]
    if missing:
        raise LibraryError(f"{path.name}: labels.{missing[0]} is missing")


def load(directory: Path = LIBRARY_DIR) -> Library:
    raw_requirements = _read(directory / "requirements.yaml") or {}
    requirements: dict[str, Requirement] = {}
    for raw in raw_requirements.get("requirements", []):
        requirement = _parse(Requirement, raw, directory / "requirements.yaml")
        requirements[requirement.id] = requirement

    clauses: dict[str, Clause] = {}
    for path in sorted((directory / "clauses").glob("*.yaml")):
        clause = _parse(Clause, _read(path), path)
        _check_clause(clause, path, requirements)
        clauses[clause.key] = clause

    phrases: dict[int, Phrases] = {}
    paths: dict[int, Path] = {}
    for path in sorted((directory / "phrases").glob("*.yaml")):
        version_of_phrases = _parse(Phrases, _read(path), path)
        phrases[version_of_phrases.version] = version_of_phrases
        paths[version_of_phrases.version] = path
    for number, version_of_phrases in phrases.items():
        _check_phrases(version_of_phrases, paths[number], newest=number == max(phrases))

    templates: dict[str, Template] = {}
    for path in sorted(directory.glob("*.yaml")):
        if path.name == "requirements.yaml":
            continue
        template = _parse(Template, _read(path), path)
        if path.stem != template.id:
            raise LibraryError(f"{path.name}: holds template {template.id}; name the file {template.id}.yaml")
        numbers = [version.version for version in template.versions]
        if len(set(numbers)) != len(numbers):
            raise LibraryError(f"{path.name}: a version number appears twice")
        for version in template.versions:
            for key in version.clauses:
                if key not in clauses:
                    raise LibraryError(f"{path.name}: version {version.version} names {key}, which does not exist")
            if version.phrases not in phrases:
                raise LibraryError(
                    f"{path.name}: version {version.version} uses phrases v{version.phrases}, which does not exist"
                )
        templates[template.id] = template

    lock_path = directory / LOCK_FILE
    lock = json.loads(lock_path.read_text(encoding="utf-8")) if lock_path.exists() else {}
    return Library(requirements=requirements, clauses=clauses, templates=templates, lock=lock, phrases=phrases)


def write_lock(library: Library, directory: Path = LIBRARY_DIR) -> dict[str, str]:
    """Add fingerprints of newly published versions; existing entries never change."""
    added = library.unlocked()
    if added:
        merged = {**library.lock, **added}
        (directory / LOCK_FILE).write_text(json.dumps(merged, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return added


@cache
def library() -> Library:
    """The library the service uses, loaded once; an inconsistency stops the start."""
    loaded = load()
    problems = loaded.problems()
    if problems:
        raise LibraryError(problems[0])
    return loaded
