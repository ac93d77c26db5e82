"""How every stored file leaves the service: as an attachment the browser will not sniff."""

from __future__ import annotations

from urllib.parse import quote

from litestar import Response

INLINE_TYPES = frozenset({"application/pdf", "image/png", "image/jpeg"})  # what a browser shows itself


def content_disposition(name: str, *, inline: bool = False) -> str:
    """RFC 6266: an ASCII fallback, and the real name UTF-8 encoded (a Chinese name survives)."""
    fallback = "".join(ch if ch.isascii() and (ch.isalnum() or ch in ".-_") else "_" for ch in name)
    kind = "inline" if inline else "attachment"
    return f"{kind}; filename=\"{fallback}\"; filename*=UTF-8''{quote(name, safe='')}"


def file_response(
    content: bytes, *, content_type: str, filename: str, sha256: str, inline: bool = False
) -> Response[bytes]:
    """`inline`: shown in the page (a PDF or an image only; anything else stays an attachment)."""
    return Response(
        content,
        media_type=content_type,
        headers={
            "Content-Disposition": content_disposition(filename, inline=inline and content_type in INLINE_TYPES),
            "X-Content-Type-Options": "nosniff",
            "Digest": f"sha-256={sha256}",
        },
    )
