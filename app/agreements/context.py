"""What an agreement is generated from: a snapshot of the registry, and the value of each
placeholder in each language.

The snapshot is taken when the agreement is created and kept with it, so a later edit of
the engagement never changes an issued agreement silently; `changes` shows what moved.
The words around the values (sentences, names of codes) are phrases from
contract_templates/phrases/, the version the agreement's template version names; this
module only chooses which phrase applies and what fills it.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from pydantic import BaseModel
from pydantic_core import to_jsonable_python

from app.agreements.library import Phrases
from app.agreements.schemas import (
    AgreementSnapshot,
    AgreementTerms,
    EngagementSnapshot,
    HandlerSnapshot,
    StorageLocationSnapshot,
    SubProcessorSnapshot,
    VendorSnapshot,
)
from app.engagements import labels as registry_words
from app.engagements import taxonomy
from app.engagements.models import Engagement, SubProcessor
from app.handler.models import HandlerProfile
from app.vendors.models import Vendor


def _pick(model: type[BaseModel], row: object) -> dict[str, Any]:
    """The snapshot's fields of a registry row, as JSON (dates as ISO text, codes as text)."""
    return {name: to_jsonable_python(getattr(row, name)) for name in model.model_fields}


def snapshot(
    handler: HandlerProfile, vendor: Vendor, engagement: Engagement, sub_processors: list[SubProcessor]
) -> AgreementSnapshot:
    """The registry data an agreement is generated from; stored as `model_dump(mode="json")`."""
    return AgreementSnapshot.model_validate(
        {
            "handler": _pick(HandlerSnapshot, handler),
            "vendor": _pick(VendorSnapshot, vendor),
            "engagement": _pick(EngagementSnapshot, engagement),
            "sub_processors": [_pick(SubProcessorSnapshot, sub) for sub in sub_processors],
        }
    )


def changes(old: AgreementSnapshot, new: AgreementSnapshot) -> list[dict[str, Any]]:
    """Fields that differ between two snapshots: [{"field": "engagement.purpose", "old": .., "new": ..}],
    the values as stored (JSON)."""
    before, after = old.model_dump(mode="json"), new.model_dump(mode="json")
    found = []
    for part in ("handler", "vendor", "engagement"):
        # An older snapshot lacks the later keys (the English texts): absent is not a change.
        for key in before[part]:
            if key in after[part] and before[part][key] != after[part][key]:
                found.append({"field": f"{part}.{key}", "old": before[part][key], "new": after[part][key]})
        for key in after[part]:
            if key not in before[part] and after[part][key]:
                found.append({"field": f"{part}.{key}", "old": None, "new": after[part][key]})
    if before["sub_processors"] != after["sub_processors"]:
        found.append({"field": "sub_processors", "old": before["sub_processors"], "new": after["sub_processors"]})
    return found


def conditions(data: AgreementSnapshot) -> set[str]:
    """Which conditional clauses apply (library.CONDITIONS)."""
    engagement = data.engagement
    categories, subjects = engagement.pi_categories, engagement.data_subjects
    found = set()
    if taxonomy.sensitive(categories) or "minors_under_14" in subjects:
        found.add("sensitive")
    if "facial_recognition" in categories:
        found.add("facial")
    if "biometric_other" in categories:
        found.add("biometric_other")
    if "minors_under_14" in subjects or "minors_data" in categories:
        found.add("minors")
    if any(v.public_place and v.equipment != "none" for v in engagement.venues):
        found.add("public_equipment")
    if engagement.leaves_china:
        found.add("cross_border")
    return found


def _name(party: HandlerSnapshot | VendorSnapshot, lang: str) -> str:
    first, second = (
        (party.legal_name_zh, party.legal_name_en) if lang == "zh" else (party.legal_name_en, party.legal_name_zh)
    )
    return first or second


