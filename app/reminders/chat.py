"""Reminders to chat group robots (DingTalk, Feishu/Lark, WeCom), through the same outbox as
the e-mails: a robot is one more recipient of a reminder (`robot:<key>`), so its digest is
queued once, batched, retried with backoff and sent to the dead letters exactly as a mail is.
Only the composing and the sending differ: each platform's message format and signature."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.accounts.models import User
from app.core import outbound
from app.core.actor import Actor, Role
from app.core.errors import NotFoundError, PermissionDeniedError, field_error
from app.reminders.mail import DeliveryError, Item
from app.reminders.models import ChatRobot
from app.reminders.schemas import ChatPlatform, ChatRobotIn, RobotScope

PREFIX = "robot:"  # a reminder's recipient that is a robot, not an e-mail address
MAX_ITEMS = 20  # a chat message is read on a phone: the rest is on the list page
# Platform answers that mean "too many messages, try later" rather than a refusal.
RATE_LIMITED = {130101, 9499, 11232, 45009}


def user_key(user_id: uuid.UUID) -> str:
    return f"user:{user_id}"


def recipient(key: str) -> str:
    return PREFIX + key


async def robot_keys(session: AsyncSession) -> tuple[dict[str, str], set[str]]:
    """Which people have a robot of their own (e-mail -> key), and which of team, dpo exist."""
    rows = await session.execute(
        select(col(ChatRobot.key), col(User.email))
        .join(User, col(User.id) == col(ChatRobot.user_id))
        .where(col(User.is_active))
    )
    people = {email.lower(): key for key, email in rows.all()}
    shared = set(await session.scalars(select(col(ChatRobot.key)).where(col(ChatRobot.user_id).is_(None))))
    return people, shared


async def reader(session: AsyncSession, recipient: str) -> tuple[str, bool]:
    """Whom a digest speaks to, and whether its items say why they reach them: a person's robot
    reads as that person, the DPO's as the DPO; the team's robot gets no personal notes."""
    key = recipient.removeprefix(PREFIX)
    if not recipient.startswith(PREFIX) or key == RobotScope.dpo:
        return recipient, True
    robot = await session.get(ChatRobot, key)
    if robot is not None and robot.user_id is not None:
        user = await session.get(User, robot.user_id)
        if user is not None:
            return user.email, True
    return recipient, False


async def put(
    session: AsyncSession,
    *,
    key: str,
    user_id: uuid.UUID | None,
    data: ChatRobotIn,
    sealing_key: bytes,
    allow_private: bool,
) -> ChatRobot:
    """Create or replace a robot; the caller settles."""
    await outbound.require_safe_url("url", data.url, allow_private=allow_private)
    if data.platform in (ChatPlatform.dingtalk, ChatPlatform.feishu) and not data.secret:
        raise field_error(
            "secret",
            f"a {data.platform} robot signs its messages: give its secret",
            zh=f"{'钉钉' if data.platform == ChatPlatform.dingtalk else '飞书'}机器人的消息需要加签：请填写加签密钥",
        )
    robot = await session.get(ChatRobot, key)
    if robot is None:
        robot = ChatRobot(key=key, user_id=user_id, platform=data.platform, url_sealed="", url_hint="")
        session.add(robot)
    robot.platform = data.platform
    robot.url_sealed = outbound.seal(data.url, sealing_key)
    robot.url_hint = outbound.url_hint(data.url)
    robot.secret_sealed = outbound.seal(data.secret, sealing_key) if data.secret else ""
    await session.flush()
    return robot


def scope_key(actor: Actor, scope: RobotScope) -> str:
    """The team's and the DPO's robots are set by an admin or the DPO."""
    actor.require_role(Role.dpo)
    return scope.value


def own_user(actor: Actor) -> uuid.UUID:
    if actor.user_id is None:
        raise PermissionDeniedError("a robot of your own needs a user account", zh="只有用户账号才能设置个人机器人")
    return actor.user_id


async def get(session: AsyncSession, *, key: str) -> ChatRobot:
    robot = await session.get(ChatRobot, key)
    if robot is None:
        raise NotFoundError("no chat robot is set here", zh="这里还没有设置群机器人")
    return robot


async def delete(session: AsyncSession, *, key: str) -> None:
    await session.delete(await get(session, key=key))
    await session.flush()


# --- composing ------------------------------------------------------------------------------


def _lines(items: list[Item]) -> list[tuple[str, str]]:
    """Each item as (text, link): Chinese first, English beside it."""
    return [
        (
            f"{item.what_zh} {item.what_en} · {item.vendor} · {item.engagement} · "
            f"{item.due_on.isoformat()} {item.when_zh} {item.when_en}"
            + (f" · {item.note_zh} {item.note_en}" if item.note_zh else ""),
            item.page or item.link,
        )
        for item in items[:MAX_ITEMS]
    ]


def title(items: list[Item]) -> str:
    late = sum(item.overdue for item in items)
    text = f"{len(items)} 项合规事项待处理 {len(items)} compliance item{'s' * (len(items) != 1)} due"
    return text + (f"（{late} 项已逾期 {late} overdue）" if late else "")


def _more(items: list[Item], base_url: str) -> str:
    extra = len(items) - MAX_ITEMS
    return f"另有 {extra} 项 {extra} more: {base_url}/obligations" if extra > 0 else ""


def compose(platform: ChatPlatform, items: list[Item], *, base_url: str) -> dict[str, object]:
    """The message body in the platform's own format (signature added when sent)."""
    head, lines, more = title(items), _lines(items), _more(items, base_url)
    if platform == ChatPlatform.feishu:
        rows: list[list[dict[str, str]]] = [
            [{"tag": "text", "text": f"• {text} "}, {"tag": "a", "text": "打开 Open", "href": link}]
            for text, link in lines
        ]
        if more:
            rows.append([{"tag": "text", "text": more}])
        return {"msg_type": "post", "content": {"post": {"zh_cn": {"title": head, "content": rows}}}}
    markdown = "\n".join([f"### {head}", *(f"- {text} [打开 Open]({link})" for text, link in lines), more]).strip()
    if platform == ChatPlatform.dingtalk:
        return {"msgtype": "markdown", "markdown": {"title": head, "text": markdown}}
    # WeCom: markdown content is limited to 4096 bytes.
    return {"msgtype": "markdown", "markdown": {"content": markdown.encode()[:4000].decode(errors="ignore")}}


