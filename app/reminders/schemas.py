from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from app.core.fields import NO_CONTROL_CHARACTERS


class ReminderStatus(StrEnum):
    queued = "queued"  # waits for its digest to go out
    sent = "sent"
    dead = "dead"  # its digest was refused for good
    cancelled = "cancelled"  # its obligation closed before it went out


class OutboxStatus(StrEnum):
    """A digest e-mail's state."""

    pending = "pending"  # to send, or to retry
    sent = "sent"  # the mail server accepted it
    dead = "dead"  # refused for good (5xx), or never got through
    cancelled = "cancelled"  # everything in it closed meanwhile


class ChatPlatform(StrEnum):
    """Group robots reminders can go to, each with its own message format and signature."""

    dingtalk = "dingtalk"  # 钉钉自定义机器人: HMAC-SHA256 "timestamp\nsecret" in the query
    feishu = "feishu"  # 飞书/Lark 自定义机器人: the signature in the body
    wecom = "wecom"  # 企业微信群机器人: the key in the URL, no signature


class RobotScope(StrEnum):
    team = "team"  # everything the company's people are reminded of
    dpo = "dpo"  # what the DPO is: escalations, incidents, items without an owner


class ChatRobotIn(BaseModel):
    """A group robot's webhook URL (https) and, for DingTalk and Feishu, its signing secret
    (加签 / 签名校验); WeCom's key is in its URL."""

    model_config = ConfigDict(extra="forbid")

    platform: ChatPlatform
    url: Annotated[str, Field(min_length=8, max_length=2000, pattern=NO_CONTROL_CHARACTERS)]
    secret: Annotated[str, Field(max_length=200, pattern=NO_CONTROL_CHARACTERS)] = ""


class ChatRobotPublic(BaseModel):
    """A robot as listed: its URL shortened (a WeCom URL holds its key), never its secret."""

    model_config = ConfigDict(from_attributes=True)

    key: str
    platform: ChatPlatform
    url_hint: str
    signed: bool
    created_at: datetime


class ReminderPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: uuid.UUID
    obligation_id: uuid.UUID
    step: str
    recipient: str
    status: ReminderStatus
    message_id: uuid.UUID | None
    queued_at: datetime
    sent_at: datetime | None


class DeadLetter(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: uuid.UUID
    recipient: str
    attempts: int
    created_at: datetime
    last_error: str


class CalendarSubscriptionPublic(BaseModel):
    """A user's calendar subscription, without its URL (shown once, when created)."""

    model_config = ConfigDict(from_attributes=True)

    hint: str
    created_at: datetime


class CalendarSubscriptionIssued(CalendarSubscriptionPublic):
    url: str  # the private iCalendar URL: shown this once, stored only hashed
