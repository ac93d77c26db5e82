"""The registry's codes in words, Chinese and English: for the register, findings and pages.

The words of a signed agreement are not these: they are the clause library's phrases
(contract_templates/phrases/), versioned and locked with the template. These are the words
people read in exports and messages, and may be improved at any time.
"""

from __future__ import annotations

from enum import StrEnum

import pycountry

from app.engagements import taxonomy
from app.engagements.schemas import (
    CrossBorderMechanism,
    DataSubject,
    EngagementStatus,
    Equipment,
    LegalBasis,
    ProcessingMethod,
    VenueType,
)

Words = tuple[str, str]  # (Chinese, English)

STATUS: dict[str, Words] = {
    EngagementStatus.proposed: ("拟采购", "proposed"),
    EngagementStatus.active: ("进行中", "active"),
    EngagementStatus.suspended: ("已暂停", "suspended"),
    EngagementStatus.terminated: ("已终止", "terminated"),
}
METHOD: dict[str, Words] = {
    ProcessingMethod.collection: ("收集", "collection"),
    ProcessingMethod.storage: ("存储", "storage"),
    ProcessingMethod.use: ("使用", "use"),
    ProcessingMethod.processing: ("加工", "processing"),
    ProcessingMethod.transmission: ("传输", "transmission"),
    ProcessingMethod.provision: ("提供", "provision"),
    ProcessingMethod.disclosure: ("公开", "disclosure"),
    ProcessingMethod.deletion: ("删除", "deletion"),
}
SUBJECT: dict[str, Words] = {
    DataSubject.customers: ("客户", "customers"),
    DataSubject.prospective_customers: ("潜在客户", "prospective customers"),
    DataSubject.visitors: ("访客", "visitors"),
    DataSubject.employees: ("员工", "employees"),
    DataSubject.job_applicants: ("求职者", "job applicants"),
    DataSubject.minors_under_14: ("不满十四周岁的未成年人", "minors under 14"),
    DataSubject.minors_under_18: ("不满十八周岁的未成年人", "minors under 18"),
    DataSubject.patients: ("患者", "patients"),
    DataSubject.app_users: ("应用用户", "app users"),
    DataSubject.business_contacts: ("业务联系人", "business contacts"),
    DataSubject.other: ("其他个人", "other individuals"),
}
LEGAL_BASIS: dict[str, Words] = {
    LegalBasis.consent: ("个人同意", "consent"),
    LegalBasis.contract: ("订立、履行个人作为一方当事人的合同所必需", "a contract with the individual"),
    LegalBasis.hr_management: ("实施人力资源管理所必需", "HR management"),
    LegalBasis.legal_duty: ("履行法定职责或者法定义务所必需", "a legal duty"),
    LegalBasis.public_health_emergency: ("应对突发公共卫生事件或紧急情况所必需", "a public health emergency"),
    LegalBasis.news_public_interest: ("为公共利益实施新闻报道、舆论监督", "news reporting in the public interest"),
    LegalBasis.publicly_disclosed: ("处理已合法公开的个人信息", "information already lawfully public"),
    LegalBasis.other_law: ("法律、行政法规规定的其他情形", "another ground in law"),
}
MECHANISM: dict[str, Words] = {
    CrossBorderMechanism.security_assessment: ("数据出境安全评估", "CAC security assessment"),
    CrossBorderMechanism.standard_contract: ("个人信息出境标准合同", "standard contract"),
    CrossBorderMechanism.certification: ("个人信息保护认证", "certification"),
    CrossBorderMechanism.exemption: ("依法豁免", "a statutory exemption"),
}
VENUE_TYPE: dict[str, Words] = {
    VenueType.store: ("门店", "store"),
    VenueType.showroom: ("展厅", "showroom"),
    VenueType.office: ("办公场所", "office"),
    VenueType.factory: ("工厂", "factory"),
    VenueType.warehouse: ("仓库", "warehouse"),
    VenueType.public_street: ("公共街道", "public street"),
    VenueType.transport_hub: ("交通枢纽", "transport hub"),
    VenueType.hotel_room: ("宾馆客房", "hotel room"),
    VenueType.private_dining_room: ("包间", "private dining room"),
    VenueType.dormitory: ("宿舍或员工休息室", "dormitory or staff rest room"),
    VenueType.bathroom: ("浴室", "bath"),
    VenueType.changing_room: ("更衣室", "changing room"),
    VenueType.fitting_room: ("试衣间", "fitting room"),
    VenueType.nursing_room: ("哺乳室", "nursing room"),
    VenueType.toilet: ("卫生间", "toilet"),
    VenueType.other: ("其他场所", "other place"),
}
EQUIPMENT: dict[str, Words] = {
    Equipment.none: ("无", "none"),
    Equipment.image_capture: ("图像采集设备", "image-capture devices"),
    Equipment.identity_recognition: ("个人身份识别设备", "identity-recognition devices"),
}
YES_NO: dict[bool, Words] = {True: ("是", "yes"), False: ("否", "no")}

