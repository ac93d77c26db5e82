"""What each kind of obligation is: whose duty, its legal source, and its wording in both languages."""

from __future__ import annotations

from dataclasses import dataclass

from app.attestations.schemas import AttestationKind
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
        "PIPIA 报告和处理情况记录至少保存三年：登记保存期限",
        "Keep the PIPIA report and processing records at least 3 years: record the retention",
    ),
    Kind.facial_recognition_filing: Spec(
        Party.handler,
        "R9",
        "Facial recognition measures 2025",
        "存储的人脸信息达到10万人：30个工作日内向省级网信部门备案",
        "Stored facial information reached 100,000 individuals: file with the provincial CAC within 30 working days",
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
        "Cross-border data flow provisions 2024",
        "数据出境安全评估有效期三年：到期前60个工作日申请延期",
        "The cross-border security assessment is valid 3 years: request the extension 60 working days "
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
}
