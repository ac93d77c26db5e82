"""Users and API tokens."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.accounts.models import ApiToken, User
from app.accounts.schemas import TokenCreate, UserCreate
from app.audit import services as audit
from app.audit.schemas import AuditAction, AuditObject
from app.core import security
from app.core.actor import Actor, Role
from app.core.errors import (
    ConflictError,
    InvalidReferenceError,
    NotFoundError,
    PermissionDeniedError,
)
from app.core.queries import get_or_404, paginate, where_equal
from app.core.types import utcnow

# last_used_at is written at most this often per token, so that reading the API does not
# turn every request into a write (SQLite has one writer).
LAST_USED_RESOLUTION = timedelta(minutes=1)


def actor_for(user: User, source: str | None = None) -> Actor:
    return Actor(label=user.email, role=user.role, user_id=user.id, source=source)


async def get(session: AsyncSession, *, user_id: uuid.UUID) -> User:
    return await get_or_404(session, User, user_id, "user")


async def get_by_email(session: AsyncSession, *, email: str) -> User | None:
    return (await session.scalars(select(User).where(col(User.email) == email.lower()))).first()


@dataclass(frozen=True)
class UserFilter:
    role: Role | None = None
    active: bool | None = None


@dataclass(frozen=True)
class TokenFilter:
    user_id: uuid.UUID


async def get_all(session: AsyncSession, *, where: UserFilter, limit: int, offset: int) -> tuple[list[User], int]:
    query = where_equal(select(User), [(col(User.role), where.role), (col(User.is_active), where.active)])
    return await paginate(session, query.order_by(col(User.email), col(User.id)), limit=limit, offset=offset)


async def _new_user(session: AsyncSession, data: UserCreate) -> User:
    """The user's row, flushed; an e-mail address names one user only."""
    if await get_by_email(session, email=data.email) is not None:
        raise ConflictError(
            f"a user with e-mail {data.email} already exists", zh=f"电子邮箱为 {data.email} 的用户已存在"
        )
    user = User(email=data.email, name=data.name, role=data.role)
    session.add(user)
    await session.flush()
    return user


async def create(session: AsyncSession, *, data: UserCreate, actor: Actor) -> tuple[User, str]:
    """A new user and its first token (returned once, stored hashed)."""
    actor.require_role(Role.admin)
    user = await _new_user(session, data)
    token, _ = _add_token(session, user, TokenCreate(name="first"))
    audit.record(session, actor, AuditAction.create, AuditObject.user, user.id, data.model_dump())
    return user, token


async def create_by_provider(session: AsyncSession, *, data: UserCreate, actor: Actor, issuer: str) -> User:
    """A user whom the single sign-on provider vouched for, with the role it gave: active, no
    password (they sign in through the provider), no API token (they can issue one themselves)."""
    user = await _new_user(session, data)
    audit.record(
        session,
        actor,
        AuditAction.create,
        AuditObject.user,
        user.id,
        {**data.model_dump(), "by": "single sign-on", "issuer": issuer},
    )
    return user


def change_role_by_provider(session: AsyncSession, *, user: User, role: Role, actor: Actor, issuer: str) -> None:
    """The single sign-on provider gave the user another role: it holds from this sign-in on."""
    if user.role != role:
        changes = {"role": [user.role, role], "by": "single sign-on", "issuer": issuer}
        user.role = role
        audit.record(session, actor, AuditAction.update, AuditObject.user, user.id, changes)


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
        actor.require_role(Role.admin)
    user = await get(session, user_id=user_id)
    if data.expires_at is not None and security.is_expired(data.expires_at, utcnow()):
        raise InvalidReferenceError(
            "expires_at",
            "must be in the future: a token issued expired would never work",
            zh="到期时间须晚于现在：已过期的令牌无法使用",
        )
    token, row = _add_token(session, user, data)
    await session.flush()
    audit.record(
        session,
        actor,
        AuditAction.create,
        AuditObject.api_token,
        row.id,
        {"user_id": user.id, "name": data.name},
    )
    return token, row


async def get_tokens(
    session: AsyncSession, *, where: TokenFilter, actor: Actor, limit: int, offset: int
) -> tuple[list[ApiToken], int]:
    if actor.user_id != where.user_id:
        actor.require_role(Role.admin)
    await get(session, user_id=where.user_id)
    query = select(ApiToken).where(col(ApiToken.user_id) == where.user_id)
    return await paginate(
        session, query.order_by(col(ApiToken.created_at), col(ApiToken.id)), limit=limit, offset=offset
    )


async def revoke_token(session: AsyncSession, *, user_id: uuid.UUID, token_id: uuid.UUID, actor: Actor) -> None:
    if actor.user_id != user_id:
        actor.require_role(Role.admin)
    row = await session.get(ApiToken, token_id)
    if row is None or row.user_id != user_id:
        raise NotFoundError("token not found", zh="找不到该令牌")
    if row.revoked_at is None:
        row.revoked_at = utcnow()
        audit.record(session, actor, AuditAction.update, AuditObject.api_token, row.id, {"revoked_at": row.revoked_at})


# One statement for token and user, built once: this runs on every request.
BY_TOKEN_HASH = (
    select(ApiToken, User)
    .join(User, col(User.id) == col(ApiToken.user_id))
    .where(col(ApiToken.token_hash) == bindparam("token_hash"))
)


async def authenticate(session: AsyncSession, *, token: str) -> User | None:
    """The active user a token belongs to, or None. Malformed tokens never reach the database."""
    if not security.is_well_formed(token, security.USER_TOKEN_PREFIX):
        return None
    found = (await session.execute(BY_TOKEN_HASH, {"token_hash": security.token_hash(token)})).first()
    if found is None:
        return None
    row, user = found
    now = utcnow()
    if row.revoked_at is not None or security.is_expired(row.expires_at, now) or not user.is_active:
        return None
    if row.last_used_at is None or now - row.last_used_at > LAST_USED_RESOLUTION:
        row.last_used_at = now
    return user


def credential_hint(credential: str) -> str:
    """The recognisable start of a credential, never the credential itself."""
    return (security.token_hint(credential) if "_" in credential[:5] else "(no recognisable prefix)")[:64]


def record_failed_authentication(
    session: AsyncSession, *, hint: str, reason: str, source: str | None, request: str, count: int | None = None
) -> None:
    """Who tried what from where. With `count`: that many further refusals of one address for one
    reason in one window, summed up in one row (app.core.ratelimit.FailedAuthentication)."""
    anonymous = Actor(label="anonymous", role=None, source=source)
    changes: dict[str, object] = {"reason": reason, "request": request}
    if count is not None:
        changes["count"] = count
    audit.record(session, anonymous, AuditAction.auth_failed, AuditObject.credential, hint, changes)


async def deactivate(session: AsyncSession, *, user_id: uuid.UUID, actor: Actor) -> User:
    actor.require_role(Role.admin)
    if actor.user_id == user_id:
        raise PermissionDeniedError("an admin cannot deactivate their own account", zh="管理员不能停用自己的账户")
    user = await get(session, user_id=user_id)
    if user.is_active:
        user.is_active = False
        audit.record(session, actor, AuditAction.update, AuditObject.user, user.id, {"is_active": [True, False]})
    return user


async def check_owner(session: AsyncSession, *, owner_id: uuid.UUID | None, field: str = "owner_id") -> None:
    """An owner must be an active user: reminders go to them."""
    if owner_id is None:
        return
    user = await session.get(User, owner_id)
    if user is None or not user.is_active:
        raise InvalidReferenceError(field, "no active user has this id", zh="找不到该在用用户")
