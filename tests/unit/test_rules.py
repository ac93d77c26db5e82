"""One test per rule: a case that raises it and a near miss that does not."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from app.agreements.models import Agreement
from app.agreements.schemas import AgreementStatus, EngagementSnapshot
from app.attestations.models import Attestation
from app.attestations.schemas import AttestationKind, AttestationStatus
from app.engagements.models import SubProcessor
from app.engagements.schemas import CrossBorderMechanism, EngagementProposal
from app.findings.rules import Company, Facts, Raised, evaluate, handler_rules, required_mechanism
from app.handler.models import HandlerProfile
from app.obligations.models import Obligation
from app.obligations.schemas import ObligationKind, ObligationStatus, Party
from app.questionnaires.schemas import DueDiligence, FaceStorage
from app.vendors.models import Vendor
from tests.factories import engagement_body

TODAY = date(2026, 11, 28)
CAMERAS = {
    "description": "Showrooms",
    "venue_type": "showroom",
    "venue_count": 7,
    "public_place": True,
    "equipment": "identity_recognition",
    "equipment_count": 22,
    "purpose_public_security": False,
    "signage_posted": False,
}


def engagement(**fields: Any) -> EngagementProposal:
    body = engagement_body(
        str(uuid.uuid4()),
        **{"retention_days": 365, "pipia_date": "2025-12-01", "pipia_retained_until": "2030-12-31", **fields},
    )
    return EngagementProposal.model_validate(body)


ELSEWHERE = uuid.uuid4()  # the rows a rule does not read (vendor, template) point here
COVERS: dict[uuid.UUID, frozenset[str]] = {}  # what each test agreement covers of A1-A6


def agreement(
    subject: EngagementProposal | None = None,
    covers: frozenset[str] = frozenset({"A1", "A2", "A3", "A4", "A5", "A6"}),
    status: str = "active",
) -> Agreement:
    """An agreement in force, generated from `subject` (so nothing changed since) unless told otherwise."""
    subject = subject or engagement()
    agreed = EngagementSnapshot.model_validate(subject, from_attributes=True)
    made = Agreement(
        id=uuid.uuid4(),
        number="DPA-2026-0001",
        status=AgreementStatus(status),
        created_at=datetime(2026, 1, 1),
        term_start=date(2026, 1, 1),
        term_end=date(2027, 12, 31),
        engagement_id=ELSEWHERE,
        vendor_id=ELSEWHERE,
        template_id="entrusted-processing",
        template_version=1,
        snapshot={"engagement": agreed.model_dump(mode="json")},
    )
    COVERS[made.id] = covers
    return made


def obligation(kind: str, due_on: date, status: str = "open", **fields: Any) -> Obligation:
    return Obligation(
        key=f"{kind}:{due_on}",
        party=Party.handler,
        vendor_id=ELSEWHERE,
        engagement_id=ELSEWHERE,
        rule_id="",
        article="",
        kind=ObligationKind(kind),
        due_on=due_on,
        status=ObligationStatus(status),
        attestation_id=fields.get("attestation_id"),
        basis_on=fields.get("basis_on"),
    )


# What each kind of attestation must say besides what a test sets.
DETAILS: dict[str, dict[str, Any]] = {
    "incident": {
        "detected_at": "2026-11-20T10:00:00+08:00",
        "description": "A leaked export",
        "pi_categories": ["basic_profile"],
        "individuals_affected": 12,
        "measures_taken": "Access revoked",
    },
    "deletion": {
        "records_deleted": 1200,
        "method": "overwritten",
        "completed_on": "2026-11-01",
        "backups_covered": True,
        "sub_processors_covered": True,
        "signer_name": "王伟",
        "signer_title": "CTO",
    },
    "periodic": {"period_start": "2025-11-01", "period_end": "2026-10-31", "statements": []},
}


def attestation(kind: str, status: str = "submitted", **details: Any) -> Attestation:
    stated = {"kind": kind, "engagement_id": str(uuid.uuid4()), **DETAILS[kind], **details}
    return Attestation(
        id=uuid.uuid4(),
        vendor_id=ELSEWHERE,
        engagement_id=ELSEWHERE,
        kind=AttestationKind(kind),
        status=AttestationStatus(status),
        details=stated,
        submitted_at=datetime(2026, 11, 20, 3, 0, tzinfo=UTC),  # an hour after the incident below was found
    )


def run(subject: EngagementProposal, *, agreements: list[Agreement] | None = None, **facts: Any) -> list[Raised]:
    in_force = [agreement(subject)] if agreements is None else agreements
    return evaluate(
        Facts(
            engagement=subject,
            vendor=Vendor(id=uuid.uuid4(), country="CN"),
            agreements=in_force,
            covered=lambda a: COVERS[a.id],
            today=TODAY,
            **facts,
        )
    )


def rules(raised: list[Raised]) -> list[str]:
    return sorted(item.rule_id for item in raised)


def test_an_ordinary_engagement_raises_nothing() -> None:
    assert rules(run(engagement())) == []


def test_r1_no_agreement_or_one_that_lacks_a_required_item() -> None:
    assert rules(run(engagement(), agreements=[])) == ["R1"]
    [lacking] = run(engagement(), agreements=[agreement(covers=frozenset({"A1", "A2", "A3", "A4", "A5"}))])
    assert lacking.facts["uncovered"] == ["A6"]
    assert rules(run(engagement(), agreements=[agreement(status="draft")])) == ["R1"]  # a draft is not in force


def test_r2_the_vendor_reports_categories_beyond_the_agreement() -> None:
    beyond = attestation("incident", pi_categories=["basic_profile", "location_tracking"])
    [raised] = run(engagement(), attestations=[beyond])
    assert (raised.rule_id, raised.severity, raised.facts["categories_beyond_agreement"]) == (
        "R2",
        "critical",
        ["location_tracking"],
    )
    within = attestation("incident", pi_categories=["basic_profile"])
    assert rules(run(engagement(), attestations=[within])) == []


def test_r3_a_sub_processor_without_consent() -> None:
    subs = [SubProcessor(engagement_id=ELSEWHERE, name="Relay Co.", handler_consented=False)]
    assert rules(run(engagement(), sub_processors=subs)) == ["R3"]
    consented = [SubProcessor(engagement_id=ELSEWHERE, name="Relay Co.", handler_consented=True)]
    assert rules(run(engagement(), sub_processors=consented)) == []
    # Children's PI may not be sub-entrusted at all, consent or not.
    children = engagement(
        data_subjects=["customers", "minors_under_14"],
        guardian_consent_obtained=True,
        legal_basis="consent",
        consent_obtained=True,
        separate_consent_obtained=True,
    )
    [raised] = [r for r in run(children, sub_processors=consented) if r.rule_id == "R3"]
    assert raised.severity == "critical" and "children" in raised.explanation[1]
    assert [r for r in run(children) if r.rule_id == "R3"] == []


def test_r4_no_pipia_or_one_dated_after_processing_began() -> None:
    assert rules(run(engagement(pipia_date=None, pipia_retained_until=None))) == ["R4"]
    late = run(engagement(pipia_date="2026-02-01", pipia_retained_until="2030-12-31", start_date="2026-01-01"))
    assert rules(late) == ["R4"] and late[0].facts["pipia_date"] == "2026-02-01"
    assert (
        rules(run(engagement(pipia_date="2026-01-01", pipia_retained_until="2030-12-31", start_date="2026-01-01")))
        == []
    )


def test_r5_the_pipia_report_kept_three_years_from_the_end_of_the_processing() -> None:
    # The processing ends 2027-12-31: kept until 2030-12-31 at least.
    [short] = run(engagement(pipia_retained_until="2030-12-30"))  # a day short
    assert (short.rule_id, short.facts["needed_until"]) == ("R5", "2030-12-31")
    assert rules(run(engagement(pipia_retained_until="2030-12-31"))) == []
    # No end known yet: three years from the PIPIA, for now.
    assert rules(run(engagement(end_date=None, pipia_retained_until="2028-11-30"))) == ["R5"]
    assert rules(run(engagement(end_date=None, pipia_retained_until="2028-12-01"))) == []


def test_r6_sensitive_pi_on_consent_without_separate_consent() -> None:
    faces = {"pi_categories": ["health"], "legal_basis": "consent", "consent_obtained": True}
    assert rules(run(engagement(**faces))) == ["R6"]
    assert rules(run(engagement(**faces, separate_consent_obtained=True))) == []


def test_r6b_sensitive_pi_on_another_basis_is_for_review() -> None:
    [raised] = run(engagement(pi_categories=["health"], legal_basis="contract"))
    assert (raised.rule_id, raised.severity) == ("R6b", "review")
    assert rules(run(engagement(pi_categories=["basic_profile"], legal_basis="contract"))) == []


def test_r7_children_without_a_guardians_consent() -> None:
    children = {
        "data_subjects": ["customers", "minors_under_14"],
        "legal_basis": "consent",
        "consent_obtained": True,
        "separate_consent_obtained": True,
    }
    assert rules(run(engagement(**children))) == ["R7"]
    assert rules(run(engagement(**children, guardian_consent_obtained=True))) == []


def test_r8_cameras_in_a_public_place_without_signs_or_for_another_purpose() -> None:
    assert rules(run(engagement(venues=[CAMERAS]))) == ["R8"]
    lawful = {**CAMERAS, "purpose_public_security": True, "signage_posted": True}
    assert rules(run(engagement(venues=[lawful]))) == []
    signs_only = {**CAMERAS, "signage_posted": True}
    [raised] = run(engagement(venues=[signs_only]))
    assert "its purpose is not public security" in raised.explanation[1]
    assert "no prominent signs are posted" not in raised.explanation[1]
    private_office = {**CAMERAS, "public_place": False}
    assert rules(run(engagement(venues=[private_office]))) == []
    # Separate consent can open another purpose, for a lawyer to confirm; it never replaces the signs.
    on_consent = {"separate_consent_obtained": True, "legal_basis": "consent", "consent_obtained": True}
    [reviewed] = run(engagement(venues=[signs_only], **on_consent))
    assert (reviewed.rule_id, reviewed.severity) == ("R8", "review")
    [unsigned] = run(engagement(venues=[CAMERAS], **on_consent))
    assert unsigned.severity == "critical" and "no prominent signs are posted" in unsigned.explanation[1]
    assert "its purpose is not public security" not in unsigned.explanation[1]


def test_r8b_equipment_in_a_private_space() -> None:
    changing = {**CAMERAS, "venue_type": "changing_room", "public_place": False}
    assert rules(run(engagement(venues=[changing]))) == ["R8b"]
    assert rules(run(engagement(venues=[{**changing, "equipment": "none", "equipment_count": 0}]))) == []


FACES = {
    "pi_categories": ["facial_recognition"],
    "legal_basis": "consent",
    "consent_obtained": True,
    "separate_consent_obtained": True,
    "processing_methods": ["collection", "storage"],
}


def test_r9_faces_are_counted_over_the_whole_company() -> None:
    reached = run(engagement(**FACES, individuals_count=100_000))
    assert rules(reached) == ["R11", "R9"]
    assert rules(run(engagement(**FACES, individuals_count=99_999))) == ["R11"]
    # Two vendors at 60,000 and 50,000: the company stores 110,000, so each engagement says so.
    [shared] = [
        r
        for r in run(engagement(**FACES, individuals_count=60_000), company=Company(faces_total=110_000))
        if r.rule_id == "R9"
    ]
    assert shared.facts["company_faces_total"] == 110_000 and "50,000" in shared.explanation[1]
    assert rules(run(engagement(**FACES, individuals_count=60_000), company=Company(faces_total=60_000))) == ["R11"]

    def company(*owed: Obligation) -> Company:
        return Company(faces_total=100_000, obligations=owed)

    late = run(
        engagement(**FACES, individuals_count=100_000),
        company=company(obligation("facial_recognition_filing", TODAY - timedelta(days=1))),
    )
    assert next(r for r in late if r.rule_id == "R9").severity == "high"
    filed = run(
        engagement(**FACES, individuals_count=100_000),
        company=company(obligation("facial_recognition_filing", TODAY - timedelta(days=1), status="done")),
    )
    assert rules(filed) == ["R11"]
    r9 = next(r for r in reached if r.rule_id == "R9")
    assert "unclear" in r9.explanation[1]  # the reference marks the vendor's duty uncertain


def test_r10_faces_sent_onwards_without_separate_consent() -> None:
    sent = {**FACES, "separate_consent_obtained": False, "processing_methods": ["collection", "transmission"]}
    assert "R10" in rules(run(engagement(**sent)))
    kept = {**FACES, "processing_methods": ["collection", "transmission"]}  # with separate consent
    assert "R10" not in rules(run(engagement(**kept)))
    # Faces kept on a server (not in the device), without separate consent.
    stored = {**FACES, "separate_consent_obtained": False}
    [off_device] = [r for r in run(engagement(**stored)) if r.rule_id == "R10"]
    assert (off_device.detail, off_device.severity, off_device.facts["storage_locations"]) == (
        "stored_off_device",
        "high",
        ["CN-SH"],
    )
    assert "R10" not in rules(run(engagement(**stored, storage_locations=[])))


def test_r11_face_recognition_needs_a_person_to_check_for_an_alternative() -> None:
    [raised] = run(engagement(**FACES))
    assert (raised.rule_id, raised.severity) == ("R11", "review")


def test_r12_no_retention_or_ended_without_a_deletion_record() -> None:
    assert rules(run(engagement(retention_days=None))) == ["R12"]
    assert rules(run(engagement(retention_days=None, retention_note="until the contract ends"))) == []
    ended = engagement(end_date="2026-10-31")
    assert rules(run(ended)) == ["R12"]
    deleted = attestation("deletion", status="accepted", backups_covered=True, sub_processors_covered=True)
    assert rules(run(ended, attestations=[deleted])) == []


def test_r13_deletion_late_or_incomplete() -> None:
    late = obligation("deletion_attestation", TODAY - timedelta(days=1))
    assert rules(run(engagement(), obligations=[late])) == ["R13"]
    assert rules(run(engagement(), obligations=[obligation("deletion_attestation", TODAY)])) == []
    partial = attestation("deletion", status="accepted", backups_covered=False, sub_processors_covered=True)
    [raised] = run(engagement(), attestations=[partial])
    assert raised.facts["not_covered"] == ["backups_covered"]


ABROAD = {
    "leaves_china": True,
    "storage_locations": [{"country": "SG"}],
    "cross_border_recipients": [{"name": "X Pte. Ltd.", "country": "SG"}],
    "separate_consent_obtained": True,
}


def test_r14_the_mechanism_cross_border_transfers_need() -> None:
    assert rules(run(engagement(**ABROAD, individuals_count=99_999, cross_border_mechanism=None))) == []
    missing = run(engagement(**ABROAD, individuals_count=100_000, cross_border_mechanism=None))
    assert rules(missing) == ["R14"] and missing[0].facts["mechanism_needed"] == "standard_contract"
    assert rules(run(engagement(**ABROAD, individuals_count=100_000, cross_border_mechanism="standard_contract"))) == []
    big = run(engagement(**ABROAD, individuals_count=1_000_000, cross_border_mechanism="standard_contract"))
    assert big[0].facts["mechanism_needed"] == "security_assessment" and big[0].severity == "critical"
    exempt = run(engagement(**ABROAD, cross_border_mechanism="exemption"))
    assert [(r.rule_id, r.severity) for r in exempt] == [("R14", "review")]
    no_consent = run(engagement(**{**ABROAD, "separate_consent_obtained": False}, individuals_count=10))
    assert [(r.detail, r.severity) for r in no_consent] == [("consent", "review")]  # on a contract: disputed
    on_consent = run(
        engagement(
            **{**ABROAD, "separate_consent_obtained": False},
            individuals_count=10,
            legal_basis="consent",
            consent_obtained=True,
        )
    )
    assert [(r.detail, r.severity) for r in on_consent] == [("consent", "high")]


def test_required_mechanism_follows_the_reference_table() -> None:
    def needed(count: int, categories: list[str]) -> CrossBorderMechanism | None:
        subject = engagement(
            **ABROAD, individuals_count=count, pi_categories=categories, legal_basis="consent", consent_obtained=True
        )
        return required_mechanism(Facts(engagement=subject, vendor=Vendor(country="CN"), today=TODAY))

    assert needed(99_999, ["basic_profile"]) is None
    assert needed(100_000, ["basic_profile"]) == "standard_contract"
    assert needed(999_999, ["basic_profile"]) == "standard_contract"
    assert needed(1_000_000, ["basic_profile"]) == "security_assessment"
    assert needed(1, ["health"]) == "standard_contract"
    assert needed(9_999, ["health"]) == "standard_contract"
    assert needed(10_000, ["health"]) == "security_assessment"


def test_the_mechanism_follows_the_company_total_not_one_engagement() -> None:
    small = engagement(**ABROAD, individuals_count=60_000, legal_basis="consent", consent_obtained=True)
    alone = Facts(engagement=small, vendor=Vendor(country="CN"), today=TODAY, company=Company(abroad=60_000))
    assert required_mechanism(alone) is None
    # With another transfer of 50,000 this year the company is past 100,000: no splitting.
    together = Facts(engagement=small, vendor=Vendor(country="CN"), today=TODAY, company=Company(abroad=110_000))
    assert required_mechanism(together) == "standard_contract"
    sensitive = Facts(
        engagement=small,
        vendor=Vendor(country="CN"),
        today=TODAY,
        company=Company(abroad=70_000, abroad_sensitive=10_000),
    )
    assert required_mechanism(sensitive) == "security_assessment"


def test_r21_a_car_dealer_s_showroom_data_is_for_review() -> None:
    dealer = HandlerProfile(
        legal_name_zh="星驰汽车", unified_social_credit_code="91310000MA1FL8XQ30", automotive_data_processor=True
    )
    showroom = {**CAMERAS, "purpose_public_security": True, "signage_posted": True}
    [raised] = run(engagement(venues=[showroom]), handler=dealer)
    assert (raised.rule_id, raised.severity) == ("R21", "review")
    assert run(engagement(venues=[showroom])) == []  # not a car dealer
    assert run(engagement(individuals_count=100_000), handler=dealer) == []  # not more than 100,000
    assert rules(run(engagement(individuals_count=100_001), handler=dealer)) == ["R21"]


def test_r15_the_extension_window_opens_60_working_days_before_expiry() -> None:
    def severities(days_to_expiry: int, window_opened_days_ago: int) -> list[str]:
        expires = TODAY + timedelta(days=days_to_expiry)
        opens = TODAY - timedelta(days=window_opened_days_ago)
        extension = obligation("security_assessment_extension", expires, basis_on=opens)
        return [r.severity for r in run(engagement(), obligations=[extension])]

    assert severities(85, -1) == []  # the window opens tomorrow: nothing is due yet
    assert severities(84, 0) == ["medium"]  # open: ask before expiry
    assert severities(30, 54) == ["high"]
    assert severities(0, 84) == ["high"]  # the last day is still in time, not overdue
    assert severities(-1, 85) == ["critical"]  # expired: transfers need a new assessment


def test_r16_the_vendor_uses_the_data_for_itself() -> None:
    own_use = attestation("periodic", statements=[{"requirement": "B9", "compliant": False, "comment": "analytics"}])
    assert rules(run(engagement(), attestations=[own_use])) == ["R16"]
    fine = attestation("periodic", statements=[{"requirement": "B9", "compliant": True}])
    assert rules(run(engagement(), attestations=[fine])) == []


def test_r17_a_large_handler_needs_an_officer_and_audits() -> None:
    def held(total: int, officer: str = "") -> list[tuple[str, str]]:
        handler = HandlerProfile(
            legal_name_zh="星驰汽车",
            unified_social_credit_code="91310000MA1FL8XQ30",
            individuals_total=total,
            pi_protection_officer_name=officer,
        )
        return [(r.rule_id, r.severity) for r in handler_rules(handler)]

    assert held(1_000_000) == [("R17", "high")]
    assert held(999_999) == []
    assert held(1_000_000, officer="Zhang San") == []
    assert held(10_000_001, officer="Zhang San") == [("R17", "review")]


def test_r18_an_incident_under_review() -> None:
    review = obligation("incident_review", TODAY, attestation_id=uuid.uuid4())
    assert [(r.rule_id, r.severity) for r in run(engagement(), obligations=[review])] == [("R18", "critical")]
    assert run(engagement(), obligations=[obligation("incident_review", TODAY, status="done")]) == []


def test_r19_the_term_ends_or_the_processing_changed() -> None:
    soon = obligation("renewal_decision", TODAY + timedelta(days=30))
    assert rules(run(engagement(), obligations=[soon])) == ["R19"]
    assert run(engagement(), obligations=[obligation("renewal_decision", TODAY + timedelta(days=31))]) == []
    changed = run(
        engagement(pi_categories=["basic_profile", "contact_details", "vehicle_information"]),
        agreements=[agreement(engagement())],
    )
    assert [(r.facts["changed"], r.severity) for r in changed] == [(["pi_categories"], "review")]  # on a contract
    on_consent = {"legal_basis": "consent", "consent_obtained": True}
    changed = run(
        engagement(pi_categories=["basic_profile", "contact_details", "vehicle_information"], **on_consent),
        agreements=[agreement(engagement(**on_consent))],
    )
    assert [(r.facts["changed"], r.severity) for r in changed] == [(["pi_categories"], "medium")]


@pytest.mark.parametrize("language", [0, 1])
def test_every_finding_explains_itself_in_both_languages(language: int) -> None:
    everything = engagement(
        **{**FACES, **ABROAD, "separate_consent_obtained": False},
        individuals_count=2_000_000,
        pipia_date=None,
        pipia_retained_until=None,
        retention_days=None,
        venues=[CAMERAS],
        data_subjects=["visitors", "minors_under_14"],
    )
    raised = run(everything, agreements=[])
    assert len({r.rule_id for r in raised}) >= 8
    for item in raised:
        assert item.title[language] and item.explanation[language] and item.action[language] and item.articles
    if language == 0:
        assert all(any("\u4e00" <= ch <= "\u9fff" for ch in item.explanation[0]) for item in raised)


def stated(**facts: Any) -> DueDiligence:
    """What a vendor's submitted due-diligence questionnaire says."""
    return DueDiligence(questionnaire_id=uuid.uuid4(), submitted_at=datetime(2026, 11, 20, tzinfo=UTC), **facts)


