"""Vendor contacts: a vendor's people, invited by e-mail to the portal (/portal)."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, ConfigDict, EmailStr, Field, field_validator

from app.core.fields import PersonName


class LinkPurpose(StrEnum):
    invitation = "invitation"  # sets the first (or a new) password
    sign_in = "sign_in"  # a one-time sign-in sent by e-mail


class ContactInvite(BaseModel):
    model_config = ConfigDict(extra="forbid")
    email: Annotated[EmailStr, Field(max_length=320)]
    name: PersonName = ""

    @field_validator("email")
    @classmethod
    def _lower(cls, value: str) -> str:
        return value.lower()


class ContactPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: uuid.UUID
    vendor_id: uuid.UUID
    email: str
    name: str
    is_active: bool
    has_password: bool = Field(description="Whether the contact has accepted an invitation.")
    invited_at: datetime
    last_sign_in_at: datetime | None


class ContactInvited(ContactPublic):
    link_expires_at: datetime = Field(description="The invitation link, sent by e-mail, works once until then.")
