"""Agreements (委托处理协议): generated for an engagement from a versioned template."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from enum import StrEnum
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, field_validator
from pydantic import Field as PydanticField
from sqlmodel import Field, SQLModel

from app.core.fields import CONTROL_CHARACTERS, Name, Reason
from app.core.messages import InvalidValue
from app.core.schemas import partial_model
from app.core.types import EnumString


class AgreementStatus(StrEnum):
    draft = "draft"
    issued = "issued"  # sent to the vendor
    signed = "signed"  # the signed copy is uploaded
    active = "active"
    expired = "expired"
    terminated = "terminated"


# Statuses several domains reason about: the vendor is bound; the processing has ended.
IN_FORCE = frozenset({AgreementStatus.signed, AgreementStatus.active})
ENDED = frozenset({AgreementStatus.terminated, AgreementStatus.expired})


class Language(StrEnum):
    zh = "zh"
    en = "en"
    bilingual = "bilingual"


class GoverningLaw(StrEnum):
    """The law the agreement is governed by. PIPL entrustment by a handler in China: PRC law."""

    prc = "prc"


class DocumentFormat(StrEnum):
    docx = "docx"
    pdf = "pdf"


class DocumentKind(StrEnum):
    generated = "generated"  # rendered from the agreement's snapshot and terms
    signed = "signed"  # the signed copy, uploaded


class AgreementTerms(SQLModel):
    """What the parties agree beyond the engagement's data; editable while a draft."""

    term_start: date
    term_end: date
    auto_renew: bool = False
    notice_days: int = Field(default=30, ge=0, le=365, description="Notice of non-renewal, in days.")
    deletion_days: int = Field(default=30, ge=1, le=365, description="Deletion after termination, in days (B4).")
    # The first notice of an incident, within hours (the vendor may itself have to report to
    # the provincial CAC within 4); the full report follows. Each agreement stores its own
    # value, so the default (24 until template version 2) changes no agreement already made.
    incident_notice_hours: int = Field(
        default=2, ge=1, le=168, description="First incident notice to us, in hours (B3)."
    )
    audit_on_site: bool = Field(default=True, description="On-site audits allowed (A7).")
    audit_notice_days: int = Field(default=10, ge=0, le=90)
    governing_law: GoverningLaw = Field(default=GoverningLaw.prc, sa_type=EnumString(GoverningLaw, 20))
    main_contract: str = Field(
        default="",
        max_length=200,
        description="The main contract this agreement belongs to (its name and number), named on the first page.",
    )

    @field_validator("main_contract")
    @classmethod
    def _printable_main_contract(cls, value: str) -> str:
        if CONTROL_CHARACTERS.search(value):
            raise InvalidValue("must not contain control characters", zh="不能包含控制字符")
        return value.strip()


class AgreementCreate(AgreementTerms):
    model_config = {"extra": "forbid"}
    engagement_id: uuid.UUID
    template_id: str = Field(default="pipl-entrusted-processing", max_length=100)
    template_version: int | None = Field(default=None, ge=1, description="Default: the newest published version.")


class AgreementTermsUpdate(AgreementTerms):
    model_config = {"extra": "forbid"}


AgreementUpdate = partial_model(AgreementTermsUpdate, "AgreementUpdate")


class AgreementPublic(AgreementTerms):
    id: uuid.UUID
    number: str
    engagement_id: uuid.UUID
    vendor_id: uuid.UUID
    template_id: str
    template_version: int
    status: AgreementStatus
    owner_id: uuid.UUID | None
    supersedes_id: uuid.UUID | None
    issued_at: datetime | None
    signed_at: datetime | None
    activated_at: datetime | None
    ended_on: date | None
    end_reason: str
    override_reason: str = Field(description="Why the DPO let it be issued despite prohibited processing (R8b).")
    override_by: str
    override_at: datetime | None
    created_at: datetime
    updated_at: datetime


class Override(SQLModel):
    model_config = {"extra": "forbid"}
    reason: Reason = Field(
        description="Why issuing is justified despite the prohibition; kept on the agreement and in the audit trail.",
    )


class VendorAgreement(AgreementTerms):
    """An agreement as its vendor sees it."""

    id: uuid.UUID
    number: str
    engagement_id: uuid.UUID
    status: AgreementStatus
    issued_at: datetime | None
    signed_at: datetime | None
    activated_at: datetime | None
    ended_on: date | None


class Termination(SQLModel):
    model_config = {"extra": "forbid"}
    ended_on: date = Field(description="From this date the vendor's deletion deadline runs.")
    reason: Name


