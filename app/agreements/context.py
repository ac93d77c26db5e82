"""What an agreement is generated from: a snapshot of the registry, and its wording per language.

The snapshot is taken when the agreement is created and kept with it, so a later edit of
the engagement never changes an issued agreement silently; `changes` shows what moved.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from pydantic import BaseModel
from pydantic_core import to_jsonable_python

from app.agreements.schemas import (
    AgreementSnapshot,
    AgreementTerms,
    EngagementSnapshot,
    HandlerSnapshot,
    StorageLocationSnapshot,
    SubProcessorSnapshot,
    VendorSnapshot,
    VenueSnapshot,
)
from app.engagements import taxonomy
from app.engagements.models import Engagement, SubProcessor
from app.handler.models import HandlerProfile
from app.vendors.models import Vendor

METHODS = {
    "collection": ("收集", "collection"), "storage": ("存储", "storage"), "use": ("使用", "use"),
    "processing": ("加工", "processing"), "transmission": ("传输", "transmission"), "provision": ("提供", "provision"),
    "disclosure": ("公开", "disclosure"), "deletion": ("删除", "deletion"),
}  # fmt: skip
SUBJECTS = {
    "customers": ("客户", "customers"), "prospective_customers": ("潜在客户", "prospective customers"),
    "visitors": ("访客", "visitors"), "employees": ("员工", "employees"),
    "job_applicants": ("求职者", "job applicants"),
    "minors_under_14": ("不满十四周岁的未成年人", "minors under 14"), "patients": ("患者", "patients"),
    "app_users": ("应用用户", "app users"), "business_contacts": ("业务联系人", "business contacts"),
    "other": ("其他个人", "other individuals"),
}  # fmt: skip
MECHANISMS = {
    "security_assessment": ("数据出境安全评估", "CAC security assessment"),
    "standard_contract": ("个人信息出境标准合同", "standard contract"),
    "certification": ("个人信息保护认证", "certification"),
    "exemption": ("依法豁免的情形", "a statutory exemption"),
}
VENUE_TYPES = {
    "store": ("门店", "stores"), "showroom": ("展厅", "showrooms"), "office": ("办公场所", "offices"),
    "factory": ("工厂", "factories"), "warehouse": ("仓库", "warehouses"), "public_street": ("街道", "streets"),
    "transport_hub": ("交通枢纽", "transport hubs"), "hotel_room": ("宾馆客房", "hotel rooms"),
    "bathroom": ("浴室", "baths"), "changing_room": ("更衣室", "changing rooms"), "toilet": ("卫生间", "toilets"),
    "other": ("其他场所", "other places"),
}  # fmt: skip
EQUIPMENT = {"image_capture": ("图像采集设备", "image-capture devices"),
             "identity_recognition": ("个人身份识别设备", "identity-recognition devices")}  # fmt: skip
GOVERNING_LAW = {"prc": ("中华人民共和国法律", "the laws of the People's Republic of China")}
NONE = {"zh": "无", "en": "none"}
SEPARATOR = {"zh": "、", "en": ", "}


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
        for key in before[part]:
            if before[part][key] != after[part][key]:
                found.append({"field": f"{part}.{key}", "old": before[part][key], "new": after[part][key]})
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


def _labels(codes: list[str], table: dict[str, tuple[str, str]], lang: str) -> str:
    index = 0 if lang == "zh" else 1
    return SEPARATOR[lang].join(table[code][index] if code in table else code for code in codes) or NONE[lang]


def _name(party: HandlerSnapshot | VendorSnapshot, lang: str) -> str:
    first, second = (
        (party.legal_name_zh, party.legal_name_en) if lang == "zh" else (party.legal_name_en, party.legal_name_zh)
    )
    return first or second


def _location(location: StorageLocationSnapshot) -> str:
    place = location.region or location.country
    return f"{place} ({location.provider})" if location.provider else place


def _venues(venues: list[VenueSnapshot], lang: str) -> str:
    parts = []
    for venue in venues:
        if venue.equipment == "none":
            continue
        kind = VENUE_TYPES.get(venue.venue_type, (venue.venue_type,) * 2)
        gear = EQUIPMENT[venue.equipment]
        if lang == "zh":
            parts.append(f"{venue.description}：{venue.venue_count}处{kind[0]}，共{venue.equipment_count}台{gear[0]}")
        else:
            parts.append(
                f"{venue.description}: {venue.venue_count} {kind[1]}, {venue.equipment_count} {gear[1]} in all"
            )
    return ("；" if lang == "zh" else "; ").join(parts) or NONE[lang]


def placeholders(data: AgreementSnapshot, terms: AgreementTerms, number: str, lang: str) -> dict[str, str]:
    """The value of every placeholder (library.PLACEHOLDERS) in one language."""
    zh = lang == "zh"
    handler, vendor, engagement = data.handler, data.vendor, data.engagement
    subs: list[SubProcessorSnapshot] = data.sub_processors
    categories = taxonomy.categories()

    def category_labels(codes: list[str]) -> str:
        return SEPARATOR[lang].join(getattr(categories[c], lang) if c in categories else c for c in codes) or NONE[lang]

    identifier = (
        (
            f"统一社会信用代码：{vendor.unified_social_credit_code}"
            if zh
            else f"unified social credit code: {vendor.unified_social_credit_code}"
        )
        if vendor.unified_social_credit_code
        else (
            f"注册号：{vendor.registration_number}（{vendor.country}）"
            if zh
            else f"registration number {vendor.registration_number} ({vendor.country})"
        )
    )
    count = engagement.individuals_count
    as_of = engagement.individuals_count_as_of
    if count is None:
        individuals = "未估计" if zh else "not estimated"
    else:
        individuals = f"{count:,}人（截至{as_of}）" if zh else f"{count:,} (as of {as_of})"
    days = engagement.retention_days
    retention = ("未约定" if zh else "not agreed") if days is None else (f"{days}日" if zh else f"{days} days")
    if engagement.retention_note:
        retention += f"（{engagement.retention_note}）" if zh else f" ({engagement.retention_note})"
    recipients = SEPARATOR[lang].join(f"{r.name} ({r.country})" for r in engagement.cross_border_recipients)
    mechanism = engagement.cross_border_mechanism
    approved = [s for s in subs if s.handler_consented]
    sub_text = ("；" if zh else "; ").join(
        f"{s.name}（{s.activity or '—'}，{s.region or s.country}）"
        if zh
        else f"{s.name} ({s.activity or '—'}, {s.region or s.country})"
        for s in approved
    )
    if terms.auto_renew:
        renewal = (
            "期限届满前任何一方未书面通知不续期的，本协议自动续期一年，此后亦同。"
            if zh
            else "Unless either party gives notice of non-renewal, the agreement then renews for one year at a time."
        )
    else:
        renewal = "本协议不自动续期。" if zh else "The agreement does not renew automatically."
    if terms.audit_on_site:
        audit = (
            f"委托方可以提前{terms.audit_notice_days}日书面通知后进行现场审计，每年不超过两次；发生安全事件后不受次数限制。"
            if zh
            else f"The entrusting party may audit on site after {terms.audit_notice_days} days' written notice, "
            "at most twice a year, and without that limit after a security incident."
        )
    else:
        audit = (
            "审计以书面问卷和远程检查方式进行。"
            if zh
            else "Audits are carried out by written questionnaire and remote inspection."
        )
    return {
        "handler.name": _name(handler, lang),
        "handler.credit_code": handler.unified_social_credit_code,
        "handler.address": handler.address or NONE[lang],
        "vendor.name": _name(vendor, lang),
        "vendor.identifier": identifier,
        "vendor.address": vendor.address or NONE[lang],
        "engagement.name": engagement.name,
        "engagement.purpose": engagement.purpose,
        "engagement.methods": _labels(engagement.processing_methods, METHODS, lang),
        "engagement.storage": SEPARATOR[lang].join(_location(loc) for loc in engagement.storage_locations)
        or ("未约定" if zh else "not agreed"),
        "engagement.categories": category_labels(engagement.pi_categories),
        "engagement.sensitive_categories": category_labels(taxonomy.sensitive(engagement.pi_categories)),
        "engagement.subjects": _labels(engagement.data_subjects, SUBJECTS, lang),
        "engagement.individuals": individuals,
        "engagement.retention": retention,
        "engagement.venues": _venues(engagement.venues, lang),
        "engagement.recipients": recipients or NONE[lang],
        "engagement.mechanism": MECHANISMS[mechanism][0 if zh else 1]
        if mechanism
        else ("未确定" if zh else "not yet determined"),
        "engagement.sub_processors": sub_text or NONE[lang],
        "agreement.number": number,
        "agreement.term_start": _date(terms.term_start, lang),
        "agreement.term_end": _date(terms.term_end, lang),
        "agreement.renewal": renewal,
        "agreement.notice_days": str(terms.notice_days),
        "agreement.deletion_days": str(terms.deletion_days),
        "agreement.incident_hours": str(terms.incident_notice_hours),
        "agreement.audit_rights": audit,
        "agreement.governing_law": GOVERNING_LAW[terms.governing_law.value][0 if zh else 1],
    }


def _date(day: date, lang: str) -> str:
    return f"{day.year}年{day.month}月{day.day}日" if lang == "zh" else day.strftime("%d %B %Y").lstrip("0")
