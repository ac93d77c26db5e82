"""Users and their API tokens, at the HTTP edge."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import EmailStr, field_validator
from sqlmodel import Field, SQLModel

# A user's role is defined in core (app/core/actor.py needs it and imports no domain); re-exported here.
from app.core.actor import Role as Role
from app.core.fields import AwareDateTime, Label, PersonName


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
