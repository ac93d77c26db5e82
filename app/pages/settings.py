"""设置 Settings: people and their roles (admins), a user's own API tokens (for scripts), and the
company's outgoing webhooks with their delivery log (admins)."""

from __future__ import annotations

import uuid
from typing import Any

from litestar import Controller, Request, get, post
from litestar.params import FromPath
from litestar.response import Redirect, Template
from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts import services as accounts
from app.accounts import signin
from app.accounts.schemas import Role, TokenCreate, UserCreate
from app.core import outbound
from app.core.actor import Actor
from app.core.deps import CurrentActor, DbSession, Settle
from app.core.errors import NotFoundError
from app.core.schemas import MAX_PAGE
from app.core.types import utcnow
from app.pages.account import send_password_link
from app.pages.web import Errors, errors_of, page, see_other, top_level_errors
from app.reminders import chat
from app.reminders.models import ChatRobot
from app.reminders.schemas import ChatPlatform, ChatRobotIn, RobotScope
from app.webhooks import services as webhooks
from app.webhooks.schemas import EndpointIn, EventType


class SettingsPages(Controller):
    include_in_schema = False

    @get("/settings")
    async def settings(self, request: Request[Any, Any, Any], db_session: DbSession, actor: CurrentActor) -> Template:
        return await _settings(request, db_session, actor)

    @post("/settings/users")
    async def create_user(
        self, request: Request[Any, Any, Any], db_session: DbSession, settle: Settle, actor: CurrentActor
    ) -> Template | Redirect:
        form = await request.form()
        data = {key: str(form.get(key, "")).strip() for key in ("email", "name", "role")}
        try:
            user, _ = await accounts.create(db_session, data=UserCreate.model_validate(data), actor=actor)
            await send_password_link(db_session, request.app.state.settings, user, forgotten=False)
        except Exception as error:  # beside its field; errors_of re-raises a bug
            await db_session.rollback()
            return await _settings(
                request, db_session, actor, errors_of(error), getattr(error, "status_code", 400), new_user=data
            )
        await settle()
        return see_other(f"/settings?created={user.id}")

    @post("/settings/users/{user_id:uuid}/deactivate")
    async def deactivate(
        self, db_session: DbSession, settle: Settle, actor: CurrentActor, user_id: FromPath[uuid.UUID]
    ) -> Redirect:
        await accounts.deactivate(db_session, user_id=user_id, actor=actor)
        await signin.end_sessions(db_session, user_id=user_id, actor=actor, reason="deactivated")
        await settle()
        return see_other("/settings")

    @post("/settings/tokens")
    async def issue_token(
        self, request: Request[Any, Any, Any], db_session: DbSession, settle: Settle, actor: CurrentActor
    ) -> Template:
        form = await request.form()
        assert actor.user_id is not None
        try:
            data = TokenCreate.model_validate({"name": str(form.get("token_name", "")).strip() or "api"})
            token, _ = await accounts.issue_token(db_session, user_id=actor.user_id, data=data, actor=actor)
        except Exception as error:  # beside its field; errors_of re-raises a bug
            await db_session.rollback()
            errors = errors_of(error)
            if "name" in errors.fields:  # the token's name field, apart from the new person's name
                errors.fields["token_name"] = errors.fields.pop("name")
            return await _settings(request, db_session, actor, errors, getattr(error, "status_code", 400))
        await settle()
        return await _settings(request, db_session, actor, issued=token)

    @post("/settings/tokens/{token_id:uuid}/revoke")
    async def revoke_token(
        self, db_session: DbSession, settle: Settle, actor: CurrentActor, token_id: FromPath[uuid.UUID]
    ) -> Redirect:
        assert actor.user_id is not None
        await accounts.revoke_token(db_session, user_id=actor.user_id, token_id=token_id, actor=actor)
        await settle()
        return see_other("/settings")


class WebhookPages(Controller):
    """设置 › Webhook: an admin subscribes the company's other systems to events and reads the log."""

    include_in_schema = False

    @get("/settings/webhooks")
    async def webhooks_page(
        self, request: Request[Any, Any, Any], db_session: DbSession, actor: CurrentActor
    ) -> Template:
        return await _webhooks(request, db_session, actor)

    @post("/settings/webhooks")
    async def create_endpoint(
        self, request: Request[Any, Any, Any], db_session: DbSession, settle: Settle, actor: CurrentActor
    ) -> Template:
        actor.require_role()  # admins only, before reading the form
        form = await request.form()
        data = {
            "url": str(form.get("url", "")).strip(),
            "events": [str(value) for value in form.getall("events", [])],
            "description": str(form.get("description", "")).strip(),
        }
        settings = request.app.state.settings
        try:
            _, secret = await webhooks.create_endpoint(
                db_session,
                actor=actor,
                data=EndpointIn.model_validate(data),
                vendor_id=None,
                sealing_key=outbound.sealing_key(settings),
                allow_private=settings.webhook_allow_private,
            )
        except Exception as error:  # beside its field; errors_of re-raises a bug
            await db_session.rollback()
            errors = top_level_errors(error)
            status = getattr(error, "status_code", 400)
            return await _webhooks(request, db_session, actor, errors, status, form=data)
        await settle()
        return await _webhooks(request, db_session, actor, secret=secret)

    @post("/settings/webhooks/{endpoint_id:uuid}/delete")
    async def delete_endpoint(
        self, db_session: DbSession, settle: Settle, actor: CurrentActor, endpoint_id: FromPath[uuid.UUID]
    ) -> Redirect:
        actor.require_role()
        await webhooks.delete_endpoint(db_session, endpoint_id=endpoint_id, vendor_id=None)
        await settle()
        return see_other("/settings/webhooks")

    @post("/settings/webhooks/deliveries/{delivery_id:uuid}/redeliver")
    async def redeliver(
        self, db_session: DbSession, settle: Settle, actor: CurrentActor, delivery_id: FromPath[uuid.UUID]
    ) -> Redirect:
        await webhooks.redeliver(db_session, delivery_id=delivery_id, vendor_id=None, actor=actor, now=utcnow())
        await settle()
        return see_other("/settings/webhooks")


