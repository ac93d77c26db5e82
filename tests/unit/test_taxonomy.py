from __future__ import annotations

from app.engagements import taxonomy
from app.engagements.schemas import DataSubject
from app.engagements.services import processes_sensitive_pi


def test_taxonomy_loads_with_both_languages() -> None:
    categories = taxonomy.categories()
    assert len(categories) >= 15
    for category in categories.values():
        assert category.zh and category.en


def test_pipl_article_28_categories_are_sensitive() -> None:
    categories = taxonomy.categories()
    for code in (
        "facial_recognition",
        "biometric_other",
        "health",
        "financial_account",
        "location_tracking",
        "religious_belief",
        "specific_identity",
        "minors_data",
    ):
        assert categories[code].sensitive, code
    assert categories["facial_recognition"].biometric
    assert not categories["contact_details"].sensitive


def test_sensitive_when_a_category_is_or_a_minor_is_among_the_subjects() -> None:
    assert processes_sensitive_pi(["facial_recognition"], [DataSubject.visitors])
    assert processes_sensitive_pi(["contact_details"], [DataSubject.minors_under_14])
    assert not processes_sensitive_pi(["contact_details", "basic_profile"], [DataSubject.customers])


def test_unknown_codes_are_reported() -> None:
    assert taxonomy.unknown(["contact_details", "face", "dna"]) == ["face", "dna"]


def test_every_category_shows_the_source_of_its_flag() -> None:
    """GB/T 45574-2025 Annex A (in force 2025-11-01) is the reference list of sensitive PI;
    where its text was not checked the source says so."""
    for category in taxonomy.categories().values():
        assert category.source, category.code
        if category.sensitive:
            assert "GB/T 45574-2025" in category.source, category.code
    identity = taxonomy.categories()["identity_document"]
    assert identity.sensitive and "not checked" in identity.source


def test_a_minor_under_18_is_not_by_itself_sensitive() -> None:
    """Under-18s (the yearly minors' audit) are sensitive PI only when under 14 (PIPL art. 28)."""
    assert not processes_sensitive_pi(["contact_details"], [DataSubject.minors_under_18])
    assert processes_sensitive_pi(["contact_details"], [DataSubject.minors_under_18, DataSubject.minors_under_14])


def test_minors_under_18_include_children_under_14() -> None:
    assert taxonomy.minors_under_18(["contact_details"], [DataSubject.minors_under_18])
    assert taxonomy.minors_under_18(["contact_details"], [DataSubject.minors_under_14])
    assert taxonomy.minors_under_18(["minors_data"], [DataSubject.customers])
    assert not taxonomy.minors_under_18(["contact_details"], [DataSubject.customers, DataSubject.employees])
