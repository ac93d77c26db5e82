"""The rules of the PIPL (个人信息保护法) and its implementing measures that a vendor registry
can evaluate, one small function each, over one engagement and what surrounds it. A rule
yields a `Raised` for each way it holds, with the facts that made it hold; it never reads
the database, so the before-you-buy check runs the same rules on a proposal that is not
stored.

Where the law or a fact is uncertain, the severity is `review`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import cached_property
from typing import Any

from pydantic import ValidationError

from app.agreements.models import Agreement
from app.agreements.schemas import IN_FORCE, EngagementSnapshot
from app.attestations.models import Attestation
from app.attestations.schemas import (
    CERTIFICATION_LABELS,
    AttestationDetails,
    AttestationKind,
    AttestationStatus,
    CertificationKind,
    DeletionDetails,
    IncidentDetails,
    PeriodicDetails,
    SubProcessorChangeDetails,
    read_details,
)
from app.engagements import labels, taxonomy
from app.engagements.models import SubProcessor
from app.engagements.schemas import (
    CrossBorderMechanism,
    EngagementBase,
    EngagementStatus,
    Equipment,
    LegalBasis,
    ProcessingMethod,
    VenueType,
    prohibited,
)
from app.findings.schemas import Severity
from app.handler.models import HandlerProfile
from app.obligations.kinds import FACES_FILING, pipia_kept_until
from app.obligations.models import Obligation
from app.obligations.schemas import ObligationKind, ObligationStatus
from app.questionnaires.schemas import DueDiligence, FaceStorage
from app.vendors.models import Vendor

log = logging.getLogger(__name__)

FACE, MINORS = taxonomy.FACE, taxonomy.MINORS
FACE_MEASURES = "Facial recognition measures 2025"
VIDEO_REGULATION = "Public security video regulation 2025"
A1_A6 = ("A1", "A2", "A3", "A4", "A5", "A6")


@dataclass(frozen=True)
class Company:
    """What the law counts over the whole company: the faces it stores, the individuals whose PI
    left China this year (of them, with sensitive PI), and its own duties derived from those."""

    faces_total: int = 0
    abroad: int = 0
    abroad_sensitive: int = 0
    obligations: Sequence[Obligation] = ()


@dataclass(frozen=True)
class Facts:
    """Everything the rules may look at for one engagement: a stored engagement or a proposal
    (both an `EngagementBase`), with the stored rows around it, or none."""

    engagement: EngagementBase
    vendor: Vendor
    handler: HandlerProfile | None = None
    sub_processors: Sequence[SubProcessor] = ()
    agreements: Sequence[Agreement] = ()
    attestations: Sequence[Attestation] = ()
    obligations: Sequence[Obligation] = ()
    covered: Callable[[Agreement], frozenset[str]] = lambda _agreement: frozenset()
    today: date = field(default_factory=date.today)
    company: Company = field(default_factory=Company)
    # What the vendor stated in its newest submitted or accepted due-diligence questionnaire.
    due_diligence: DueDiligence | None = None

    @property
    def categories(self) -> list[str]:
        return list(self.engagement.pi_categories)

    @property
    def sensitive(self) -> list[str]:
        found = taxonomy.sensitive(self.categories)
        return found + ([MINORS] if MINORS in self.subjects else [])

    @property
    def subjects(self) -> list[str]:
        return [str(subject) for subject in self.engagement.data_subjects]

    @property
    def faces(self) -> bool:
        return FACE in self.categories

    @property
    def agreement(self) -> Agreement | None:
        """The agreement in force, if any (the newest)."""
        found = [a for a in self.agreements if a.status in IN_FORCE]
        return max(found, key=lambda a: a.created_at) if found else None

    @cached_property
    def agreed(self) -> EngagementSnapshot | None:
        """The engagement as the agreement in force wrote it down."""
        agreement = self.agreement
        return None if agreement is None else EngagementSnapshot.model_validate(agreement.snapshot["engagement"])

    @cached_property
    def reports(self) -> list[tuple[Attestation, AttestationDetails]]:
        """Each attestation with its details read as their kind's model. Details were checked on
        upload; one that no longer reads (a category code since renamed, say) is left out and
        logged rather than stopping every rule of the engagement."""
        read = []
        for attestation in self.attestations:
            try:
                details = read_details(attestation.kind, attestation.engagement_id, attestation.details)
                read.append((attestation, details))
            except ValidationError as error:
                log.warning("attestation %s: details no longer read (%s)", attestation.id, error)
        return read

    def open_obligations(self, kind: ObligationKind) -> list[Obligation]:
        return [o for o in self.obligations if o.kind == kind and o.status == ObligationStatus.open]


@dataclass(frozen=True)
class Raised:
    rule_id: str
    severity: Severity
    title: tuple[str, str]  # zh, en
    explanation: tuple[str, str]
    action: tuple[str, str]
    articles: tuple[str, ...]
    facts: dict[str, Any]
    detail: str = ""  # tells apart two findings of one rule on one engagement (a venue, a sub-processor)


Rule = Callable[[Facts], Iterator[Raised]]
RULES: list[Rule] = []


def rule(function: Rule) -> Rule:
    RULES.append(function)
    return function


def _value(value: Any) -> Any:
    return getattr(value, "value", value)


# The Chinese texts say words, not the registry's codes (issue 15); the facts keep the codes.
REPORT_KINDS = {
    "deletion": ("删除证明", "deletion"), "periodic": ("年度合规声明", "periodic"),
    "sub_processor_change": ("转委托变更通知", "sub-processor change"), "incident": ("安全事件报告", "incident"),
}  # fmt: skip
DELETION_SCOPE = {"backups_covered": ("备份", "backups"), "sub_processors_covered": ("转委托方", "sub-processors")}
EQUIPMENT, VENUE_TYPES = labels.EQUIPMENT, labels.VENUE_TYPE
CHANGED_FIELDS = {
    "purpose": ("处理目的", "purpose"), "processing_methods": ("处理方式", "processing methods"),
    "pi_categories": ("个人信息种类", "PI categories"),
}  # fmt: skip


def _categories(codes: Sequence[str], lang: str) -> str:
    return ("、" if lang == "zh" else ", ").join(labels.category(code, lang) for code in codes)


def _words(table: dict[str, tuple[str, str]], codes: Sequence[str], lang: str) -> str:
    index = 0 if lang == "zh" else 1
    return ("、" if lang == "zh" else ", ").join(table[code][index] if code in table else code for code in codes)


@rule
def r1_agreement_lacks_required_content(facts: Facts) -> Iterator[Raised]:
    if facts.engagement.status == EngagementStatus.terminated:
        return
    agreement = facts.agreement
    if agreement is None:
        yield Raised(
            "R1",
            Severity.high,
            ("没有生效的委托处理协议", "No entrusted-processing agreement in force"),
            (
                "委托他人处理个人信息，须与受托方约定处理目的、期限、方式、个人信息种类、保护措施以及双方的权利和义务。"
                "这项委托处理没有已签署的协议。",
                "When you entrust a vendor with personal information, the law requires a written agreement on the "
                "purpose, term, method, categories of PI, protection measures and both parties' rights and duties. "
                "This engagement has no signed agreement.",
            ),
            (
                "在系统中生成委托处理协议，签署后再开始处理。",
                "Generate an agreement, have it signed, then start.",
            ),
            ("PIPL art. 21(1)",),
            {"agreements_in_force": 0},
        )
        return
    missing = [item for item in A1_A6 if item not in facts.covered(agreement)]
    if missing:
        yield Raised(
            "R1",
            Severity.high,
            ("协议缺少法定内容", "The agreement lacks required content"),
            (
                f"协议 {agreement.number} 没有约定：{', '.join(missing)}。",
                f"Agreement {agreement.number} does not cover: {', '.join(missing)}.",
            ),
            ("用当前条款库生成新版本并重新签署。", "Generate a new version from the clause library and sign it again."),
            ("PIPL art. 21(1)",),
            {"agreement": agreement.number, "uncovered": missing},
        )


@rule
def r2_vendor_reports_beyond_the_agreement(facts: Facts) -> Iterator[Raised]:
    if facts.agreed is None:
        return
    agreed = set(facts.agreed.pi_categories)
    for attestation, details in facts.reports:
        if not isinstance(details, SubProcessorChangeDetails | IncidentDetails):
            continue
        reported = set(details.pi_categories)
        beyond = sorted(reported - agreed)
        if beyond:
            yield Raised(
                "R2",
                Severity.critical,
                ("受托方处理的个人信息超出约定", "The vendor processes PI beyond the agreement"),
                (
                    f"受托方在{_words(REPORT_KINDS, [attestation.kind], 'zh')}中提到协议未约定的个人信息种类："
                    f"{_categories(beyond, 'zh')}。受托方只能按约定的目的、方式和种类处理。",
                    f"The vendor's {_words(REPORT_KINDS, [attestation.kind], 'en')} report names PI categories the "
                    f"agreement does not cover: {_categories(beyond, 'en')}. A vendor may process PI only as agreed.",
                ),
                (
                    "要求受托方停止超范围处理，或修改协议（必要时重新取得同意）。",
                    "Have the vendor stop, or amend the agreement (and obtain new consent where needed).",
                ),
                ("PIPL art. 21(2)",),
                {"attestation_id": str(attestation.id), "categories_beyond_agreement": beyond},
                detail=str(attestation.id),
            )


@rule
def r3_sub_processor_without_consent(facts: Facts) -> Iterator[Raised]:
    children = MINORS in facts.subjects
    for sub in facts.sub_processors:
        if children:
            yield Raised(
                "R3",
                Severity.critical,
                ("儿童个人信息被转委托", "Children's PI passed to a sub-processor"),
                (
                    f"受托方把处理转委托给「{sub.name}」，而本委托涉及不满十四周岁儿童的个人信息。"
                    "受托方不得转委托儿童个人信息，即使我方同意也不可以。",
                    f"The vendor passes the processing to {sub.name}, and this engagement covers children under 14. "
                    "A vendor may not sub-entrust children's PI at all, even with our consent.",
                ),
                (
                    "要求受托方停止转委托并由转委托方删除。",
                    "Have the vendor stop and the sub-processor delete the data.",
                ),
                ("Children's PI online protection provisions art. 16",),
                {"sub_processor": sub.name, "data_subjects": MINORS},
                detail=sub.name,
            )
        elif not sub.handler_consented:
            yield Raised(
                "R3",
                Severity.high,
                ("转委托未经同意", "A sub-processor without our consent"),
                (
                    f"受托方把处理转委托给「{sub.name}」，但没有记录我方同意。未经委托人同意，受托人不得转委托。",
                    f"The vendor passes the processing to {sub.name}, and our consent is not recorded. A vendor may "
                    "not sub-entrust without the handler's consent.",
                ),
                (
                    "决定是否同意；同意则记录日期，不同意则要求受托方停止。",
                    "Decide: record the consent and its date, or have the vendor stop using it.",
                ),
                ("PIPL art. 21(3)",),
                {"sub_processor": sub.name, "handler_consented": False},
                detail=sub.name,
            )


@rule
def r4_no_pipia(facts: Facts) -> Iterator[Raised]:
    engagement = facts.engagement
    if engagement.status == EngagementStatus.terminated:
        return
    if engagement.pipia_date is None:
        yield Raised(
            "R4",
            Severity.high,
            ("委托处理没有个人信息保护影响评估", "Entrusted processing without a PIPIA"),
            (
                "委托处理个人信息前，须进行个人信息保护影响评估并记录。这项委托处理没有评估记录。",
                "Before entrusting a vendor with PI, you must carry out and record a PI protection impact "
                "assessment (PIPIA). There is none for this engagement.",
            ),
            (
                "开始处理前完成评估，并登记日期和报告编号。",
                "Complete the PIPIA before processing starts; record its date.",
            ),
            ("PIPL art. 55(3)",),
            {"pipia_date": None, "start_date": _iso(engagement.start_date)},
        )
    elif engagement.start_date is not None and engagement.pipia_date > engagement.start_date:
        yield Raised(
            "R4",
            Severity.high,
            ("影响评估晚于处理开始", "The PIPIA came after processing began"),
            (
                f"评估日期 {engagement.pipia_date} 晚于开始处理日期 {engagement.start_date}，评估应在处理前进行。",
                f"The PIPIA is dated {engagement.pipia_date}, after processing began on {engagement.start_date}; "
                "it must come first.",
            ),
            ("记录原因，并在今后的变更前先评估。", "Record why, and assess before any future change."),
            ("PIPL art. 55(3)",),
            {"pipia_date": _iso(engagement.pipia_date), "start_date": _iso(engagement.start_date)},
        )


@rule
def r5_records_kept_too_briefly(facts: Facts) -> Iterator[Raised]:
    engagement = facts.engagement
    if engagement.pipia_date is None:
        return
    needed = pipia_kept_until(engagement.pipia_date, engagement.end_date)
    kept = engagement.pipia_retained_until
    if kept is None or kept < needed:
        yield Raised(
            "R5",
            Severity.medium,
            ("评估报告保存期限不足三年", "PIPIA report kept under 3 years"),
            (
                f"影响评估报告和处理情况记录应自所涉处理结束起至少保存三年，即至 {needed}；"
                f"登记的保存期限为 {kept or '未填写'}。",
                f"The PIPIA report and processing records must be kept at least 3 years from the end of the "
                f"processing they cover, until {needed}; the recorded retention is {kept or 'missing'}.",
            ),
            (f"将保存期限登记为 {needed} 或更晚。", f"Record a retention until {needed} or later."),
            ("PIPL art. 56", *([f"{FACE_MEASURES} art. 9"] if facts.faces else [])),
            {
                "pipia_date": _iso(engagement.pipia_date),
                "pipia_retained_until": _iso(kept),
                "needed_until": str(needed),
            },
        )


@rule
def r6_sensitive_without_separate_consent(facts: Facts) -> Iterator[Raised]:
    engagement = facts.engagement
    sensitive = facts.sensitive
    if not sensitive:
        return
    if engagement.legal_basis == LegalBasis.consent and not engagement.separate_consent_obtained:
        yield Raised(
            "R6",
            Severity.critical,
            ("敏感个人信息未取得单独同意", "Sensitive PI without separate consent"),
            (
                f"这项处理涉及敏感个人信息（{_categories(sensitive, 'zh')}），以同意为依据，却没有记录个人的单独同意。"
                "处理敏感个人信息须取得个人的单独同意，并告知必要性和影响。",
                f"This processing involves sensitive PI ({_categories(sensitive, 'en')}) on the basis of consent, "
                "but no "
                "separate consent of the individuals is recorded. Sensitive PI needs each person's separate consent, "
                "after being told why it is necessary and how it affects them.",
            ),
            (
                "停止处理，直到能取得并证明单独同意；记录同意的方式和证据。",
                "Stop until separate consent can be obtained and shown; record how and the evidence.",
            ),
            ("PIPL art. 28", "PIPL art. 29"),
            {
                "sensitive_categories": sensitive,
                "legal_basis": LegalBasis.consent.value,
                "separate_consent_obtained": False,
            },
        )


@rule
def r6b_sensitive_on_another_basis(facts: Facts) -> Iterator[Raised]:
    basis = _value(facts.engagement.legal_basis)
    if facts.sensitive and basis != LegalBasis.consent:
        yield Raised(
            "R6b",
            Severity.review,
            ("敏感个人信息以同意以外的依据处理", "Sensitive PI on a basis other than consent"),
            (
                f"敏感个人信息（{_categories(facts.sensitive, 'zh')}）"
                f"以「{labels.say(labels.LEGAL_BASIS, basis, 'zh')}」"
                "为依据处理。是否成立需要法务判断。",
                f"Sensitive PI ({_categories(facts.sensitive, 'en')}) is processed on the basis "
                f"'{labels.say(labels.LEGAL_BASIS, basis, 'en')}'. Whether that "
                "holds needs a lawyer's judgement.",
            ),
            ("请法务确认依据，并记录结论。", "Have a lawyer confirm the basis and record the conclusion."),
            ("PIPL art. 13",),
            {"sensitive_categories": facts.sensitive, "legal_basis": basis},
        )


@rule
def r7_minors_without_guardian_consent(facts: Facts) -> Iterator[Raised]:
    if MINORS in facts.subjects and not facts.engagement.guardian_consent_obtained:
        yield Raised(
            "R7",
            Severity.critical,
            ("未成年人信息未取得监护人同意", "Children's PI without a guardian's consent"),
            (
                "数据主体可能包括不满十四周岁的未成年人，却没有记录其父母或其他监护人的同意。",
                "The people concerned may include children under 14, and no consent of their parents or "
                "guardians is recorded.",
            ),
            (
                "取得并记录监护人同意，或排除未成年人。",
                "Obtain and record the guardians' consent, or exclude children.",
            ),
            ("PIPL art. 28", "PIPL art. 31"),
            {"data_subjects": MINORS, "guardian_consent_obtained": False},
        )


@rule
def r8_equipment_in_public_places(facts: Facts) -> Iterator[Raised]:
    """PIPL art. 26: in a public place, image capture and identity recognition serve public
    security only, with prominent signs. Each person's separate consent can open another purpose
    (art. 26, last sentence) but never replaces the signs; and whether the consent of passers-by
    was really asked before capture is a question for a lawyer, so it is marked for review."""
    consented = facts.engagement.separate_consent_obtained
    for index, venue in enumerate(facts.engagement.venues):
        equipment = _value(venue.equipment)
        if not venue.public_place or equipment == Equipment.none:
            continue
        other_purpose = not venue.purpose_public_security
        facts_seen = {
            "venue": venue.description,
            "equipment": equipment,
            "equipment_count": venue.equipment_count,
            "purpose_public_security": venue.purpose_public_security,
            "signage_posted": venue.signage_posted,
            "separate_consent_obtained": consented,
        }
        problems_zh, problems_en = [], []
        if other_purpose and not consented:
            problems_zh.append("用途不是维护公共安全，且没有取得个人的单独同意")
            problems_en.append("its purpose is not public security and no separate consent is recorded")
        if not venue.signage_posted:
            problems_zh.append("没有设置显著的提示标识")
            problems_en.append("no prominent signs are posted")
        if problems_zh:
            yield Raised(
                "R8",
                Severity.critical,
                ("公共场所的图像采集或身份识别设备不合规", "Cameras in a public place, not as the law allows"),
                (
                    f"「{venue.description}」共 {venue.equipment_count} 台{_words(EQUIPMENT, [equipment], 'zh')}"
                    "位于公共场所，"
                    f"但{'，且'.join(problems_zh)}。公共场所安装此类设备应当为维护公共安全所必需，并设置显著的提示标识；"
                    "用于客流统计、会员识别、营销等其他目的，须取得每个人的单独同意，提示标识不能代替同意，同意也不能代替提示标识。",
                    f"{venue.description}: {venue.equipment_count} {_words(EQUIPMENT, [equipment], 'en')} "
                    "in a public place, but "
                    f"{' and '.join(problems_en)}. In public places such equipment must be needed for public security "
                    "and prominently signed; traffic counting, membership recognition, marketing or any other purpose "
                    "needs each person's separate consent. Signs do not replace consent, and consent does not "
                    "replace signs.",
                ),
                (
                    "停用设备，直到张贴提示标识并取得单独同意（或仅用于公共安全）。",
                    "Switch the devices off until signs are up and separate consent is obtained (or they serve "
                    "public security only).",
                ),
                ("PIPL art. 26", f"{FACE_MEASURES} art. 13"),
                facts_seen,
                detail=f"venue{index}",
            )
        elif other_purpose:
            yield Raised(
                "R8",
                Severity.review,
                ("公共场所设备用于其他目的，依赖单独同意", "Cameras in a public place for another purpose, on consent"),
                (
                    f"「{venue.description}」的设备用途不是维护公共安全，登记为已取得单独同意，且设有提示标识。"
                    "单独同意可以使其他目的合法，但必须在采集前逐一取得；经过公共场所的路人通常无法事先同意，"
                    "提示标识不等于同意。请法务确认同意是如何取得的。",
                    f"The devices at {venue.description} serve a purpose other than public security; separate consent "
                    "is recorded and signs are posted. Separate consent can make another purpose lawful, but only when "
                    "each person gives it before capture; passers-by in a public place usually cannot, and a sign is "
                    "not consent. Have a lawyer confirm how the consent is obtained.",
                ),
                (
                    "记录取得同意的方式；无法对每个人事先取得的，停用该用途。",
                    "Record how consent is obtained; where it cannot be obtained from each person beforehand, stop "
                    "that use.",
                ),
                ("PIPL art. 26", "PIPL art. 29", f"{FACE_MEASURES} art. 6"),
                facts_seen,
                detail=f"venue{index}",
            )


@rule
def r8b_equipment_in_private_spaces(facts: Facts) -> Iterator[Raised]:
    for index, venue in enumerate(facts.engagement.venues):
        kind, equipment = _value(venue.venue_type), _value(venue.equipment)
        if prohibited(kind, equipment):
            yield Raised(
                "R8b",
                Severity.critical,
                ("私密空间安装了采集或识别设备", "Equipment in a private space"),
                (
                    f"「{venue.description}」（{_words(VENUE_TYPES, [kind], 'zh')}）"
                    f"装有{_words(EQUIPMENT, [equipment], 'zh')}。"
                    "宾馆客房和包间、宿舍、公共浴室、"
                    "更衣室、试衣间、哺乳室、卫生间等私密空间不得安装图像采集或个人身份识别设备。法律禁止，"
                    "任何同意都不能使其合法；在拆除前不能签发该委托的协议。",
                    f"{venue.description} ({_words(VENUE_TYPES, [kind], 'en')}) has "
                    f"{_words(EQUIPMENT, [equipment], 'en')}. "
                    "Hotel rooms and private dining rooms, "
                    "dormitories, baths, changing and fitting rooms, nursing rooms and toilets must not have image "
                    "capture or identity recognition equipment at all. The law forbids it outright, no consent "
                    "cures it, and no agreement for this engagement can be issued until it is gone.",
                ),
                ("立即拆除。", "Remove it at once."),
                (f"{FACE_MEASURES} art. 13", f"{VIDEO_REGULATION}"),
                {"venue": venue.description, "venue_type": kind, "equipment": equipment},
                detail=f"venue{index}",
            )


@rule
def r9_facial_filing(facts: Facts) -> Iterator[Raised]:
    """Art. 15 counts the faces the company stores across all its uses and vendors: each face
    engagement says so while the company's filing is owed."""
    count = facts.engagement.individuals_count or 0
    total = max(facts.company.faces_total, count)
    if not facts.faces or total < FACES_FILING:
        return
    filings = [o for o in facts.company.obligations if o.kind == ObligationKind.facial_recognition_filing]
    if filings and all(o.status != ObligationStatus.open for o in filings):
        return  # filed, or waived by a person
    late = any(o.due_on < facts.today for o in filings if o.status == ObligationStatus.open)
    due = min((o.due_on for o in filings if o.status == ObligationStatus.open), default=None)
    others = total - count
    yield Raised(
        "R9",
        Severity.high if late else Severity.medium,
        ("人脸信息达到10万人，须向省级网信部门备案", "Facial information of 100,000 people or more: a filing is due"),
        (
            f"公司存储的人脸信息合计涉及 {total:,} 人（本委托 {count:,} 人"
            f"{f'，其他委托 {others:,} 人' if others else ''}），达到10万人，应在达到之日起30个工作日内"
            f"向省级网信部门备案{f'（截止 {due}）' if due else ''}。人数按公司合计，拆分到不同受托方不改变备案义务。"
            "受托方是否也须备案尚不明确，请法务确认。",
            f"The company stores facial information of {total:,} people in all (this engagement {count:,}"
            f"{f', its other engagements {others:,}' if others else ''}), at or over 100,000: a filing with the "
            f"provincial CAC is due within 30 working days of reaching it{f' (by {due})' if due else ''}. The count "
            "is the company's total; spreading it over vendors does not remove the duty. Whether the vendor must "
            "also file is unclear; have a lawyer confirm.",
        ),
        (
            "向省级网信部门备案，并在义务中登记备案编号。",
            "File with the provincial CAC and record the filing number on the obligation.",
        ),
        (f"{FACE_MEASURES} art. 15",),
        {
            "pi_categories": FACE,
            "individuals_count": count,
            "company_faces_total": total,
            "due_on": _iso(due),
            "overdue": late,
        },
    )


