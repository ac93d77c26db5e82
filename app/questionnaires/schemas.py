"""What crosses the HTTP edge for questionnaires, and the facts their answers give the rules."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict

from app.core.fields import Reason, Text


class QuestionType(StrEnum):
    yes_no = "yes_no"
    choice = "choice"
    multi_choice = "multi_choice"
    text = "text"
    number = "number"
    date = "date"
    file = "file"


class QuestionnaireStatus(StrEnum):
    """sent -> submitted -> accepted, or returned (the vendor answers again and resubmits)."""

    sent = "sent"
    submitted = "submitted"
    accepted = "accepted"
    returned = "returned"


ANSWERABLE = (QuestionnaireStatus.sent, QuestionnaireStatus.returned)
# What the vendor has told us and stands by: the rules read the newest of these.
STATED = (QuestionnaireStatus.submitted, QuestionnaireStatus.accepted)


class FaceStorage(StrEnum):
    device = "device"
    vendor_cloud = "vendor_cloud"
    our_servers = "our_servers"
    not_processed = "not_processed"


@dataclass(frozen=True)
class DueDiligence:
    """The facts a stated questionnaire gives the rules (app/findings/rules.py); None: not asked
    or not answered."""

    questionnaire_id: uuid.UUID
    submitted_at: datetime | None
    face_storage: FaceStorage | None = None
    transfers_abroad: bool | None = None
    certifications: frozenset[str] | None = None  # "none" left out: an empty set says none held
    security_assessment: bool | None = None


class QuestionnaireSend(BaseModel):
    """Send the newest published questionnaire to an engagement's vendor."""

    model_config = ConfigDict(extra="forbid")
    engagement_id: uuid.UUID


class QuestionnaireReturn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: Reason


class QuestionnaireAccept(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: Text = ""


class OptionPublic(BaseModel):
    value: str
    zh: str
    en: str


class QuestionPublic(BaseModel):
    id: str
    section: str
    type: QuestionType
    required: bool
    zh: str
    en: str
    evidences: list[str]
    options: list[OptionPublic] = []


class AnswerFilePublic(BaseModel):
    id: uuid.UUID
    question_id: str
    filename: str
    content_type: str
    size: int
    sha256: str


class QuestionnairePublic(BaseModel):
    id: uuid.UUID
    vendor_id: uuid.UUID
    engagement_id: uuid.UUID
    template: str
    template_version: int
    title_zh: str
    title_en: str
    status: QuestionnaireStatus
    answers: dict[str, Any]  # question id -> the answer (a file question: the ids of its files)
    files: list[AnswerFilePublic]
    sent_at: datetime
    submitted_at: datetime | None
    reviewed_at: datetime | None
    review_reason: str
    questions: list[QuestionPublic] = []  # on a single questionnaire, in zh and en


# One answer as a caller hands it to `services.answer` (checked there against its question's type):
# yes_no a bool, choice a str, multi_choice a list of str, text a str, number an int or float, date
# "YYYY-MM-DD"; None clears it. A file question is answered by `files`, question id -> checked files.
AnswerValue = bool | str | int | float | list[str] | None
