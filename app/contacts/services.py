"""Vendor contacts: invitations, passwords, one-time sign-in links and portal sessions.

A contact is not a user: it has its own table, its own links and sessions and its own cookie
(`dpa_portal`, path /portal), so nothing a contact holds can open an internal page or the
internal API. Its Actor carries the vendor's id and no role: every service that a vendor key
may call treats a contact the same way, and refuses everything else. Links and sessions are
stored as SHA-256 only (app.accounts.signin's hashing and password rules, reused).
"""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.accounts import signin
from app.audit import services as audit
from app.audit.schemas import AuditAction, AuditObject
from app.contacts.models import ContactLink, ContactSession, VendorContact
from app.contacts.schemas import ContactInvite, ContactPublic, LinkPurpose
from app.core.actor import Actor, Role
from app.core.errors import ConflictError, NotFoundError, PermissionDeniedError
from app.core.queries import get_or_404, paginate
from app.core.types import utcnow
from app.engagements.models import Engagement
from app.reminders import services as reminders
from app.vendors.models import Vendor

INVITATION_LIFETIME = timedelta(days=7)
SIGN_IN_LINK_LIFETIME = timedelta(minutes=30)
SESSION_LIFETIME, SESSION_IDLE = signin.SESSION_LIFETIME, signin.SESSION_IDLE
# Who may invite a vendor's people: these roles, and the owner of one of the vendor's engagements.
INVITERS = (Role.procurement, Role.dpo)


def public(contact: VendorContact) -> ContactPublic:
    return ContactPublic.model_validate({**contact.model_dump(), "has_password": contact.password_hash is not None})


def actor_for_contact(contact: VendorContact, vendor: Vendor, source: str | None = None) -> Actor:
    """A contact acts for its vendor exactly as a key does (vendor_id set, no role)."""
    name = vendor.legal_name_en or vendor.legal_name_zh
    return Actor(label=f"vendor contact {contact.email} ({name})"[:320], role=None, vendor_id=vendor.id, source=source)


async def may_manage(session: AsyncSession, *, vendor_id: uuid.UUID, actor: Actor) -> Vendor:
    """The vendor, if the actor may invite, disable or re-invite its people; else 403."""
    vendor = await get_or_404(session, Vendor, vendor_id, "vendor")
    if actor.role in (Role.admin, *INVITERS) or (actor.user_id is not None and vendor.owner_id == actor.user_id):
        return vendor
    if actor.role == Role.owner and actor.user_id is not None:
        owns = await session.scalar(
            select(col(Engagement.id))
            .where(col(Engagement.vendor_id) == vendor_id, col(Engagement.owner_id) == actor.user_id)
            .limit(1)
        )
        if owns is not None:
            return vendor
    raise PermissionDeniedError(
        "only procurement, the DPO, an admin or the owner of one of the vendor's engagements may do this",
        zh="只有采购、个人信息保护负责人、管理员或该受托方某项委托处理的负责人可以这样做",
    )


async def _new_link(session: AsyncSession, contact: VendorContact, purpose: LinkPurpose, lifetime: timedelta) -> str:
    """A single-use token; earlier unused links of the same purpose stop working."""
    now = utcnow()
    await session.execute(
        update(ContactLink)
        .where(
            col(ContactLink.contact_id) == contact.id,
            col(ContactLink.purpose) == purpose,
            col(ContactLink.used_at).is_(None),
        )
        .values(used_at=now)
    )
    token = secrets.token_urlsafe(32)
    session.add(
        ContactLink(
            contact_id=contact.id,
            purpose=purpose,
            token_hash=signin.token_hash(token),
            created_at=now,
            expires_at=now + lifetime,
        )
    )
    await session.flush()
    return token


