"""Vendor registry rules: identity by credit code or registration number, ownership, audit."""

from __future__ import annotations

import ipaddress
import uuid
from dataclasses import dataclass
from datetime import timedelta

from pydantic import BaseModel
from sqlalchemy import Uuid, bindparam, column, select, table, text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.accounts import services as accounts
from app.audit import services as audit
from app.audit.schemas import AuditAction, AuditObject
from app.core import security
from app.core.actor import Actor, Role
from app.core.changes import mark
from app.core.errors import ConflictError, FieldErrors, InvalidReferenceError, NotFoundError
from app.core.queries import get_or_404, order_by, paginate, where_contains, where_equal
from app.core.schemas import merge_patch
from app.core.types import utcnow
from app.vendors.models import Vendor, VendorKey
from app.vendors.schemas import VendorCreate, VendorKeyCreate, VendorStatus

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
            errors.add(
                "legal_name_zh",
                "required for a vendor registered in China (country CN)",
                zh="在中国注册的受托方须填写中文名称",
            )
        if not data.unified_social_credit_code:
            errors.add(
                "unified_social_credit_code",
                "required for a vendor registered in China (country CN)",
                zh="在中国注册的受托方须填写统一社会信用代码",
            )
    else:
        if not (data.legal_name_zh or data.legal_name_en):
            errors.add(
                "legal_name_en", "a vendor needs a legal name in English or Chinese", zh="请填写受托方的英文或中文名称"
            )
        if data.unified_social_credit_code:
            errors.add(
                "unified_social_credit_code",
                "only vendors registered in China (country CN) have one",
                zh="只有在中国注册的受托方才有统一社会信用代码",
            )
        if not data.registration_number:
            errors.add(
                "registration_number",
                "required for a vendor registered outside China",
                zh="在境外注册的受托方须填写注册号",
            )
    errors.raise_if_any()


async def _check_unique(session: AsyncSession, data: VendorCreate, vendor_id: uuid.UUID | None) -> None:
    if data.unified_social_credit_code:
        query = select(col(Vendor.id)).where(col(Vendor.unified_social_credit_code) == data.unified_social_credit_code)
        found = await session.scalar(query)
        if found is not None and found != vendor_id:
            raise ConflictError(
                f"a vendor with credit code {data.unified_social_credit_code} exists: {found}",
                zh=f"统一社会信用代码为 {data.unified_social_credit_code} 的受托方已存在：{found}",
            )
    if data.registration_number:
        query = select(col(Vendor.id)).where(
            col(Vendor.country) == data.country,
            col(Vendor.registration_number) == data.registration_number,
        )
        found = await session.scalar(query)
        if found is not None and found != vendor_id:
            raise ConflictError(
                f"a vendor registered in {data.country} as {data.registration_number} exists: {found}",
                zh=f"在 {data.country} 注册号为 {data.registration_number} 的受托方已存在：{found}",
            )


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
    audit.record(session, actor, AuditAction.create, AuditObject.vendor, vendor.id, data.model_dump())
    mark(session, f"vendor created by {actor.label}", vendor=vendor.id, created=True)  # for its webhook event
    return vendor


async def update(session: AsyncSession, *, vendor_id: uuid.UUID, patch: BaseModel, actor: Actor) -> Vendor:
    vendor = await get(session, vendor_id=vendor_id)
    actor.require_writer(vendor.owner_id)
    data = merge_patch(vendor, patch, VendorCreate)
    await _check(session, data, vendor.id)
    if audit.apply_update(session, actor, vendor, data, AuditObject.vendor):
        mark(session, f"vendor changed by {actor.label}", vendor=vendor.id)  # its engagements' rules read it
    return vendor


# By table name: engagements depend on vendors, not the other way round.
ENGAGED = text("SELECT 1 FROM engagements WHERE vendor_id = :id LIMIT 1").bindparams(bindparam("id", type_=Uuid()))


async def delete(session: AsyncSession, *, vendor_id: uuid.UUID, actor: Actor) -> None:
    vendor = await get(session, vendor_id=vendor_id)
    actor.require_writer(vendor.owner_id)
    engaged = await session.scalar(ENGAGED, {"id": vendor.id})
    if engaged is not None:
        raise ConflictError(
            "the vendor has engagements; delete them or set the vendor's status to offboarded",
            zh="该受托方还有委托处理：请先删除它们，或将受托方状态设为“已退出”",
        )
    audit.record(
        session,
        actor,
        AuditAction.delete,
        AuditObject.vendor,
        vendor.id,
        {"legal_name_zh": vendor.legal_name_zh, "legal_name_en": vendor.legal_name_en},
    )
    await session.delete(vendor)


# Vendor keys: a vendor's credential for /api/vendor/ (its systems; its people use the portal).
VENDOR_KEY_LIFETIME = timedelta(days=365)
VENDOR_KEY_MAX_LIFETIME = timedelta(days=2 * 365)


def actor_for_vendor(key: VendorKey, vendor: Vendor, source: str | None = None) -> Actor:
    name = vendor.legal_name_en or vendor.legal_name_zh
    return Actor(
        label=f"vendor {'test key' if key.test else 'key'} {key.hint} ({name})"[:320],
        role=None,
        vendor_id=vendor.id,
        key_id=key.id,
        source=source,
        test=key.test,
    )


