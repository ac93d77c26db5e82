"""The snapshot an agreement keeps is read through a typed model, and stored exactly as before."""

from __future__ import annotations

import copy
import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError
from pydantic_core import to_jsonable_python

from app.agreements import context
from app.agreements.schemas import AgreementSnapshot
from app.engagements.models import Engagement, SubProcessor
from app.engagements.schemas import EngagementCreate, SubProcessorCreate
from app.handler.models import HandlerProfile
from app.vendors.models import Vendor
from tests.factories import credit_code, engagement_body, vendor_body

STORED: dict[str, dict[str, Any]] = json.loads(
    (Path(__file__).parent / "agreement_text" / "stored_snapshots.json").read_text(encoding="utf-8")
)
# The keys the snapshot has been stored with since agreements exist (commit 396bd63).
STORED_FIELDS = {
    "handler": ("legal_name_zh", "legal_name_en", "unified_social_credit_code", "address"),
    "vendor": (
        "legal_name_zh", "legal_name_en", "country", "unified_social_credit_code", "registration_number", "address",
    ),
    "engagement": (
        "name", "purpose", "processing_methods", "pi_categories", "data_subjects", "individuals_count",
        "individuals_count_as_of", "venues", "storage_locations", "leaves_china", "cross_border_recipients",
        "cross_border_mechanism", "retention_days", "retention_note", "legal_basis",
    ),
    "sub_processors": ("name", "activity", "country", "region", "handler_consented", "consented_on"),
}  # fmt: skip
# Keys a snapshot has stored since per-language text (issue 15 item 3), after the others: a
# snapshot stored before has none of them and is stored back without them.
ADDED_FIELDS = {
    "handler": (), "vendor": (), "engagement": ("purpose_en", "retention_note_en"),
    "sub_processors": ("activity_en",),
}  # fmt: skip


@pytest.mark.parametrize("name", list(STORED))
def test_stored_rows_load_and_dump_back_unchanged(name: str) -> None:
    snapshot = AgreementSnapshot.model_validate(STORED[name])
    assert snapshot.model_dump(mode="json") == STORED[name]
    assert json.dumps(snapshot.model_dump(mode="json"), ensure_ascii=False) == json.dumps(
        STORED[name], ensure_ascii=False
    )  # the same keys in the same order, too


def test_typed_fields() -> None:
    snapshot = AgreementSnapshot.model_validate(STORED["every-condition"])
    assert snapshot.vendor.legal_name_zh == "上海慧眼视觉科技有限公司"
    assert snapshot.engagement.individuals_count_as_of == date(2026, 11, 29)
    assert snapshot.engagement.venues[0].equipment == "identity_recognition"
    assert snapshot.sub_processors[0].consented_on == date(2026, 1, 1)
    assert AgreementSnapshot.model_validate(STORED["foreign-vendor"]).vendor.unified_social_credit_code is None


def test_a_key_the_model_does_not_know_is_ignored_and_a_missing_one_is_refused() -> None:
    raw = copy.deepcopy(STORED["crm"])
    raw["engagement"]["a_later_field"] = 1
    raw["vendor"]["website"] = "https://example.com"
    assert AgreementSnapshot.model_validate(raw) == AgreementSnapshot.model_validate(STORED["crm"])
    del raw["vendor"]["legal_name_zh"]
    with pytest.raises(ValidationError, match=r"vendor\.legal_name_zh"):
        AgreementSnapshot.model_validate(raw)


def test_a_code_the_registry_no_longer_knows_still_loads() -> None:
    raw = copy.deepcopy(STORED["crm"])
    raw["engagement"]["processing_methods"] = ["archiving"]
    raw["engagement"]["cross_border_mechanism"] = "a_mechanism_of_2031"
    raw["engagement"]["storage_locations"] = [{"country": "XX", "region": "XX-YY", "provider": ""}]
    assert AgreementSnapshot.model_validate(raw).engagement.processing_methods == ["archiving"]


def test_a_new_snapshot_is_stored_in_the_old_format_with_the_english_texts_after() -> None:
    handler = HandlerProfile(legal_name_zh="上海星驰汽车销售有限公司", unified_social_credit_code=credit_code())
    vendor = Vendor.model_validate(vendor_body())
    body = engagement_body(
        "00000000-0000-0000-0000-000000000001",
        individuals_count_as_of="2026-06-30",
        venues=[
            {"description": "Showrooms", "venue_type": "showroom", "venue_count": 7, "public_place": True,
             "equipment": "identity_recognition", "equipment_count": 22},
        ],
        storage_locations=[{"country": "CN", "region": "CN-SH", "provider": "Aliyun"}, {"country": "SG"}],
        leaves_china=True,
        cross_border_mechanism="standard_contract",
        cross_border_recipients=[{"name": "Hub", "country": "SG"}],
    )  # fmt: skip
    engagement = Engagement.model_validate(EngagementCreate.model_validate(body).model_dump())
    subs = [
        SubProcessor.model_validate(
            SubProcessorCreate(name="Sub", consented_on=date(2026, 1, 1)).model_dump(),
            update={"engagement_id": engagement.id},
        ),
        SubProcessor.model_validate(
            SubProcessorCreate(name="Other", region="CN-GD").model_dump(), update={"engagement_id": engagement.id}
        ),
    ]
    stored = context.snapshot(handler, vendor, engagement, subs).model_dump(mode="json")

    def old(part: str, row: object) -> dict[str, Any]:
        fields = STORED_FIELDS[part] + ADDED_FIELDS[part]
        return {name: to_jsonable_python(getattr(row, name)) for name in fields}

    assert stored == {
        "handler": old("handler", handler),
        "vendor": old("vendor", vendor),
        "engagement": old("engagement", engagement),
        "sub_processors": [old("sub_processors", sub) for sub in subs],
    }
    assert list(stored["engagement"])[-2:] == ["purpose_en", "retention_note_en"]
    assert stored["engagement"]["venues"][0]["signage_posted"] is False
    assert stored["engagement"]["venues"][0]["description_en"] == ""
    assert stored["engagement"]["individuals_count_as_of"] == "2026-06-30"


def test_changes_name_what_moved() -> None:
    old = AgreementSnapshot.model_validate(STORED["crm"])
    raw = copy.deepcopy(STORED["crm"])
    raw["engagement"]["purpose"] = "Something else"
    raw["vendor"]["address"] = "新地址"
    raw["sub_processors"] = []
    found = context.changes(old, AgreementSnapshot.model_validate(raw))
    assert [change["field"] for change in found] == ["vendor.address", "engagement.purpose", "sub_processors"]
    assert found[1] == {
        "field": "engagement.purpose",
        "old": STORED["crm"]["engagement"]["purpose"],
        "new": "Something else",
    }
    assert context.changes(old, old) == []
