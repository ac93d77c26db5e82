from __future__ import annotations

from datetime import date

from pydantic import BaseModel, ConfigDict, Field

from app.core.fields import ShortText


class OverrideSet(BaseModel):
    model_config = ConfigDict(extra="forbid")
    working: bool = Field(description="True: a working day (e.g. a make-up day); false: a day off.")
    note: ShortText = ""


class OverridePublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    day: date
    working: bool
    note: str


class CalendarDay(BaseModel):
    day: date
    working: bool
    holiday: str = Field(description="The holiday's name, if any.")
    overridden: bool
    provisional: bool = Field(description="In a year whose holidays are not announced yet.")
