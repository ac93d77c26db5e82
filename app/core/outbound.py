"""Calls the service makes to URLs that people and vendors gave it: chat robots (DingTalk,
Feishu, WeCom) and webhooks. One place for what every such call needs:

- the URL check (SSRF): http(s) only, no credentials in it, and no private, loopback or
  link-local address unless WEBHOOK_ALLOW_PRIVATE says so; checked when the URL is saved and
  again before each call (a name may resolve elsewhere later); redirects are never followed;
- the signatures: each chat platform's scheme, and ours for webhooks;
- sealing: the secrets that sign must be readable to sign, so they are stored encrypted with
  a key from the settings (WEBHOOK_SECRET_KEY, or a key file), never in clear;
- backoff between attempts, shared with the e-mail outbox.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import ipaddress
import os
import random
import secrets
import socket
import time
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from urllib.parse import quote_plus, urlsplit

import httpx

from app.core.errors import field_error
from app.core.settings import Settings

TIMEOUT = httpx.Timeout(10.0, connect=5.0)
USER_AGENT = "dpa-webhooks/1"


# --- backoff -------------------------------------------------------------------------------


def backoff(attempts: int, base: timedelta, cap: timedelta) -> timedelta:
    """Exponential, capped, with jitter so that retries from many workers spread out."""
    delay: timedelta = min(base * 2 ** min(attempts - 1, 20), cap)
    return delay * random.uniform(0.8, 1.2)  # noqa: S311 - jitter, not a secret


# --- the URL check ------------------------------------------------------------------------


class UnsafeURLError(ValueError):
    """A URL the service will not call; the message says why, `zh` the same in Chinese."""

    def __init__(self, message: str, *, zh: str) -> None:
        super().__init__(message)
        self.zh = zh


def _refused(address: str) -> bool:
    ip = ipaddress.ip_address(address)
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return not ip.is_global or ip.is_multicast


def check_shape(url: str) -> tuple[str, int]:
    """The URL's host and port, if its form is one we call."""
    try:
        parts = urlsplit(url)
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise UnsafeURLError("the URL is not valid", zh="不是有效的网址") from None
    if parts.scheme not in ("http", "https"):
        raise UnsafeURLError("the URL must start with https:// (or http://)", zh="网址须以 https://（或 http://）开头")
    if not parts.hostname:
        raise UnsafeURLError("the URL has no host", zh="网址中没有主机名")
    if parts.username or parts.password:
        raise UnsafeURLError("the URL must not carry a user name or password", zh="网址中不能包含用户名或密码")
    return parts.hostname, port


async def check_url(url: str, *, allow_private: bool) -> None:
    """Refuse a URL we must not call: see the module's note. Resolves the host name."""
    host, port = check_shape(url)
    if allow_private:
        return
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError):
        raise UnsafeURLError(f"the URL's host {host} cannot be resolved", zh=f"无法解析网址中的主机 {host}") from None
    if not infos or any(_refused(str(info[4][0])) for info in infos):
        raise UnsafeURLError(
            f"the URL's host {host} is a private, loopback or link-local address: "
            "only public addresses are called (WEBHOOK_ALLOW_PRIVATE=1 allows others)",
            zh=f"网址中的主机 {host} 是内网、本机或链路本地地址：只会调用公网地址"
            "（设置 WEBHOOK_ALLOW_PRIVATE=1 可放开）",
        )


async def require_safe_url(field: str, url: str, *, allow_private: bool) -> None:
    """`check_url` for a request: a 400 naming the field."""
    try:
        await check_url(url, allow_private=allow_private)
    except UnsafeURLError as error:
        raise field_error(field, str(error), zh=error.zh) from None


@dataclass(frozen=True)
class Answer:
    """What the far end answered; status None when no answer came (no connection, timeout)."""

    status: int | None
    text: str
    error: str


async def post(url: str, *, body: bytes, headers: dict[str, str], allow_private: bool) -> Answer:
    """POST once, never following a redirect. An unsafe URL is an answer too (permanent)."""
    try:
        await check_url(url, allow_private=allow_private)
    except UnsafeURLError as error:
        return Answer(None, "", f"refused: {error}")
    headers = {"Content-Type": "application/json", "User-Agent": USER_AGENT, **headers}
    try:
        async with httpx.AsyncClient(timeout=TIMEOUT, follow_redirects=False, trust_env=False) as client:
            response = await client.post(url, content=body, headers=headers)
    except httpx.HTTPError as error:
        return Answer(None, "", f"{type(error).__name__}: {error}"[:1000])
    return Answer(response.status_code, response.text[:2000], "")


