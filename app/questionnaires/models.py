from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON
from sqlmodel import Field, SQLModel

from app.core.types import EnumString, UTCDateTime, utcnow
from app.questionnaires.schemas import QuestionnaireStatus


class Questionnaire(SQLModel, table=True):
    """One due-diligence questionnaire sent to an engagement's vendor, with its answers."""

    __tablename__ = "questionnaires"

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    vendor_id: uuid.UUID = Field(foreign_key="vendors.id", index=True)
    engagement_id: uuid.UUID = Field(foreign_key="engagements.id", index=True)
    template: str = Field(max_length=60)
    template_version: int
    status: QuestionnaireStatus = Field(
        default=QuestionnaireStatus.sent, sa_type=EnumString(QuestionnaireStatus, 20), index=True
    )
    # Question id -> the answer, as validated against its template version (a file question: file ids).
    answers: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    sent_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    sent_by_id: uuid.UUID | None = Field(default=None, foreign_key="users.id")
    answered_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    submitted_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    reviewed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    reviewed_by_id: uuid.UUID | None = Field(default=None, foreign_key="users.id")
    review_reason: str = Field(default="", max_length=4000)


class QuestionnaireFile(SQLModel, table=True):
    """An evidence file answering a question; its bytes live in storage under `sha256`."""

    __tablename__ = "questionnaire_files"

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    questionnaire_id: uuid.UUID = Field(foreign_key="questionnaires.id", index=True)
    question_id: str = Field(max_length=60)
    sha256: str = Field(max_length=64, index=True)
    size: int
    content_type: str = Field(max_length=100)
    filename: str = Field(max_length=255)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
