"""The PI handler (个人信息处理者): the customer company this deployment serves."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from pydantic import EmailStr, model_validator
from sqlalchemy import BigInteger
from sqlmodel import Field, SQLModel

from app.core.fields import MAX_INDIVIDUALS, CreditCode, Name, ShortText, Text
from app.core.messages import InvalidValue


class HandlerProfileBase(SQLModel):
    legal_name_zh: Name = Field(description="Legal name in Chinese.")
    legal_name_en: ShortText = Field(default="", description="Legal name in English.")
    unified_social_credit_code: CreditCode = Field(max_length=18)
    address: Text = ""
    pi_protection_officer_name: ShortText = Field(default="", description="个人信息保护负责人")
    pi_protection_officer_email: EmailStr | None = Field(default=None, max_length=320)
    is_ciio: bool = Field(default=False, description="Critical information infrastructure operator.")
    holds_important_data: bool = Field(
        default=False,
        description="重要数据: the PI it sends abroad includes data identified as important data (a catalogue or a "
        "notice from the authorities): any transfer then needs a security assessment, whatever the count.",
    )
    individuals_total: int = Field(
        default=0,
        ge=0,
        le=MAX_INDIVIDUALS,
        sa_type=BigInteger,
        description="Individuals whose PI the handler processes in total (PIPL art. 52 thresholds).",
    )
    individuals_total_as_of: date | None = None
    last_compliance_audit_on: date | None = Field(
        default=None, description="The last PI protection compliance audit (every 2 years above 10,000,000 people)."
    )
    automotive_data_processor: bool = Field(
        default=False,
        description="汽车数据处理者, e.g. a car dealer: automotive data rules may make its PI important data.",
    )


class HandlerProfileUpdate(HandlerProfileBase):
    model_config = {"extra": "forbid"}


class HandlerProfilePublic(HandlerProfileBase):
    updated_at: datetime


class AuditOrderBase(SQLModel):
    """A compliance audit a regulator ordered (PIPL art. 64; compliance audit measures 2025):
    the company has a professional body audit it and sends the report by the deadline."""

    ordered_on: date = Field(description="The date of the order (要求开展合规审计的通知).")
    authority: Name = Field(description="Who ordered it, e.g. 上海市网信办.")
    reference: ShortText = Field(default="", description="The order's document number.")
    deadline: date = Field(description="When the audit report is due to the authority.")
    note: Text = ""


class AuditOrderCreate(AuditOrderBase):
    model_config = {"extra": "forbid"}

    @model_validator(mode="after")
    def _deadline_after_order(self) -> AuditOrderCreate:
        if self.deadline < self.ordered_on:
            raise InvalidValue("deadline: is before ordered_on", zh="审计完成期限早于下达日期")
        return self


class AuditReportPublic(SQLModel):
    filename: str
    content_type: str
    size: int
    sha256: str
    uploaded_at: datetime


class AuditOrderPublic(AuditOrderBase):
    id: uuid.UUID
    report: AuditReportPublic | None = Field(
        default=None, description="The audit report, the evidence that closes the order's obligation."
    )
    created_at: datetime