@dataclass
class Sent:
    key: str
    platform: ChatPlatform
    body: dict[str, object]


@dataclass
class ChatSender:
    """Posts a robot's digest, signed its platform's way. `dry_run` collects instead."""

    sealing_key: bytes
    allow_private: bool
    base_url: str
    dry_run: bool = False
    sent: list[Sent] = field(default_factory=list)

    async def send(self, session: AsyncSession, key: str, items: list[Item], now: datetime) -> None:
        robot = await session.get(ChatRobot, key)
        if robot is None:
            raise DeliveryError("the robot was removed", permanent=True)
        body = compose(robot.platform, items, base_url=self.base_url)
        if self.dry_run:
            self.sent.append(Sent(key, robot.platform, body))
            return
        try:
            url = outbound.unseal(robot.url_sealed, self.sealing_key)
            secret = outbound.unseal(robot.secret_sealed, self.sealing_key) if robot.secret_sealed else ""
        except outbound.SealError as error:
            raise DeliveryError(f"cannot read the robot's settings: {error}", permanent=True) from None
        if robot.platform == ChatPlatform.dingtalk and secret:
            url = outbound.dingtalk_url(url, secret, now_ms=int(now.timestamp() * 1000))
        elif robot.platform == ChatPlatform.feishu and secret:
            body = {**outbound.feishu_sign(secret, now_s=int(now.timestamp())), **body}
        answer = await outbound.post(
            url, body=json.dumps(body, ensure_ascii=False).encode(), headers={}, allow_private=self.allow_private
        )
        _check(answer)
        self.sent.append(Sent(key, robot.platform, body))


def _check(answer: outbound.Answer) -> None:
    """Robots answer 200 with an error code in the body: 0 is accepted."""
    if answer.status is None:
        raise DeliveryError(answer.error, permanent=answer.error.startswith("refused"))
    if answer.status == 429 or answer.status >= 500:
        raise DeliveryError(f"{answer.status}: {answer.text[:300]}", permanent=False)
    if answer.status >= 400:
        raise DeliveryError(f"{answer.status}: {answer.text[:300]}", permanent=True)
    try:
        reply = json.loads(answer.text or "{}")
    except ValueError:
        raise DeliveryError(f"not a robot's answer: {answer.text[:300]}", permanent=True) from None
    code = reply.get("errcode", reply.get("code", reply.get("StatusCode", 0))) if isinstance(reply, dict) else 0
    if code not in (0, None):
        message = reply.get("errmsg") or reply.get("msg") or ""
        raise DeliveryError(f"robot answered {code}: {message}"[:1000], permanent=code not in RATE_LIMITED)
