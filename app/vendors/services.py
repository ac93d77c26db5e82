"""Vendor registry rules: identity by credit code or registration number, ownership, audit."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.accounts import services as accounts
from app.audit import services as audit
from app.audit.schemas import AuditAction
from app.core.actor import Actor
from app.core.errors import ConflictError, FieldErrors
from app.core.queries import get_or_404, order_by, paginate, where_contains, where_equal
from app.core.schemas import merge_patch
from app.vendors.models import Vendor
from app.vendors.schemas import VendorCreate, VendorStatus

SORT_COLUMNS = {
    "legal_name_zh": col(Vendor.legal_name_zh),
    "legal_name_en": col(Vendor.legal_name_en),
    "country": col(Vendor.country),
    "status": col(Vendor.status),
    "created_at": col(Vendor.created_at),
    "updated_at": col(Vendor.updated_at),
}


@dataclass(frozen=True)
class VendorFilter:
    status: VendorStatus | None = None
    owner_id: uuid.UUID | None = None
    country: str | None = None
    q: str | None = None


async def get(session: AsyncSession, *, vendor_id: uuid.UUID) -> Vendor:
    return await get_or_404(session, Vendor, vendor_id, "vendor")


async def get_all(
    session: AsyncSession, *, where: VendorFilter, sort: str, limit: int, offset: int
) -> tuple[list[Vendor], int]:
    query = where_equal(
        select(Vendor),
        [
            (col(Vendor.status), where.status),
            (col(Vendor.owner_id), where.owner_id),
            (col(Vendor.country), where.country.upper() if where.country else None),
        ],
    )
    query = where_contains(
        query,
        [
            col(Vendor.legal_name_zh),
            col(Vendor.legal_name_en),
            col(Vendor.unified_social_credit_code),
            col(Vendor.registration_number),
        ],
        where.q,
    )
    query = query.order_by(*order_by(sort, SORT_COLUMNS, Vendor.id))
    return await paginate(session, query, limit=limit, offset=offset)


def _check_identity(data: VendorCreate) -> None:
    errors = FieldErrors()
    if data.country == "CN":
        if not data.legal_name_zh:
            errors.add("legal_name_zh", "required for a vendor registered in China (country CN)")
        if not data.unified_social_credit_code:
            errors.add("unified_social_credit_code", "required for a vendor registered in China (country CN)")
    else:
        if not (data.legal_name_zh or data.legal_name_en):
            errors.add("legal_name_en", "a vendor needs a legal name in English or Chinese")
        if data.unified_social_credit_code:
            errors.add("unified_social_credit_code", "only vendors registered in China (country CN) have one")
        if not data.registration_number:
            errors.add("registration_number", "required for a vendor registered outside China")
    errors.raise_if_any()


async def _check_unique(session: AsyncSession, data: VendorCreate, vendor_id: uuid.UUID | None) -> None:
    if data.unified_social_credit_code:
        query = select(col(Vendor.id)).where(col(Vendor.unified_social_credit_code) == data.unified_social_credit_code)
        found = await session.scalar(query)
        if found is not None and found != vendor_id:
            raise ConflictError(f"a vendor with credit code {data.unified_social_credit_code} exists: {found}")
    if data.registration_number:
        query = select(col(Vendor.id)).where(
            col(Vendor.country) == data.country,
            col(Vendor.registration_number) == data.registration_number,
        )
        found = await session.scalar(query)
        if found is not None and found != vendor_id:
            raise ConflictError(f"a vendor registered in {data.country} as {data.registration_number} exists: {found}")


async def _check(session: AsyncSession, data: VendorCreate, vendor_id: uuid.UUID | None) -> None:
    _check_identity(data)
    await accounts.check_owner(session, owner_id=data.owner_id)
    await _check_unique(session, data, vendor_id)


async def create(session: AsyncSession, *, data: VendorCreate, actor: Actor) -> Vendor:
    actor.require_writer(creating=True)
    if data.owner_id is None:
        data = data.model_copy(update={"owner_id": actor.user_id})
    await _check(session, data, None)
    vendor = Vendor.model_validate(data)
    session.add(vendor)
    await session.flush()
    audit.record(session, actor, AuditAction.create, "vendor", vendor.id, data.model_dump())
    await session.commit()
    return vendor


async def update(session: AsyncSession, *, vendor_id: uuid.UUID, patch: BaseModel, actor: Actor) -> Vendor:
    vendor = await get(session, vendor_id=vendor_id)
    actor.require_writer(vendor.owner_id)
    data = merge_patch(vendor, patch, VendorCreate)
    await _check(session, data, vendor.id)
    if audit.apply_update(session, actor, vendor, data, "vendor"):
        await session.commit()
    return vendor


async def delete(session: AsyncSession, *, vendor_id: uuid.UUID, actor: Actor) -> None:
    # Imported here: engagements depend on vendors, not the other way round.
    from app.engagements.models import Engagement

    vendor = await get(session, vendor_id=vendor_id)
    actor.require_writer(vendor.owner_id)
    engaged = await session.scalar(select(col(Engagement.id)).where(col(Engagement.vendor_id) == vendor.id).limit(1))
    if engaged is not None:
        raise ConflictError("the vendor has engagements; delete them or set the vendor's status to offboarded")
    audit.record(
        session,
        actor,
        AuditAction.delete,
        "vendor",
        vendor.id,
        {"legal_name_zh": vendor.legal_name_zh, "legal_name_en": vendor.legal_name_en},
    )
    await session.delete(vendor)
    await session.commit()
