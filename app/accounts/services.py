"""Users and API tokens."""

from __future__ import annotations

import ipaddress
import uuid
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.accounts.models import ApiToken, User, VendorKey
from app.accounts.schemas import TokenCreate, UserCreate, VendorKeyCreate
from app.audit import services as audit
from app.audit.schemas import AuditAction
from app.core import security
from app.core.actor import ADMIN, VENDOR, Actor
from app.core.errors import (
    ConflictError,
    InvalidReferenceError,
    NotFoundError,
    PermissionDeniedError,
)
from app.core.queries import get_or_404
from app.core.types import utcnow
from app.vendors.models import Vendor

# last_used_at is written at most this often per token, so that reading the API does not
# turn every request into a write (SQLite has one writer).
LAST_USED_RESOLUTION = timedelta(minutes=1)


VENDOR_KEY_LIFETIME = timedelta(days=365)
VENDOR_KEY_MAX_LIFETIME = timedelta(days=2 * 365)


def actor_for(user: User, source: str | None = None) -> Actor:
    return Actor(label=user.email, role=user.role, user_id=user.id, source=source)


def actor_for_vendor(key: VendorKey, vendor: Vendor, source: str | None = None) -> Actor:
    name = vendor.legal_name_en or vendor.legal_name_zh
    return Actor(
        label=f"vendor key {key.hint} ({name})"[:320],
        role=VENDOR,
        vendor_id=vendor.id,
        key_id=key.id,
        source=source,
    )


async def get(session: AsyncSession, *, user_id: uuid.UUID) -> User:
    return await get_or_404(session, User, user_id, "user")


async def get_by_email(session: AsyncSession, *, email: str) -> User | None:
    return (await session.scalars(select(User).where(col(User.email) == email.lower()))).first()


async def get_all(session: AsyncSession) -> list[User]:
    return list(await session.scalars(select(User).order_by(col(User.email))))


async def create(session: AsyncSession, *, data: UserCreate, actor: Actor) -> tuple[User, str]:
    """A new user and its first token (returned once, stored hashed)."""
    actor.require_role(ADMIN)
    if await get_by_email(session, email=data.email) is not None:
        raise ConflictError(f"a user with e-mail {data.email} already exists")
    user = User(email=data.email, name=data.name, role=data.role.value)
    session.add(user)
    await session.flush()
    token, _ = _add_token(session, user, TokenCreate(name="first"))
    audit.record(session, actor, AuditAction.create, "user", user.id, data.model_dump())
    await session.commit()
    return user, token


def _add_token(session: AsyncSession, user: User, data: TokenCreate) -> tuple[str, ApiToken]:
    token = security.new_token(security.USER_TOKEN_PREFIX)
    row = ApiToken(
        user_id=user.id,
        name=data.name,
        token_hash=security.token_hash(token),
        hint=security.token_hint(token),
        expires_at=data.expires_at,
    )
    session.add(row)
    return token, row


async def issue_token(
    session: AsyncSession, *, user_id: uuid.UUID, data: TokenCreate, actor: Actor
) -> tuple[str, ApiToken]:
    if actor.user_id != user_id:
        actor.require_role(ADMIN)
    user = await get(session, user_id=user_id)
    token, row = _add_token(session, user, data)
    await session.flush()
    audit.record(
        session,
        actor,
        AuditAction.create,
        "api_token",
        row.id,
        {"user_id": user.id, "name": data.name},
    )
    await session.commit()
    return token, row


async def get_tokens(session: AsyncSession, *, user_id: uuid.UUID, actor: Actor) -> list[ApiToken]:
    if actor.user_id != user_id:
        actor.require_role(ADMIN)
    await get(session, user_id=user_id)
    query = select(ApiToken).where(col(ApiToken.user_id) == user_id).order_by(col(ApiToken.created_at))
    return list(await session.scalars(query))


async def revoke_token(session: AsyncSession, *, user_id: uuid.UUID, token_id: uuid.UUID, actor: Actor) -> None:
    if actor.user_id != user_id:
        actor.require_role(ADMIN)
    row = await session.get(ApiToken, token_id)
    if row is None or row.user_id != user_id:
        raise NotFoundError("token not found")
    if row.revoked_at is None:
        row.revoked_at = utcnow()
        audit.record(session, actor, AuditAction.update, "api_token", row.id, {"revoked_at": row.revoked_at})
        await session.commit()


async def revoke_tokens_named(session: AsyncSession, *, user: User, name: str) -> None:
    """Used by `dpa demo load`, which hands out a fresh demo token on each run."""
    rows = await session.scalars(select(ApiToken).where(col(ApiToken.user_id) == user.id, col(ApiToken.name) == name))
    now = utcnow()
    for row in rows:
        if row.revoked_at is None:
            row.revoked_at = now


async def authenticate(session: AsyncSession, *, token: str) -> User | None:
    """The active user a token belongs to, or None. Malformed tokens never reach the database."""
    if not security.is_well_formed(token, security.USER_TOKEN_PREFIX):
        return None
    # One query for token and user: this runs on every request.
    query = (
        select(ApiToken, User)
        .join(User, col(User.id) == col(ApiToken.user_id))
        .where(col(ApiToken.token_hash) == security.token_hash(token))
    )
    found = (await session.execute(query)).first()
    if found is None:
        return None
    row, user = found
    now = utcnow()
    if row.revoked_at is not None or _expired(row.expires_at, now) or not user.is_active:
        return None
    if row.last_used_at is None or now - row.last_used_at > LAST_USED_RESOLUTION:
        row.last_used_at = now
        await session.commit()
    return user