# One statement for key and vendor, built once: this runs on every vendor request.
BY_KEY_HASH = (
    select(VendorKey, Vendor)
    .join(Vendor, col(Vendor.id) == col(VendorKey.vendor_id))
    .where(col(VendorKey.key_hash) == bindparam("key_hash"))
)


async def authenticate_vendor(session: AsyncSession, *, key: str, source: str | None) -> tuple[VendorKey, Vendor] | str:
    """The key and its vendor, or why the key is refused. Malformed keys never reach the database."""
    test = key.startswith(security.VENDOR_TEST_KEY_PREFIX + "_")
    if not security.is_well_formed(key, security.VENDOR_TEST_KEY_PREFIX if test else security.VENDOR_KEY_PREFIX):
        return "malformed key"
    found = (await session.execute(BY_KEY_HASH, {"key_hash": security.token_hash(key)})).first()
    if found is None:
        return "unknown key"
    row, vendor = found
    now = utcnow()
    if row.revoked_at is not None:
        return "revoked key"
    if security.is_expired(row.expires_at, now):
        return "expired key"
    if not network_allowed(source, row.allowed_networks):
        return f"key not allowed from {source}"
    if row.last_used_at is None or now - row.last_used_at > accounts.LAST_USED_RESOLUTION:
        row.last_used_at = now
    return row, vendor


def network_allowed(source: str | None, networks: list[str]) -> bool:
    if not networks:
        return True
    try:
        address = ipaddress.ip_address(source or "")
    except ValueError:
        return False
    return any(address in ipaddress.ip_network(network) for network in networks)


# The engagements table, named rather than imported: engagements sit above vendors in the layers,
# and this one question (does the actor own one of the vendor's engagements?) needs two columns.
_ENGAGEMENTS = table("engagements", column("vendor_id", Uuid()), column("owner_id", Uuid()))


async def _vendor_for_keys(session: AsyncSession, vendor_id: uuid.UUID, actor: Actor, *, changing: bool) -> Vendor:
    vendor = await get_or_404(session, Vendor, vendor_id, "vendor")
    # Keys open our data to a third party: the DPO, an admin, the vendor's owner or the owner of
    # one of its engagements (who answers for what that vendor does with our data) decide.
    if changing and actor.role != Role.dpo:
        if actor.role == Role.owner and actor.user_id is not None:
            owns = await session.scalar(
                select(_ENGAGEMENTS.c.vendor_id)
                .where(_ENGAGEMENTS.c.vendor_id == vendor_id, _ENGAGEMENTS.c.owner_id == actor.user_id)
                .limit(1)
            )
            if owns is not None:
                return vendor
        actor.require_writer(vendor.owner_id)
    return vendor


async def issue_key(
    session: AsyncSession, *, vendor_id: uuid.UUID, data: VendorKeyCreate, actor: Actor
) -> tuple[str, VendorKey]:
    vendor = await _vendor_for_keys(session, vendor_id, actor, changing=True)
    now = utcnow()
    expires_at = data.expires_at or now + VENDOR_KEY_LIFETIME
    if expires_at <= now:
        raise InvalidReferenceError("expires_at", "must be in the future", zh="到期时间须晚于现在")
    if expires_at > now + VENDOR_KEY_MAX_LIFETIME:
        raise InvalidReferenceError(
            "expires_at",
            "at most two years ahead; issue a new key before then",
            zh="有效期最长两年；到期前请签发新密钥",
        )
    key = security.new_token(security.VENDOR_TEST_KEY_PREFIX if data.test else security.VENDOR_KEY_PREFIX)
    row = VendorKey(
        test=data.test,
        vendor_id=vendor.id,
        name=data.name,
        key_hash=security.token_hash(key),
        hint=security.token_hint(key),
        allowed_networks=data.allowed_networks,
        created_by_id=actor.user_id,
        expires_at=expires_at,
    )
    session.add(row)
    await session.flush()
    audit.record(
        session,
        actor,
        AuditAction.create,
        AuditObject.vendor_key,
        row.id,
        {
            "vendor_id": vendor.id,
            "name": data.name,
            "expires_at": expires_at,
            "allowed_networks": data.allowed_networks,
            "test": data.test,
        },
    )
    return key, row


@dataclass(frozen=True)
class VendorKeyFilter:
    vendor_id: uuid.UUID


async def get_keys(
    session: AsyncSession, *, where: VendorKeyFilter, actor: Actor, limit: int, offset: int
) -> tuple[list[VendorKey], int]:
    await _vendor_for_keys(session, where.vendor_id, actor, changing=False)
    query = select(VendorKey).where(col(VendorKey.vendor_id) == where.vendor_id)
    return await paginate(
        session, query.order_by(col(VendorKey.created_at), col(VendorKey.id)), limit=limit, offset=offset
    )


async def revoke_key(session: AsyncSession, *, vendor_id: uuid.UUID, key_id: uuid.UUID, actor: Actor) -> None:
    """Effective at once on every instance: each request reads the key's row."""
    await _vendor_for_keys(session, vendor_id, actor, changing=True)
    row = await session.get(VendorKey, key_id)
    if row is None or row.vendor_id != vendor_id:
        raise NotFoundError("key not found", zh="找不到该密钥")
    if row.revoked_at is None:
        row.revoked_at = utcnow()
        audit.record(session, actor, AuditAction.update, AuditObject.vendor_key, row.id, {"revoked_at": row.revoked_at})
