from __future__ import annotations

import uuid
from typing import Annotated, Any

from litestar import Controller, Request, Response, delete, get, post, put
from litestar.params import FromPath, FromQuery, JSONBody, QueryParameter

from app.core import outbound
from app.core.actor import Role
from app.core.deps import CurrentActor, DbSession, Settle
from app.core.fields import NO_CONTROL_CHARACTERS
from app.core.schemas import Limit, Offset, Page
from app.reminders import calendar, chat, services
from app.reminders.models import ChatRobot
from app.reminders.schemas import (
    CalendarSubscriptionIssued,
    CalendarSubscriptionPublic,
    ChatRobotIn,
    ChatRobotPublic,
    DeadLetter,
    OutboxStatus,
    ReminderPublic,
    ReminderStatus,
    RobotScope,
)


class ReminderController(Controller):
    path = "/api/reminders"
    tags = ("reminders",)

    @get("/", summary="Reminders queued and sent: one per obligation, step and recipient")
    async def list_reminders(
        self,
        db_session: DbSession,
        actor: CurrentActor,
        obligation_id: FromQuery[uuid.UUID | None] = None,
        status: FromQuery[ReminderStatus | None] = None,
        recipient: Annotated[str | None, QueryParameter(max_length=320, pattern=NO_CONTROL_CHARACTERS)] = None,
        limit: Limit = 50,
        offset: Offset = 0,
    ) -> Page[ReminderPublic]:
        actor.require_role(Role.dpo, Role.auditor)
        where = services.ReminderFilter(obligation_id=obligation_id, status=status, recipient=recipient)
        rows, total = await services.get_all(db_session, where=where, limit=limit, offset=offset)
        return Page(items=[ReminderPublic.model_validate(r) for r in rows], total=total, limit=limit, offset=offset)

    @get("/dead-letters", summary="Digests the mail server refused for good (5xx), or that never got through")
    async def list_dead_letters(
        self, db_session: DbSession, actor: CurrentActor, limit: Limit = 50, offset: Offset = 0
    ) -> Page[DeadLetter]:
        actor.require_role(Role.dpo)
        where = services.MessageFilter(status=OutboxStatus.dead)
        rows, total = await services.get_messages(db_session, where=where, limit=limit, offset=offset)
        return Page(items=[DeadLetter.model_validate(r) for r in rows], total=total, limit=limit, offset=offset)


class CalendarSubscriptionController(Controller):
    path = "/api/users/me/calendar"
    tags = ("calendar subscriptions",)

    @get("/", summary="Your calendar subscription, if any (its URL is shown only when created)")
    async def get_subscription(self, db_session: DbSession, actor: CurrentActor) -> CalendarSubscriptionPublic:
        return CalendarSubscriptionPublic.model_validate(await calendar.get(db_session, actor=actor))

    @post(
        "/",
        summary="Create or rotate your private calendar URL (iCalendar, for Outlook, DingTalk, Apple); shown once",
    )
    async def create_subscription(
        self, request: Request[Any, Any, Any], db_session: DbSession, settle: Settle, actor: CurrentActor
    ) -> CalendarSubscriptionIssued:
        subscription = await calendar.create(db_session, actor=actor)
        await settle()
        return CalendarSubscriptionIssued(
            hint=subscription.feed.hint,
            created_at=subscription.feed.created_at,
            url=subscription.url(request.app.state.settings.base_url),
        )

    @delete("/", summary="Revoke your calendar URL, at once")
    async def delete_subscription(self, db_session: DbSession, settle: Settle, actor: CurrentActor) -> None:
        await calendar.delete(db_session, actor=actor)
        await settle()


class CalendarFeedController(Controller):
    """The subscription itself: the token in the path is the credential (app.authentication)."""

    path = "/calendar"
    tags = ("calendar subscriptions",)

    @get(
        "/{feed:str}",
        summary="A user's due dates as iCalendar (/calendar/dpc_….ics); the token in the URL is the credential",
        security=[],
    )
    async def feed(
        self, request: Request[Any, Any, Any], db_session: DbSession, feed: FromPath[str]
    ) -> Response[bytes]:
        base_url: str = request.app.state.settings.base_url
        rows = await calendar.due_dates(db_session, user=request.user)
        return Response(
            calendar.render(rows, base_url=base_url),
            media_type="text/calendar",  # Litestar adds "; charset=utf-8"
            headers={"Cache-Control": "private, max-age=0, no-store"},
        )


def _robot(robot: ChatRobot) -> ChatRobotPublic:
    return ChatRobotPublic(
        key=robot.key,
        platform=robot.platform,
        url_hint=robot.url_hint,
        signed=bool(robot.secret_sealed),
        created_at=robot.created_at,
    )


async def _put_robot(
    request: Request[Any, Any, Any], db_session: DbSession, key: str, user_id: uuid.UUID | None, data: ChatRobotIn
) -> ChatRobot:
    settings = request.app.state.settings
    return await chat.put(
        db_session,
        key=key,
        user_id=user_id,
        data=data,
        sealing_key=outbound.sealing_key(settings),
        allow_private=settings.webhook_allow_private,
    )


class ChatRobotController(Controller):
    """Group robots (DingTalk, Feishu, WeCom) that receive reminders: the team's and the DPO's
    (set by an admin or the DPO), and each person's own (/api/users/me/chat-robot)."""

    path = "/api"
    tags = ("chat robots",)

    @put("/chat-robots/{robot:str}", summary="Set the team's or the DPO's group robot (replaces the one before)")
    async def put_shared(
        self,
        request: Request[Any, Any, Any],
        db_session: DbSession,
        settle: Settle,
        actor: CurrentActor,
        robot: FromPath[RobotScope],
        data: JSONBody[ChatRobotIn],
    ) -> ChatRobotPublic:
        saved = await _put_robot(request, db_session, chat.scope_key(actor, robot), None, data)
        await settle()
        return _robot(saved)

    @get("/chat-robots/{robot:str}", summary="The team's or the DPO's group robot (its URL shortened)")
    async def get_shared(
        self, db_session: DbSession, actor: CurrentActor, robot: FromPath[RobotScope]
    ) -> ChatRobotPublic:
        return _robot(await chat.get(db_session, key=chat.scope_key(actor, robot)))

    @delete("/chat-robots/{robot:str}", summary="Remove the team's or the DPO's group robot")
    async def delete_shared(
        self, db_session: DbSession, settle: Settle, actor: CurrentActor, robot: FromPath[RobotScope]
    ) -> None:
        await chat.delete(db_session, key=chat.scope_key(actor, robot))
        await settle()

    @put("/users/me/chat-robot", summary="Set your own group robot: your reminders reach it too")
    async def put_own(
        self,
        request: Request[Any, Any, Any],
        db_session: DbSession,
        settle: Settle,
        actor: CurrentActor,
        data: JSONBody[ChatRobotIn],
    ) -> ChatRobotPublic:
        user_id = chat.own_user(actor)
        saved = await _put_robot(request, db_session, chat.user_key(user_id), user_id, data)
        await settle()
        return _robot(saved)

    @get("/users/me/chat-robot", summary="Your own group robot, if any")
    async def get_own(self, db_session: DbSession, actor: CurrentActor) -> ChatRobotPublic:
        return _robot(await chat.get(db_session, key=chat.user_key(chat.own_user(actor))))

    @delete("/users/me/chat-robot", summary="Remove your own group robot")
    async def delete_own(self, db_session: DbSession, settle: Settle, actor: CurrentActor) -> None:
        await chat.delete(db_session, key=chat.user_key(chat.own_user(actor)))
        await settle()