FACE_STORAGE = {
    FaceStorage.vendor_cloud: (
        "受托方在问卷中称存储于其服务器或云",
        "the vendor's servers or cloud, as its questionnaire says",
    ),
    FaceStorage.our_servers: ("受托方在问卷中称存储于委托方服务器", "our servers, as the vendor's questionnaire says"),
}
OFF_DEVICE = frozenset(FACE_STORAGE)


@rule
def r10_faces_sent_without_separate_consent(facts: Facts) -> Iterator[Raised]:
    """Facial-recognition measures art. 8: faces stay in the device and do not travel over the
    internet, unless a law says otherwise or each person separately consents. Sending them on and
    keeping them in a vendor's or cloud storage both break that."""
    engagement = facts.engagement
    if not facts.faces or engagement.separate_consent_obtained:
        return
    methods = {_value(method) for method in engagement.processing_methods}
    sent = ProcessingMethod.transmission in methods or ProcessingMethod.provision in methods or engagement.leaves_china
    if sent:
        yield Raised(
            "R10",
            Severity.critical,
            (
                "人脸信息经互联网传输，未取得单独同意",
                "Facial information sent over the internet without separate consent",
            ),
            (
                "人脸信息被传输或提供出去，却没有记录个人的单独同意。除法律、行政法规另有规定或取得单独同意外，"
                "人脸信息不得通过互联网对外传输。",
                "Facial information is transmitted or provided onwards, and no separate consent is recorded. Unless "
                "a law requires it or each person separately consents, it must not leave the device over the internet.",
            ),
            ("改为本地处理，或取得单独同意。", "Keep it on the device, or obtain separate consent."),
            (f"{FACE_MEASURES} art. 8",),
            {"processing_methods": sorted(methods), "leaves_china": engagement.leaves_china},
        )
    places = [
        " ".join(part for part in (place.region or place.country, place.provider) if part)
        for place in engagement.storage_locations
    ]
    # The vendor's own word counts as much as the registry's: it says where the faces really are.
    stated = facts.due_diligence.face_storage if facts.due_diligence else None
    if stated in OFF_DEVICE:
        places.append(f"{FACE_STORAGE[stated][0]} / {FACE_STORAGE[stated][1]}")
    if places:
        yield Raised(
            "R10",
            Severity.high,
            (
                "人脸信息存储在设备以外，未取得单独同意",
                "Facial information stored off the device without separate consent",
            ),
            (
                f"人脸信息登记的存储地点为：{'；'.join(places)}。除法律、行政法规另有规定或取得单独同意外，"
                "人脸信息应当存储在人脸识别设备内，不得上传到受托方或任何第三方的服务器。",
                f"Facial information is recorded as stored at: {'; '.join(places)}. Unless a law requires it or each "
                "person separately consents, faces must stay in the recognition device, not on the vendor's or "
                "anyone's servers.",
            ),
            (
                "改为设备内存储并删除服务器上的人脸信息，或取得单独同意。",
                "Keep faces in the devices and delete them from the servers, or obtain separate consent.",
            ),
            (f"{FACE_MEASURES} art. 8",),
            {"storage_locations": places, **({"questionnaire_face_storage": stated} if stated else {})},
            detail="stored_off_device",
        )


