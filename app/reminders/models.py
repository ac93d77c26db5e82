from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from app.core.types import EnumString, UTCDateTime, utcnow
from app.reminders.schemas import ChatPlatform, OutboxStatus, ReminderStatus


class Reminder(SQLModel, table=True):
    """One step of one obligation for one recipient: queued once, ever (the unique key)."""

    __tablename__ = "reminders"
    __table_args__ = (
        UniqueConstraint("obligation_id", "step", "recipient", name="uq_reminders_obligation_step_recipient"),
        Index("ix_reminders_status_message", "status", "message_id"),
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    obligation_id: uuid.UUID = Field(foreign_key="obligations.id", index=True)
    step: str = Field(max_length=20)  # before-30, due, overdue-6, escalate-7
    recipient: str = Field(max_length=320)
    status: ReminderStatus = Field(default=ReminderStatus.queued, sa_type=EnumString(ReminderStatus, 20))
    message_id: uuid.UUID | None = Field(default=None, foreign_key="outbox_messages.id", index=True)
    queued_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    sent_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class OutboxMessage(SQLModel, table=True):
    """One digest e-mail to one recipient; it counts as sent only once the server accepted it."""

    __tablename__ = "outbox_messages"
    __table_args__ = (Index("ix_outbox_messages_status_next", "status", "next_attempt_at"),)

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    recipient: str = Field(max_length=320, index=True)
    status: OutboxStatus = Field(default=OutboxStatus.pending, sa_type=EnumString(OutboxStatus, 20))
    attempts: int = 0
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    next_attempt_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    last_error: str = Field(default="", max_length=1000)
    sent_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    sent_by: str = Field(default="", max_length=100)  # the worker (host:pid) that delivered it
    # A message of its own (a password link), not a digest of reminders; emptied once sent,
    # so that a link never lingers in the database.
    subject: str = Field(default="", max_length=300)
    body: str = Field(default="", max_length=5000)


class CalendarFeed(SQLModel, table=True):
    """A user's private calendar subscription: the token in its URL is stored only as a hash.
    One per user; a new one replaces the old, deleting the row revokes it."""

    __tablename__ = "calendar_feeds"

    user_id: uuid.UUID = Field(foreign_key="users.id", primary_key=True, ondelete="CASCADE")
    token_hash: str = Field(max_length=64, unique=True)
    hint: str = Field(max_length=20)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class ChatRobot(SQLModel, table=True):
    """A WeCom, DingTalk or Feishu group robot that receives reminders: a user's own, the
    team's, or the DPO's (key `user:<id>`, `team`, `dpo`). Its URL (WeCom's holds the key) and
    its signing secret are sealed (app/core/outbound.py), so they can sign and are never in clear."""

    __tablename__ = "chat_robots"

    key: str = Field(max_length=60, primary_key=True)
    user_id: uuid.UUID | None = Field(default=None, foreign_key="users.id", ondelete="CASCADE", index=True)
    platform: ChatPlatform = Field(sa_type=EnumString(ChatPlatform, 10))
    url_sealed: str = Field(max_length=3000)
    url_hint: str = Field(max_length=200)
    secret_sealed: str = Field(default="", max_length=500)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