def _send_invitation(session: AsyncSession, contact: VendorContact, vendor: Vendor, base_url: str, token: str) -> None:
    link = f"{base_url}/portal/welcome?token={token}"
    days = INVITATION_LIFETIME.days
    body = (
        f"您好{contact.name and '，' + contact.name}：\n\n"
        f"上海星驰的合规台账邀请您代表「{vendor.legal_name_zh or vendor.legal_name_en}」使用受托方门户，"
        f"查看需提交的材料并在线上传。请在 {days} 天内打开以下链接设置密码（仅可使用一次）：\n{link}\n\n"
        f"You are invited to the vendor portal for {vendor.legal_name_en or vendor.legal_name_zh}: see what we "
        f"need from you and upload it. Open this link within {days} days to set your password (it works once):\n"
        f"{link}\n"
    )
    reminders.queue_message(
        session,
        recipient=contact.email,
        subject="[dpa] 受托方门户邀请 / Invitation to the vendor portal",
        body=body,
        now=utcnow(),
    )


async def invite(
    session: AsyncSession, *, vendor_id: uuid.UUID, data: ContactInvite, actor: Actor, base_url: str
) -> tuple[VendorContact, datetime]:
    """A new contact, and an invitation through the outbox. Answers the contact and when the link ends."""
    vendor = await may_manage(session, vendor_id=vendor_id, actor=actor)
    if await session.scalar(select(col(VendorContact.id)).where(col(VendorContact.email) == data.email)):
        raise ConflictError(
            f"{data.email} is already a vendor contact: re-invite it from its vendor's page",
            zh=f"{data.email} 已是受托方联系人：请在其受托方页面重新邀请",
        )
    contact = VendorContact(vendor_id=vendor.id, email=data.email, name=data.name, invited_by_id=actor.user_id)
    session.add(contact)
    try:
        await session.flush()
    except IntegrityError:  # a twin invitation committed first
        raise ConflictError(f"{data.email} is already a vendor contact", zh=f"{data.email} 已是受托方联系人") from None
    token = await _new_link(session, contact, LinkPurpose.invitation, INVITATION_LIFETIME)
    _send_invitation(session, contact, vendor, base_url, token)
    audit.record(
        session,
        actor,
        AuditAction.create,
        AuditObject.vendor_contact,
        contact.id,
        {"vendor_id": vendor.id, "email": contact.email, "name": contact.name},
    )
    return contact, utcnow() + INVITATION_LIFETIME


async def _managed(
    session: AsyncSession, vendor_id: uuid.UUID, contact_id: uuid.UUID, actor: Actor
) -> tuple[VendorContact, Vendor]:
    vendor = await may_manage(session, vendor_id=vendor_id, actor=actor)
    contact = await session.get(VendorContact, contact_id)
    if contact is None or contact.vendor_id != vendor.id:
        raise NotFoundError("contact not found", zh="找不到该联系人")
    return contact, vendor


async def reinvite(
    session: AsyncSession, *, vendor_id: uuid.UUID, contact_id: uuid.UUID, actor: Actor, base_url: str
) -> tuple[VendorContact, datetime]:
    """A fresh invitation (a forgotten password, a lost e-mail); re-enables a disabled contact.
    Earlier links stop working; the password is set anew by the link."""
    contact, vendor = await _managed(session, vendor_id, contact_id, actor)
    contact.is_active = True
    contact.invited_at = utcnow()
    token = await _new_link(session, contact, LinkPurpose.invitation, INVITATION_LIFETIME)
    _send_invitation(session, contact, vendor, base_url, token)
    audit.record(
        session, actor, AuditAction.update, AuditObject.vendor_contact, contact.id, {"invited": True, "is_active": True}
    )
    return contact, utcnow() + INVITATION_LIFETIME


async def disable(session: AsyncSession, *, vendor_id: uuid.UUID, contact_id: uuid.UUID, actor: Actor) -> VendorContact:
    """Effective at once: every session and unused link of the contact ends."""
    contact, _ = await _managed(session, vendor_id, contact_id, actor)
    now = utcnow()
    contact.is_active = False
    await session.execute(
        update(ContactSession)
        .where(col(ContactSession.contact_id) == contact.id, col(ContactSession.ended_at).is_(None))
        .values(ended_at=now)
    )
    await session.execute(
        update(ContactLink)
        .where(col(ContactLink.contact_id) == contact.id, col(ContactLink.used_at).is_(None))
        .values(used_at=now)
    )
    audit.record(session, actor, AuditAction.update, AuditObject.vendor_contact, contact.id, {"is_active": False})
    return contact


