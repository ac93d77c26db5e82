"""Attestations: what a vendor sends us as proof, one kind per duty, each with its own fields.

A vendor posts multipart form data: a `metadata` part holding one of the JSON objects
below (chosen by `kind`) and one or more `files` parts with the evidence.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, TypeAdapter, model_validator

from app.core.fields import MAX_INDIVIDUALS, AwareDateTime, CountryCode, Name, RegionCode, ShortText, Text
from app.core.messages import InvalidValue
from app.engagements import taxonomy


class AttestationKind(StrEnum):
    deletion = "deletion"
    periodic = "periodic"
    sub_processor_change = "sub_processor_change"
    incident = "incident"
    certification = "certification"
    face_count = "face_count"


class AttestationStatus(StrEnum):
    submitted = "submitted"
    accepted = "accepted"
    rejected = "rejected"
    withdrawn = "withdrawn"  # by the vendor, before its review; its evidence files are deleted


class DeletionMethod(StrEnum):
    overwritten = "overwritten"
    cryptographic_erasure = "cryptographic_erasure"
    physical_destruction = "physical_destruction"
    returned_to_handler = "returned_to_handler"  # 返还
    other = "other"


def _known_categories(codes: list[str]) -> list[str]:
    unknown = taxonomy.unknown(codes)
    if unknown:
        raise InvalidValue(
            f"unknown PI category {', '.join(unknown)}; see the taxonomy", zh=f"未知的个人信息类别 {'、'.join(unknown)}"
        )
    return list(dict.fromkeys(codes))


Categories = Annotated[list[Annotated[str, Field(max_length=60)]], AfterValidator(_known_categories)]
Count = Annotated[int, Field(ge=0, le=MAX_INDIVIDUALS)]


class _Details(BaseModel):
    model_config = ConfigDict(extra="forbid")
    engagement_id: uuid.UUID = Field(description="The engagement this attestation is about (its scope).")


class DeletionDetails(_Details):
    """Written explanation of deletion (书面说明) after the engagement ended (PIPL art. 21(2))."""

    kind: Literal[AttestationKind.deletion]
    records_deleted: Count | None = None
    individuals_deleted: Count | None = None
    method: DeletionMethod
    method_description: Text = ""
    completed_on: date
    backups_covered: bool = Field(description="Backups were deleted too.")
    sub_processors_covered: bool = Field(description="Every sub-processor deleted too.")
    signer_name: Name
    signer_title: Name

    @model_validator(mode="after")
    def _counted(self) -> DeletionDetails:
        if self.records_deleted is None and self.individuals_deleted is None:
            raise InvalidValue(
                "give records_deleted or individuals_deleted (or both)", zh="请填写删除的记录数或个人数（或两者都填）"
            )
        if self.method == DeletionMethod.other and not self.method_description:
            raise InvalidValue(
                "method_description: describe the method when it is 'other'", zh="删除方式选“其他”时，请说明具体方式"
            )
        return self


class Statement(BaseModel):
    model_config = ConfigDict(extra="forbid")
    requirement: str = Field(max_length=10, description="A duty of the agreement, e.g. A9 or B4.")
    compliant: bool
    comment: Text = ""


class ListedSubProcessor(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: Name
    country: CountryCode = "CN"
    activity: ShortText = ""


class PeriodicDetails(_Details):
    """Yearly statement of compliance against the agreement's duties."""

    kind: Literal[AttestationKind.periodic]
    period_start: date
    period_end: date
    statements: list[Statement] = Field(min_length=1, max_length=100)
    sub_processors: list[ListedSubProcessor] = Field(default_factory=list, max_length=200)
    certifications: list[Name] = Field(default_factory=list, max_length=50)

    @model_validator(mode="after")
    def _period(self) -> PeriodicDetails:
        if self.period_end < self.period_start:
            raise InvalidValue("period_end: is before period_start", zh="期间结束日早于开始日")
        if len({statement.requirement for statement in self.statements}) != len(self.statements):
            raise InvalidValue("statements: one statement per requirement", zh="每项要求只能有一条声明")
        return self


class SubProcessorChangeDetails(_Details):
    """Notice of a new or changed sub-processor (转委托); we must consent first (art. 21(3))."""

    kind: Literal[AttestationKind.sub_processor_change]
    sub_processor_name: Name
    activity: Text = Field(min_length=1, description="What it will do with the PI.")
    pi_categories: Categories = Field(min_length=1)
    country: CountryCode
    region: RegionCode | None = None
    effective_from: date


class AffectedSystem(StrEnum):
    """Whose network or system was hit: its operator (网络运营者) reports to the authorities."""

    vendor = "vendor"
    handler = "handler"


class IncidentDetails(_Details):
    """Leak, tampering or loss (泄露、篡改、丢失) at the vendor (PIPL art. 57)."""

    kind: Literal[AttestationKind.incident]
    system: AffectedSystem = Field(
        default=AffectedSystem.vendor, description="Whose system was hit: the vendor's (default) or ours."
    )
    detected_at: AwareDateTime
    description: Text = Field(min_length=1)
    pi_categories: Categories = Field(min_length=1)
    individuals_affected: Count
    measures_taken: Text = Field(min_length=1, description="Remedial measures (补救措施).")