@rule
def r11_face_recognition_as_the_only_way(facts: Facts) -> Iterator[Raised]:
    if facts.faces:
        yield Raised(
            "R11",
            Severity.review,
            ("人脸识别是否有替代方式", "Is there an alternative to face recognition?"),
            (
                "使用人脸识别时，如有其他非生物识别方式可以实现同一目的，应当提供。登记数据无法判断，请人工确认。",
                "Where another, non-biometric way would achieve the same purpose, it must be offered. The registry "
                "cannot tell; a person must check.",
            ),
            ("确认并记录是否提供了替代方式。", "Check, and record, that an alternative is offered."),
            (f"{FACE_MEASURES} art. 10", f"{FACE_MEASURES} art. 12"),
            {"pi_categories": FACE, "purpose": facts.engagement.purpose},
        )


@rule
def r12_retention(facts: Facts) -> Iterator[Raised]:
    engagement = facts.engagement
    if engagement.retention_days is None and not engagement.retention_note:
        yield Raised(
            "R12",
            Severity.high,
            ("没有保存期限", "No retention period"),
            (
                "没有登记保存期限。保存期限应为实现处理目的所必要的最短时间，并在协议中约定。",
                "No retention period is recorded. PI may be kept only as long as the purpose needs, and the "
                "agreement must say how long.",
            ),
            ("登记保存期限（天数或说明）。", "Record the retention period (days, or a note)."),
            ("PIPL art. 19", "PIPL art. 17"),
            {"retention_days": None, "retention_note": ""},
        )
    ended = engagement.status == EngagementStatus.terminated or (
        engagement.end_date is not None and engagement.end_date < facts.today
    )
    deleted = any(
        a.kind == AttestationKind.deletion and a.status == AttestationStatus.accepted for a in facts.attestations
    )
    if ended and not deleted and not facts.open_obligations(ObligationKind.deletion_attestation):
        yield Raised(
            "R12",
            Severity.high,
            ("处理已结束，没有删除记录", "Processing ended and there is no deletion record"),
            (
                "委托处理已经结束，但没有受托方删除或返还个人信息的记录。",
                "The engagement has ended, but there is no record that the vendor deleted or returned the PI.",
            ),
            (
                "终止协议以生成删除义务，并取得删除证明。",
                "Terminate the agreement and obtain the deletion attestation.",
            ),
            ("PIPL art. 47",),
            {"status": _value(engagement.status), "end_date": _iso(engagement.end_date)},
            detail="ended",
        )