# --- signatures -----------------------------------------------------------------------------


def dingtalk_url(url: str, secret: str, *, now_ms: int | None = None) -> str:
    """DingTalk custom robot ("加签"): HMAC-SHA256 keyed with the secret over
    "timestamp\\nsecret", base64, URL-encoded; `timestamp` (ms) and `sign` in the query."""
    timestamp = str(now_ms if now_ms is not None else int(time.time() * 1000))
    digest = hmac.new(secret.encode(), f"{timestamp}\n{secret}".encode(), hashlib.sha256).digest()
    sign = quote_plus(base64.b64encode(digest).decode())
    return f"{url}{'&' if '?' in url else '?'}timestamp={timestamp}&sign={sign}"


def feishu_sign(secret: str, *, now_s: int | None = None) -> dict[str, str]:
    """Feishu/Lark custom bot: "timestamp\\nsecret" is the HMAC-SHA256 key over an empty
    message, base64; `timestamp` (seconds) and `sign` go in the JSON body."""
    timestamp = str(now_s if now_s is not None else int(time.time()))
    digest = hmac.new(f"{timestamp}\n{secret}".encode(), b"", hashlib.sha256).digest()
    return {"timestamp": timestamp, "sign": base64.b64encode(digest).decode()}


def webhook_signature(secret: str, body: bytes, *, now_s: int | None = None) -> str:
    """Ours: `t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>." + body)>` (Stripe's form)."""
    timestamp = str(now_s if now_s is not None else int(time.time()))
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


# --- sealing --------------------------------------------------------------------------------
# The signing secrets must be read back to sign, so they cannot be hashed like our tokens. They
# are encrypted with a key from the settings: HMAC-SHA256 as the keystream (counter mode over a
# random nonce) and as the MAC over nonce and ciphertext (encrypt-then-MAC). Built on the
# standard library because the service's own dependencies carry no cipher (cryptography is a
# developer tool here) and a PRF in counter mode with a MAC is a sound construction.

SEAL_PREFIX = "s1."


def sealing_key(settings: Settings) -> bytes:
    """WEBHOOK_SECRET_KEY; without it, a random key kept in WEBHOOK_KEY_FILE (made once, 0600)."""
    if settings.webhook_key:
        return hashlib.sha256(settings.webhook_key.encode()).digest()
    path = Path(settings.webhook_key_file)
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass  # another process made it first: read theirs
        else:
            with os.fdopen(fd, "w") as file:
                file.write(secrets.token_urlsafe(48))
    return hashlib.sha256(path.read_text().strip().encode()).digest()


def _subkeys(key: bytes) -> tuple[bytes, bytes]:
    return (
        hmac.new(key, b"dpa seal: encrypt", hashlib.sha256).digest(),
        hmac.new(key, b"dpa seal: mac", hashlib.sha256).digest(),
    )


def _stream(key: bytes, nonce: bytes, length: int) -> bytes:
    blocks = (hmac.new(key, nonce + i.to_bytes(4, "big"), hashlib.sha256).digest() for i in range(length // 32 + 1))
    return b"".join(blocks)[:length]


def seal(plain: str, key: bytes) -> str:
    encrypt, mac = _subkeys(key)
    nonce, data = secrets.token_bytes(16), plain.encode()
    cipher = bytes(a ^ b for a, b in zip(data, _stream(encrypt, nonce, len(data)), strict=True))
    tag = hmac.new(mac, nonce + cipher, hashlib.sha256).digest()
    return SEAL_PREFIX + base64.urlsafe_b64encode(nonce + cipher + tag).decode()


class SealError(ValueError):
    """Sealed with another key, or altered."""


def unseal(sealed: str, key: bytes) -> str:
    encrypt, mac = _subkeys(key)
    try:
        raw = base64.urlsafe_b64decode(sealed.removeprefix(SEAL_PREFIX))
    except ValueError:
        raise SealError("not a sealed value") from None
    nonce, cipher, tag = raw[:16], raw[16:-32], raw[-32:]
    if len(raw) < 48 or not hmac.compare_digest(tag, hmac.new(mac, nonce + cipher, hashlib.sha256).digest()):
        raise SealError("sealed with another key (WEBHOOK_SECRET_KEY changed?), or altered")
    return bytes(a ^ b for a, b in zip(cipher, _stream(encrypt, nonce, len(cipher)), strict=True)).decode()


def url_hint(url: str) -> str:
    """What a listing shows of a URL whose path or query may hold a key (WeCom's does)."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}{parts.path[:12]}…"