# ISO 3166-2:CN, the provincial-level divisions, in Chinese (pycountry has English names only).
CN_REGIONS = {
    "CN-AH": "安徽省", "CN-BJ": "北京市", "CN-CQ": "重庆市", "CN-FJ": "福建省", "CN-GD": "广东省",
    "CN-GS": "甘肃省", "CN-GX": "广西壮族自治区", "CN-GZ": "贵州省", "CN-HA": "河南省", "CN-HB": "湖北省",
    "CN-HE": "河北省", "CN-HI": "海南省", "CN-HK": "香港特别行政区", "CN-HL": "黑龙江省", "CN-HN": "湖南省",
    "CN-JL": "吉林省", "CN-JS": "江苏省", "CN-JX": "江西省", "CN-LN": "辽宁省", "CN-MO": "澳门特别行政区",
    "CN-NM": "内蒙古自治区", "CN-NX": "宁夏回族自治区", "CN-QH": "青海省", "CN-SC": "四川省", "CN-SD": "山东省",
    "CN-SH": "上海市", "CN-SN": "陕西省", "CN-SX": "山西省", "CN-TJ": "天津市", "CN-TW": "台湾省",
    "CN-XJ": "新疆维吾尔自治区", "CN-XZ": "西藏自治区", "CN-YN": "云南省", "CN-ZJ": "浙江省",
}  # fmt: skip
CN_REGIONS_EN = {
    "CN-GX": "Guangxi", "CN-HK": "Hong Kong", "CN-MO": "Macao", "CN-NM": "Inner Mongolia", "CN-NX": "Ningxia",
    "CN-TW": "Taiwan", "CN-XJ": "Xinjiang", "CN-XZ": "Tibet",
}  # fmt: skip
# Countries a Chinese register names most; any other is shown by its English name and code.
COUNTRIES_ZH = {
    "CN": "中国", "HK": "中国香港", "MO": "中国澳门", "TW": "中国台湾", "SG": "新加坡", "US": "美国",
    "JP": "日本", "KR": "韩国", "DE": "德国", "FR": "法国", "GB": "英国", "NL": "荷兰", "IE": "爱尔兰",
    "AU": "澳大利亚", "CA": "加拿大", "MY": "马来西亚", "TH": "泰国", "VN": "越南", "IN": "印度",
}  # fmt: skip


def say(table: dict[str, Words] | dict[bool, Words], code: str | bool | None, lang: str) -> str:
    """A code in words; a code the table does not know is shown as itself."""
    if code is None or code == "":
        return ""
    key = code.value if isinstance(code, StrEnum) else code
    words: Words | None = dict(table.items()).get(key)
    if words is None:
        return str(key)
    return str(words[0] if lang == "zh" else words[1])


def category(code: str, lang: str) -> str:
    found = taxonomy.categories().get(code)
    return code if found is None else str(getattr(found, lang))


def country(code: str, lang: str) -> str:
    if lang == "zh" and code in COUNTRIES_ZH:
        return COUNTRIES_ZH[code]
    found = pycountry.countries.get(alpha_2=code)
    name = getattr(found, "common_name", None) or getattr(found, "name", None) if found else None
    return f"{name} ({code})" if lang == "zh" and name else (name or code)


def region(code: str, lang: str) -> str:
    if lang == "zh" and code in CN_REGIONS:
        return CN_REGIONS[code]
    if code in CN_REGIONS_EN:
        return CN_REGIONS_EN[code]
    found = pycountry.subdivisions.get(code=code)  # type: ignore[no-untyped-call]
    if found is None:
        return code
    name = str(found.name)
    return name.removesuffix(" Sheng").removesuffix(" Shi") if code.startswith("CN-") else name


def place(country_code: str, region_code: str | None, lang: str, provider: str = "") -> str:
    """Where data is kept, in words: 中国广东省 / Guangdong, China; with the provider if named.
    The region is a full ISO 3166-2 code (CN-GD), so it is never prefixed with the country again."""
    if region_code:
        where = (
            f"{country(country_code, lang)}{region(region_code, lang)}"
            if lang == "zh"
            else f"{region(region_code, lang)}, {country(country_code, lang)}"
        )
    else:
        where = country(country_code, lang)
    if provider:
        where = f"{where}（{provider}）" if lang == "zh" else f"{where} ({provider})"
    return where