def test_r10_the_vendor_says_faces_are_kept_in_its_cloud() -> None:
    faces = engagement(pi_categories=["facial_recognition"], processing_methods=["collection", "storage"])
    faces = faces.model_copy(update={"storage_locations": [], "separate_consent_obtained": False})
    [off] = [r for r in run(faces, due_diligence=stated(face_storage=FaceStorage.vendor_cloud)) if r.rule_id == "R10"]
    assert off.detail == "stored_off_device" and off.facts["questionnaire_face_storage"] == "vendor_cloud"
    near_miss = run(faces, due_diligence=stated(face_storage=FaceStorage.device))
    assert [r for r in near_miss if r.rule_id == "R10"] == []
    consented = faces.model_copy(update={"separate_consent_obtained": True})
    assert [
        r for r in run(consented, due_diligence=stated(face_storage=FaceStorage.vendor_cloud)) if r.rule_id == "R10"
    ] == []


def test_r22_the_questionnaire_against_the_registry() -> None:
    def r22(subject: EngagementProposal, **said: Any) -> list[str]:
        return sorted(r.detail for r in run(subject, due_diligence=stated(**said)) if r.rule_id == "R22")

    assert r22(engagement(), transfers_abroad=True) == ["abroad_not_registered"]
    assert r22(engagement(), transfers_abroad=False) == []
    assert r22(engagement(), face_storage=FaceStorage.device) == ["faces_not_registered"]
    assert r22(engagement(), face_storage=FaceStorage.not_processed) == []
    health = engagement(pi_categories=["health"])
    assert r22(health, certifications=frozenset()) == ["no_certification"]
    assert r22(health, certifications=frozenset({"mlps_level_3"})) == []
    assert r22(engagement(), certifications=frozenset()) == []  # no sensitive PI
    children = engagement(data_subjects=["minors_under_14"])
    assert "children_no_assessment" in r22(children, security_assessment=False)
    assert "children_no_assessment" not in r22(children, security_assessment=True)
    assert rules(run(engagement())) == []  # no questionnaire stated: nothing


