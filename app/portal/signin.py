"""The portal's sign-in: an invitation sets the password; later a password or an e-mailed link."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, get, post
from litestar.datastructures import Cookie
from litestar.params import FromQuery
from litestar.response import Redirect, Template

from app.authentication import PORTAL_COOKIE, PORTAL_PATH, is_portal
from app.contacts import services as contacts
from app.contacts.schemas import LinkPurpose
from app.core.deps import CurrentActor, DbSession, Settle
from app.core.settings import Settings
from app.pages.account import count_failed_sign_in, sign_in_wait, source_address
from app.pages.web import Errors, Message, errors_of, page, private_cookie, see_other


def portal_cookie(request: Request[Any, Any, Any], value: str, *, max_age: int) -> Cookie:
    return private_cookie(request, PORTAL_COOKIE, value, path=PORTAL_PATH, max_age=max_age)


def _signed_in(request: Request[Any, Any, Any], signed: contacts.SignedIn, target: str = PORTAL_PATH) -> Redirect:
    response = see_other(target)
    lifetime = int(contacts.SESSION_LIFETIME.total_seconds())
    response.cookies.append(portal_cookie(request, signed.token, max_age=lifetime))
    return response


def _next(target: str | None) -> str:
    """Only a portal path: the portal never sends anyone elsewhere."""
    if target and is_portal(target) and not target.startswith("//") and "\\" not in target:
        return target
    return PORTAL_PATH


class PortalSignIn(Controller):
    include_in_schema = False

    @get("/sign-in")
    async def sign_in_form(self, request: Request[Any, Any, Any], next: FromQuery[str | None] = None) -> Template:
        return page(request, "portal/sign_in.html", next=_next(next), email="", sent=False)

    @post("/sign-in")
    async def sign_in(
        self, request: Request[Any, Any, Any], db_session: DbSession, settle: Settle
    ) -> Template | Redirect:
        form = await request.form()
        email, password = str(form.get("email", "")).strip(), str(form.get("password", ""))
        target = _next(str(form.get("next", "")))
        wait = await sign_in_wait(request, email)
        if wait is not None:
            message = Message(
                f"Too many failed sign-ins: try again in {wait} s", f"登录失败次数过多，请 {wait} 秒后再试"
            )
            response = page(
                request,
                "portal/sign_in.html",
                status_code=429,
                next=target,
                email=email,
                sent=False,
                errors=Errors(message),
            )
            response.headers["Retry-After"] = str(wait)
            return response
        signed = await contacts.sign_in(
            db_session, email=email, password=password, source=source_address(request) or None
        )
        if signed is None:
            await count_failed_sign_in(request, email)
            message = Message("The e-mail address or the password is not right", "电子邮箱或密码不正确")
            return page(
                request,
                "portal/sign_in.html",
                status_code=400,
                next=target,
                email=email,
                sent=False,
                errors=Errors(message),
            )
        await settle()
        return _signed_in(request, signed, target)

    @post("/sign-in/link")
    async def send_link(self, request: Request[Any, Any, Any], db_session: DbSession, settle: Settle) -> Template:
        form = await request.form()
        email = str(form.get("email", "")).strip()
        wait = await sign_in_wait(request, email)
        if wait is None:
            await count_failed_sign_in(
                request, email
            )  # links asked for count like failures: nobody mails a contact a thousand
            settings: Settings = request.app.state.settings
            await contacts.send_sign_in_link(db_session, email=email, base_url=settings.base_url)
            await settle()
        # The same answer whether or not the address is a contact's.
        return page(request, "portal/sign_in.html", next=PORTAL_PATH, email=email, sent=True)

    @get("/link")
    async def link_form(
        self, request: Request[Any, Any, Any], db_session: DbSession, token: FromQuery[str] = ""
    ) -> Template:
        # A button, not a sign-in on GET: a mail scanner that opens links must not use up the link.
        found = await contacts.link_target(db_session, token=token, purpose=LinkPurpose.sign_in)
        return page(
            request, "portal/link.html", status_code=200 if found else 400, token=token, valid=found is not None
        )

    @post("/link")
    async def link(self, request: Request[Any, Any, Any], db_session: DbSession, settle: Settle) -> Template | Redirect:
        form = await request.form()
        token = str(form.get("token", ""))
        signed = await contacts.sign_in_by_link(db_session, token=token, source=source_address(request) or None)
        if signed is None:
            return page(request, "portal/link.html", status_code=400, token="", valid=False)
        await settle()
        return _signed_in(request, signed)

    @get("/welcome")
    async def welcome_form(
        self, request: Request[Any, Any, Any], db_session: DbSession, token: FromQuery[str] = ""
    ) -> Template:
        found = await contacts.link_target(db_session, token=token, purpose=LinkPurpose.invitation)
        return page(
            request,
            "portal/welcome.html",
            status_code=200 if found else 400,
            token=token,
            email=found[1].email if found else "",
            vendor=found[2] if found else None,
            valid=found is not None,
        )

    @post("/welcome")
    async def welcome(
        self, request: Request[Any, Any, Any], db_session: DbSession, settle: Settle
    ) -> Template | Redirect:
        form = await request.form()
        token, password = str(form.get("token", "")), str(form.get("password", ""))
        found = await contacts.link_target(db_session, token=token, purpose=LinkPurpose.invitation)
        if found is None:
            return page(
                request, "portal/welcome.html", status_code=400, token=token, email="", vendor=None, valid=False
            )
        shown: dict[str, Any] = {"token": token, "email": found[1].email, "vendor": found[2], "valid": True}
        if password != str(form.get("password2", "")):
            errors = Errors(Message(""), {"password2": Message("The two passwords differ", "两次输入的密码不一致")})
            return page(request, "portal/welcome.html", status_code=400, errors=errors, **shown)
        try:
            signed = await contacts.accept_invitation(
                db_session, token=token, password=password, source=source_address(request) or None
            )
        except Exception as error:  # a rule of the password: shown beside the field
            return page(request, "portal/welcome.html", status_code=400, errors=errors_of(error), **shown)
        assert signed is not None  # the link was checked above, in this transaction
        await settle()
        return _signed_in(request, signed)

    @post("/sign-out")
    async def sign_out(
        self, request: Request[Any, Any, Any], db_session: DbSession, settle: Settle, actor: CurrentActor
    ) -> Redirect:
        await contacts.sign_out(db_session, token=request.cookies.get(PORTAL_COOKIE, ""), actor=actor)
        await settle()
        response = see_other(f"{PORTAL_PATH}/sign-in")
        response.cookies.append(portal_cookie(request, "", max_age=0))
        return response