class CertificationKind(StrEnum):
    """What a vendor's certificate certifies."""

    iso_iec_27001 = "iso_iec_27001"
    iso_iec_27701 = "iso_iec_27701"
    mlps_level_2 = "mlps_level_2"
    mlps_level_3 = "mlps_level_3"
    mlps_level_4 = "mlps_level_4"
    pi_protection = "pi_protection"  # 个人信息保护认证
    app_security = "app_security"  # 移动互联网应用程序（App）安全认证
    other = "other"


CERTIFICATION_LABELS: dict[CertificationKind, tuple[str, str]] = {
    CertificationKind.iso_iec_27001: ("ISO/IEC 27001 信息安全管理体系认证", "ISO/IEC 27001 information security"),
    CertificationKind.iso_iec_27701: ("ISO/IEC 27701 隐私信息管理体系认证", "ISO/IEC 27701 privacy information"),
    CertificationKind.mlps_level_2: ("网络安全等级保护二级", "MLPS level 2"),
    CertificationKind.mlps_level_3: ("网络安全等级保护三级", "MLPS level 3"),
    CertificationKind.mlps_level_4: ("网络安全等级保护四级", "MLPS level 4"),
    CertificationKind.pi_protection: ("个人信息保护认证", "PI protection certification"),
    CertificationKind.app_security: ("移动互联网应用程序安全认证", "App security certification"),
    CertificationKind.other: ("其他认证", "other certification"),
}


class CertificationDetails(_Details):
    """A certificate the vendor holds (ISO/IEC 27001, MLPS level 3 等级保护三级, ...): evidence of
    its security measures (PIPL arts. 21(1), 59) that expires. Send the certificate file; send
    the renewed one as a new attestation before this one's `valid_until`."""

    kind: Literal[AttestationKind.certification]
    certification: CertificationKind
    name: ShortText = Field(default="", description="The certificate's own title; required when 'other'.")
    number: Annotated[ShortText, Field(min_length=1)]
    issuer: Name = Field(description="The certification body (认证机构) or, for MLPS, the assessing agency.")
    scope: Text = Field(min_length=1, description="What it covers: systems, sites, services.")
    valid_from: date
    valid_until: date

    @model_validator(mode="after")
    def _valid(self) -> CertificationDetails:
        if self.valid_until <= self.valid_from:
            raise InvalidValue("valid_until: must be after valid_from", zh="有效期截止日须晚于生效日")
        if self.certification == CertificationKind.other and not self.name:
            raise InvalidValue(
                "name: give the certificate's title when certification is 'other'", zh="认证选“其他”时，请填写证书名称"
            )
        return self


class FaceCountDetails(_Details):
    """The monthly count of people whose faces the vendor stores for us (agreement B14, 人脸信息
    clause v2: by the 5th, as of the end of the previous month). Its own kind, not a field of the
    yearly statement: it is monthly, and the company's facial-recognition filing (FR measures
    art. 15) is counted from the latest one accepted. Evidence files are optional."""

    kind: Literal[AttestationKind.face_count]
    as_of: date = Field(description="The day counted: the last day of the month reported on.")
    faces_stored: Count = Field(description="Individuals whose facial information is stored for us on that day.")


AttestationDetails = Annotated[
    DeletionDetails
    | PeriodicDetails
    | SubProcessorChangeDetails
    | IncidentDetails
    | CertificationDetails
    | FaceCountDetails,
    Field(discriminator="kind"),
]
details_adapter: TypeAdapter[AttestationDetails] = TypeAdapter(AttestationDetails)


def read_details(kind: AttestationKind, engagement_id: uuid.UUID, stored: dict[str, Any]) -> AttestationDetails:
    """Stored details as their kind's model: the row keeps the kind and the engagement in columns."""
    return details_adapter.validate_python({**stored, "kind": kind, "engagement_id": engagement_id})


class EvidenceFilePublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: uuid.UUID
    filename: str
    content_type: str
    size: int
    sha256: str
    created_at: datetime


class Clock(BaseModel):
    """A deadline that runs from an incident's discovery, in hours."""

    party: str = Field(description="vendor or handler: who must act")
    duty_zh: str
    duty_en: str
    deadline: datetime
    source: str
    met: bool | None = Field(description="Whether it was met, where the registry can tell (the vendor's notice).")


class Check(BaseModel):
    """Something in an attestation the reviewer should look at before accepting it (never a refusal)."""

    code: str = Field(description="Stable name, e.g. deletion_before_end, count_above_registered.")
    field: str = Field(description="The field of the details it is about.")
    message_zh: str
    message_en: str


class AttestationPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: uuid.UUID
    vendor_id: uuid.UUID
    engagement_id: uuid.UUID
    kind: AttestationKind
    status: AttestationStatus
    details: dict[str, object]
    files: list[EvidenceFilePublic]
    submitted_at: datetime
    reviewed_at: datetime | None = Field(description="When it was reviewed, or withdrawn.")
    review_reason: str
    clocks: list[Clock] = Field(default_factory=list, description="An incident's deadlines, counted in hours.")
    test: bool = Field(
        default=False,
        description="Sent with a sandbox key (dpv_test_...): accepted at once by the sandbox, closes nothing.",
    )
    checks: list[Check] = Field(
        default_factory=list, description="What the reviewer should look at before accepting (sanity checks)."
    )


class Review(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: Text = ""


class Rejection(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: Annotated[Text, Field(min_length=1)] = Field(description="Told to the vendor.")