@rule
def r13_deletion(facts: Facts) -> Iterator[Raised]:
    for obligation in facts.open_obligations(ObligationKind.deletion_attestation):
        if obligation.due_on < facts.today:
            yield Raised(
                "R13",
                Severity.high,
                ("删除期限已过，没有被接受的删除证明", "Deletion deadline passed with no accepted attestation"),
                (
                    f"按协议，受托方应在 {obligation.due_on} 前删除并提交书面说明，至今没有被接受的删除证明。",
                    f"Under the agreement the vendor had to delete and attest by {obligation.due_on}; no "
                    "attestation has been accepted.",
                ),
                ("催告受托方，必要时升级处理。", "Chase the vendor; escalate if needed."),
                ("PIPL art. 21(2)",),
                {"due_on": str(obligation.due_on)},
                detail="late",
            )
    for attestation, details in facts.reports:
        if not isinstance(details, DeletionDetails) or attestation.status != AttestationStatus.accepted:
            continue
        left_out = [name for name in ("backups_covered", "sub_processors_covered") if not getattr(details, name)]
        if left_out:
            yield Raised(
                "R13",
                Severity.high,
                ("删除证明遗漏了备份或转委托方", "The deletion attestation leaves out backups or sub-processors"),
                (
                    f"被接受的删除证明没有涵盖：{_words(DELETION_SCOPE, left_out, 'zh')}。"
                    "删除应包括备份和所有转委托方。",
                    f"The accepted deletion attestation does not cover: {_words(DELETION_SCOPE, left_out, 'en')}. "
                    "Deletion must include "
                    "backups and every sub-processor.",
                ),
                ("要求受托方补充删除并重新提交证明。", "Have the vendor complete the deletion and attest again."),
                ("PIPL art. 21(2)",),
                {"attestation_id": str(attestation.id), "not_covered": left_out},
                detail=str(attestation.id),
            )