@pytest.mark.parametrize("space", ["fitting_room", "nursing_room", "dormitory", "private_dining_room"])
def test_r8b_the_private_spaces_of_the_2025_video_regulation(space: str) -> None:
    inside = {**CAMERAS, "venue_type": space, "public_place": False}
    assert rules(run(engagement(venues=[inside]))) == ["R8b"]
    # Near miss: the shop floor next to the fitting rooms, signed and for public security.
    floor = {**CAMERAS, "venue_type": "store", "purpose_public_security": True, "signage_posted": True}
    assert "R8b" not in rules(run(engagement(venues=[floor])))


def test_a_ciio_or_important_data_needs_an_assessment_whatever_the_count() -> None:
    subject = engagement(**ABROAD, individuals_count=10, legal_basis="consent", consent_obtained=True)
    code = "91310000MA1FL8XQ30"
    for ciio, important in ((True, False), (False, True)):
        handler = HandlerProfile(
            legal_name_zh="星驰汽车", unified_social_credit_code=code, is_ciio=ciio, holds_important_data=important
        )
        facts = Facts(engagement=subject, vendor=Vendor(country="CN"), today=TODAY, handler=handler)
        assert required_mechanism(facts) == "security_assessment"
        contract = engagement(**{**subject.model_dump(), "cross_border_mechanism": "standard_contract"})
        [raised] = [r for r in run(contract, handler=handler) if r.detail == "mechanism"]
        assert raised.severity == "critical" and "whatever the count" in raised.explanation[1]
    ordinary = HandlerProfile(legal_name_zh="星驰汽车", unified_social_credit_code=code)
    facts = Facts(engagement=subject, vendor=Vendor(country="CN"), today=TODAY, handler=ordinary)
    assert required_mechanism(facts) is None  # near miss: 10 people, neither CIIO nor important data
