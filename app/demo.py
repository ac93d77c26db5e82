"""Loads fixtures/demo.yaml through the services, so demo data obeys every rule real data does.

Idempotent: users are matched by e-mail, the handler profile is set once, vendors are
matched by credit code and engagements by vendor and name; what exists is left alone.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.accounts import services as accounts
from app.accounts import signin
from app.accounts.models import User
from app.accounts.schemas import TokenCreate, UserCreate
from app.core.actor import CLI_ACTOR
from app.core.errors import NotFoundError
from app.core.types import utcnow
from app.engagements import services as engagements
from app.engagements.models import Engagement
from app.engagements.schemas import EngagementCreate, SubProcessorCreate
from app.handler import services as handler
from app.handler.schemas import HandlerProfileUpdate
from app.settle import settle
from app.vendors import services as vendors
from app.vendors.models import Vendor
from app.vendors.schemas import VendorCreate

DEMO_FILE = Path(__file__).resolve().parent.parent / "fixtures" / "demo.yaml"
DEMO_ADMIN = "admin@xingchi-auto.example"
DEMO_TOKEN_NAME = "demo"  # noqa: S105 - the label of a token
# Each load issues a fresh demo token and revokes none, so a server already running with an
# earlier one keeps working; each expires on its own after this long. The token itself is
# stored only as a hash, so it cannot be shown again; keeping it reversibly would leave a
# working admin credential in clear.
DEMO_TOKEN_LIFETIME = timedelta(days=30)


def read(path: Path = DEMO_FILE) -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(path.read_text(encoding="utf-8"))
    return data


async def load(
    session: AsyncSession, path: Path = DEMO_FILE, base_url: str = "http://127.0.0.1:8000"
) -> tuple[list[str], str]:
    """Load what is missing, through the services and the settle step, like any other writer;
    answer a report and a fresh token for the demo admin (earlier ones are left working)."""
    demo = read(path)
    report: list[str] = []
    users: dict[str, User] = {}
    for raw in demo["users"]:
        user = await accounts.get_by_email(session, email=raw["email"])
        if user is None:
            user, _ = await accounts.create(session, data=UserCreate.model_validate(raw), actor=CLI_ACTOR)
            report.append(f"user {user.email} ({user.role}) created")
        users[user.email] = user

    try:
        await handler.get(session)
    except NotFoundError:
        await handler.put(session, data=HandlerProfileUpdate.model_validate(demo["handler"]), actor=CLI_ACTOR)
        report.append("handler profile set")

    for raw in demo["vendors"]:
        vendor = await _vendor(session, raw, users, report)
        for raw_engagement in raw.get("engagements", []):
            await _engagement(session, vendor, raw_engagement, users, report)

    if not report:
        report.append("demo data already present; nothing changed")
    admin = users[DEMO_ADMIN]
    expires_at = utcnow() + DEMO_TOKEN_LIFETIME
    token, _ = await accounts.issue_token(
        session, user_id=admin.id, data=TokenCreate(name=DEMO_TOKEN_NAME, expires_at=expires_at), actor=CLI_ACTOR
    )
    link = await signin.new_password_link(session, user=admin, lifetime=signin.FIRST_LINK_LIFETIME)
    report.append(
        f"sign in to the pages as {DEMO_ADMIN}: set a password once at {base_url}/password/reset?token={link} "
        f"(valid {signin.FIRST_LINK_LIFETIME.days} days; a later run prints a new one)"
    )
    report.append(
        f"demo admin {DEMO_ADMIN}; a new API token, valid until {expires_at:%Y-%m-%d} "
        "(earlier demo tokens keep working until theirs):"
    )
    await settle(session)  # one transaction: the demo lands whole, its deadlines and findings derived once
    return report, token


async def _vendor(session: AsyncSession, raw: dict[str, Any], users: dict[str, User], report: list[str]) -> Vendor:
    fields = {key: value for key, value in raw.items() if key not in ("engagements", "owner")}
    data = VendorCreate.model_validate({**fields, "owner_id": users[raw["owner"]].id})
    existing = (
        await session.scalars(
            select(Vendor).where(col(Vendor.unified_social_credit_code) == data.unified_social_credit_code)
        )
    ).first()
    if existing is not None:
        return existing
    vendor = await vendors.create(session, data=data, actor=CLI_ACTOR)
    report.append(f"vendor {vendor.legal_name_en or vendor.legal_name_zh} created")
    return vendor


async def _engagement(
    session: AsyncSession,
    vendor: Vendor,
    raw: dict[str, Any],
    users: dict[str, User],
    report: list[str],
) -> None:
    fields = {key: value for key, value in raw.items() if key not in ("sub_processors", "owner")}
    data = EngagementCreate.model_validate({**fields, "vendor_id": vendor.id, "owner_id": users[raw["owner"]].id})
    existing = await session.scalar(
        select(col(Engagement.id)).where(col(Engagement.vendor_id) == vendor.id, col(Engagement.name) == data.name)
    )
    if existing is not None:
        return
    engagement = await engagements.create(session, data=data, actor=CLI_ACTOR)
    for raw_sub in raw.get("sub_processors", []):
        await engagements.add_sub_processor(
            session,
            engagement_id=engagement.id,
            data=SubProcessorCreate.model_validate(raw_sub),
            actor=CLI_ACTOR,
        )
    report.append(f"engagement {engagement.name} created")