@dataclass(frozen=True)
class ContactFilter:
    vendor_id: uuid.UUID


async def get_all(
    session: AsyncSession, *, where: ContactFilter, actor: Actor, limit: int = 50, offset: int = 0
) -> tuple[list[VendorContact], int]:
    """A vendor's contacts, for the company's people (anyone signed in reads them)."""
    if actor.vendor_id is not None:
        raise PermissionDeniedError(
            "vendor contacts are listed for the company's people", zh="受托方联系人列表仅供本公司人员查看"
        )
    await get_or_404(session, Vendor, where.vendor_id, "vendor")
    query = select(VendorContact).where(col(VendorContact.vendor_id) == where.vendor_id)
    return await paginate(
        session, query.order_by(col(VendorContact.invited_at), col(VendorContact.id)), limit=limit, offset=offset
    )


# ---- the contact's side: links, passwords, sessions --------------------------------------------


async def link_target(
    session: AsyncSession, *, token: str, purpose: LinkPurpose
) -> tuple[ContactLink, VendorContact, Vendor] | None:
    """The unused, unexpired link of this purpose with its active contact and vendor, or None."""
    if not token or len(token) > 100:
        return None
    query = (
        select(ContactLink, VendorContact, Vendor)
        .join(VendorContact, col(VendorContact.id) == col(ContactLink.contact_id))
        .join(Vendor, col(Vendor.id) == col(VendorContact.vendor_id))
        .where(col(ContactLink.token_hash) == signin.token_hash(token), col(ContactLink.purpose) == purpose)
    )
    found = (await session.execute(query)).first()
    if found is None:
        return None
    link, contact, vendor = found
    if link.used_at is not None or link.expires_at <= utcnow() or not contact.is_active:
        return None
    return link, contact, vendor


@dataclass(frozen=True)
class Visit:
    """Who is using the portal, as plain values: a page that rolled back a refused write still
    names them without the database."""

    contact_id: uuid.UUID
    email: str
    name: str
    vendor_id: uuid.UUID
    vendor_name: str

    @classmethod
    def of(cls, contact: VendorContact, vendor: Vendor) -> Visit:
        name = vendor.legal_name_zh or vendor.legal_name_en
        return cls(contact.id, contact.email, contact.name, vendor.id, name)


@dataclass(frozen=True)
class SignedIn:
    contact: VendorContact
    vendor: Vendor
    token: str  # for the cookie; shown nowhere else


async def _start_session(
    session: AsyncSession, contact: VendorContact, vendor: Vendor, source: str | None, by: str
) -> SignedIn:
    token = secrets.token_urlsafe(32)
    now = utcnow()
    row = ContactSession(
        contact_id=contact.id,
        token_hash=signin.token_hash(token),
        created_at=now,
        last_seen_at=now,
        expires_at=now + SESSION_LIFETIME,
        source=source,
    )
    session.add(row)
    contact.last_sign_in_at = now
    await session.flush()
    actor = actor_for_contact(contact, vendor, source)
    audit.record(session, actor, AuditAction.sign_in, AuditObject.vendor_contact_session, row.id, {"by": by})
    return SignedIn(contact=contact, vendor=vendor, token=token)


async def accept_invitation(session: AsyncSession, *, token: str, password: str, source: str | None) -> SignedIn | None:
    """Set the password with the invitation (once) and sign in; None: the link is not valid."""
    signin.check_password_rules(password)
    found = await link_target(session, token=token, purpose=LinkPurpose.invitation)
    if found is None:
        return None
    link, contact, vendor = found
    link.used_at = utcnow()
    contact.password_hash = signin.hash_password(password)
    await _end_sessions(session, contact.id)
    actor = actor_for_contact(contact, vendor, source)
    audit.record(session, actor, AuditAction.update, AuditObject.password, contact.id, {"by": "invitation"})
    return await _start_session(session, contact, vendor, source, "invitation")


