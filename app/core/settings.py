"""Settings, read from the environment only (12-factor).

Every variable is validated when the settings are built, so a bad value stops the
service at start-up with one clear line instead of failing later in a request.
"""

from __future__ import annotations

import ipaddress
import logging
import os
import re
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from email.utils import parseaddr
from pathlib import Path
from urllib.parse import unquote, urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

log = logging.getLogger(__name__)

DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///var/dpa.db"
DEFAULT_STORAGE_URL = "file:var/evidence"
DEFAULT_BASE_URL = "http://127.0.0.1:8000"
DEFAULT_TZ = "Asia/Shanghai"
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
MB = 1024 * 1024
RATE_PERIODS = {"second": 1, "minute": 60, "hour": 3600}


class ConfigError(ValueError):
    """A setting has a value the service cannot run with."""


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int
    implicit_tls: bool  # smtps:// (port 465); smtp:// uses STARTTLS when offered
    username: str | None
    password: str | None = field(repr=False)


@dataclass(frozen=True)
class OidcSettings:
    """Single sign-on over OpenID Connect: on only when the issuer, client id and secret are all set."""

    issuer: str  # exactly as the provider names itself (its discovery document's "issuer")
    client_id: str
    client_secret: str = field(repr=False)
    role_claim: str = "dpa_role"  # the ID token's claim that carries the role (admin, procurement, ...)
    scopes: str = "openid email profile"


@dataclass(frozen=True)
class RateLimit:
    requests: int
    period_seconds: int


