"""The words the pages show for stored values (enums), in Chinese and English: the registry's
codes from app/engagements/labels.py (one table for pages, exports, findings and imports), and
the words only the pages need."""

from __future__ import annotations

from app.engagements import labels

LABELS: dict[str, tuple[str, str]] = {
    **labels.METHOD,
    **labels.SUBJECT,
    **labels.LEGAL_BASIS,
    **labels.VENUE_TYPE,
    **labels.EQUIPMENT,
    "other": ("其他", "other"),  # a data subject and a venue type alike
    # statuses
    "prospective": ("评估中", "prospective"),
    "active": ("生效", "active"),
    "suspended": ("暂停", "suspended"),
    "offboarded": ("已退出", "offboarded"),
    "proposed": ("拟采购", "proposed"),
    "terminated": ("已终止", "terminated"),
    "open": ("待办", "open"),
    "overdue": ("已逾期", "overdue"),
    "done": ("已完成", "done"),
    "waived": ("已豁免", "waived"),
    # attestation kinds
    "periodic": ("年度合规证明", "periodic attestation"),
    "sub_processor_change": ("转委托变更", "sub-processor change"),
    "incident": ("安全事件", "incident"),
    "face_count": ("人脸存储人数月报", "monthly face count"),
    # deletion methods
    "overwritten": ("覆写删除", "overwritten"),
    "cryptographic_erasure": ("密钥销毁（加密擦除）", "cryptographic erasure"),
    "physical_destruction": ("物理销毁", "physical destruction"),
    "returned_to_handler": ("返还委托方", "returned to us"),
    # roles
    "admin": ("管理员", "admin"),
    "procurement": ("采购", "procurement"),
    "owner": ("业务负责人", "owner"),
    "dpo": ("个人信息保护负责人", "DPO"),
    "auditor": ("审计", "auditor"),
}


def label(value: object) -> tuple[str, str]:
    text = str(value)
    return LABELS.get(text, (text, text.replace("_", " ")))
