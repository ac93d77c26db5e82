from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Index, text
from sqlmodel import Field, SQLModel

from app.core.types import EnumString, UTCDateTime, utcnow
from app.findings.schemas import FindingStatus, Severity


class Finding(SQLModel, table=True):
    """A PIPL rule (`app/findings/rules.py`) that holds for an engagement (or the handler).

    Recomputed whenever its inputs change. One that no longer holds is resolved, never
    deleted: `raised_at`/`raised_by` and `resolved_at`/`resolved_by` say when and by which change.
    """

    __tablename__ = "findings"
    __table_args__ = (
        # Covering indexes for the lists and the dashboard: with every column a query reads in
        # the index, tens of thousands of open findings are ranked without reading their texts.
        Index("ix_findings_worst_first", "status", "severity", "rule_id", "raised_at", "id"),
        Index("ix_findings_open_by_vendor", "status", "vendor_id", "severity"),
        # One open finding per key; a finding that returns after being resolved is a new row.
        Index(
            "uq_findings_open_key",
            "key",
            unique=True,
            postgresql_where=text("status = 'open'"),
            sqlite_where=text("status = 'open'"),
        ),
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    key: str = Field(max_length=200, index=True)  # rule, object and detail
    rule_id: str = Field(max_length=10, index=True)
    severity: Severity = Field(sa_type=EnumString(Severity, 10))
    status: FindingStatus = Field(default=FindingStatus.open, sa_type=EnumString(FindingStatus, 10))
    engagement_id: uuid.UUID | None = Field(default=None, foreign_key="engagements.id", index=True)
    vendor_id: uuid.UUID | None = Field(default=None, foreign_key="vendors.id", index=True)
    title_zh: str = Field(max_length=500)
    title_en: str = Field(max_length=500)
    explanation_zh: str = Field(max_length=4000)
    explanation_en: str = Field(max_length=4000)
    action_zh: str = Field(max_length=2000)
    action_en: str = Field(max_length=2000)
    articles: list[str] = Field(default_factory=list, sa_type=JSON)
    facts: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)  # field -> value that triggered it
    raised_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    raised_by: str = Field(default="", max_length=200)
    resolved_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    resolved_by: str = Field(default="", max_length=200)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