@dataclass(frozen=True)
class Settings:
    database_url: str = DEFAULT_DATABASE_URL
    storage_url: str = DEFAULT_STORAGE_URL
    smtp: SmtpSettings | None = None
    secret_key: str = field(default_factory=lambda: secrets.token_urlsafe(48), repr=False)
    base_url: str = DEFAULT_BASE_URL
    tz: str = DEFAULT_TZ
    log_level: str = "INFO"
    upload_max_file_bytes: int = 20 * MB
    upload_max_request_bytes: int = 50 * MB
    vendor_rate_limit: RateLimit = RateLimit(120, 60)
    auth_failure_limit: RateLimit = RateLimit(30, 60)  # refused credentials per client address
    signin_failure_limit: RateLimit = RateLimit(10, 3600)  # failed sign-ins per account (and 5x per address)
    mail_from: str = "dpa <dpa@localhost>"
    mail_reply_to: str | None = None  # where answers to reminders go (the DPO's mailbox, say)
    outbox_dir: str = "var/outbox"  # where messages go without SMTP_URL
    reminder_days_before: tuple[int, ...] = (30, 14, 7, 1)
    reminder_overdue_every: int = 3
    reminder_escalate_after: int = 7
    worker_interval: int = 60  # seconds between the worker's passes
    body_timeout: int = 30  # seconds a request body may stall before the answer is 408
    trusted_proxies: tuple[str, ...] = ()  # whose X-Forwarded-For is believed; none by default
    # Where several instances keep what they share (rate limits, the refused-credential throttle);
    # None: each process keeps its own, right for one instance.
    redis_url: str | None = field(default=None, repr=False)
    redis_prefix: str = "dpa:"  # the keys' prefix, so that several deployments can share one Redis
    # Outgoing webhooks and chat robots: the key that seals their secrets at rest (a file of
    # its own when unset, so that the server and the worker, and a restart, read the same one),
    # whether their URLs may point inside the network (tests, or a deliberate choice), and how
    # often a delivery is tried before it goes to the dead letters.
    webhook_key: str | None = field(default=None, repr=False)
    webhook_key_file: str = "var/webhook.key"
    webhook_allow_private: bool = False
    webhook_max_attempts: int = 10
    oidc: OidcSettings | None = None  # single sign-on; None: password sign-in only

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ

        def get(name: str) -> str | None:
            value = env.get(name, "").strip()
            return value or None

        secret_key = get("SECRET_KEY")
        if secret_key is None:
            # Fine for one process on a laptop; several instances must share one key.
            secret_key = secrets.token_urlsafe(48)
        elif len(secret_key) < 32:
            raise ConfigError("SECRET_KEY: must be at least 32 characters long")

        webhook_key = get("WEBHOOK_SECRET_KEY")
        if webhook_key is not None and len(webhook_key) < 32:
            raise ConfigError("WEBHOOK_SECRET_KEY: must be at least 32 characters long")
        allow_private = (get("WEBHOOK_ALLOW_PRIVATE") or "0").lower()
        if allow_private not in ("0", "1", "true", "false"):
            raise ConfigError(f"WEBHOOK_ALLOW_PRIVATE: must be 0 or 1, got {allow_private!r}")

        log_level = (get("LOG_LEVEL") or "INFO").upper()
        if log_level not in LOG_LEVELS:
            raise ConfigError(f"LOG_LEVEL: must be one of {', '.join(LOG_LEVELS)}")

        max_file = parse_megabytes("UPLOAD_MAX_FILE_MB", get("UPLOAD_MAX_FILE_MB") or "20")
        max_request = parse_megabytes("UPLOAD_MAX_REQUEST_MB", get("UPLOAD_MAX_REQUEST_MB") or "50")
        if max_request < max_file:
            raise ConfigError("UPLOAD_MAX_REQUEST_MB: must be at least UPLOAD_MAX_FILE_MB")

        return cls(
            database_url=parse_database_url(get("DATABASE_URL") or DEFAULT_DATABASE_URL),
            storage_url=parse_storage_url(get("STORAGE_URL") or DEFAULT_STORAGE_URL),
            smtp=parse_smtp_url(get("SMTP_URL")),
            secret_key=secret_key,
            base_url=parse_base_url(get("BASE_URL") or DEFAULT_BASE_URL),
            tz=parse_tz(get("TZ") or DEFAULT_TZ),
            log_level=log_level,
            trusted_proxies=parse_proxies(get("FORWARDED_ALLOW_IPS") or ""),
            auth_failure_limit=parse_rate_limit(get("AUTH_FAILURE_LIMIT") or "30/minute", "AUTH_FAILURE_LIMIT"),
            signin_failure_limit=parse_rate_limit(
                get("SIGNIN_FAILURE_LIMIT") or "10/hour",
                "SIGNIN_FAILURE_LIMIT",
            ),
            upload_max_file_bytes=max_file,
            upload_max_request_bytes=max_request,
            vendor_rate_limit=parse_rate_limit(get("VENDOR_RATE_LIMIT") or "120/minute"),
            mail_from=parse_mail_from(get("MAIL_FROM") or "dpa <dpa@localhost>"),
            mail_reply_to=parse_mail_from(reply_to, "MAIL_REPLY_TO") if (reply_to := get("MAIL_REPLY_TO")) else None,
            outbox_dir=get("OUTBOX_DIR") or "var/outbox",
            reminder_days_before=parse_days_before(get("REMINDER_DAYS_BEFORE") or "30,14,7,1"),
            reminder_overdue_every=parse_days("REMINDER_OVERDUE_EVERY_DAYS", get("REMINDER_OVERDUE_EVERY_DAYS") or "3"),
            reminder_escalate_after=parse_days(
                "REMINDER_ESCALATE_AFTER_DAYS", get("REMINDER_ESCALATE_AFTER_DAYS") or "7"
            ),
            worker_interval=parse_seconds("WORKER_INTERVAL_SECONDS", get("WORKER_INTERVAL_SECONDS") or "60"),
            redis_url=parse_redis_url(get("REDIS_URL")),
            redis_prefix=parse_redis_prefix(get("REDIS_PREFIX") or "dpa:"),
            webhook_key=webhook_key,
            webhook_key_file=get("WEBHOOK_KEY_FILE") or "var/webhook.key",
            webhook_allow_private=allow_private in ("1", "true"),
            webhook_max_attempts=_whole("WEBHOOK_MAX_ATTEMPTS", get("WEBHOOK_MAX_ATTEMPTS") or "10", 1, 50),
            body_timeout=parse_seconds("REQUEST_BODY_TIMEOUT_SECONDS", get("REQUEST_BODY_TIMEOUT_SECONDS") or "30"),
            oidc=parse_oidc(get),
        )


_DRIVERS = {
    "sqlite": "sqlite+aiosqlite",
    "sqlite+aiosqlite": "sqlite+aiosqlite",
    "postgres": "postgresql+asyncpg",
    "postgresql": "postgresql+asyncpg",
    "postgresql+asyncpg": "postgresql+asyncpg",
}


