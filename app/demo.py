"""Loads fixtures/demo.yaml through the services, so demo data obeys every rule real data does.

Idempotent: users are matched by e-mail, the handler profile is set once, vendors are
matched by credit code and engagements by vendor and name; what exists is left alone.

Dates in the file are relative to today (`today-30`), so its stories stay true on any day.
The stories (an engagement's `agreement` and the vendor's `attestations`) need a file store
for the agreements' documents and the evidence: given one (`dpa demo load` does), an
engagement without an agreement gets its story, through the same services a person and a
vendor would use, each step derived before the next reads it, and all of it committed by
one settle at the end. Without one (the tests of other domains), the registry alone.
"""

from __future__ import annotations

import hashlib
import io
import re
from collections.abc import Sequence
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import anyio
import yaml
from pypdf import PdfWriter
from sqlalchemy import Table, select, text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.accounts import services as accounts
from app.accounts import signin
from app.accounts.models import User
from app.accounts.schemas import TokenCreate, UserCreate
from app.agreements import services as agreements
from app.agreements.models import Agreement
from app.agreements.schemas import AgreementCreate, AgreementStatus, Termination
from app.attestations import services as attestations
from app.attestations.schemas import details_adapter
from app.core import clock
from app.core.actor import CLI_ACTOR, Actor
from app.core.errors import ConflictError, NotFoundError
from app.core.storage import FileStore
from app.core.types import utcnow
from app.core.uploads import CheckedFile
from app.engagements import services as engagements
from app.engagements.models import Engagement
from app.engagements.schemas import EngagementCreate, SubProcessorCreate
from app.handler import services as handler
from app.handler.schemas import HandlerProfileUpdate
from app.settle import derive, settle
from app.vendors import services as vendors
from app.vendors.models import Vendor
from app.vendors.schemas import VendorCreate, VendorKeyCreate

DEMO_FILE = Path(__file__).resolve().parent.parent / "fixtures" / "demo.yaml"
DEMO_ADMIN = "admin@xingchi-auto.example"
DEMO_TOKEN_NAME = "demo"  # noqa: S105 - the label of a token
# Each load issues a fresh demo token and revokes none, so a server already running with an
# earlier one keeps working; each expires on its own after this long. The token itself is
# stored only as a hash, so it cannot be shown again; keeping it reversibly would leave a
# working admin credential in clear.
DEMO_TOKEN_LIFETIME = timedelta(days=30)


RELATIVE = re.compile(r"today(?:([+-])(\d{1,5}))?(?: (\d{2}):(\d{2}))?")


def _when(value: str, today: date) -> date | datetime | None:
    """`today-30` is a date, `today-6 09:15` a moment in the deployment's time zone."""
    found = RELATIVE.fullmatch(value)
    if found is None:
        return None
    sign, days, hour, minute = found.groups()
    day = today + timedelta(days=int(days or 0) * (-1 if sign == "-" else 1))
    if hour is None:
        return day
    return datetime.combine(day, time(int(hour), int(minute)), tzinfo=clock.zone())


def resolve(value: Any, today: date) -> Any:
    """Every relative date in the demo file, as of `today`."""
    if isinstance(value, dict):
        return {key: resolve(item, today) for key, item in value.items()}
    if isinstance(value, list):
        return [resolve(item, today) for item in value]
    if isinstance(value, str):
        moment = _when(value, today)
        return value if moment is None else moment
    return value


def read(path: Path = DEMO_FILE, today: date | None = None) -> dict[str, Any]:
    data: dict[str, Any] = resolve(yaml.safe_load(path.read_text(encoding="utf-8")), today or clock.today())
    return data


class DemoResetRefused(ConflictError):
    pass


async def reset(session: AsyncSession, tables: Sequence[Table], path: Path = DEMO_FILE) -> list[str]:
    """Empty every table, for `dpa demo load --reset`; refused where anyone but the demo's
    users has an account, so a real registry is never wiped by a demo command. Stored files
    stay (content-addressed; the worker sweeps those no row refers to after a day)."""
    demo_emails = {raw["email"] for raw in read(path)["users"]}
    others = [email for email in await session.scalars(select(col(User.email))) if email not in demo_emails]
    if others:
        raise DemoResetRefused(
            f"refusing to reset: this database has users who are not the demo's ({', '.join(sorted(others)[:3])}"
            f"{', ...' if len(others) > 3 else ''}); --reset is for a demo database only"
        )
    for table in reversed(tables):  # every table, children first (the caller's metadata, sorted)
        await session.execute(text(f"DELETE FROM {table.name}"))  # noqa: S608 - table names from our metadata
    return ["demo database emptied"]


