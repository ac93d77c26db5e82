from __future__ import annotations

import uuid

from litestar import Controller, delete, get, post
from litestar.params import FromPath, FromQuery, JSONBody

from app.accounts import services
from app.accounts.schemas import (
    Role,
    TokenCreate,
    TokenIssued,
    TokenPublic,
    UserCreate,
    UserCreated,
    UserPublic,
)
from app.core.deps import CurrentActor, DbSession, Settle
from app.core.schemas import Limit, Offset, Page


class UserController(Controller):
    path = "/api/users"
    tags = ("users",)

    @get("/", summary="List users, by e-mail")
    async def list_users(
        self,
        db_session: DbSession,
        role: FromQuery[Role | None] = None,
        active: FromQuery[bool | None] = None,
        limit: Limit = 50,
        offset: Offset = 0,
    ) -> Page[UserPublic]:
        where = services.UserFilter(role=role, active=active)
        rows, total = await services.get_all(db_session, where=where, limit=limit, offset=offset)
        return Page(items=[UserPublic.model_validate(r) for r in rows], total=total, limit=limit, offset=offset)

    @get("/me", summary="The user this token belongs to")
    async def me(self, db_session: DbSession, actor: CurrentActor) -> UserPublic:
        assert actor.user_id is not None
        return UserPublic.model_validate(await services.get(db_session, user_id=actor.user_id))

    @post("/", summary="Create a user (admin); answers the first API token once")
    async def create_user(
        self, db_session: DbSession, settle: Settle, actor: CurrentActor, data: JSONBody[UserCreate]
    ) -> UserCreated:
        user, token = await services.create(db_session, data=data, actor=actor)
        await settle()
        return UserCreated.model_validate({**UserPublic.model_validate(user).model_dump(), "token": token})

    @post("/{user_id:uuid}/deactivate", status_code=200, summary="Deactivate a user (admin)")
    async def deactivate_user(
        self, db_session: DbSession, settle: Settle, actor: CurrentActor, user_id: FromPath[uuid.UUID]
    ) -> UserPublic:
        user = await services.deactivate(db_session, user_id=user_id, actor=actor)
        await settle()
        return UserPublic.model_validate(user)

    @get("/{user_id:uuid}/tokens", summary="List a user's API tokens (own, or admin)")
    async def list_tokens(
        self,
        db_session: DbSession,
        actor: CurrentActor,
        user_id: FromPath[uuid.UUID],
        limit: Limit = 50,
        offset: Offset = 0,
    ) -> Page[TokenPublic]:
        where = services.TokenFilter(user_id=user_id)
        rows, total = await services.get_tokens(db_session, where=where, actor=actor, limit=limit, offset=offset)
        return Page(items=[TokenPublic.model_validate(r) for r in rows], total=total, limit=limit, offset=offset)

    @post("/{user_id:uuid}/tokens", summary="Issue an API token (own, or admin); shown once")
    async def issue_token(
        self,
        db_session: DbSession,
        settle: Settle,
        actor: CurrentActor,
        user_id: FromPath[uuid.UUID],
        data: JSONBody[TokenCreate],
    ) -> TokenIssued:
        token, row = await services.issue_token(db_session, user_id=user_id, data=data, actor=actor)
        await settle()
        return TokenIssued.model_validate({**TokenPublic.model_validate(row).model_dump(), "token": token})

    @delete("/{user_id:uuid}/tokens/{token_id:uuid}", summary="Revoke an API token, at once")
    async def revoke_token(
        self,
        db_session: DbSession,
        settle: Settle,
        actor: CurrentActor,
        user_id: FromPath[uuid.UUID],
        token_id: FromPath[uuid.UUID],
    ) -> None:
        await services.revoke_token(db_session, user_id=user_id, token_id=token_id, actor=actor)
        await settle()
