"""Vendors (受托方): the entrusted parties that process PI for the handler."""

from __future__ import annotations

import ipaddress
import uuid
from datetime import date, datetime
from enum import StrEnum
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, EmailStr, field_validator
from sqlmodel import Field, SQLModel

from app.core.fields import AwareDateTime, CountryCode, CreditCode, Label, Name, ShortText, Text
from app.core.messages import InvalidValue
from app.core.schemas import partial_model
from app.core.types import EnumString, PydanticJSON


class VendorStatus(StrEnum):
    prospective = "prospective"  # being evaluated, before purchase
    active = "active"
    suspended = "suspended"
    offboarded = "offboarded"


class Contact(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: Name
    email: EmailStr
    role: ShortText = Field(default="", description="e.g. account manager, DPO, security contact")
    phone: ShortText = ""


class Certification(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: Name = Field(description="e.g. ISO/IEC 27001, ISO/IEC 27701, MLPS level 3 (等保三级)")
    number: ShortText = ""
    valid_until: date | None = None


class VendorBase(SQLModel):
    legal_name_zh: ShortText = Field(default="", description="Legal name in Chinese; required for Chinese vendors.")
    legal_name_en: ShortText = Field(default="", description="Legal name in English.")
    country: CountryCode = Field(default="CN", max_length=2, description="ISO 3166-1 alpha-2 of registration.")
    unified_social_credit_code: CreditCode | None = Field(
        default=None, max_length=18, description="统一社会信用代码; required when country is CN."
    )
    registration_number: ShortText | None = Field(
        default=None,
        max_length=100,
        description="Company registration number; required outside China.",
    )
    address: Text = ""
    website: ShortText = ""
    contacts: list[Contact] = Field(default_factory=list, sa_type=PydanticJSON(list[Contact]))
    certifications: list[Certification] = Field(default_factory=list, sa_type=PydanticJSON(list[Certification]))
    status: VendorStatus = Field(default=VendorStatus.prospective, sa_type=EnumString(VendorStatus, 20))
    owner_id: uuid.UUID | None = Field(
        default=None,
        foreign_key="users.id",
        description="Internal owner of the relationship; default: the creator.",
    )

    @field_validator("website")
    @classmethod
    def _website(cls, value: str) -> str:
        if value and not value.lower().startswith(("http://", "https://")):
            raise InvalidValue("must start with http:// or https://", zh="须以 http:// 或 https:// 开头")
        return value


class VendorCreate(VendorBase):
    model_config = {"extra": "forbid"}


VendorUpdate = partial_model(VendorCreate, "VendorUpdate")


class VendorPublic(VendorBase):
    id: uuid.UUID
    created_at: datetime
    updated_at: datetime


def _networks(values: list[str]) -> list[str]:
    networks = []
    for value in values:
        try:
            networks.append(str(ipaddress.ip_network(value.strip(), strict=False)))
        except ValueError:
            raise InvalidValue(
                f"{value!r} is not an IP address or network (203.0.113.7, 203.0.113.0/24)",
                zh=f"{value!r} 不是 IP 地址或网段（如 203.0.113.7、203.0.113.0/24）",
            ) from None
    return list(dict.fromkeys(networks))


class VendorKeyCreate(SQLModel):
    model_config = {"extra": "forbid"}
    name: Label = Field(description="What the key is for, e.g. 'deletion uploads'.")
    expires_at: AwareDateTime | None = Field(default=None, description="Default: one year from now.")
    allowed_networks: Annotated[list[Annotated[str, Field(max_length=50)]], AfterValidator(_networks)] = Field(
        default_factory=list, max_length=50, description="IP addresses or networks the key works from; empty = any."
    )
    test: bool = Field(
        default=False,
        description="A sandbox key (dpv_test_...): its attestations are marked as tests, reviewed at once "
        "by the sandbox, and close no duty nor appear in any export, evidence pack or finding.",
    )


class VendorKeyPublic(SQLModel):
    id: uuid.UUID
    vendor_id: uuid.UUID
    name: str
    hint: str
    allowed_networks: list[str]
    created_at: datetime
    expires_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None
    test: bool


class VendorKeyIssued(VendorKeyPublic):
    key: str = Field(description="Shown once; only its hash is stored. Send as Authorization: Bearer.")