def parse_database_url(raw: str) -> str:
    """Accept SQLite or PostgreSQL; plain `postgresql://` is given the async driver."""
    try:
        url: URL = make_url(raw)
    except ArgumentError:
        raise ConfigError(f"DATABASE_URL: not a database URL: {raw!r}") from None
    driver = _DRIVERS.get(url.drivername)
    if driver is None:
        raise ConfigError(
            f"DATABASE_URL: unsupported database {url.drivername!r}; use "
            "sqlite+aiosqlite:///path/to/file.db or postgresql+asyncpg://user@host/db"
        )
    url = url.set(drivername=driver)
    if driver.startswith("sqlite"):
        if not url.database or url.database == ":memory:":
            # An in-memory database vanishes between connections and processes.
            raise ConfigError("DATABASE_URL: SQLite needs a file path, e.g. sqlite+aiosqlite:///var/dpa.db")
    elif not url.database:
        raise ConfigError("DATABASE_URL: PostgreSQL URL names no database")
    return url.render_as_string(hide_password=False)


def parse_storage_url(raw: str) -> str:
    parts = urlsplit(raw)
    if parts.scheme == "file":
        if not (parts.path or parts.netloc):
            raise ConfigError("STORAGE_URL: file: URL names no directory")
        return raw
    if parts.scheme == "s3":
        if not parts.netloc:
            raise ConfigError("STORAGE_URL: s3:// URL names no bucket, e.g. s3://evidence/dpa")
        return raw
    raise ConfigError("STORAGE_URL: must start with file: (a local directory) or s3:// (bucket and prefix)")


def storage_directory(storage_url: str) -> Path:
    """The directory of a file: storage URL (`file:var/evidence` or `file:///srv/evidence`)."""
    parts = urlsplit(storage_url)
    return Path(unquote(parts.netloc + parts.path))


def parse_proxies(raw: str) -> tuple[str, ...]:
    """Addresses or networks of the reverse proxies in front of the service, comma-separated."""
    proxies = []
    for item in filter(None, (part.strip() for part in raw.split(","))):
        try:
            proxies.append(str(ipaddress.ip_network(item, strict=False)))
        except ValueError:
            raise ConfigError(
                f"FORWARDED_ALLOW_IPS: {item!r} is not an IP address or network (e.g. 10.0.0.5, 10.0.0.0/24)"
            ) from None
    return tuple(proxies)


def parse_megabytes(name: str, raw: str) -> int:
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name}: must be a whole number of megabytes, got {raw!r}") from None
    if not 1 <= value <= 1024:
        raise ConfigError(f"{name}: must be from 1 to 1024 (megabytes)")
    return value * MB


def parse_rate_limit(raw: str, name: str = "VENDOR_RATE_LIMIT") -> RateLimit:
    """`120/minute`: requests per second, minute or hour."""
    count, _, period = raw.partition("/")
    seconds = RATE_PERIODS.get(period.strip().lower())
    if not count.strip().isdigit() or seconds is None or not 1 <= int(count) <= 1_000_000:
        raise ConfigError(f"{name}: must look like 120/minute (1 to 1000000 per second, minute or hour), got {raw!r}")
    return RateLimit(int(count), seconds)


def parse_mail_from(raw: str, name: str = "MAIL_FROM") -> str:
    _, address = parseaddr(raw)
    if "@" not in address or any(ch in raw for ch in "\r\n"):
        raise ConfigError(f"{name}: not an e-mail address: {raw!r} (e.g. dpa <dpa@example.com>)")
    return raw


def _whole(name: str, raw: str, low: int, high: int) -> int:
    if not raw.strip().isdigit() or not low <= int(raw) <= high:
        raise ConfigError(f"{name}: must be a whole number from {low} to {high}, got {raw!r}")
    return int(raw)


def parse_days(name: str, raw: str) -> int:
    return _whole(name, raw, 1, 365)


def parse_seconds(name: str, raw: str) -> int:
    return _whole(name, raw, 1, 86_400)


def parse_days_before(raw: str) -> tuple[int, ...]:
    """`30,14,7,1`: days before a due date on which a reminder goes out."""
    days = [_whole("REMINDER_DAYS_BEFORE", part, 1, 365) for part in raw.split(",")]
    return tuple(sorted(set(days), reverse=True))