async def load(
    session: AsyncSession,
    path: Path = DEMO_FILE,
    *,
    storage: FileStore | None = None,
    base_url: str = "http://127.0.0.1:8000",
) -> tuple[list[str], str]:
    """Load what is missing, through the services and the settle step, like any other writer;
    answer a report and a fresh token for the demo admin (earlier ones are left working).
    With a file store, each engagement's story too (its agreement, the vendor's attestations)."""
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

    async with anyio.create_task_group() as group:
        if storage is not None:
            # The PDF worker starts while the registry is written: the stories' first agreement is not a cold start.
            group.start_soon(agreements.warm_renderer)
        told: list[tuple[Vendor, Engagement, dict[str, Any]]] = []
        for raw in demo["vendors"]:
            vendor = await _vendor(session, raw, users, report)
            for raw_engagement in raw.get("engagements", []):
                engagement = await _engagement(session, vendor, raw_engagement, users, report)
                if "agreement" in raw_engagement:
                    told.append((vendor, engagement, raw_engagement))
    if storage is not None:
        for vendor, engagement, raw_engagement in told:
            await _story(session, storage, vendor, engagement, raw_engagement, users, report)

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
) -> Engagement:
    fields = {key: value for key, value in raw.items() if key not in STORY_FIELDS}
    data = EngagementCreate.model_validate({**fields, "vendor_id": vendor.id, "owner_id": users[raw["owner"]].id})
    existing = (
        await session.scalars(
            select(Engagement).where(col(Engagement.vendor_id) == vendor.id, col(Engagement.name) == data.name)
        )
    ).first()
    if existing is not None:
        return existing
    engagement = await engagements.create(session, data=data, actor=CLI_ACTOR)
    for raw_sub in raw.get("sub_processors", []):
        await engagements.add_sub_processor(
            session,
            engagement_id=engagement.id,
            data=SubProcessorCreate.model_validate(raw_sub),
            actor=CLI_ACTOR,
        )
    report.append(f"engagement {engagement.name} created")
    return engagement


STORY_FIELDS = ("sub_processors", "owner", "agreement", "attestations")
# How far along its lifecycle each story's agreement goes: the transitions, in order.
LIFECYCLE = {
    AgreementStatus.issued: ("issue",),
    AgreementStatus.active: ("issue", "sign", "activate"),
    AgreementStatus.terminated: ("issue", "sign", "activate", "terminate"),
}


def evidence_pdf(title: str) -> bytes:
    """A real (blank, A4) PDF standing in for a scanned statement; the title varies the bytes."""
    writer = PdfWriter()
    writer.add_blank_page(595, 842)
    writer.add_metadata({"/Title": title})
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


async def _story(
    session: AsyncSession,
    storage: FileStore,
    vendor: Vendor,
    engagement: Engagement,
    raw: dict[str, Any],
    users: dict[str, User],
    report: list[str],
) -> None:
    """The engagement's agreement taken as far as the story goes, then what the vendor sent
    and how we answered; skipped once the engagement has an agreement (idempotent)."""
    if await session.scalar(select(col(Agreement.id)).where(col(Agreement.engagement_id) == engagement.id)):
        return
    owner = accounts.actor_for(users[raw["owner"]])
    terms = dict(raw["agreement"])
    goes_to = AgreementStatus(terms.pop("goes_to"))
    ended_on, end_reason = terms.pop("ended_on", None), terms.pop("end_reason", "")
    agreement = await agreements.create(
        session, data=AgreementCreate.model_validate({**terms, "engagement_id": engagement.id}), actor=owner
    )
    for step in LIFECYCLE[goes_to]:
        if step == "issue":
            await agreements.issue(session, agreement_id=agreement.id, storage=storage, actor=owner)
        elif step == "sign":
            signed = evidence_pdf(f"{agreement.number} signed by both parties")
            await agreements.sign(session, agreement_id=agreement.id, signed_pdf=signed, storage=storage, actor=owner)
        elif step == "activate":
            await agreements.activate(session, agreement_id=agreement.id, actor=owner)
        elif step == "terminate":
            termination = Termination(ended_on=ended_on, reason=end_reason)
            await agreements.terminate(session, agreement_id=agreement.id, data=termination, actor=owner)
    await derive(session)  # the duties the agreement starts, for the attestations below to answer
    report.append(f"agreement {agreement.number} for {engagement.name}: {goes_to}")
    if raw.get("attestations"):
        # The vendor acts through its key, as its portal would; the key itself is shown to nobody.
        _, key = await vendors.issue_key(
            session, vendor_id=vendor.id, data=VendorKeyCreate(name="demo: the vendor's portal"), actor=CLI_ACTOR
        )
        as_vendor = vendors.actor_for_vendor(key, vendor, source="demo")
        for raw_attestation in raw["attestations"]:
            await _attestation(session, storage, as_vendor, engagement, raw_attestation, users, report)


async def _attestation(
    session: AsyncSession,
    storage: FileStore,
    as_vendor: Actor,
    engagement: Engagement,
    raw: dict[str, Any],
    users: dict[str, User],
    report: list[str],
) -> None:
    """Sent by the vendor (on the day the story says), derived, then reviewed if the story says."""
    details = details_adapter.validate_python({**raw["details"], "kind": raw["kind"], "engagement_id": engagement.id})
    files = []
    for name in raw.get("files", []):
        data = evidence_pdf(f"{as_vendor.label}: {name}")
        files.append(CheckedFile(name, "application/pdf", data, hashlib.sha256(data).hexdigest()))
    attestation = await attestations.submit(session, details=details, files=files, storage=storage, actor=as_vendor)
    submitted: datetime = raw["submitted"]
    attestation.submitted_at = submitted
    if engagement.incident_reported_at is not None and raw["kind"] == "incident":
        engagement.incident_reported_at = submitted
    await derive(session)  # a notice opens our decision, dated from the day it came
    review = raw.get("review")
    if review:
        reviewer = accounts.actor_for(users[review["by"]])
        await attestations.review(
            session,
            attestation_id=attestation.id,
            accept=review["accept"],
            reason=review.get("reason", ""),
            actor=reviewer,
        )
        await derive(session)
    state = f"{'accepted' if review['accept'] else 'refused'}" if review else "waiting for review"
    report.append(f"{raw['kind']} attestation for {engagement.name}: {state}")