def required_mechanism(facts: Facts) -> CrossBorderMechanism | None:
    """The transfer mechanism PIPL art. 38 and the Provisions on Promoting and Regulating
    Cross-Border Data Flows (促进和规范数据跨境流动规定, 2024) require: security assessment,
    standard contract (or certification), or none (None)."""
    own = facts.engagement.individuals_count or 0
    # Counted over the company's transfers this year, not per engagement: splitting is forbidden.
    count = max(own, facts.company.abroad)
    sensitive = max(own if facts.sensitive else 0, facts.company.abroad_sensitive)
    handler = facts.handler
    # A CIIO, or important data: an assessment whatever the count (2024 provisions arts. 7-8).
    if (handler is not None and (handler.is_ciio or handler.holds_important_data)) or sensitive >= 10_000:
        return CrossBorderMechanism.security_assessment
    if count >= 1_000_000:
        return CrossBorderMechanism.security_assessment
    if facts.sensitive or count >= 100_000:
        return CrossBorderMechanism.standard_contract
    return None


MECHANISM_LABELS = {
    CrossBorderMechanism.security_assessment: ("数据出境安全评估", "a CAC security assessment"),
    CrossBorderMechanism.standard_contract: ("标准合同备案或认证", "a filed standard contract or certification"),
}


@rule
def r14_cross_border(facts: Facts) -> Iterator[Raised]:
    engagement = facts.engagement
    country = facts.vendor.country or "CN"
    if not engagement.leaves_china:
        if country != "CN":
            yield Raised(
                "R14",
                Severity.review,
                ("受托方位于境外", "The vendor is established abroad"),
                (
                    f"受托方登记在境外（{labels.country(country, 'zh')}），而本委托登记为个人信息不出境。"
                    "即使数据存放在境内，"
                    "境外主体（包括受托方的境外关联方和支持人员）在境外查看、调取或下载个人信息，也属于向境外提供。",
                    f"The vendor is registered abroad ({labels.country(country, 'en')}), "
                    "and the engagement says the PI does not leave "
                    "China. Even with the data stored in China, viewing, retrieving or downloading it from abroad, "
                    "by the vendor or its overseas affiliates and support staff, is a transfer abroad.",
                ),
                (
                    "核实境外是否能访问这些个人信息；如能，登记出境并落实相应机制。",
                    "Find out whether anyone abroad can reach the PI; if so, record the transfer and its mechanism.",
                ),
                ("PIPL art. 38", "Standard contract filing guide 2024 (what counts as a transfer abroad)"),
                {"vendor_country": country, "leaves_china": False},
                detail="vendor_abroad",
            )
        return
    needed, chosen = required_mechanism(facts), engagement.cross_border_mechanism
    count = engagement.individuals_count
    base = {
        "individuals_count": count,
        "company_abroad_this_year": max(count or 0, facts.company.abroad),
        "sensitive_categories": facts.sensitive,
        "mechanism": _value(chosen),
    }
    if chosen == CrossBorderMechanism.exemption:
        yield Raised(
            "R14",
            Severity.review,
            ("出境适用豁免", "Cross-border transfer under an exemption"),
            (
                "登记为豁免情形（订立、履行合同，人力资源管理，紧急情况等）。是否适用需法务确认。",
                "Recorded as exempt (a contract with the individual, HR management, an emergency). Whether the "
                "exemption applies needs a lawyer.",
            ),
            ("请法务确认并记录。", "Have a lawyer confirm and record it."),
            ("Cross-border data flow provisions 2024",),
            base,
        )
    elif needed is not None and (
        chosen is None
        or (needed == CrossBorderMechanism.security_assessment and chosen != CrossBorderMechanism.security_assessment)
    ):
        label = MECHANISM_LABELS[needed]
        handler = facts.handler
        whoever = (
            (
                "公司为关键信息基础设施运营者或出境数据含重要数据，无论人数均须安全评估。",
                "The company is a CIIO or sends important data abroad: a security assessment whatever the count. ",
            )
            if handler is not None and (handler.is_ciio or handler.holds_important_data)
            else ("", "")
        )
        yield Raised(
            "R14",
            Severity.critical if needed == CrossBorderMechanism.security_assessment else Severity.high,
            ("个人信息出境缺少所需的机制", "PI leaves China without the mechanism it needs"),
            (
                f"按公司当年出境个人数量（合计 {base['company_abroad_this_year']:,}，本委托 {count or '未知'}）"
                f"和敏感个人信息情况，需要{label[0]}；"
                f"登记的机制为{labels.say(labels.MECHANISM, chosen, 'zh') or '无'}。"
                "人数自当年1月1日起按公司累计，不得拆分。" + whoever[0],
                "For the individuals whose PI the company sends abroad this year "
                f"({base['company_abroad_this_year']:,} in all, this engagement {count or 'unknown'}) and the "
                "sensitive PI involved, this transfer needs "
                f"{label[1]}; the recorded mechanism is {labels.say(labels.MECHANISM, chosen, 'en') or 'none'}. "
                "Individuals are counted for the whole "
                "company since 1 January; splitting them is not allowed. " + whoever[1],
            ),
            ("在出境前完成所需机制。", "Put the mechanism in place before any more data leaves."),
            ("PIPL art. 38", "PIPL art. 40", "Cross-border data flow provisions 2024 arts. 5-9"),
            {**base, "mechanism_needed": needed.value},
            detail="mechanism",
        )
    if not engagement.separate_consent_obtained:
        # Art. 39 reads as absolute, but art. 13(2) lifts consent for the other bases; disputed,
        # so a person decides unless the transfer rests on consent.
        on_consent = engagement.legal_basis == LegalBasis.consent
        yield Raised(
            "R14",
            Severity.high if on_consent else Severity.review,
            ("出境未取得单独同意", "Cross-border transfer without separate consent"),
            (
                "向境外提供个人信息，须告知个人并取得其单独同意（另须完成影响评估）。没有记录单独同意。"
                + ("" if on_consent else "处理不以同意为依据时是否仍须单独同意存在争议，请法务确认。"),
                "Sending PI abroad needs notice to each person and their separate consent (and a PIPIA). No separate "
                "consent is recorded."
                + (
                    ""
                    if on_consent
                    else " Whether it is needed when the processing does not rest on consent is "
                    "disputed; have a lawyer confirm."
                ),
            ),
            ("取得并记录单独同意。", "Obtain and record separate consent."),
            ("PIPL art. 39", "PIPL art. 55(4)"),
            {**base, "separate_consent_obtained": False},
            detail="consent",
        )


