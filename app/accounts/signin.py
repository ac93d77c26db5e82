"""Sign-in for people: passwords (argon2id), server-side sessions, single-use password links.

The browser holds a random session token in an HttpOnly cookie; the database holds only its
SHA-256, so a copy of the database signs nobody in. A session acts as its user exactly as the
user's API token does (`services.actor_for`): permissions have one source.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from pydantic import TypeAdapter, ValidationError
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.accounts.models import PasswordReset, User, WebSession
from app.accounts.schemas import UserCreate
from app.accounts.services import actor_for, change_role_by_provider, create_by_provider, get_by_email
from app.audit import services as audit
from app.audit.schemas import AuditAction, AuditObject
from app.core.actor import Actor, Role
from app.core.errors import field_error
from app.core.fields import PersonName
from app.core.oidc import Identity, SsoError
from app.core.types import utcnow

SESSION_LIFETIME = timedelta(days=7)  # then sign in again, however active
SESSION_IDLE = timedelta(hours=8)  # unused this long: signed out
LAST_SEEN_RESOLUTION = timedelta(minutes=1)  # reading pages does not write on every request
RESET_LIFETIME = timedelta(hours=1)  # a link sent by e-mail
FIRST_LINK_LIFETIME = timedelta(days=7)  # the link `dpa users create` prints
PASSWORD_MIN, PASSWORD_MAX = 10, 200

_hasher = PasswordHasher()  # argon2id, the library's current parameters (RFC 9106 low-memory)
# Verified when the e-mail names nobody, so that a refusal takes as long either way.
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def check_password_rules(password: str, field: str = "password") -> None:
    if not PASSWORD_MIN <= len(password) <= PASSWORD_MAX:
        raise field_error(
            field,
            f"must be {PASSWORD_MIN} to {PASSWORD_MAX} characters",
            zh=f"密码长度须为 {PASSWORD_MIN} 至 {PASSWORD_MAX} 个字符",
        )


def _verify(password_hash: str | None, password: str) -> bool:
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def password_matches(password_hash: str | None, password: str) -> bool:
    """For another kind of account (vendor contacts): the same hashing, the same constant time."""
    return _verify(password_hash, password)


@dataclass(frozen=True)
class SignedIn:
    user: User
    token: str  # for the cookie; shown nowhere else


async def sign_in(session: AsyncSession, *, email: str, password: str, source: str | None) -> SignedIn | None:
    """A new session for the active user with this e-mail and password, or None (why is not told)."""
    user = await get_by_email(session, email=email.strip())
    if not _verify(user.password_hash if user else None, password) or user is None or not user.is_active:
        return None
    assert user.password_hash is not None
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    return await start_session(session, user=user, source=source, how={})


async def start_session(session: AsyncSession, *, user: User, source: str | None, how: dict[str, str]) -> SignedIn:
    """A new session for a user whose credential was checked (a password, or the single sign-on
    provider's ID token), audited as a sign-in; `how` adds to the audit entry (the provider)."""
    token = secrets.token_urlsafe(32)
    now = utcnow()
    row = WebSession(
        user_id=user.id,
        token_hash=token_hash(token),
        created_at=now,
        last_seen_at=now,
        expires_at=now + SESSION_LIFETIME,
        source=source,
    )
    session.add(row)
    await session.flush()
    audit.record(session, actor_for(user, source), AuditAction.sign_in, AuditObject.web_session, row.id, how)
    return SignedIn(user=user, token=token)


class SignInRefusedError(SsoError):
    """The provider vouched for the person, but they may not sign in here."""

    status_code = 403


async def sign_in_by_provider(session: AsyncSession, *, identity: Identity, source: str | None) -> SignedIn:
    """A session for the person the single sign-on provider vouched for, found by their verified
    e-mail address. The role claim, where it names exactly one of our roles, is the role from now
    on: a new user is created with it, an existing user's role follows it. Without one, an existing
    user keeps their role and an unknown person is refused (never a guessed role). Deactivated
    users are refused; so is an address the provider says is not verified."""
    if identity.email is None:
        raise SignInRefusedError(
            "单点登录提供方没有提供电子邮箱，无法确定你的账户（请确认已授予 email 权限）",
            "Your sign-in provider sent no e-mail address, so we cannot tell which account is yours "
            "(the email scope must be granted)",
        )
    if identity.email_verified is False:
        raise SignInRefusedError(
            "单点登录提供方表示你的电子邮箱尚未验证，请先在提供方完成验证",
            "Your sign-in provider says your e-mail address is not verified: verify it there first",
        )
    try:
        email = UserCreate(email=identity.email.strip(), role=Role.auditor).email
    except ValidationError:
        raise SignInRefusedError(
            "单点登录提供方给出的电子邮箱无效", "Your sign-in provider sent an e-mail address that is not valid"
        ) from None
    roles = {Role(value) for value in (v.strip().lower() for v in identity.roles) if value in Role.__members__}
    role = roles.pop() if len(roles) == 1 else None
    provider = Actor(label=f"single sign-on ({identity.issuer})"[:320], role=None, source=source)
    how = {"by": "single sign-on", "issuer": identity.issuer}
    user = await get_by_email(session, email=email)
    if user is None:
        if role is None:
            raise SignInRefusedError(
                "你的账户尚未开通：单点登录提供方没有给出角色，请联系管理员",
                "You have no account here, and your sign-in provider gave no role: ask an administrator",
            )
        data = UserCreate(email=email, name=_person_name(identity.name), role=role)
        user = await create_by_provider(session, data=data, actor=provider, issuer=identity.issuer)
    elif not user.is_active:
        raise SignInRefusedError("你的账户已停用，请联系管理员", "Your account is deactivated: ask an administrator")
    elif role is not None:
        change_role_by_provider(session, user=user, role=role, actor=provider, issuer=identity.issuer)
    return await start_session(session, user=user, source=source, how=how)


_PERSON_NAME: TypeAdapter[str] = TypeAdapter(PersonName)


def _person_name(name: str) -> str:
    """The provider's name for the person where it passes our rules for a name, else none."""
    try:
        return str(_PERSON_NAME.validate_python(name))
    except ValidationError:
        return ""


async def user_for_session(session: AsyncSession, *, token: str) -> User | None:
    """The active user a session cookie belongs to, or None (unknown, ended, expired or idle)."""
    if not token or len(token) > 100:
        return None
    query = (
        select(WebSession, User)
        .join(User, col(User.id) == col(WebSession.user_id))
        .where(col(WebSession.token_hash) == token_hash(token))
    )
    found = (await session.execute(query)).first()
    if found is None:
        return None
    row, user = found
    now = utcnow()
    if row.ended_at is not None or row.expires_at <= now or row.last_seen_at + SESSION_IDLE <= now:
        return None
    if not user.is_active:
        return None
    if now - row.last_seen_at > LAST_SEEN_RESOLUTION:
        row.last_seen_at = now
    return user


async def sign_out(session: AsyncSession, *, token: str, actor: Actor) -> None:
    row = (await session.scalars(select(WebSession).where(col(WebSession.token_hash) == token_hash(token)))).first()
    if row is not None and row.ended_at is None:
        row.ended_at = utcnow()
        audit.record(session, actor, AuditAction.sign_out, AuditObject.web_session, row.id, {})


async def end_sessions(session: AsyncSession, *, user_id: uuid.UUID, actor: Actor, reason: str) -> int:
    """End every session of a user (sign out everywhere, a new password, a deactivated account)."""
    now = utcnow()
    ended = await session.execute(
        update(WebSession)
        .where(col(WebSession.user_id) == user_id, col(WebSession.ended_at).is_(None))
        .values(ended_at=now)
    )
    count: int = getattr(ended, "rowcount", 0) or 0
    audit.record(session, actor, AuditAction.sign_out, AuditObject.user, user_id, {"sessions": count, "reason": reason})
    return count


async def new_password_link(
    session: AsyncSession, *, user: User, lifetime: timedelta = RESET_LIFETIME, now: datetime | None = None
) -> str:
    """A single-use token to set the user's password; earlier unused ones stop working."""
    now = now or utcnow()
    await session.execute(
        update(PasswordReset)
        .where(col(PasswordReset.user_id) == user.id, col(PasswordReset.used_at).is_(None))
        .values(used_at=now)
    )
    token = secrets.token_urlsafe(32)
    session.add(PasswordReset(user_id=user.id, token_hash=token_hash(token), created_at=now, expires_at=now + lifetime))
    await session.flush()
    return token


async def reset_target(session: AsyncSession, *, token: str) -> tuple[PasswordReset, User] | None:
    """The unused, unexpired link and its active user, or None."""
    if not token or len(token) > 100:
        return None
    query = (
        select(PasswordReset, User)
        .join(User, col(User.id) == col(PasswordReset.user_id))
        .where(col(PasswordReset.token_hash) == token_hash(token))
    )
    found = (await session.execute(query)).first()
    if found is None:
        return None
    reset, user = found
    if reset.used_at is not None or reset.expires_at <= utcnow() or not user.is_active:
        return None
    return reset, user


async def set_password_by_link(session: AsyncSession, *, token: str, password: str, source: str | None) -> User | None:
    """Set the password with a link (once); every session of the user ends. None: the link is not valid."""
    check_password_rules(password)
    found = await reset_target(session, token=token)
    if found is None:
        return None
    reset, user = found
    reset.used_at = utcnow()
    user.password_hash = hash_password(password)
    actor = actor_for(user, source)
    audit.record(session, actor, AuditAction.update, AuditObject.password, user.id, {"by": "link"})
    await end_sessions(session, user_id=user.id, actor=actor, reason="password set")
    return user


async def set_language(session: AsyncSession, *, user_id: uuid.UUID, lang: str) -> None:
    user = await session.get(User, user_id)
    if user is not None and lang in ("zh", "en"):
        user.lang = lang


def csrf_token(secret_key: str, seed: str) -> str:
    """The form token of a session (or of a browser before sign-in): derived, never stored."""
    return hmac.new(secret_key.encode(), b"csrf:" + seed.encode(), hashlib.sha256).hexdigest()


def csrf_matches(secret_key: str, seed: str, sent: str) -> bool:
    return bool(seed) and hmac.compare_digest(csrf_token(secret_key, seed), sent or "")
