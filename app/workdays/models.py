from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlmodel import Field, SQLModel

from app.core.types import UTCDateTime, utcnow


class CalendarOverride(SQLModel, table=True):
    """An administrator's correction of one day (a local holiday, a late announcement)."""

    __tablename__ = "calendar_overrides"

    day: date = Field(primary_key=True)
    working: bool
    note: str = Field(default="", max_length=500)
    created_by_id: uuid.UUID | None = Field(default=None, foreign_key="users.id")
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
