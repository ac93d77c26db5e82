"""Users and their API tokens, at the HTTP edge."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from pydantic import EmailStr, field_validator
from sqlmodel import Field, SQLModel

from app.core.fields import AwareDateTime, Label, PersonName


class Role(StrEnum):
    """What a user may do. Procurement and owners write what they own; the DPO reviews."""

    admin = "admin"
    procurement = "procurement"
    owner = "owner"
    dpo = "dpo"
    auditor = "auditor"


class UserBase(SQLModel):
    email: EmailStr = Field(max_length=320, description="Login and reminder address.")
    name: PersonName = Field(default="")
    role: Role

    @field_validator("email")
    @classmethod
    def _lower(cls, value: str) -> str:
        return value.lower()


class UserCreate(UserBase):
    model_config = {"extra": "forbid"}


class UserPublic(UserBase):
    id: uuid.UUID
    is_active: bool
    created_at: datetime


class TokenCreate(SQLModel):
    model_config = {"extra": "forbid"}
    name: Label = Field(default="api")
    expires_at: AwareDateTime | None = Field(default=None, description="None = no expiry.")


class TokenPublic(SQLModel):
    id: uuid.UUID
    name: str
    hint: str
    created_at: datetime
    expires_at: datetime | None
    last_used_at: datetime | None
    revoked_at: datetime | None


class TokenIssued(TokenPublic):
    token: str = Field(description="Shown once; only its hash is stored.")


class UserCreated(UserPublic):
    token: str = Field(description="The new user's first API token, shown once.")
