from __future__ import annotations

import uuid
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from app.obligations.schemas import ObligationKind, ObligationPublic


class Severity(StrEnum):
    critical = "critical"  # likely a violation now
    high = "high"  # a duty unmet or overdue
    medium = "medium"  # evidence missing, or due soon
    review = "review"  # needs a person's judgement: the law or the facts are uncertain


class FindingStatus(StrEnum):
    open = "open"
    resolved = "resolved"


class FindingPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: uuid.UUID | None = Field(default=None, description="None in a before-you-buy check: nothing is stored.")
    rule_id: str
    severity: Severity
    status: FindingStatus = FindingStatus.open
    engagement_id: uuid.UUID | None
    vendor_id: uuid.UUID | None
    title_zh: str
    title_en: str
    explanation_zh: str
    explanation_en: str
    action_zh: str
    action_en: str
    articles: list[str]
    facts: dict[str, Any]
    raised_at: datetime | None = None
    raised_by: str = ""
    resolved_at: datetime | None = None
    resolved_by: str = ""


class SeverityCount(BaseModel):
    severity: Severity
    open: int


class VendorRisk(BaseModel):
    vendor_id: uuid.UUID
    name: str
    score: int
    why: list[str] = Field(description="Each open finding and the points it adds.")


class OverdueItem(BaseModel):
    obligation_id: uuid.UUID
    kind: ObligationKind
    vendor_id: uuid.UUID | None  # none for a duty of the company as a whole
    engagement_id: uuid.UUID | None
    due_on: str
    days_overdue: int


class Dashboard(BaseModel):
    findings_by_severity: list[SeverityCount]
    most_overdue: list[OverdueItem]
    vendors_by_risk: list[VendorRisk]
    scoring: str


class CountSource(StrEnum):
    reported = "reported"  # the vendor's latest accepted monthly face count
    estimated = "estimated"  # the owner's estimate on the engagement


class FeedingEngagement(BaseModel):
    engagement_id: uuid.UUID
    name: str
    vendor: str
    individuals: int
    source: CountSource = Field(
        default=CountSource.estimated,
        description="Where the number comes from: the vendor's latest accepted monthly report, or the owner's "
        "estimate (the fallback while no report is accepted).",
    )
    source_zh: str = Field(default="", description="e.g. 受托方报告（截至2026-10-31，2026-11-03报送）")
    source_en: str = Field(default="", description="e.g. reported by the vendor on 2026-11-03 (as of 2026-10-31)")
    counted_on: date | None = Field(
        default=None, description="The day the number counts: as of the report, or the estimate's date."
    )
    reported_on: date | None = Field(
        default=None, description="When the vendor sent the report; empty for an estimate."
    )


class CompanyView(BaseModel):
    """What the law counts over the whole company, what the company owes for it, and the
    engagements whose numbers feed each count (facial-recognition measures art. 15; cross-border
    provisions 2024, counted since 1 January; PIPL art. 52 and the audit measures)."""

    faces_total: int = Field(description="Individuals whose faces the company stores, across all vendors.")
    faces_filing_threshold: int
    faces_by_engagement: list[FeedingEngagement]
    abroad_this_year: int = Field(description="Individuals whose PI left China since 1 January (all transfers).")
    abroad_sensitive_this_year: int = Field(description="Of them, in transfers with sensitive PI.")
    abroad_by_engagement: list[FeedingEngagement]
    obligations: list[ObligationPublic] = Field(description="The company's own duties, earliest due first.")
    findings: list[FindingPublic] = Field(description="Open findings about the company itself.")
