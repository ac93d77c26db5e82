"""The clause library: requirements, clauses and templates, loaded from contract_templates/.

Everything a lawyer reviews is plain YAML in contract_templates/; this module reads it and
refuses, with the file and the reason, anything that would put a blank or a wrong
reference into a signed contract: an unknown placeholder, an unknown requirement id, an
unknown condition, a clause a template names but nobody wrote, or a published template
version whose text changed since it was published.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from datetime import date
from functools import cache
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

LIBRARY_DIR = Path(__file__).resolve().parents[2] / "contract_templates"
LOCK_FILE = "published.lock"
PLACEHOLDER = re.compile(r"\{\{\s*([a-z_]+\.[a-z_]+)\s*\}\}")

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


class LibraryError(ValueError):
    """The clause library is inconsistent; the message names the file and the reason."""


class Bilingual(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    zh: str = Field(min_length=1)
    en: str = Field(min_length=1)


class Requirement(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    id: str
    required: bool
    source: str
    zh: str
    en: str


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

    def clauses_of(self, version: TemplateVersion) -> list[Clause]:
        return [self.clauses[key] for key in version.clauses]

    def fingerprint(self, template: Template, version: TemplateVersion) -> str:
        """SHA-256 of everything a version says: its clauses' full text, in order."""
        content = {
            "template": template.id,
            "title": template.title.model_dump(),
            "version": version.version,
            "clauses": [clause.model_dump(mode="json") for clause in self.clauses_of(version)],
        }
        return hashlib.sha256(json.dumps(content, ensure_ascii=False, sort_keys=True).encode()).hexdigest()

    def published(self) -> dict[str, str]:
        """Every published version, as {"template@version": fingerprint}."""
        return {
            f"{template.id}@{version.version}": self.fingerprint(template, version)
            for template in self.templates.values()
            for version in template.versions
            if version.published is not None
        }

    def unlocked(self) -> dict[str, str]:
        """Published versions whose fingerprint is not yet in the lock."""
        return {name: value for name, value in self.published().items() if name not in self.lock}

    def problems(self) -> list[str]:
        """Published versions that changed since publication, or that the lock does not know."""
        issues = []
        for name, fingerprint in self.published().items():
            if name not in self.lock:
                issues.append(f"{name} is published but not in {LOCK_FILE}: run `dpa templates lock`")
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
        templates[template.id] = template

    lock_path = directory / LOCK_FILE
    lock = json.loads(lock_path.read_text(encoding="utf-8")) if lock_path.exists() else {}
    return Library(requirements=requirements, clauses=clauses, templates=templates, lock=lock)


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