class Expiry(SQLModel):
    model_config = {"extra": "forbid"}
    ended_on: date | None = Field(default=None, description="Default: the term end.")


class RenderRequest(SQLModel):
    model_config = {"extra": "forbid"}
    format: DocumentFormat
    lang: Language = Language.bilingual
    annex: bool = Field(
        default=False,
        description="An internal copy with the table of legal requirements covered appended. The copy "
        "issued to the vendor never has it; GET .../compliance-map gives the table alone.",
    )


class DocumentCopy(StrEnum):
    """Which copy a file is: rendered before the agreement was issued (a draft, ours alone),
    the issued text (rendered at or after issue), or the signed copy."""

    draft = "draft"
    issued = "issued"
    signed = "signed"


class DocumentPublic(SQLModel):
    id: uuid.UUID
    agreement_id: uuid.UUID
    kind: DocumentKind
    stage: DocumentCopy = Field(
        default=DocumentCopy.draft, description="Which copy: draft (never shown to the vendor), issued or signed."
    )
    format: DocumentFormat
    lang: Language | None
    template_version: int
    sha256: str
    size: int
    filename: str
    content_type: str
    created_at: datetime


class CoverageRow(SQLModel):
    id: str
    required: bool
    source: str
    zh: str
    en: str
    clauses: list[str]
    articles: list[str]


class Coverage(SQLModel):
    agreement_id: uuid.UUID
    template: str
    requirements: list[CoverageRow]
    uncovered_required: list[str]


class SnapshotChange(SQLModel):
    field: str
    old: Any
    new: Any


class TemplateVersionPublic(SQLModel):
    version: int
    published: date | None
    clauses: list[str]
    fingerprint: str


class TemplatePublic(SQLModel):
    id: str
    title_zh: str
    title_en: str
    versions: list[TemplateVersionPublic]


# ------------------------------------------------------------ the snapshot an agreement keeps
# The registry data an agreement was generated from, as stored (JSON) on the agreement and
# read back to render it. Plain types, none of the registry's rules: a row stored under
# older rules must keep loading and rendering the same words. Codes stay strings, so a code
# that has since left the registry still reads (and is shown as itself). Unknown keys are
# ignored; the fields here are exactly the keys stored, in the stored order.
#
# The English values of free text (`purpose_en`, ...) came later (issue 15): a snapshot stored
# before has no such key, read as None and left out again when dumped, so it is stored and
# rendered exactly as before (the one text in both languages). A newer snapshot stores them,
# "" when nobody wrote the English text.


def _absent(value: object) -> bool:
    return value is None


# A key later snapshots have and earlier ones lack: None when absent, and then not dumped.
Later = Annotated[str | None, PydanticField(default=None, exclude_if=_absent)]


class _Snapshot(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")


class HandlerSnapshot(_Snapshot):
    legal_name_zh: str
    legal_name_en: str
    unified_social_credit_code: str
    address: str


class VendorSnapshot(_Snapshot):
    legal_name_zh: str
    legal_name_en: str
    country: str
    unified_social_credit_code: str | None
    registration_number: str | None
    address: str


class VenueSnapshot(_Snapshot):
    description: str
    venue_type: str
    venue_count: int
    public_place: bool
    equipment: str
    equipment_count: int
    purpose_public_security: bool
    signage_posted: bool
    signage_evidence: str
    description_en: Later


class StorageLocationSnapshot(_Snapshot):
    country: str
    region: str | None
    provider: str


class CrossBorderRecipientSnapshot(_Snapshot):
    name: str
    country: str
    purpose: str


class EngagementSnapshot(_Snapshot):
    name: str
    purpose: str
    processing_methods: list[str]
    pi_categories: list[str]
    data_subjects: list[str]
    individuals_count: int | None
    individuals_count_as_of: date | None
    venues: list[VenueSnapshot]
    storage_locations: list[StorageLocationSnapshot]
    leaves_china: bool
    cross_border_recipients: list[CrossBorderRecipientSnapshot]
    cross_border_mechanism: str | None
    retention_days: int | None
    retention_note: str
    legal_basis: str
    purpose_en: Later
    retention_note_en: Later


class SubProcessorSnapshot(_Snapshot):
    name: str
    activity: str
    country: str
    region: str | None
    handler_consented: bool
    consented_on: date | None
    activity_en: Later


class AgreementSnapshot(_Snapshot):
    """Read a stored snapshot with `AgreementSnapshot.model_validate(agreement.snapshot)`; store
    one with `model_dump(mode="json")`."""

    handler: HandlerSnapshot
    vendor: VendorSnapshot
    engagement: EngagementSnapshot
    sub_processors: list[SubProcessorSnapshot]