@rule
def r15_security_assessment_expiry(facts: Facts) -> Iterator[Raised]:
    """The extension may be requested in the 60 working days before the assessment expires
    (provisions 2024 art. 9): the obligation is due at expiry, its window opening on `basis_on`."""
    for obligation in facts.open_obligations(ObligationKind.security_assessment_extension):
        opens, days = obligation.basis_on, (obligation.due_on - facts.today).days
        if opens is not None and facts.today < opens:
            continue
        if days < 0:
            severity = Severity.critical
            zh = f"数据出境安全评估已于 {obligation.due_on} 到期，未登记延期。到期后继续出境须重新申报评估。"
            en = (
                f"The security assessment expired on {obligation.due_on} with no extension recorded. Further "
                "transfers need a new assessment."
            )
        else:
            severity = Severity.high if days <= 30 else Severity.medium
            zh = (
                f"数据出境安全评估有效期三年（自评估结果出具之日起），将于 {obligation.due_on} 到期。"
                f"延期申请可在到期前60个工作日内提出{f'（自 {opens} 起）' if opens else ''}，须在到期前提出。"
            )
            en = (
                f"The security assessment, valid 3 years from the date its result was issued, expires on "
                f"{obligation.due_on}. The extension may be requested within the 60 working days before expiry"
                f"{f' (from {opens})' if opens else ''}, and must be requested before it."
            )
        yield Raised(
            "R15",
            severity,
            ("安全评估即将到期，应申请延期", "The security assessment expires: request the extension"),
            (zh, en),
            (
                "向网信部门申请延期，并在义务中登记。",
                "Request the extension from the CAC and record it on the obligation.",
            ),
            ("Cross-border data flow provisions 2024 art. 9",),
            {"expires_on": str(obligation.due_on), "window_opens_on": _iso(opens), "days_left": days},
        )


@rule
def r16_vendor_uses_data_for_itself(facts: Facts) -> Iterator[Raised]:
    for attestation, details in facts.reports:
        if not isinstance(details, PeriodicDetails):
            continue
        for statement in details.statements:
            if statement.requirement == "B9" and not statement.compliant:
                yield Raised(
                    "R16",
                    Severity.critical,
                    ("受托方为自己的目的使用数据", "The vendor uses the data for its own purposes"),
                    (
                        "受托方在年度声明中未确认「不为自身目的使用数据」。这样的使用不再是委托处理，"
                        "而是向其他处理者提供（第二十三条）或共同处理（第二十条）。",
                        "In its yearly statement the vendor did not confirm it never uses the data for itself. Such "
                        "use is no longer entrusted processing but a provision to another handler (art. 23) or joint "
                        "processing (art. 20).",
                    ),
                    (
                        "要求停止；否则按提供或共同处理重新定性并取得相应同意。",
                        "Have it stop; otherwise reclassify as provision or joint processing, with the consent needed.",
                    ),
                    ("PIPL art. 20", "PIPL art. 23"),
                    {"attestation_id": str(attestation.id), "statement": "B9", "comment": statement.comment},
                    detail=str(attestation.id),
                )


@rule
def r18_incident(facts: Facts) -> Iterator[Raised]:
    for obligation in facts.open_obligations(ObligationKind.incident_review):
        yield Raised(
            "R18",
            Severity.critical,
            ("受托方发生个人信息安全事件", "A PI incident at the vendor"),
            (
                "受托方报告了个人信息泄露、篡改或丢失。应立即采取补救措施并通知个人；受影响系统的运营者按事件分级指南定级，"
                "较大以上事件须在4小时内报告省级网信部门（关键信息基础设施运营者1小时内报告保护工作部门和公安机关；"
                "中央和国家机关2小时内报告本部门网信工作机构）。",
                "The vendor reported a leak, tampering or loss of PI. Remedy and notify the individuals at once; the "
                "operator of the system hit grades it by the grading guide, and a 'relatively major' or worse "
                "incident reaches the provincial CAC within 4 hours (a CIIO: the protection department and the police "
                "within 1 hour; central and state organs: their own cyberspace office within 2 hours).",
            ),
            ("评估事件等级，采取补救措施，决定是否报告和通知个人。", "Grade it, remedy, and decide on reporting."),
            ("PIPL art. 57", "Incident reporting measures 2025 art. 4", "NDSR art. 11"),
            {"attestation_id": str(obligation.attestation_id)},
            detail=str(obligation.attestation_id),
        )
    agreement = facts.agreement
    hours = agreement.incident_notice_hours if agreement else None
    for attestation, details in facts.reports:
        if hours is None or not isinstance(details, IncidentDetails):
            continue
        late = attestation.submitted_at - details.detected_at - timedelta(hours=hours)
        if late > timedelta(0):
            taken = (attestation.submitted_at - details.detected_at).total_seconds() / 3600
            yield Raised(
                "R18",
                Severity.high,
                ("受托方未按约定时限通知安全事件", "The vendor notified an incident late"),
                (
                    f"受托方在发现事件 {taken:.1f} 小时后才通知，协议约定 {hours} 小时内。"
                    "迟延会耽误我方补救、通知个人和向监管部门报告。",
                    f"The vendor told us {taken:.1f} hours after discovering the incident; the agreement says within "
                    f"{hours} hours. Delay costs us the time to remedy, notify the individuals and report.",
                ),
                (
                    "要求受托方说明迟延原因，按协议追究违约责任，并检查其应急流程。",
                    "Have the vendor explain the delay, apply the agreement's remedies, and check its response plan.",
                ),
                ("PIPL art. 21(1)", "PIPL art. 57", "Agreement B3"),
                {"attestation_id": str(attestation.id), "hours_taken": round(taken, 1), "hours_agreed": hours},
                detail=f"late:{attestation.id}",
            )


