"""The words the pages show for stored values (enums), in Chinese and English."""

from __future__ import annotations

LABELS: dict[str, tuple[str, str]] = {
    # PIPL art. 4 processing methods
    "collection": ("收集", "collection"),
    "storage": ("存储", "storage"),
    "use": ("使用", "use"),
    "processing": ("加工", "processing"),
    "transmission": ("传输", "transmission"),
    "provision": ("提供", "provision"),
    "disclosure": ("公开", "disclosure"),
    "deletion": ("删除", "deletion"),
    # data subjects
    "customers": ("客户", "customers"),
    "prospective_customers": ("潜在客户", "prospective customers"),
    "visitors": ("到访者", "visitors"),
    "employees": ("员工", "employees"),
    "job_applicants": ("求职者", "job applicants"),
    "minors_under_14": ("不满十四周岁未成年人", "minors under 14"),
    "patients": ("患者", "patients"),
    "app_users": ("应用用户", "app users"),
    "business_contacts": ("业务联系人", "business contacts"),
    "other": ("其他", "other"),
    # PIPL art. 13 legal bases
    "consent": ("个人同意（第十三条第一项）", "consent (art. 13(1))"),
    "contract": ("订立、履行合同所必需（第十三条第二项）", "a contract with the individual (art. 13(2))"),
    "hr_management": ("人力资源管理所必需（第十三条第二项）", "HR management (art. 13(2))"),
    "legal_duty": ("履行法定职责或义务（第十三条第三项）", "a legal duty (art. 13(3))"),
    "public_health_emergency": ("突发公共卫生事件（第十三条第四项）", "a public health emergency (art. 13(4))"),
    "news_public_interest": ("新闻报道、舆论监督（第十三条第五项）", "news in the public interest (art. 13(5))"),
    "publicly_disclosed": ("已合法公开的信息（第十三条第六项）", "lawfully disclosed information (art. 13(6))"),
    "other_law": ("法律、行政法规规定的其他情形（第十三条第七项）", "another law (art. 13(7))"),
    # venues and equipment
    "store": ("门店", "store"),
    "showroom": ("展厅", "showroom"),
    "office": ("办公场所", "office"),
    "factory": ("工厂", "factory"),
    "warehouse": ("仓库", "warehouse"),
    "public_street": ("公共街道", "public street"),
    "transport_hub": ("交通枢纽", "transport hub"),
    "hotel_room": ("酒店客房", "hotel room"),
    "bathroom": ("浴室", "bathroom"),
    "changing_room": ("更衣室", "changing room"),
    "toilet": ("卫生间", "toilet"),
    "none": ("无", "none"),
    "image_capture": ("图像采集设备", "image capture"),
    "identity_recognition": ("个人身份识别设备", "identity recognition"),
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
