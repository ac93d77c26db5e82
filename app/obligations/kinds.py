"""What each kind of obligation is: whose duty, its legal source, and its wording in both languages."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from app.attestations.schemas import AttestationKind
from app.core import clock
from app.obligations.schemas import ObligationKind, Party

Kind = ObligationKind
FACES_FILING = 100_000  # facial-recognition measures 2025: a filing at 100,000 individuals
# The renewed certificate is due this many working days before the current one expires, so
# that we can review it while the old one is still valid.
CERTIFICATE_LEAD_WORKING_DAYS = 10


@dataclass(frozen=True)
class Spec:
    party: Party
    rule_id: str
    article: str
    what_zh: str
    what_en: str
    attestation_kind: AttestationKind | None = None  # what the vendor sends to meet it
    manual: bool = False  # a person marks it done, with a reference (a filing number, say)
    # Met when the data shows it (a renewed certificate accepted), not by the first attestation
    # of its kind accepted on the engagement.
    met_by_data: bool = False
    reminder_days: tuple[int, ...] | None = None  # days before due that remind; None: the policy's


SPECS: dict[Kind, Spec] = {
    Kind.renewal_decision: Spec(
        Party.handler,
        "R19",
        "product policy; PIPL art. 21(1)",
        "协议期限将满：在通知期截止前决定续约或终止",
        "The agreement's term is ending: decide to renew or end it before the notice period closes",
        manual=True,
    ),
    Kind.agreement_expiry: Spec(
        Party.handler,
        "R19",
        "PIPL art. 21(1)",
        "委托处理协议到期：到期后受托方须删除或返还个人信息",
        "The entrusted-processing agreement expires; the vendor must then delete or return the PI",
        manual=True,
    ),
    Kind.deletion_attestation: Spec(
        Party.vendor,
        "R13",
        "PIPL art. 21(2)",
        "委托关系终止后删除或返还个人信息，并提交书面说明（含备份和转委托方）",
        "After the engagement ended, delete or return the PI and send a written attestation "
        "(covering backups and sub-processors)",
        AttestationKind.deletion,
    ),
    Kind.periodic_attestation: Spec(
        Party.vendor,
        "A7",
        "PIPL art. 21(1)",
        "年度合规声明：逐项说明协议义务的履行情况、现有转委托方和认证",
        "Yearly compliance statement: each duty of the agreement, current sub-processors and certifications",
        AttestationKind.periodic,
    ),
    Kind.pipia: Spec(
        Party.handler,
        "R4",
        "PIPL art. 55(3)",
        "委托处理开始前完成个人信息保护影响评估（PIPIA）",
        "Complete a PI protection impact assessment (PIPIA) before the processing starts",
        manual=True,
    ),
    Kind.pipia_retention: Spec(
        Party.handler,
        "R5",
        "PIPL art. 56",
        "PIPIA 报告和处理情况记录自处理结束起至少保存三年：登记保存期限",
        "Keep the PIPIA report and processing records at least 3 years from the end of the processing: record the "
        "retention",
    ),
    Kind.facial_recognition_filing: Spec(
        Party.handler,
        "R9",
        "Facial recognition measures 2025 art. 15",
        "公司存储的人脸信息（各受托方合计）达到10万人：自达到之日起30个工作日内向省级网信部门备案",
        "The faces the company stores, across all vendors, reached 100,000 individuals: file with the provincial "
        "CAC within 30 working days of reaching it",
        manual=True,
    ),
    Kind.facial_recognition_filing_change: Spec(
        Party.handler,
        "R9",
        "Facial recognition measures 2025 art. 15; CAC filing notice 2025",
        "人脸识别应用发生实质性变更（新增或终止一项应用）：30个工作日内办理备案变更",
        "A substantive change to the filed face recognition use (one started or ended): file the change within "
        "30 working days",
        manual=True,
    ),
    Kind.facial_recognition_deregistration: Spec(
        Party.handler,
        "R9",
        "Facial recognition measures 2025 art. 15; CAC filing notice 2025",
        "已停止应用人脸识别技术：30个工作日内办理备案注销，并处理人脸信息",
        "Face recognition is no longer used: deregister the filing within 30 working days and deal with the "
        "facial information",
        manual=True,
    ),
    Kind.pi_officer_report: Spec(
        Party.handler,
        "R17",
        "Audit measures 2025 art. 12; CAC PI officer notice 2025",
        "处理100万人以上个人信息：30个工作日内向设区的市级网信部门报送个人信息保护负责人信息（变更时同样报送）",
        "PI of 1,000,000 people or more: report the PI protection officer to the municipal CAC within 30 working "
        "days (and again within 30 working days of a change)",
        manual=True,
    ),
    Kind.compliance_audit: Spec(
        Party.handler,
        "R17",
        "Audit measures 2025",
        "处理1000万人以上个人信息：至少每两年开展一次个人信息保护合规审计",
        "PI of more than 10,000,000 people: a PI protection compliance audit at least every two years",
        manual=True,
    ),
    Kind.minors_audit_report: Spec(
        Party.handler,
        "R7",
        "Regulation on the online protection of minors art. 37; CAC notice 2025-12-29",
        "处理未成年人个人信息：每年1月31日前向网信部门报送上一年度合规审计情况",
        "PI of minors is processed: report the year's compliance audit to the CAC by 31 January of the next year",
        manual=True,
    ),
    Kind.cross_border_certification_renewal: Spec(
        Party.handler,
        "R15",
        "PI cross-border certification measures 2025",
        "个人信息出境认证证书有效期三年：到期前申请再认证",
        "The PI cross-border certification is valid 3 years: renew it before it expires",
        manual=True,
    ),
    Kind.standard_contract_filing: Spec(
        Party.handler,
        "R14",
        "Standard contract measures art. 7",
        "个人信息出境标准合同生效后10个工作日内向省级网信部门备案",
        "File the cross-border standard contract with the provincial CAC within 10 working days of it taking effect",
        manual=True,
    ),
    Kind.security_assessment_extension: Spec(
        Party.handler,
        "R15",
        "Cross-border data flow provisions 2024 art. 9",
        "数据出境安全评估有效期三年：在到期前60个工作日内、到期之前申请延期",
        "The cross-border security assessment is valid 3 years: request the extension within the 60 working days "
        "before it expires",
        manual=True,
    ),
    Kind.sub_processor_consent: Spec(
        Party.handler,
        "R3",
        "PIPL art. 21(3)",
        "受托方通知了转委托变更：在其生效前决定是否同意",
        "The vendor gave notice of a sub-processor change: decide whether to consent before it takes effect",
    ),
    Kind.incident_regulator_report: Spec(
        Party.vendor,  # or the handler, when the system hit is ours: set per incident
        "R18",
        "Incident reporting measures 2025 art. 4",
        "安全事件如属较大以上：受影响系统的运营者须在4小时内报告省级网信部门（关键信息基础设施1小时内报告保护工作部门和公安机关）；"
        "完成后登记报告情况，不属于的说明理由后豁免",
        "If the incident is relatively major or worse, the operator of the system hit reports it to the provincial "
        "CAC within 4 hours (critical infrastructure: the protection department and the police within 1 hour); "
        "record the report, or waive with the reason it is not that serious",
        manual=True,
    ),
    Kind.incident_review: Spec(
        Party.handler,
        "R18",
        "PIPL art. 57",
        "受托方报告了个人信息安全事件：立即评估、采取补救措施并决定是否通知监管部门和个人",
        "The vendor reported a PI incident: assess it at once, take remedial measures and decide on "
        "notifying the regulator and the individuals",
    ),
    Kind.certification_renewal: Spec(
        Party.vendor,
        "R20",
        "PIPL art. 21(1); PIPL art. 59",
        "证书即将到期：在到期前10个工作日提交续期后的证书（协议约定的安全措施依赖该证书）",
        "A certificate is about to expire: send the renewed certificate 10 working days before it does "
        "(the agreement's security measures rely on it)",
        AttestationKind.certification,
        met_by_data=True,
        reminder_days=(30, 7, 1),
    ),
    Kind.face_count_report: Spec(
        Party.vendor,
        "R9",
        "Facial recognition measures 2025 art. 15; agreement B14",
        "每月5日前书面报告截至上月末为委托方存储人脸信息的人数",
        "By the 5th of each month, report how many people's faces you stored for us at the end of the previous month",
        AttestationKind.face_count,
    ),
    Kind.standard_contract_refiling: Spec(
        Party.handler,
        "R14",
        "Standard contract measures arts. 7, 8",
        "已备案的个人信息出境标准合同所涉事项发生变化：补充或者重新订立标准合同，并自其生效之日起10个工作日内重新备案",
        "The facts of the filed cross-border standard contract changed: supplement or re-sign it, and file it again "
        "within 10 working days of it taking effect",
        manual=True,
    ),
    Kind.regulator_ordered_audit: Spec(
        Party.handler,
        "R17",
        "PIPL art. 64; Compliance audit measures 2025",
        "履行个人信息保护职责的部门要求开展合规审计：委托专业机构审计，并在期限内报送审计报告",
        "A regulator ordered a PI protection compliance audit: have it done by a professional body and send the "
        "audit report by the deadline",
    ),
}


def pipia_kept_until(pipia_date: date, processing_ends: date | None) -> date:
    """PIPL art. 56 keeps the PIPIA and the processing records at least 3 years; the law names no
    start, and the safe reading counts from the end of the processing they cover (or from the
    PIPIA while no end is known)."""
    return clock.years_after(max(pipia_date, processing_ends or pipia_date), 3)