async def _webhooks(
    request: Request[Any, Any, Any],
    session: AsyncSession,
    actor: Actor,
    errors: Errors | None = None,
    status_code: int = 200,
    *,
    secret: str = "",
    form: dict[str, Any] | None = None,
) -> Template:
    actor.require_role()
    endpoints, _ = await webhooks.get_endpoints(session, vendor_id=None, limit=MAX_PAGE, offset=0)
    deliveries, total = await webhooks.get_deliveries(
        session, where=webhooks.DeliveryFilter(), limit=MAX_PAGE, offset=0
    )
    return page(
        request,
        "webhooks.html",
        status_code=status_code,
        nav="settings",
        endpoints=endpoints,
        urls={endpoint.id: endpoint.url for endpoint in endpoints},
        deliveries=deliveries,
        total=total,
        event_types=list(EventType),
        secret=secret,
        form=form or {"events": []},
        errors=errors or Errors(),
    )


async def _settings(
    request: Request[Any, Any, Any],
    session: AsyncSession,
    actor: Actor,
    errors: Errors | None = None,
    status_code: int = 200,
    *,
    issued: str = "",
    new_user: dict[str, str] | None = None,
) -> Template:
    assert actor.user_id is not None
    users, _ = await accounts.get_all(session, where=accounts.UserFilter(), limit=MAX_PAGE, offset=0)
    tokens, _ = await accounts.get_tokens(
        session, where=accounts.TokenFilter(user_id=actor.user_id), actor=actor, limit=MAX_PAGE, offset=0
    )
    created = request.query_params.get("created")
    return page(
        request,
        "settings.html",
        status_code=status_code,
        nav="settings",
        users=users,
        tokens=tokens,
        roles=list(Role),
        issued=issued,
        created=next((u for u in users if str(u.id) == created), None),
        new_user=new_user or {"role": "procurement"},
        errors=errors or Errors(),
    )


# Whose robot a form sets: the person's own, or (the DPO and admins) the team's and the DPO's.
ROBOT_SCOPES = ("me", *(scope.value for scope in RobotScope))


class ChatRobotPages(Controller):
    """设置 › 群机器人: reminders to a DingTalk, Feishu or WeCom group, besides e-mail."""

    include_in_schema = False

    @get("/settings/robots")
    async def robots_page(
        self, request: Request[Any, Any, Any], db_session: DbSession, actor: CurrentActor
    ) -> Template:
        return await _robots(request, db_session, actor)

    @post("/settings/robots/{whose:str}")
    async def set_robot(
        self,
        request: Request[Any, Any, Any],
        db_session: DbSession,
        settle: Settle,
        actor: CurrentActor,
        whose: FromPath[str],
    ) -> Template | Redirect:
        key, user_id = _robot_key(actor, whose)
        form = await request.form()
        data = {name: str(form.get(name, "")).strip() for name in ("platform", "url", "secret")}
        settings = request.app.state.settings
        try:
            await chat.put(
                db_session,
                key=key,
                user_id=user_id,
                data=ChatRobotIn.model_validate(data),
                sealing_key=outbound.sealing_key(settings),
                allow_private=settings.webhook_allow_private,
            )
        except Exception as error:  # beside its field, what was typed kept (not the secret)
            await db_session.rollback()
            errors = top_level_errors(error)
            status = getattr(error, "status_code", 400)
            typed = {**data, "secret": ""}
            return await _robots(request, db_session, actor, errors, status, failed=whose, form=typed)
        await settle()
        return see_other("/settings/robots?saved=1")

    @post("/settings/robots/{whose:str}/delete")
    async def delete_robot(
        self, db_session: DbSession, settle: Settle, actor: CurrentActor, whose: FromPath[str]
    ) -> Redirect:
        key, _ = _robot_key(actor, whose)
        await chat.delete(db_session, key=key)
        await settle()
        return see_other("/settings/robots")


def _robot_key(actor: Actor, scope: str) -> tuple[str, uuid.UUID | None]:
    if scope == "me":
        user_id = chat.own_user(actor)
        return chat.user_key(user_id), user_id
    if scope not in ROBOT_SCOPES:
        raise NotFoundError("no such robot", zh="没有这个群机器人")
    return chat.scope_key(actor, RobotScope(scope)), None


async def _robots(
    request: Request[Any, Any, Any],
    session: AsyncSession,
    actor: Actor,
    errors: Errors | None = None,
    status_code: int = 200,
    *,
    failed: str = "",
    form: dict[str, str] | None = None,
) -> Template:
    shared = actor.role in (Role.admin, Role.dpo)
    keys = {"me": chat.user_key(chat.own_user(actor))} | ({s.value: s.value for s in RobotScope} if shared else {})
    robots: dict[str, ChatRobot | None] = {}
    for scope, key in keys.items():
        try:
            robots[scope] = await chat.get(session, key=key)
        except NotFoundError:
            robots[scope] = None
    return page(
        request,
        "robots.html",
        status_code=status_code,
        nav="settings",
        robots=robots,
        platforms=list(ChatPlatform),
        errors=errors or Errors(),
        failed=failed,
        form=form or {},
        saved="saved" in request.query_params,
    )