@rule
def r19_term_ending_or_processing_changed(facts: Facts) -> Iterator[Raised]:
    for obligation in facts.open_obligations(ObligationKind.renewal_decision):
        if obligation.due_on <= facts.today + timedelta(days=30):
            yield Raised(
                "R19",
                Severity.medium,
                ("协议期限将满，需要决定续约或终止", "The agreement's term is ending: decide"),
                (
                    f"通知期将于 {obligation.due_on} 截止。",
                    f"The notice period closes on {obligation.due_on}.",
                ),
                ("决定续约或终止，并登记结果。", "Decide to renew or end, and record it."),
                ("PIPL art. 21(1)",),
                {"renewal_decision_due_on": str(obligation.due_on)},
                detail="renewal",
            )
    agreement, agreed = facts.agreement, facts.agreed
    if agreement is None or agreed is None:
        return
    changed = [
        name
        for name, differs in (
            ("purpose", agreed.purpose != facts.engagement.purpose),
            ("processing_methods", sorted(agreed.processing_methods) != sorted(facts.engagement.processing_methods)),
            ("pi_categories", sorted(agreed.pi_categories) != sorted(facts.categories)),
        )
        if differs
    ]
    on_consent = facts.engagement.legal_basis == LegalBasis.consent
    if changed and on_consent:
        yield Raised(
            "R19",
            Severity.medium,
            ("处理目的、方式或种类已变更", "Purpose, method or categories changed since the agreement"),
            (
                f"与协议 {agreement.number} 相比，已变更：{_words(CHANGED_FIELDS, changed, 'zh')}。"
                "需要重新取得同意、重新评估并更新协议。",
                f"Compared with agreement {agreement.number}, these changed: {_words(CHANGED_FIELDS, changed, 'en')}. "
                "That needs new "
                "consent, a new PIPIA and a new agreement.",
            ),
            ("生成协议新版本（/new-version）。", "Generate a new version of the agreement (/new-version)."),
            ("PIPL art. 14",),
            {"agreement": agreement.number, "changed": changed},
            detail="changed",
        )
    elif changed:
        yield Raised(
            "R19",
            Severity.review,
            ("处理目的、方式或种类已变更", "Purpose, method or categories changed since the agreement"),
            (
                f"与协议 {agreement.number} 相比，已变更：{', '.join(changed)}。处理不以同意为依据，"
                "第十四条的重新取得同意可能不适用，但变更后的处理仍须有第十三条规定的情形，协议须更新。请法务确认。",
                f"Compared with agreement {agreement.number}, these changed: {', '.join(changed)}. The processing "
                "does not rest on consent, so art. 14's new consent may not apply; the changed processing still "
                "needs a basis under art. 13, and the agreement must be updated. Have a lawyer confirm.",
            ),
            ("生成协议新版本（/new-version）。", "Generate a new version of the agreement (/new-version)."),
            ("PIPL art. 14",),
            {"agreement": agreement.number, "changed": changed},
            detail="changed",
        )


@rule
def r21_automotive_data(facts: Facts) -> Iterator[Raised]:
    """A car dealer is an automotive data processor (汽车数据安全管理若干规定（试行） art. 3), under
    which PI of more than 100,000 people is important data. Whether showroom visitors' data is
    automotive data is arguable, so a person decides."""
    if facts.handler is None or not facts.handler.automotive_data_processor:
        return
    count = facts.engagement.individuals_count or 0
    showroom = any(venue.venue_type == VenueType.showroom for venue in facts.engagement.venues)
    if count <= 100_000 and not showroom:
        return
    yield Raised(
        "R21",
        Severity.review,
        ("可能属于汽车数据中的重要数据", "May be important data under the automotive data rules"),
        (
            f"公司登记为汽车数据处理者，本委托{'涉及展厅' if showroom else ''}处理 {count:,} 人的个人信息。"
            "汽车数据处理者处理10万人以上个人信息的，属于重要数据：应当境内存储，出境前须通过安全评估，"
            "并按要求报送年度汽车数据安全管理情况。展厅访客数据是否属于汽车数据存在争议，请法务确认。",
            f"The company is recorded as an automotive data processor, and this engagement "
            f"{'covers showrooms and ' if showroom else ''}processes PI of {count:,} people. For an automotive data "
            "processor, PI of more than 100,000 people is important data: it stays in China, needs a security "
            "assessment before any export, and the yearly automotive data security report applies. Whether "
            "showroom visitors' data is automotive data is arguable; have a lawyer confirm.",
        ),
        (
            "确认是否属于汽车数据；如是，按重要数据管理并安排年度报告。",
            "Decide whether it is automotive data; if so, treat it as important data and plan the yearly report.",
        ),
        ("Automotive data security provisions (trial) art. 3",),
        {"individuals_count": count, "showroom": showroom, "automotive_data_processor": True},
    )


@rule
def r20_relied_on_certificate_expired(facts: Facts) -> Iterator[Raised]:
    """An agreement in force relies on the vendor's certificates we accepted for its engagement
    (evidence of the security measures it agreed to); the newest of a kind has expired."""
    agreement = facts.agreement
    if agreement is None or facts.engagement.status == EngagementStatus.terminated:
        return
    newest: dict[str, Any] = {}
    for attestation in facts.attestations:
        if attestation.kind != AttestationKind.certification or attestation.status != AttestationStatus.accepted:
            continue
        kind = attestation.details["certification"]
        if kind not in newest or attestation.details["valid_until"] > newest[kind].details["valid_until"]:
            newest[kind] = attestation
    for kind, attestation in sorted(newest.items()):
        details = attestation.details
        until = date.fromisoformat(details["valid_until"])
        if until >= facts.today:
            continue
        label_zh, label_en = CERTIFICATION_LABELS[CertificationKind(kind)]
        number = details["number"]
        yield Raised(
            "R20",
            Severity.medium,
            ("受托方的证书已过期", "A certificate of the vendor has expired"),
            (
                f"受托方的{label_zh}证书（编号 {number}）已于 {until} 到期。协议 {agreement.number} "
                "依赖这份证书证明受托方采取了必要的安全措施。法律要求受托方采取必要措施保障所处理的个人信息的安全"
                "（第五十九条），并要求委托方与受托方约定保护措施、对其处理活动进行监督（第二十一条）。"
                "证书过期后，这项证明就不再成立。",
                f"The vendor's {label_en} certificate (number {number}) expired on {until}. Agreement "
                f"{agreement.number} relies on it to show that the vendor keeps the PI secure. The law requires "
                "the vendor to take the measures needed to keep the PI it processes secure (art. 59), and you to "
                "agree those measures with it and supervise it (art. 21). An expired certificate no longer shows "
                "that.",
            ),
            (
                "请受托方提交续期后的证书；在此之前，决定是否需要其他保证（如现场审计）。",
                "Ask the vendor for the renewed certificate; until then, decide whether you need other assurance "
                "(an on-site audit, say).",
            ),
            ("PIPL art. 21(1)", "PIPL art. 59"),
            {
                "agreement": agreement.number,
                "certification": kind,
                "number": number,
                "issuer": details.get("issuer", ""),
                "valid_until": str(until),
                "attestation_id": str(attestation.id),
            },
            detail=kind,
        )


