"""The signatures, the URL check and the sealing of secrets, without a network."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
from urllib.parse import parse_qs, urlsplit

import pytest

from app.core import outbound


def test_dingtalk_signature_matches_a_published_vector() -> None:
    # dingding 0.1.1 (docs.rs) signs timestamp 1700000000000 with the secret "secret" so.
    url = outbound.dingtalk_url("https://oapi.dingtalk.com/robot/send?access_token=t", "secret", now_ms=1700000000000)
    assert url.endswith("&timestamp=1700000000000&sign=OuzzJR5%2BxZ4%2FEYwqtNt6sMYZQMTa%2FHEGvc9miJe7XzY%3D")


def test_feishu_signature_keys_the_hmac_with_timestamp_and_secret() -> None:
    signed = outbound.feishu_sign("s3cret", now_s=1700000000)
    expected = hmac.new(b"1700000000\ns3cret", b"", hashlib.sha256).digest()
    assert signed == {"timestamp": "1700000000", "sign": base64.b64encode(expected).decode()}


def test_webhook_signature_covers_timestamp_and_body() -> None:
    header = outbound.webhook_signature("whsec_x", b'{"a":1}', now_s=42)
    assert header == "t=42,v1=" + hmac.new(b"whsec_x", b'42.{"a":1}', hashlib.sha256).hexdigest()


def test_a_sealed_secret_opens_with_its_key_only_and_not_once_altered() -> None:
    key, other = b"k" * 32, b"o" * 32
    sealed = outbound.seal("SEC密钥", key)
    assert "SEC" not in sealed and outbound.seal("SEC密钥", key) != sealed  # a fresh nonce each time
    assert outbound.unseal(sealed, key) == "SEC密钥"
    with pytest.raises(outbound.SealError):
        outbound.unseal(sealed, other)
    raw = bytearray(base64.urlsafe_b64decode(sealed.removeprefix(outbound.SEAL_PREFIX)))
    raw[20] ^= 1
    with pytest.raises(outbound.SealError):
        outbound.unseal(outbound.SEAL_PREFIX + base64.urlsafe_b64encode(bytes(raw)).decode(), key)


@pytest.mark.parametrize(
    ("url", "refused"),
    [
        ("ftp://example.com/x", "must start with https://"),
        ("https://user:pw@example.com/", "user name or password"),
        ("http://127.0.0.1:8080/x", "private, loopback"),
        ("http://[::ffff:10.0.0.1]/x", "private, loopback"),
        ("http://169.254.169.254/", "private, loopback"),
        ("https:///nohost", "no host"),
    ],
)
def test_urls_refused_without_the_setting(url: str, refused: str) -> None:
    with pytest.raises(outbound.UnsafeURLError, match=refused):
        asyncio.run(outbound.check_url(url, allow_private=False))


def test_the_setting_allows_an_internal_receiver_but_never_another_scheme() -> None:
    asyncio.run(outbound.check_url("http://127.0.0.1:8080/x", allow_private=True))
    with pytest.raises(outbound.UnsafeURLError):
        asyncio.run(outbound.check_url("file:///etc/passwd", allow_private=True))


def test_a_url_hint_hides_the_key() -> None:
    hint = outbound.url_hint("https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=693a91f6-7xxx")
    assert "693a91f6" not in hint and hint.startswith("https://qyapi.weixin.qq.com/")
    assert parse_qs(urlsplit(hint).query) == {}
