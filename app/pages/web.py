"""What every page shares: the template engine, the language, the form token, formats, and
how a service's refusal becomes a message beside its field."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import jinja2
from litestar import Request
from litestar.datastructures import Cookie
from litestar.exceptions import ValidationException
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.response import Redirect, Template
from litestar.template.config import TemplateConfig
from markupsafe import Markup, escape
from pydantic import ValidationError

from app.accounts import signin
from app.accounts.models import User
from app.authentication import PORTAL_COOKIE, SESSION_COOKIE, is_portal
from app.core import clock
from app.core.errors import DomainError, FieldDomainError, PermissionDeniedError
from app.core.messages import pydantic_zh
from app.core.settings import Settings
from app.pages.labels import label

HERE = Path(__file__).parent
STATIC = HERE / "static"
PRE_COOKIE = "dpa_pre"  # a browser's form-token seed before it signs in
LANG_COOKIE = "dpa_lang"
CSRF_FIELD = "_csrf"
LANGS = ("zh", "en")


def secure(request: Request[Any, Any, Any]) -> bool:
    settings: Settings = request.app.state.settings
    return settings.base_url.startswith("https://")


def private_cookie(request: Request[Any, Any, Any], key: str, value: str, *, path: str, max_age: int | None) -> Cookie:
    """A cookie scripts cannot read, sent with top-level navigation only (SameSite=Lax: with the
    provider's redirect back, never with a cross-site POST), Secure behind https."""
    return Cookie(
        key=key, value=value, path=path, httponly=True, samesite="lax", secure=secure(request), max_age=max_age
    )


def session_cookie(request: Request[Any, Any, Any], value: str, *, max_age: int | None) -> Cookie:
    return private_cookie(request, SESSION_COOKIE, value, path="/", max_age=max_age)


def language(request: Request[Any, Any, Any]) -> str:
    """The user's choice; before sign-in the cookie, else the browser's first language."""
    user = request.scope.get("user")
    if isinstance(user, User) and user.lang in LANGS:
        return user.lang
    chosen = request.cookies.get(LANG_COOKIE)
    if chosen in LANGS:
        return chosen
    for part in request.headers.get("accept-language", "").split(","):
        tag = part.split(";")[0].strip().lower()
        if tag.startswith("zh"):
            return "zh"
        if tag.startswith("en"):
            return "en"
    return "zh"


def csrf_seed(request: Request[Any, Any, Any]) -> str:
    # The portal's forms are tied to the contact's session, never to a user's in the same browser.
    signed_in = request.cookies.get(PORTAL_COOKIE if is_portal(request.url.path) else SESSION_COOKIE)
    return signed_in or request.cookies.get(PRE_COOKIE) or ""


async def check_csrf(request: Request[Any, Any, Any]) -> None:
    """Every form sent to a page carries the token of its session (or of its browser before
    sign-in); without it, 403 and nothing happens. The JSON API takes bearer tokens and none."""
    if request.method in ("GET", "HEAD", "OPTIONS"):
        return
    form = await request.form()
    settings: Settings = request.app.state.settings
    sent = form.get(CSRF_FIELD) or request.headers.get("x-csrf-token", "")
    if not signin.csrf_matches(settings.secret_key, csrf_seed(request), str(sent)):
        raise PermissionDeniedError(
            "the form's token is missing or stale: reload the page and send it again",
            zh="表单令牌缺失或已过期：请刷新页面后重新提交",
        )


def safe_next(target: str | None, default: str = "/dashboard") -> str:
    """Only a path on this site: never another host (an open redirect), never back to sign-in."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or parts.path.startswith("/sign-in"):
        return default
    return target


# ---- formats -----------------------------------------------------------------------------


def fmt_date(value: date | datetime | None, lang: str = "zh") -> str:
    if value is None:
        return "—"
    if isinstance(value, datetime):
        value = clock.local_date(value)
    if lang == "zh":
        return f"{value.year}年{value.month}月{value.day}日"
    return value.strftime("%-d %b %Y")


def fmt_time(value: datetime | None, lang: str = "zh") -> str:
    """A moment in the company's zone, the zone named: 2026年11月29日 14:05 (Asia/Shanghai)."""
    if value is None:
        return "—"
    local = clock.local_time(value)
    return f"{fmt_date(local.date(), lang)} {local:%H:%M} ({local.tzinfo})"


def fmt_count(value: int | None) -> str:
    return "—" if value is None else f"{value:,}"


def bilingual(zh: str, en: str, lang: str) -> Markup:
    """Chinese first with English beside it (or the other way round when English is chosen)."""
    first, second = (zh, en) if lang == "zh" else (en, zh)
    first_lang, second_lang = ("zh", "en") if lang == "zh" else ("en", "zh")
    if not second or second == first:
        return Markup('<span lang="{}">{}</span>').format(first_lang, first)
    return Markup('<span lang="{}">{}</span> <span class="alt" lang="{}">{}</span>').format(
        first_lang, first, second_lang, second
    )


def environment(*more: Path) -> jinja2.Environment:
    """`more`: other interfaces' template folders (the portal's), after the pages' own."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader([HERE / "templates", *more]),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["count"] = fmt_count
    env.globals["escape"] = escape
    return env


def template_config(*more: Path) -> TemplateConfig[JinjaTemplateEngine]:
    return TemplateConfig(instance=JinjaTemplateEngine.from_environment(environment(*more)))


@dataclass(frozen=True)
class Message:
    """A message in both languages; a page shows it as `t()` does: Chinese first, or English
    first for who chose English. Without a Chinese (none is known) the English stands alone."""

    en: str
    zh: str = ""

    def __bool__(self) -> bool:
        return bool(self.en or self.zh)


@dataclass
class Errors:
    """A refusal, shaped for a form: a summary at the top, each message beside its field."""

    summary: Message = field(default_factory=lambda: Message(""))
    fields: dict[str, Message] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return bool(self.summary or self.fields)


def _item_message(item: dict[str, Any]) -> Message:
    return Message(str(item.get("message", "")).removeprefix("Value error, "), str(item.get("message_zh") or ""))


def errors_of(error: Exception) -> Errors:
    if isinstance(error, ValidationError):
        fields: dict[str, Message] = {}
        for detail in error.errors(include_url=False):
            key = ".".join(str(part) for part in detail["loc"]) or "form"
            fields.setdefault(key, Message(detail["msg"].removeprefix("Value error, "), pydantic_zh(detail)))
        return Errors(Message(""), fields)
    if isinstance(error, ValidationException):
        extra = error.extra if isinstance(error.extra, list) else []
        fields = {str(item.get("key") or "form"): _item_message(item) for item in extra if isinstance(item, dict)}
        return Errors(Message("" if fields else str(error.detail)), fields)
    if isinstance(error, DomainError):
        fields = {str(item["key"]): _item_message(item) for item in error.extra or [] if "key" in item}
        # A field's own refusal says it beside the field; a conflict listing what it names keeps its detail.
        whole = Message(error.detail, error.detail_zh)
        return Errors(Message("") if fields and isinstance(error, FieldDomainError) else whole, fields)
    raise error


def top_level_errors(error: Exception) -> Errors:
    """`errors_of`, each message at its field's first name (events.0 -> events): for forms whose
    inputs are the schema's top-level fields."""
    errors = errors_of(error)
    return Errors(errors.summary, {key.split(".")[0]: message for key, message in errors.fields.items()})


def page(
    request: Request[Any, Any, Any],
    name: str,
    *,
    status_code: int = 200,
    cookies: list[Cookie] | None = None,
    **context: Any,
) -> Template:
    """A page, with what every template needs: the language, the user, the form token."""
    settings: Settings = request.app.state.settings
    lang = language(request)
    cookies = list(cookies or [])
    seed = csrf_seed(request)
    if any(cookie.key == SESSION_COOKIE for cookie in cookies):
        seed = next(cookie.value or "" for cookie in cookies if cookie.key == SESSION_COOKIE)
    if not seed:
        seed = secrets.token_urlsafe(24)
        cookies.append(
            Cookie(key=PRE_COOKIE, value=seed, path="/", httponly=True, samesite="lax", secure=secure(request))
        )
    user = request.scope.get("user")

    def t(zh: str, en: str) -> Markup:
        return bilingual(zh, en, lang)

    def tt(zh: str, en: str) -> str:
        return zh if lang == "zh" else en

    def say(message: Message | str) -> Markup:
        """A message in both languages (a plain string is shown as it is)."""
        if isinstance(message, str):
            return Markup("{}").format(message)
        return bilingual(message.zh or message.en, message.en, lang)

    def lbl(value: object) -> Markup:
        return bilingual(*label(value), lang)

    def lbl_text(value: object) -> str:
        zh, en = label(value)
        return zh if lang == "zh" else en

    context.setdefault("errors", Errors())
    context.setdefault("nav", "")
    return Template(
        template_name=name,
        context={
            **context,
            "lang": lang,
            "user": user if isinstance(user, User) else None,
            "csrf": signin.csrf_token(settings.secret_key, seed),
            "csrf_field": CSRF_FIELD,
            "path": request.url.path,
            "t": t,
            "tt": tt,
            "say": say,
            "lbl": lbl,
            "lbl_text": lbl_text,
            "day": lambda value: fmt_date(value, lang),
            "when": lambda value: fmt_time(value, lang),
        },
        status_code=status_code,
        cookies=cookies,
        headers={"Cache-Control": "no-store", "Content-Security-Policy": CSP},
    )


CSP = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "frame-src 'self'; object-src 'self'; form-action 'self'; frame-ancestors 'self'; base-uri 'none'"
)


def see_other(path: str) -> Redirect:
    return Redirect(path=path, status_code=303)