def placeholders(
    data: AgreementSnapshot, terms: AgreementTerms, number: str, lang: str, phrases: Phrases
) -> dict[str, str]:
    """The value of every placeholder (library.PLACEHOLDERS) in one language."""
    handler, vendor, engagement = data.handler, data.vendor, data.engagement
    categories = taxonomy.categories()

    def say(key: str, **values: str) -> str:
        return phrases.say(key, lang, **values)

    def text(chinese: str, english: str | None) -> str:
        """Free text in this language: the Chinese value in Chinese; in English its English value,
        or a note that none was written (never the Chinese in the English column). A snapshot
        from before the English values (None) prints its one text in both, as it always did."""
        if lang == "zh" or english is None:
            return chinese
        if english:
            return english
        return say("engagement.english_missing") if chinese else ""

    def listed(items: list[str], separator: str = "separator", empty: str = "none") -> str:
        return say(separator).join(items) or say(empty)

    def labels(table: str, codes: list[str]) -> str:
        return listed([phrases.label(table, code, lang) for code in codes])

    def category_labels(codes: list[str]) -> str:
        return listed([getattr(categories[c], lang) if c in categories else c for c in codes])

    def where(country: str, region: str | None) -> str:
        # Phrases version 1 printed the codes (CN-SH); later versions name the place (Shanghai, China).
        if phrases.version >= 2:
            return registry_words.place(country, region, lang)
        return region or country

    def location(place: StorageLocationSnapshot) -> str:
        named = where(place.country, place.region)
        return say("engagement.storage.location", place=named, provider=place.provider) if place.provider else named

    def venues() -> str:
        return listed(
            [
                say(
                    "engagement.venue",
                    description=text(venue.description, venue.description_en),
                    venue_count=str(venue.venue_count),
                    venue_type=phrases.label("venue_type", venue.venue_type, lang),
                    equipment_count=str(venue.equipment_count),
                    equipment=phrases.label("equipment", venue.equipment, lang),
                )
                for venue in engagement.venues
                if venue.equipment != "none"
            ],
            "separator.long",
        )

    def sub_processors(subs: list[SubProcessorSnapshot]) -> str:
        return listed(
            [
                say(
                    "engagement.sub_processor",
                    name=sub.name,
                    activity=text(sub.activity, sub.activity_en) or say("engagement.sub_processor.no_activity"),
                    place=where(sub.country, sub.region),
                )
                for sub in subs
                if sub.handler_consented
            ],
            "separator.long",
        )

    def day(value: date) -> str:
        return say(
            "date",
            year=str(value.year),
            month=str(value.month),
            month_name=phrases.label("month", str(value.month), lang),
            day=str(value.day),
        )

    if vendor.unified_social_credit_code:
        identifier = say("vendor.identifier.credit_code", code=vendor.unified_social_credit_code)
    else:
        identifier = say(
            "vendor.identifier.registration", number=str(vendor.registration_number), country=vendor.country
        )
    if engagement.individuals_count is None:
        individuals = say("engagement.individuals.not_estimated")
    else:
        individuals = say(
            "engagement.individuals.estimated",
            count=f"{engagement.individuals_count:,}",
            as_of=str(engagement.individuals_count_as_of),
        )
    days = engagement.retention_days
    retention = (
        say("engagement.retention.not_agreed") if days is None else say("engagement.retention.days", days=str(days))
    )
    note = text(engagement.retention_note, engagement.retention_note_en)
    if note:
        retention = say("engagement.retention.with_note", retention=retention, note=note)
    mechanism = engagement.cross_border_mechanism
    if terms.audit_on_site:
        audit = say("agreement.audit.on_site", notice_days=str(terms.audit_notice_days))
    else:
        audit = say("agreement.audit.remote")
    return {
        "handler.name": _name(handler, lang),
        "handler.credit_code": handler.unified_social_credit_code,
        "handler.address": handler.address or say("none"),
        "vendor.name": _name(vendor, lang),
        "vendor.identifier": identifier,
        "vendor.address": vendor.address or say("none"),
        "engagement.name": engagement.name,
        "engagement.purpose": text(engagement.purpose, engagement.purpose_en),
        "engagement.methods": labels("method", engagement.processing_methods),
        "engagement.storage": listed(
            [location(place) for place in engagement.storage_locations], empty="engagement.storage.not_agreed"
        ),
        "engagement.categories": category_labels(engagement.pi_categories),
        "engagement.sensitive_categories": category_labels(taxonomy.sensitive(engagement.pi_categories)),
        "engagement.subjects": labels("subject", engagement.data_subjects),
        "engagement.individuals": individuals,
        "engagement.retention": retention,
        "engagement.venues": venues(),
        "engagement.recipients": listed(
            [say("engagement.recipient", name=r.name, country=r.country) for r in engagement.cross_border_recipients]
        ),
        "engagement.mechanism": phrases.label("mechanism", mechanism, lang)
        if mechanism
        else say("engagement.mechanism.undetermined"),
        "engagement.sub_processors": sub_processors(data.sub_processors),
        "agreement.number": number,
        "agreement.term_start": day(terms.term_start),
        "agreement.term_end": day(terms.term_end),
        "agreement.renewal": say("agreement.renewal.automatic" if terms.auto_renew else "agreement.renewal.none"),
        "agreement.notice_days": str(terms.notice_days),
        "agreement.deletion_days": str(terms.deletion_days),
        "agreement.incident_hours": str(terms.incident_notice_hours),
        "agreement.audit_rights": audit,
        "agreement.governing_law": phrases.label("governing_law", terms.governing_law.value, lang),
    }
