from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON
from sqlmodel import Field, SQLModel

from app.agreements.schemas import AgreementStatus, AgreementTerms, DocumentFormat, DocumentKind, Language
from app.core.types import EnumString, UTCDateTime, utcnow


class Agreement(AgreementTerms, table=True):
    __tablename__ = "agreements"

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    number: str = Field(max_length=40, unique=True)
    engagement_id: uuid.UUID = Field(foreign_key="engagements.id", index=True)
    # The contract party at generation; kept even if the engagement later moves vendor.
    vendor_id: uuid.UUID = Field(foreign_key="vendors.id", index=True)
    template_id: str = Field(max_length=100)
    template_version: int
    status: AgreementStatus = Field(default=AgreementStatus.draft, sa_type=EnumString(AgreementStatus, 20), index=True)
    owner_id: uuid.UUID | None = Field(default=None, foreign_key="users.id")
    supersedes_id: uuid.UUID | None = Field(default=None, foreign_key="agreements.id")
    # The registry data this agreement was generated from; never updated after creation.
    snapshot: dict[str, Any] = Field(sa_type=JSON)
    issued_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    signed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    activated_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    ended_on: date | None = None
    end_reason: str = Field(default="", max_length=500)
    # The DPO's decision to issue despite processing the law prohibits (R8b), and why.
    override_reason: str = Field(default="", max_length=2000)
    override_by: str = Field(default="", max_length=320)
    override_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class AgreementDocument(SQLModel, table=True):
    """A rendered or signed file of an agreement; the bytes live in storage under `sha256`."""

    __tablename__ = "agreement_documents"

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    agreement_id: uuid.UUID = Field(foreign_key="agreements.id", index=True)
    kind: DocumentKind = Field(sa_type=EnumString(DocumentKind, 20))
    format: DocumentFormat = Field(sa_type=EnumString(DocumentFormat, 10))
    lang: Language | None = Field(default=None, sa_type=EnumString(Language, 10))
    template_version: int
    sha256: str = Field(max_length=64)
    size: int
    filename: str = Field(max_length=255)
    content_type: str = Field(max_length=100)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
