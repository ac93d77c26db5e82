from __future__ import annotations

from datetime import datetime

from sqlmodel import Field

from app.core.types import UTCDateTime, utcnow
from app.handler.schemas import HandlerProfileBase

PROFILE_ID = 1


class HandlerProfile(HandlerProfileBase, table=True):
    """One row per deployment: the company whose vendors this registry holds."""

    __tablename__ = "handler_profile"

    id: int = Field(default=PROFILE_ID, primary_key=True)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