async def authenticate_vendor(session: AsyncSession, *, key: str, source: str | None) -> tuple[VendorKey, Vendor] | str:
    """The key and its vendor, or why the key is refused. Malformed keys never reach the database."""
    if not security.is_well_formed(key, security.VENDOR_KEY_PREFIX):
        return "malformed key"
    query = (
        select(VendorKey, Vendor)
        .join(Vendor, col(Vendor.id) == col(VendorKey.vendor_id))
        .where(col(VendorKey.key_hash) == security.token_hash(key))
    )
    found = (await session.execute(query)).first()
    if found is None:
        return "unknown key"
    row, vendor = found
    now = utcnow()
    if row.revoked_at is not None:
        return "revoked key"
    if _expired(row.expires_at, now):
        return "expired key"
    if not network_allowed(source, row.allowed_networks):
        return f"key not allowed from {source}"
    if row.last_used_at is None or now - row.last_used_at > LAST_USED_RESOLUTION:
        row.last_used_at = now
        await session.commit()
    return row, vendor


def network_allowed(source: str | None, networks: list[str]) -> bool:
    if not networks:
        return True
    try:
        address = ipaddress.ip_address(source or "")
    except ValueError:
        return False
    return any(address in ipaddress.ip_network(network) for network in networks)


async def _vendor_for_keys(session: AsyncSession, vendor_id: uuid.UUID, actor: Actor, *, changing: bool) -> Vendor:
    vendor = await get_or_404(session, Vendor, vendor_id, "vendor")
    # Keys open our data to a third party: the DPO, an admin or the vendor's owner decide.
    if changing and actor.role != "dpo":
        actor.require_writer(vendor.owner_id)
    return vendor


async def issue_vendor_key(
    session: AsyncSession, *, vendor_id: uuid.UUID, data: VendorKeyCreate, actor: Actor
) -> tuple[str, VendorKey]:
    vendor = await _vendor_for_keys(session, vendor_id, actor, changing=True)
    now = utcnow()
    expires_at = data.expires_at or now + VENDOR_KEY_LIFETIME
    if expires_at <= now:
        raise InvalidReferenceError("expires_at", "must be in the future")
    if expires_at > now + VENDOR_KEY_MAX_LIFETIME:
        raise InvalidReferenceError("expires_at", "at most two years ahead; issue a new key before then")
    key = security.new_token(security.VENDOR_KEY_PREFIX)
    row = VendorKey(
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
        "vendor_key",
        row.id,
        {
            "vendor_id": vendor.id,
            "name": data.name,
            "expires_at": expires_at,
            "allowed_networks": data.allowed_networks,
        },
    )
    await session.commit()
    return key, row


async def get_vendor_keys(session: AsyncSession, *, vendor_id: uuid.UUID, actor: Actor) -> list[VendorKey]:
    await _vendor_for_keys(session, vendor_id, actor, changing=False)
    query = select(VendorKey).where(col(VendorKey.vendor_id) == vendor_id).order_by(col(VendorKey.created_at))
    return list(await session.scalars(query))


async def revoke_vendor_key(session: AsyncSession, *, vendor_id: uuid.UUID, key_id: uuid.UUID, actor: Actor) -> None:
    """Effective at once on every instance: each request reads the key's row."""
    await _vendor_for_keys(session, vendor_id, actor, changing=True)
    row = await session.get(VendorKey, key_id)
    if row is None or row.vendor_id != vendor_id:
        raise NotFoundError("key not found")
    if row.revoked_at is None:
        row.revoked_at = utcnow()
        audit.record(session, actor, AuditAction.update, "vendor_key", row.id, {"revoked_at": row.revoked_at})
        await session.commit()


async def record_failed_authentication(
    session: AsyncSession, *, credential: str, reason: str, source: str | None, method: str, path: str
) -> None:
    """Who tried what from where; never the credential itself, only its recognisable start."""
    anonymous = Actor(label="anonymous", role="none", source=source)
    hint = security.token_hint(credential) if "_" in credential[:5] else "(no recognisable prefix)"
    audit.record(
        session,
        anonymous,
        AuditAction.auth_failed,
        "credential",
        hint[:64],
        {"reason": reason, "request": f"{method} {path}"},
    )
    await session.commit()


def _expired(expires_at: datetime | None, now: datetime) -> bool:
    return expires_at is not None and expires_at <= now


async def deactivate(session: AsyncSession, *, user_id: uuid.UUID, actor: Actor) -> User:
    actor.require_role(ADMIN)
    if actor.user_id == user_id:
        raise PermissionDeniedError("an admin cannot deactivate their own account")
    user = await get(session, user_id=user_id)
    if user.is_active:
        user.is_active = False
        audit.record(session, actor, AuditAction.update, "user", user.id, {"is_active": [True, False]})
        await session.commit()
    return user


async def check_owner(session: AsyncSession, *, owner_id: uuid.UUID | None, field: str = "owner_id") -> None:
    """An owner must be an active user: reminders go to them."""
    if owner_id is None:
        return
    user = await session.get(User, owner_id)
    if user is None or not user.is_active:
        raise InvalidReferenceError(field, "no active user has this id")