async def sign_in(session: AsyncSession, *, email: str, password: str, source: str | None) -> SignedIn | None:
    """A new portal session for the active contact with this e-mail and password, or None."""
    query = (
        select(VendorContact, Vendor)
        .join(Vendor, col(Vendor.id) == col(VendorContact.vendor_id))
        .where(col(VendorContact.email) == email.strip().lower())
    )
    found = (await session.execute(query)).first()
    contact, vendor = found if found is not None else (None, None)
    if not signin.password_matches(contact.password_hash if contact else None, password):
        return None
    if contact is None or vendor is None or not contact.is_active:
        return None
    return await _start_session(session, contact, vendor, source, "password")


async def send_sign_in_link(session: AsyncSession, *, email: str, base_url: str) -> None:
    """A one-time sign-in link by e-mail to an active contact that has accepted its invitation;
    nothing (and no word of it) for any other address."""
    query = (
        select(VendorContact)
        .where(col(VendorContact.email) == email.strip().lower(), col(VendorContact.is_active).is_(True))
        .where(col(VendorContact.password_hash).is_not(None))
    )
    contact = (await session.scalars(query)).first()
    if contact is None:
        return
    token = await _new_link(session, contact, LinkPurpose.sign_in, SIGN_IN_LINK_LIFETIME)
    minutes = int(SIGN_IN_LINK_LIFETIME.total_seconds() // 60)
    link = f"{base_url}/portal/link?token={token}"
    body = (
        f"请在 {minutes} 分钟内打开以下链接登录受托方门户（仅可使用一次）：\n{link}\n\n"
        f"Open this link within {minutes} minutes to sign in to the vendor portal (it works once):\n{link}\n\n"
        "如果这不是您本人的操作，请忽略本邮件。 / If you did not ask for this, ignore this message.\n"
    )
    reminders.queue_message(
        session, recipient=contact.email, subject="[dpa] 登录链接 / Your sign-in link", body=body, now=utcnow()
    )


async def sign_in_by_link(session: AsyncSession, *, token: str, source: str | None) -> SignedIn | None:
    found = await link_target(session, token=token, purpose=LinkPurpose.sign_in)
    if found is None:
        return None
    link, contact, vendor = found
    link.used_at = utcnow()
    return await _start_session(session, contact, vendor, source, "link")


async def contact_for_session(session: AsyncSession, *, token: str) -> tuple[VendorContact, Vendor] | None:
    """The active contact (and its vendor) a portal cookie belongs to, or None."""
    if not token or len(token) > 100:
        return None
    query = (
        select(ContactSession, VendorContact, Vendor)
        .join(VendorContact, col(VendorContact.id) == col(ContactSession.contact_id))
        .join(Vendor, col(Vendor.id) == col(VendorContact.vendor_id))
        .where(col(ContactSession.token_hash) == signin.token_hash(token))
    )
    found = (await session.execute(query)).first()
    if found is None:
        return None
    row, contact, vendor = found
    now = utcnow()
    if row.ended_at is not None or row.expires_at <= now or row.last_seen_at + SESSION_IDLE <= now:
        return None
    if not contact.is_active:
        return None
    if now - row.last_seen_at > signin.LAST_SEEN_RESOLUTION:
        row.last_seen_at = now
    return contact, vendor


async def sign_out(session: AsyncSession, *, token: str, actor: Actor) -> None:
    query = select(ContactSession).where(col(ContactSession.token_hash) == signin.token_hash(token))
    row = (await session.scalars(query)).first()
    if row is not None and row.ended_at is None:
        row.ended_at = utcnow()
        audit.record(session, actor, AuditAction.sign_out, AuditObject.vendor_contact_session, row.id, {})


async def _end_sessions(session: AsyncSession, contact_id: uuid.UUID) -> None:
    await session.execute(
        update(ContactSession)
        .where(col(ContactSession.contact_id) == contact_id, col(ContactSession.ended_at).is_(None))
        .values(ended_at=utcnow())
    )
