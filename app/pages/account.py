"""Signing in and out, password links, the language of the pages."""

from __future__ import annotations

import logging
from typing import Any

from litestar import Controller, Request, Response, get, post
from litestar.datastructures import Cookie
from litestar.exceptions import NotFoundException
from litestar.params import FromQuery
from litestar.response import Redirect, Template
from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts import services as accounts
from app.accounts import signin
from app.accounts.models import User
from app.authentication import SESSION_COOKIE
from app.core import oidc, ratelimit
from app.core.deps import CurrentActor, DbSession, Settle
from app.core.settings import Settings
from app.core.types import utcnow
from app.pages.web import (
    LANG_COOKIE,
    LANGS,
    Errors,
    Message,
    errors_of,
    page,
    private_cookie,
    safe_next,
    secure,
    see_other,
    session_cookie,
)
from app.reminders import services as reminders

log = logging.getLogger(__name__)
SSO_PATH = "/sign-in/sso"
SSO_CALLBACK = SSO_PATH + "/callback"
SSO_COOKIE = "dpa_sso"  # the flow in progress (state, nonce, PKCE verifier, next), signed; 10 minutes


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
        return _sign_in_page(request, next=safe_next(next), email="", notice="")

    @post("/sign-in")
    async def sign_in(
        self, request: Request[Any, Any, Any], db_session: DbSession, settle: Settle
    ) -> Template | Redirect:
        form = await request.form()
        email, password = str(form.get("email", "")).strip(), str(form.get("password", ""))
        target = safe_next(str(form.get("next", "")))
        wait = await sign_in_wait(request, email)
        if wait is not None:
            message = Message(
                f"Too many failed sign-ins: try again in {wait} s", f"登录失败次数过多，请 {wait} 秒后再试"
            )
            response = _sign_in_page(
                request,
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
            message = Message("The e-mail address or the password is not right", "电子邮箱或密码不正确")
            return _sign_in_page(request, status_code=400, next=target, email=email, notice="", errors=Errors(message))
        await settle()
        return _signed_in(request, signed, target)

    @get("/sign-in/sso")
    async def sso_start(self, request: Request[Any, Any, Any], next: FromQuery[str | None] = None) -> Response[Any]:
        """To the single sign-on provider, with a new flow in a signed cookie for the callback."""
        client = _sso_client(request)
        settings: Settings = request.app.state.settings
        flow = oidc.Flow.start(safe_next(next))
        try:
            url = await client.authorization_url(redirect_uri=sso_redirect_uri(settings), flow=flow)
        except oidc.SsoError as error:
            return _sso_failed(request, error)
        response = Redirect(path=url, status_code=303)
        response.cookies.append(_flow_cookie(request, flow.seal(settings.secret_key), max_age=oidc.FLOW_LIFETIME))
        response.headers["Cache-Control"] = "no-store"
        return response

    @get("/sign-in/sso/callback")
    async def sso_callback(
        self, request: Request[Any, Any, Any], db_session: DbSession, settle: Settle
    ) -> Response[Any]:
        """Back from the provider: the flow checked, the code exchanged, the person signed in or told why not."""
        client = _sso_client(request)
        settings: Settings = request.app.state.settings
        query = request.query_params
        flow = oidc.Flow.open(settings.secret_key, request.cookies.get(SSO_COOKIE, ""))
        try:
            if query.get("error"):
                raise _provider_error(str(query.get("error"))[:100])
            if flow is None:
                raise oidc.FlowError(
                    "这次登录已过期或不是从本浏览器发起的，请重新登录",
                    "This sign-in expired or was not started in this browser: sign in again",
                )
            if not flow.matches(str(query.get("state") or "")) or not query.get("code"):
                raise oidc.FlowError(
                    "登录应答与本浏览器发起的登录不符（state 不一致），请重新登录",
                    "The answer does not belong to the sign-in this browser started (state mismatch): sign in again",
                )
            identity = await client.identity(
                code=str(query.get("code"))[:2000], redirect_uri=sso_redirect_uri(settings), flow=flow
            )
            signed = await signin.sign_in_by_provider(
                db_session, identity=identity, source=source_address(request) or None
            )
        except oidc.SsoError as error:
            return _sso_failed(request, error)
        await settle()
        response = _signed_in(request, signed, flow.next)
        response.cookies.append(_flow_cookie(request, "", max_age=0))
        return response

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
            errors = Errors(Message(""), {"password2": Message("The two passwords differ", "两次输入的密码不一致")})
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


def _sign_in_page(request: Request[Any, Any, Any], *, status_code: int = 200, **context: Any) -> Template:
    """The sign-in form; with the single sign-on button where a provider is configured."""
    return page(request, "sign_in.html", status_code=status_code, sso=request.app.state.oidc is not None, **context)


def _signed_in(request: Request[Any, Any, Any], signed: signin.SignedIn, target: str) -> Redirect:
    """Where a sign-in, by password or by the provider, lands: the session's cookie, the user's language."""
    signed_in = see_other(target)
    signed_in.cookies.append(
        session_cookie(request, signed.token, max_age=int(signin.SESSION_LIFETIME.total_seconds()))
    )
    if signed.user.lang in LANGS:
        signed_in.cookies.append(
            Cookie(key=LANG_COOKIE, value=signed.user.lang, path="/", samesite="lax", secure=secure(request))
        )
    return signed_in


def sso_redirect_uri(settings: Settings) -> str:
    """The address to register at the provider."""
    return f"{settings.base_url}{SSO_CALLBACK}"


def _sso_client(request: Request[Any, Any, Any]) -> oidc.OidcClient:
    client: oidc.OidcClient | None = request.app.state.oidc
    if client is None:
        raise NotFoundException("single sign-on is not configured")
    return client


def _flow_cookie(request: Request[Any, Any, Any], value: str, *, max_age: int) -> Cookie:
    return private_cookie(request, SSO_COOKIE, value, path=SSO_PATH, max_age=max_age)


def _provider_error(code: str) -> oidc.ProviderRefusedError:
    if code == "access_denied":
        return oidc.ProviderRefusedError(
            "你在单点登录提供方取消了登录，未登录", "You declined at your sign-in provider: you are not signed in"
        )
    return oidc.ProviderRefusedError(
        f"单点登录提供方报告了错误（{code}），未登录",
        f"Your sign-in provider reported an error ({code}): you are not signed in",
    )


_SSO_TITLES: dict[type[oidc.SsoError], tuple[str, str]] = {
    signin.SignInRefusedError: ("无法通过单点登录进入", "Single sign-on refused"),
    oidc.ProviderUnreachableError: ("无法连接单点登录提供方", "The sign-in provider cannot be reached"),
    oidc.ProviderAnswerError: ("单点登录提供方的应答有误", "The sign-in provider's answer is wrong"),
    oidc.FlowError: ("登录请求无效", "The sign-in request is not valid"),
    oidc.ProviderRefusedError: ("单点登录未完成", "Single sign-on did not complete"),
}


def _sso_failed(request: Request[Any, Any, Any], error: oidc.SsoError) -> Template:
    """A page in both languages with the status of the failure; the flow's cookie is gone."""
    zh, en = _SSO_TITLES.get(type(error), ("单点登录未完成", "Single sign-on did not complete"))
    if isinstance(error, oidc.ProviderUnreachableError | oidc.ProviderAnswerError):
        log.warning("single sign-on failed: %s", error)
    return page(
        request,
        "error.html",
        status_code=error.status_code,
        cookies=[_flow_cookie(request, "", max_age=0)],
        title_zh=zh,
        title_en=en,
        detail=Message(error.en, error.zh),
    )


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
