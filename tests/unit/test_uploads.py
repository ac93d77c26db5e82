from __future__ import annotations

import asyncio

import pytest
from litestar.exceptions import ValidationException

from app.core.errors import PayloadTooLargeError, UnsupportedMediaTypeError
from app.core.idempotency import check_key, fingerprint
from app.core.ratelimit import MemoryWindows, RateLimiter
from app.core.settings import RateLimit
from app.core.uploads import DOCX, JPEG, PDF, PNG, check_file, clean_filename, declared_type, sniff
from app.vendors.services import network_allowed
from tests.factories import pdf


@pytest.mark.parametrize(
    ("data", "kind"),
    [
        (b"%PDF-1.7 ...", PDF),
        (b"\x89PNG\r\n\x1a\n...", PNG),
        (b"\xff\xd8\xff\xdb...", JPEG),
        (b"PK\x03\x04...", DOCX),
        (b"<!doctype html>", None),
        (b"  %PDF-1.7", None),  # magic numbers sit at the very start
        (b"", None),
    ],
)
def test_sniff(data: bytes, kind: str | None) -> None:
    assert sniff(data) == kind


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("../../x.pdf", "x.pdf"),
        ("..\\..\\windows\\x.pdf", "x.pdf"),
        ("/etc/passwd", "passwd.pdf"),
        ("删除证明.PDF", "删除证明.pdf"),
        ("a\x00b\x1f.pdf", "a_b.pdf"),
        ("....pdf", "evidence.pdf"),
        ("", "evidence.pdf"),
        ("report.pdf.exe", "report_pdf.pdf"),
        ("x" * 300 + ".pdf", "x" * 120 + ".pdf"),
    ],
)
def test_clean_filename(raw: str, expected: str) -> None:
    assert clean_filename(raw, "pdf") == expected


def test_declared_type_falls_back_to_the_extension_only_when_the_client_sends_none() -> None:
    assert declared_type("application/octet-stream", "scan.JPEG") == JPEG
    assert declared_type(None, "scan.png") == PNG
    assert declared_type("application/pdf; charset=binary", "scan.png") == PDF
    assert declared_type("", "noextension") is None


def test_check_file_limits_and_types() -> None:
    real = pdf()
    assert check_file("f", "a.pdf", "application/pdf", real, max_bytes=len(real)).filename == "a.pdf"
    with pytest.raises(PayloadTooLargeError):
        check_file("f", "a.pdf", "application/pdf", real, max_bytes=len(real) - 1)
    with pytest.raises(UnsupportedMediaTypeError, match="text/html is not accepted"):
        check_file("f", "a.html", "text/html", b"<html>", max_bytes=100)


def test_rate_limiter_slides_its_window() -> None:
    now = [1000.0]
    limiter = RateLimiter(RateLimit(2, 60), MemoryWindows(clock=lambda: now[0]))

    def take(key: str) -> int | None:
        return asyncio.run(limiter.retry_after(key))

    assert take("k") is None
    now[0] += 30
    assert take("k") is None
    assert take("k") == 30  # the first request leaves the window in 30 s
    assert take("other") is None  # per key
    now[0] += 30
    assert take("k") is None


def test_network_allow_list() -> None:
    assert network_allowed("203.0.113.9", [])
    assert network_allowed("203.0.113.9", ["203.0.113.0/24"])
    assert not network_allowed("198.51.100.1", ["203.0.113.0/24"])
    assert network_allowed("2001:db8::1", ["2001:db8::/32"])
    assert not network_allowed("testclient", ["0.0.0.0/0"])
    assert not network_allowed(None, ["0.0.0.0/0"])


def test_idempotency_keys_and_fingerprints() -> None:
    assert check_key(None) is None
    assert check_key("3f0e1a52-7c1e-4d8a-9b1c-0d2f3e4a5b6c") == "3f0e1a52-7c1e-4d8a-9b1c-0d2f3e4a5b6c"
    for bad in ("", "with space", "x" * 256, "ключ"):
        with pytest.raises(ValidationException) as refused:
            check_key(bad)
        assert "printable ASCII" in str(refused.value.extra)
    assert fingerprint({"a": 1, "b": [1, 2]}) == fingerprint({"b": [1, 2], "a": 1})
    assert fingerprint({"a": 1}) != fingerprint({"a": 2})


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"%PDF-1.7 then anything at all", "not a readable PDF"),
        (b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\n%%EOF\n", "not a readable PDF"),
        (pdf(pages=0), "the PDF has no page"),
    ],
)
def test_a_pdf_is_parsed_not_only_sniffed(data: bytes, reason: str) -> None:
    with pytest.raises(UnsupportedMediaTypeError, match=reason):
        check_file("files.0", "a.pdf", "application/pdf", data, max_bytes=1_000_000)
