"""Signing in and out, password links, the language of the pages."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, get, post
from litestar.datastructures import Cookie
from litestar.params import FromQuery
from litestar.response import Redirect, Template
from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts import services as accounts
from app.accounts import signin
from app.accounts.models import User
from app.authentication import SESSION_COOKIE
from app.core import ratelimit
from app.core.deps import CurrentActor, DbSession, Settle
from app.core.settings import Settings
from app.core.types import utcnow
from app.pages.web import LANG_COOKIE, LANGS, Errors, errors_of, page, safe_next, secure, see_other, session_cookie
from app.reminders import services as reminders


def source_address(request: Request[Any, Any, Any]) -> str:
    return request.client.host if request.client else ""


async def sign_in_wait(request: Request[Any, Any, Any], email: str) -> int | None:
    state = request.app.state
    by_account: ratelimit.RateLimiter = state.signin_by_account
    by_address: ratelimit.RateLimiter = state.signin_by_address
    found = (await by_account.wait(email.lower()), await by_address.wait(source_address(request)))
    waits = [wait for wait in found if wait is not None]
    return max(waits) if waits else None


async def count_failed_sign_in(request: Request[Any, Any, Any], email: str) -> None:
    await request.app.state.signin_by_account.retry_after(email.lower())
    await request.app.state.signin_by_address.retry_after(source_address(request))


class AccountPages(Controller):
    include_in_schema = False

    @get("/sign-in")
    async def sign_in_form(self, request: Request[Any, Any, Any], next: FromQuery[str | None] = None) -> Template:
        return page(request, "sign_in.html", next=safe_next(next), email="", notice="")

    @post("/sign-in")
    async def sign_in(
        self, request: Request[Any, Any, Any], db_session: DbSession, settle: Settle
    ) -> Template | Redirect:
        form = await request.form()
        email, password = str(form.get("email", "")).strip(), str(form.get("password", ""))
        target = safe_next(str(form.get("next", "")))
        wait = await sign_in_wait(request, email)
        if wait is not None:
            message = f"登录失败次数过多，请 {wait} 秒后再试 / Too many failed sign-ins: try again in {wait} s"
            response = page(
                request,
                "sign_in.html",
                status_code=429,
                next=target,
                email=email,
                notice="",
                errors=Errors(message),
            )
            response.headers["Retry-After"] = str(wait)
            return response
        signed = await signin.sign_in(
            db_session, email=email, password=password, source=source_address(request) or None
        )
        if signed is None:
            await count_failed_sign_in(request, email)
            message = "电子邮箱或密码不正确 / The e-mail address or the password is not right"
            return page(
                request, "sign_in.html", status_code=400, next=target, email=email, notice="", errors=Errors(message)
            )
        await settle()
        signed_in = see_other(target)
        signed_in.cookies.append(
            session_cookie(request, signed.token, max_age=int(signin.SESSION_LIFETIME.total_seconds()))
        )
        if signed.user.lang in LANGS:
            signed_in.cookies.append(
                Cookie(key=LANG_COOKIE, value=signed.user.lang, path="/", samesite="lax", secure=secure(request))
            )
        return signed_in

    @post("/sign-out")
    async def sign_out(
        self, request: Request[Any, Any, Any], db_session: DbSession, settle: Settle, actor: CurrentActor
    ) -> Redirect:
        await signin.sign_out(db_session, token=request.cookies.get(SESSION_COOKIE, ""), actor=actor)
        await settle()
        return _signed_out(request)

    @post("/sign-out/everywhere")
    async def sign_out_everywhere(
        self, request: Request[Any, Any, Any], db_session: DbSession, settle: Settle, actor: CurrentActor
    ) -> Redirect:
        assert actor.user_id is not None
        await signin.end_sessions(db_session, user_id=actor.user_id, actor=actor, reason="sign out everywhere")
        await settle()
        return _signed_out(request)

    @get("/password/forgot")
    async def forgot_form(self, request: Request[Any, Any, Any]) -> Template:
        return page(request, "forgot.html", email="", sent=False)

    @post("/password/forgot")
    async def forgot(self, request: Request[Any, Any, Any], db_session: DbSession, settle: Settle) -> Template:
        form = await request.form()
        email = str(form.get("email", "")).strip()
        wait = await sign_in_wait(request, email)
        if wait is None:
            await count_failed_sign_in(
                request, email
            )  # links asked for count like failures: nobody mails a user a thousand
            user = await accounts.get_by_email(db_session, email=email)
            if user is not None and user.is_active:
                await send_password_link(db_session, request.app.state.settings, user, forgotten=True)
                await settle()
        # The same answer whether or not the address has an account.
        return page(request, "forgot.html", email=email, sent=True)

    @get("/password/reset")
    async def reset_form(
        self, request: Request[Any, Any, Any], db_session: DbSession, token: FromQuery[str] = ""
    ) -> Template:
        found = await signin.reset_target(db_session, token=token)
        return page(
            request,
            "reset.html",
            status_code=200 if found else 400,
            token=token,
            email=found[1].email if found else "",
            valid=found is not None,
        )

    @post("/password/reset")
    async def reset(
        self, request: Request[Any, Any, Any], db_session: DbSession, settle: Settle
    ) -> Template | Redirect:
        form = await request.form()
        token, password = str(form.get("token", "")), str(form.get("password", ""))
        found = await signin.reset_target(db_session, token=token)
        if found is None:
            return page(request, "reset.html", status_code=400, token=token, email="", valid=False)
        if password != str(form.get("password2", "")):
            errors = Errors("", {"password2": "两次输入的密码不一致 / The two passwords differ"})
            return page(
                request, "reset.html", status_code=400, token=token, email=found[1].email, valid=True, errors=errors
            )
        try:
            await signin.set_password_by_link(
                db_session, token=token, password=password, source=source_address(request) or None
            )
        except Exception as error:  # a rule of the password: shown beside the field
            return page(
                request,
                "reset.html",
                status_code=400,
                token=token,
                email=found[1].email,
                valid=True,
                errors=errors_of(error),
            )
        await settle()
        response = see_other("/sign-in?reset=1")
        response.cookies.append(session_cookie(request, "", max_age=0))
        return response

    @post("/language")
    async def set_language(
        self, request: Request[Any, Any, Any], db_session: DbSession, settle: Settle, actor: CurrentActor
    ) -> Redirect:
        form = await request.form()
        lang = str(form.get("lang", "zh"))
        if lang not in LANGS:
            lang = "zh"
        assert actor.user_id is not None
        await signin.set_language(db_session, user_id=actor.user_id, lang=lang)
        await settle()
        response = see_other(safe_next(str(form.get("next", ""))))
        response.cookies.append(Cookie(key=LANG_COOKIE, value=lang, path="/", samesite="lax", secure=secure(request)))
        return response

    @get("/profile")
    async def profile(self, request: Request[Any, Any, Any]) -> Template:
        return page(request, "profile.html", nav="settings")


def _signed_out(request: Request[Any, Any, Any]) -> Redirect:
    response = see_other("/sign-in")
    response.cookies.append(session_cookie(request, "", max_age=0))
    return response


async def send_password_link(session: AsyncSession, settings: Settings, user: User, *, forgotten: bool) -> str:
    """A single-use link to set the password, sent through the outbox; answers the link."""
    lifetime = signin.RESET_LIFETIME if forgotten else signin.FIRST_LINK_LIFETIME
    token = await signin.new_password_link(session, user=user, lifetime=lifetime)
    link = f"{settings.base_url}/password/reset?token={token}"
    hours = int(lifetime.total_seconds() // 3600)
    body = (
        f"请打开以下链接设置 dpa 的登录密码（{hours} 小时内有效，仅可使用一次）：\n{link}\n\n"
        f"Open this link to set your dpa password (valid for {hours} hours, once):\n{link}\n\n"
        "如果这不是您本人的操作，请忽略本邮件。 / If you did not ask for this, ignore this message.\n"
    )
    reminders.queue_message(
        session, recipient=user.email, subject="[dpa] 设置密码 / Set your password", body=body, now=utcnow()
    )
    return link
