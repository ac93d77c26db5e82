"""How every stored file leaves the service: as an attachment the browser will not sniff."""

from __future__ import annotations

from urllib.parse import quote

from litestar import Response


def content_disposition(name: str) -> str:
    """RFC 6266: an ASCII fallback, and the real name UTF-8 encoded (a Chinese name survives)."""
    fallback = "".join(ch if ch.isascii() and (ch.isalnum() or ch in ".-_") else "_" for ch in name)
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(name, safe='')}"


def file_response(content: bytes, *, content_type: str, filename: str, sha256: str) -> Response[bytes]:
    return Response(
        content,
        media_type=content_type,
        headers={
            "Content-Disposition": content_disposition(filename),
            "X-Content-Type-Options": "nosniff",
            "Digest": f"sha-256={sha256}",
        },
    )
