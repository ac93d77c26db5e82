from __future__ import annotations

import uuid
from datetime import datetime

from sqlmodel import Field, SQLModel

from app.contacts.schemas import LinkPurpose
from app.core.types import EnumString, UTCDateTime, utcnow


class VendorContact(SQLModel, table=True):
    """A person of a vendor with a portal account: reaches that vendor's objects and nothing else.
    The e-mail address is unique over every vendor, so that signing in names one vendor."""

    __tablename__ = "vendor_contacts"

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    vendor_id: uuid.UUID = Field(foreign_key="vendors.id", index=True)
    email: str = Field(max_length=320, unique=True)
    name: str = Field(default="", max_length=500)
    password_hash: str | None = Field(default=None, max_length=200)  # argon2id; None until the invitation is used
    is_active: bool = True
    invited_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    invited_by_id: uuid.UUID | None = Field(default=None, foreign_key="users.id")
    last_sign_in_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class ContactLink(SQLModel, table=True):
    """A single-use, expiring link sent to a contact (an invitation, or a sign-in); hash only."""

    __tablename__ = "vendor_contact_links"

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    contact_id: uuid.UUID = Field(foreign_key="vendor_contacts.id", index=True, ondelete="CASCADE")
    purpose: LinkPurpose = Field(sa_type=EnumString(LinkPurpose, 20))
    token_hash: str = Field(max_length=64, unique=True)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    expires_at: datetime = Field(sa_type=UTCDateTime)
    used_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class ContactSession(SQLModel, table=True):
    """A contact signed in to the portal: its own table and cookie, never a user's session."""

    __tablename__ = "vendor_contact_sessions"

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    contact_id: uuid.UUID = Field(foreign_key="vendor_contacts.id", index=True, ondelete="CASCADE")
    token_hash: str = Field(max_length=64, unique=True)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    last_seen_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    expires_at: datetime = Field(sa_type=UTCDateTime)
    ended_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    source: str | None = Field(default=None, max_length=64)