CHILDREN_MEASURES = "儿童个人信息网络保护规定 art. 16"
VENDOR_CHECK = "GB/T 35273-2020 §9.1 b)"


@rule
def r22_due_diligence(facts: Facts) -> Iterator[Raised]:
    """What the vendor's due-diligence questionnaire says against what the engagement needs: the
    handler checks the vendor's ability to protect the data before entrusting it (GB/T 35273 §9.1
    b)), and for children's data assesses the vendor's security (children's provisions art. 16)."""
    stated = facts.due_diligence
    if stated is None or facts.engagement.status == EngagementStatus.terminated:
        return
    source = {"questionnaire_id": str(stated.questionnaire_id)}
    if stated.transfers_abroad and not facts.engagement.leaves_china:
        yield Raised(
            "R22",
            Severity.review,
            (
                "受托方称个人信息出境，但本委托登记为不出境",
                "The vendor says the PI goes abroad; the registry says it does not",
            ),
            (
                "受托方在尽职调查问卷中表示，个人信息会传输至境外或可被境外人员访问，而本委托登记为个人信息不出境。"
                "向境外提供个人信息须告知个人、取得单独同意并落实出境机制。",
                "In its due-diligence questionnaire the vendor says the PI is sent abroad or reachable from abroad, "
                "while this engagement records that it stays in China. A transfer abroad needs notice, separate "
                "consent and a transfer mechanism.",
            ),
            (
                "向受托方核实；如确有出境，登记出境接收方和机制，否则要求受托方停止。",
                "Check with the vendor; if the PI does leave China, record the recipients and the mechanism, "
                "otherwise have the vendor stop.",
            ),
            ("PIPL art. 38", "PIPL art. 39"),
            {**source, "transfers_abroad": True, "leaves_china": False},
            detail="abroad_not_registered",
        )
    if stated.face_storage not in (None, FaceStorage.not_processed) and not facts.faces:
        yield Raised(
            "R22",
            Severity.review,
            ("受托方称处理人脸信息，但本委托未登记", "The vendor says it stores faces; the registry records none"),
            (
                "受托方在尽职调查问卷中说明了人脸信息的存储位置，而本委托未登记人脸信息。人脸信息是敏感个人信息。",
                "In its due-diligence questionnaire the vendor says where it stores facial information, but this "
                "engagement records none. Facial information is sensitive PI.",
            ),
            ("核实后更新个人信息种类。", "Check, then correct the PI categories."),
            ("PIPL art. 28", f"{FACE_MEASURES} art. 8"),
            {**source, "face_storage": str(stated.face_storage)},
            detail="faces_not_registered",
        )
    if facts.sensitive and stated.certifications is not None and not stated.certifications:
        yield Raised(
            "R22",
            Severity.medium,
            ("处理敏感个人信息的受托方没有任何安全认证", "A vendor with sensitive PI holds no security certification"),
            (
                f"本委托涉及敏感个人信息（{_categories(facts.sensitive, 'zh')}），"
                "受托方在尽职调查问卷中表示没有等级保护备案、ISO/IEC 27001/27701 或个人信息保护认证。"
                "委托前应核实受托方保护个人信息的能力。",
                f"This engagement involves sensitive PI ({_categories(facts.sensitive, 'en')}), and the vendor's "
                "due-diligence questionnaire states no MLPS filing, ISO/IEC 27001/27701 or PI protection "
                "certification. Check its ability to protect the data before entrusting it.",
            ),
            (
                "要求受托方提供其他安全保证（如第三方评估或现场审计），或选择有认证的受托方。",
                "Obtain other assurance (a third-party assessment, an on-site audit) or choose a certified vendor.",
            ),
            ("PIPL art. 21(1)", "PIPL art. 59", VENDOR_CHECK),
            {**source, "certifications": [], "sensitive": facts.sensitive},
            detail="no_certification",
        )
    if MINORS in facts.subjects and stated.security_assessment is not True:
        yield Raised(
            "R22",
            Severity.high,
            (
                "委托处理儿童个人信息，未对受托方进行安全评估",
                "Children's PI entrusted without a security assessment of the vendor",
            ),
            (
                "本委托涉及不满十四周岁未成年人的个人信息。委托第三方处理儿童个人信息的，应当对受委托方及委托行为等进行安全评估；"
                "受托方在尽职调查问卷中表示过去12个月内没有经过安全评估。",
                "This engagement involves PI of children under 14. Entrusting a third party with children's PI "
                "requires a security assessment of the vendor and of the entrustment; the vendor's due-diligence "
                "questionnaire says it has had none in the past 12 months.",
            ),
            (
                "在委托前完成对受托方的安全评估，并将评估报告作为证据保存。",
                "Assess the vendor's security before entrusting it, and keep the report as evidence.",
            ),
            (CHILDREN_MEASURES, VENDOR_CHECK),
            {**source, "security_assessment": stated.security_assessment},
            detail="children_no_assessment",
        )


def handler_rules(handler: HandlerProfile) -> Iterator[Raised]:
    """R17, about the company itself rather than one engagement."""
    total = handler.individuals_total or 0
    if total >= 1_000_000 and not handler.pi_protection_officer_name:
        yield Raised(
            "R17",
            Severity.high,
            ("未指定个人信息保护负责人", "No PI protection officer named"),
            (
                f"处理 {total:,} 人的个人信息（达到100万人），应指定个人信息保护负责人，并在30个工作日内报送。",
                f"You process PI of {total:,} people (1,000,000 or more): name a PI protection officer and report "
                "them within 30 working days.",
            ),
            ("在公司资料中登记负责人并报送。", "Record the officer in the handler profile and report them."),
            ("PIPL art. 52", "Audit measures 2025"),
            {"individuals_total": total, "pi_protection_officer_name": ""},
            detail="officer",
        )
    if total > 10_000_000:
        yield Raised(
            "R17",
            Severity.review,
            ("须至少每两年进行一次合规审计", "A compliance audit at least every two years"),
            (
                f"处理超过1000万人的个人信息（{total:,}），应至少每两年进行一次个人信息保护合规审计。",
                f"You process PI of more than 10,000,000 people ({total:,}): a compliance audit is due at least every "
                "two years.",
            ),
            ("确认最近一次审计的日期。", "Confirm the date of the last audit."),
            ("Audit measures 2025",),
            {"individuals_total": total},
            detail="audit",
        )


def evaluate(facts: Facts) -> list[Raised]:
    return [raised for check in RULES for raised in check(facts)]


def _iso(value: date | None) -> str | None:
    return value.isoformat() if value else None