def parse_smtp_url(raw: str | None) -> SmtpSettings | None:
    if raw is None:
        return None
    parts = urlsplit(raw)
    if parts.scheme not in ("smtp", "smtps"):
        raise ConfigError("SMTP_URL: must start with smtp:// (STARTTLS) or smtps:// (implicit TLS)")
    if not parts.hostname:
        raise ConfigError("SMTP_URL: names no host")
    try:
        port = parts.port
    except ValueError:
        raise ConfigError("SMTP_URL: the port is not a number from 1 to 65535") from None
    implicit_tls = parts.scheme == "smtps"
    return SmtpSettings(
        host=parts.hostname,
        port=port or (465 if implicit_tls else 587),
        implicit_tls=implicit_tls,
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password else None,
    )


def parse_redis_url(raw: str | None) -> str | None:
    if raw is None:
        return None
    parts = urlsplit(raw)
    if parts.scheme not in ("redis", "rediss", "unix") or not (parts.netloc or parts.path):
        raise ConfigError(
            "REDIS_URL: must look like redis://host:6379/0 (rediss:// for TLS, unix:///path for a socket)"
        )
    try:
        parts.port  # noqa: B018 - raises on a port that is not a number
    except ValueError:
        raise ConfigError("REDIS_URL: the port is not a number from 1 to 65535") from None
    return raw


def parse_redis_prefix(raw: str) -> str:
    if not re.fullmatch(r"[A-Za-z0-9:_.-]{1,64}", raw):
        raise ConfigError(f"REDIS_PREFIX: 1 to 64 letters, digits or :_.- (e.g. dpa:), got {raw!r}")
    return raw


def parse_base_url(raw: str) -> str:
    parts = urlsplit(raw)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ConfigError(f"BASE_URL: must be an http:// or https:// URL, got {raw!r}")
    return raw.rstrip("/")


def parse_tz(raw: str) -> str:
    # TZ may carry the POSIX leading colon (":Asia/Shanghai").
    name = raw.removeprefix(":")
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(f"TZ: unknown time zone {raw!r}; use an IANA name such as Asia/Shanghai") from None
    return name


OIDC_REQUIRED = ("OIDC_ISSUER", "OIDC_CLIENT_ID", "OIDC_CLIENT_SECRET")
_LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")


def parse_oidc(get: Callable[[str], str | None]) -> OidcSettings | None:
    """Single sign-on: all three of OIDC_REQUIRED, or none of them (then off)."""
    given = {name: get(name) for name in OIDC_REQUIRED}
    missing = [name for name, value in given.items() if value is None]
    if len(missing) == len(OIDC_REQUIRED):
        return None
    if missing:
        present = ", ".join(name for name in OIDC_REQUIRED if name not in missing)
        raise ConfigError(
            f"{', '.join(missing)}: single sign-on needs OIDC_ISSUER, OIDC_CLIENT_ID and OIDC_CLIENT_SECRET together "
            f"(only {present} set)"
        )
    issuer = given["OIDC_ISSUER"] or ""
    parts = urlsplit(issuer)
    loopback = parts.scheme == "http" and parts.hostname in _LOOPBACK_HOSTS
    if not parts.hostname or (parts.scheme != "https" and not loopback) or parts.query or parts.fragment:
        raise ConfigError(
            f"OIDC_ISSUER: must be the provider's https:// address without query (e.g. https://sso.example.com), "
            f"got {issuer!r}"
        )
    role_claim = get("OIDC_ROLE_CLAIM") or "dpa_role"
    if not re.fullmatch(r"[\x21-\x7e]{1,200}", role_claim):
        raise ConfigError(f"OIDC_ROLE_CLAIM: a claim name, 1 to 200 visible ASCII characters, got {role_claim!r}")
    scopes = " ".join((get("OIDC_SCOPES") or "openid email profile").split())
    if "openid" not in scopes.split(" ") or not re.fullmatch(r"[\x21-\x7e ]{1,500}", scopes):
        raise ConfigError(f"OIDC_SCOPES: space-separated scopes including openid, got {scopes!r}")
    return OidcSettings(
        issuer=issuer,
        client_id=given["OIDC_CLIENT_ID"] or "",
        client_secret=given["OIDC_CLIENT_SECRET"] or "",
        role_claim=role_claim,
        scopes=scopes,
    )
