"""Which legal requirements an agreement covers, from the clause metadata alone (no text is
filled in): cheap enough to run for the findings of every engagement."""

from __future__ import annotations

from functools import cache

from app.agreements import context
from app.agreements.library import library
from app.agreements.models import Agreement
from app.agreements.schemas import AgreementSnapshot


def covered(agreement: Agreement) -> frozenset[str]:
    """The requirement ids an agreement's clauses cover, from the clause metadata alone
    (no text is filled): cheap enough for the findings of every engagement."""
    template = library().templates.get(agreement.template_id)
    version = template.version(agreement.template_version) if template else None
    if version is None:
        return frozenset()
    return _covered(
        agreement.template_id,
        agreement.template_version,
        frozenset(context.conditions(AgreementSnapshot.model_validate(agreement.snapshot))),
    )


@cache
def _covered(template_id: str, version_number: int, applies: frozenset[str]) -> frozenset[str]:
    lib = library()
    version = lib.templates[template_id].version(version_number)
    assert version is not None
    return frozenset(
        requirement
        for clause in lib.clauses_of(version)
        if clause.when is None or clause.when in applies
        for requirement in clause.covers
    )
