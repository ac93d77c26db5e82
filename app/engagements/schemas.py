"""Engagements (委托处理): what one vendor does with which PI, for the handler, and how.

Field names follow the PIPL's terms (个人信息保护法, art. 21 on entrusted processing). Rules
that span fields (an end before a start, say) are checked by the service, so POST and PATCH
obey the same rules.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, ConfigDict, StringConstraints, computed_field, field_validator, model_validator
from sqlalchemy import BigInteger
from sqlmodel import Field, SQLModel

from app.core.fields import MAX_INDIVIDUALS, CountryCode, Name, RegionCode, ShortText, Text
from app.core.messages import InvalidValue
from app.core.schemas import partial_model
from app.core.types import EnumString, PydanticJSON
from app.engagements import taxonomy

# Free text that an agreement prints takes a second, English value beside the first (Chinese)
# one: the English text of a bilingual agreement uses it, and says it is missing when empty.
EN_TEXT = (
    "The {field} in English, for the English text of a bilingual agreement; empty: that text says "
    "the English text was not provided and the Chinese applies."
)


class EngagementStatus(StrEnum):
    proposed = "proposed"  # before purchase: what the before-you-buy check looks at
    active = "active"
    suspended = "suspended"
    terminated = "terminated"


class ProcessingMethod(StrEnum):
    """The processing activities of PIPL art. 4."""

    collection = "collection"  # 收集
    storage = "storage"  # 存储
    use = "use"  # 使用
    processing = "processing"  # 加工
    transmission = "transmission"  # 传输
    provision = "provision"  # 提供
    disclosure = "disclosure"  # 公开
    deletion = "deletion"  # 删除


class DataSubject(StrEnum):
    customers = "customers"
    prospective_customers = "prospective_customers"
    visitors = "visitors"
    employees = "employees"
    job_applicants = "job_applicants"
    minors_under_14 = "minors_under_14"  # 不满十四周岁未成年人: sensitive PI (art. 28)
    # 不满十八周岁未成年人: the yearly minors' PI compliance audit (未成年人网络保护条例
    # art. 37). Children under 14 are `minors_under_14` (guardian consent, sensitive PI), which
    # counts as under 18 too: taxonomy.minors_under_18.
    minors_under_18 = "minors_under_18"
    patients = "patients"
    app_users = "app_users"
    business_contacts = "business_contacts"
    other = "other"


class LegalBasis(StrEnum):
    """PIPL art. 13(1)-(7)."""

    consent = "consent"  # 13(1)
    contract = "contract"  # 13(2): a contract the individual is party to
    hr_management = "hr_management"  # 13(2): HR management under labour rules
    legal_duty = "legal_duty"  # 13(3)
    public_health_emergency = "public_health_emergency"  # 13(4)
    news_public_interest = "news_public_interest"  # 13(5)
    publicly_disclosed = "publicly_disclosed"  # 13(6)
    other_law = "other_law"  # 13(7)


class VenueType(StrEnum):
    store = "store"
    showroom = "showroom"
    office = "office"
    factory = "factory"
    warehouse = "warehouse"
    public_street = "public_street"
    transport_hub = "transport_hub"
    # Private spaces where the facial-recognition measures forbid such equipment outright.
    hotel_room = "hotel_room"
    private_dining_room = "private_dining_room"  # 包间
    dormitory = "dormitory"  # student dormitories, staff rest rooms
    bathroom = "bathroom"
    changing_room = "changing_room"
    fitting_room = "fitting_room"  # 试衣间
    nursing_room = "nursing_room"  # 哺乳室
    toilet = "toilet"
    other = "other"


class Equipment(StrEnum):
    """PIPL art. 26: 图像采集、个人身份识别设备."""

    none = "none"
    image_capture = "image_capture"
    identity_recognition = "identity_recognition"


# Where image capture is banned outright, whatever the purpose or consent (facial-recognition
# measures 2025 art. 13; public security video regulation 2025).
PRIVATE_SPACES = frozenset(
    {
        VenueType.hotel_room,
        VenueType.private_dining_room,
        VenueType.dormitory,
        VenueType.bathroom,
        VenueType.changing_room,
        VenueType.fitting_room,
        VenueType.nursing_room,
        VenueType.toilet,
    }
)


def prohibited(venue_type: str, equipment: str) -> bool:
    """Equipment the law forbids in this kind of place: no consent or override makes it lawful."""
    return venue_type in PRIVATE_SPACES and equipment != Equipment.none


class CrossBorderMechanism(StrEnum):
    security_assessment = "security_assessment"  # CAC 数据出境安全评估
    standard_contract = "standard_contract"  # 个人信息出境标准合同
    certification = "certification"  # 个人信息出境认证
    exemption = "exemption"  # contract with the individual, HR, emergencies


class Venue(BaseModel):
    """Where PI is collected on site, e.g. 7 showrooms with 22 cameras in all."""

    model_config = ConfigDict(extra="forbid")
    description: Name
    venue_type: VenueType
    venue_count: int = Field(default=1, ge=1, le=100_000)
    public_place: bool = Field(description="公共场所: open to the public.")
    equipment: Equipment = Equipment.none
    equipment_count: int = Field(default=0, ge=0, le=1_000_000)
    purpose_public_security: bool = Field(
        default=False,
        description="The equipment serves public security (PIPL art. 26), nothing else.",
    )
    signage_posted: bool = Field(default=False, description="显著的提示标识 posted.")
    signage_evidence: ShortText = ""
    # Last, so that a venue line of the import written before it still reads part by part.
    description_en: ShortText = Field(default="", description=EN_TEXT.format(field="description"))

    @model_validator(mode="after")
    def _equipment_counted(self) -> Venue:
        if self.equipment == Equipment.none and self.equipment_count:
            raise InvalidValue("equipment_count must be 0 when equipment is none", zh="没有设备时，设备数量须为 0")
        if self.equipment != Equipment.none and not self.equipment_count:
            raise InvalidValue(
                "equipment_count must be at least 1 when there is equipment", zh="有设备时，设备数量至少为 1"
            )
        return self


class StorageLocation(BaseModel):
    model_config = ConfigDict(extra="forbid")
    country: CountryCode
    region: RegionCode | None = Field(default=None, description="ISO 3166-2, e.g. CN-SH.")
    provider: ShortText = Field(default="", description="e.g. a cloud provider and its region.")

    @model_validator(mode="after")
    def _region_in_country(self) -> StorageLocation:
        if self.region and not self.region.startswith(self.country + "-"):
            raise InvalidValue(
                f"region {self.region} is not in country {self.country}",
                zh=f"地区 {self.region} 不在国家 {self.country} 内",
            )
        return self


class CrossBorderRecipient(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: Name
    country: CountryCode
    purpose: ShortText = ""


CategoryCode = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=60)]


class EngagementBase(SQLModel):
    vendor_id: uuid.UUID = Field(foreign_key="vendors.id")
    name: Name = Field(description="Short title, e.g. 'Showroom visitor analytics'.")
    purpose: Annotated[Text, StringConstraints(min_length=1)] = Field(
        description="Purpose of processing (PIPL art. 21), in Chinese: the agreement's Chinese text."
    )
    purpose_en: Text = Field(default="", description=EN_TEXT.format(field="purpose"))
    processing_methods: list[ProcessingMethod] = Field(
        min_length=1,
        sa_type=PydanticJSON(list[ProcessingMethod]),
        description="PIPL art. 4 activities.",
    )
    pi_categories: list[CategoryCode] = Field(
        min_length=1,
        sa_type=PydanticJSON(list[str]),
        description="Codes from GET /api/pi-categories.",
    )
    data_subjects: list[DataSubject] = Field(min_length=1, sa_type=PydanticJSON(list[DataSubject]))
    individuals_count: int | None = Field(
        default=None,
        ge=0,
        le=MAX_INDIVIDUALS,
        sa_type=BigInteger,
        description="Estimated individuals whose PI is processed.",
    )
    individuals_count_as_of: date | None = Field(default=None, description="Date of the estimate; default today.")
    venues: list[Venue] = Field(default_factory=list, sa_type=PydanticJSON(list[Venue]))
    storage_locations: list[StorageLocation] = Field(default_factory=list, sa_type=PydanticJSON(list[StorageLocation]))
    leaves_china: bool = Field(default=False, description="PI is transferred to or accessed from outside China.")
    cross_border_recipients: list[CrossBorderRecipient] = Field(
        default_factory=list, sa_type=PydanticJSON(list[CrossBorderRecipient])
    )
    cross_border_mechanism: CrossBorderMechanism | None = Field(
        default=None, sa_type=EnumString(CrossBorderMechanism, 30)
    )
    cross_border_effective_on: date | None = Field(
        default=None,
        description="When the mechanism took effect: the standard contract, the certificate, or the date the "
        "security assessment's result was issued (评估结果出具之日; its 3 years count from then).",
    )
    retention_days: int | None = Field(
        default=None, ge=1, le=36_500, description="保存期限 in days (at most 100 years)."
    )
    retention_note: Text = ""
    retention_note_en: Text = Field(default="", description=EN_TEXT.format(field="retention note"))
    legal_basis: LegalBasis = Field(sa_type=EnumString(LegalBasis, 30), description="PIPL art. 13 basis.")
    consent_obtained: bool = False
    consent_evidence: ShortText = ""
    separate_consent_obtained: bool = Field(default=False, description="单独同意, for sensitive PI (art. 29).")
    separate_consent_evidence: ShortText = ""
    guardian_consent_obtained: bool = Field(
        default=False, description="Parent or guardian, for minors under 14 (art. 31)."
    )
    guardian_consent_evidence: ShortText = ""
    pipia_reference: ShortText = Field(default="", description="个人信息保护影响评估 report reference.")
    pipia_date: date | None = None
    pipia_retained_until: date | None = Field(default=None, description="At least 3 years (PIPL art. 56).")
    start_date: date | None = None
    end_date: date | None = None
    status: EngagementStatus = Field(default=EngagementStatus.proposed, sa_type=EnumString(EngagementStatus, 20))
    owner_id: uuid.UUID | None = Field(default=None, foreign_key="users.id")

    @field_validator("pi_categories")
    @classmethod
    def _known_categories(cls, codes: list[str]) -> list[str]:
        unknown = taxonomy.unknown(codes)
        if unknown:
            raise InvalidValue(
                f"unknown PI category {', '.join(unknown)}; see GET /api/pi-categories",
                zh=f"未知的个人信息类别 {'、'.join(unknown)}",
            )
        return list(dict.fromkeys(codes))

    @field_validator("processing_methods", "data_subjects")
    @classmethod
    def _dedupe(cls, values: list[StrEnum]) -> list[StrEnum]:
        return list(dict.fromkeys(values))


class EngagementCreate(EngagementBase):
    model_config = {"extra": "forbid"}


class EngagementProposal(EngagementBase):
    """What the before-you-buy check takes: the body of a create; read-only fields such as
    `id` (a copy of a stored engagement) are ignored."""

    model_config = {"extra": "ignore"}


EngagementUpdate = partial_model(EngagementCreate, "EngagementUpdate")


class SubProcessorBase(SQLModel):
    """转委托: a party the vendor entrusts with our PI in turn (PIPL art. 21(3))."""

    name: Name
    activity: Text = Field(default="", description="What it does with the PI.")
    activity_en: Text = Field(default="", description=EN_TEXT.format(field="activity"))
    country: CountryCode = Field(default="CN", max_length=2)
    region: RegionCode | None = Field(default=None, max_length=10)
    handler_consented: bool = Field(default=False, description="The handler consented to this sub-entrustment.")
    consented_on: date | None = None


class SubProcessorCreate(SubProcessorBase):
    model_config = {"extra": "forbid"}


SubProcessorUpdate = partial_model(SubProcessorCreate, "SubProcessorUpdate")


class SubProcessorPublic(SubProcessorBase):
    id: uuid.UUID
    engagement_id: uuid.UUID
    created_at: datetime
    updated_at: datetime


class EngagementPublic(EngagementBase):
    id: uuid.UUID
    processes_sensitive_pi: bool = Field(description="Sensitive PI categories, or minors under 14 among the subjects.")
    sub_processors: list[SubProcessorPublic] = []
    incident_reported_at: datetime | None = Field(default=None, description="Last incident a vendor reported.")
    created_at: datetime
    updated_at: datetime

    @computed_field(  # type: ignore[prop-decorator]
        description="Each of pi_categories with its labels, whether it is sensitive and where that comes from "
        "(PIPL art. 28; GB/T 45574-2025 Annex A), as the taxonomy says now."
    )
    @property
    def pi_category_details(self) -> list[taxonomy.PICategory]:
        known = taxonomy.categories()
        return [known[code] for code in self.pi_categories if code in known]


class VendorSubProcessor(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    name: str
    activity: str
    activity_en: str
    country: str
    region: str | None
    handler_consented: bool


class VendorEngagement(BaseModel):
    """An engagement as its vendor sees it: what it may do with which PI, where, how long.
    Our internal fields (owners, consent evidence, PIPIA references) stay out."""

    model_config = ConfigDict(from_attributes=True)
    id: uuid.UUID
    name: str
    purpose: str
    purpose_en: str
    processing_methods: list[ProcessingMethod]
    pi_categories: list[str]
    data_subjects: list[DataSubject]
    storage_locations: list[StorageLocation]
    leaves_china: bool
    retention_days: int | None
    retention_note: str
    retention_note_en: str
    start_date: date | None
    end_date: date | None
    status: EngagementStatus = Field(description="`terminated` from the day its agreement ended.")
    ended_on: date | None = Field(default=None, description="The day its agreement ended (terminated or expired).")
    sub_processors: list[VendorSubProcessor] = []
