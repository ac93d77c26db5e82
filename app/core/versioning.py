"""The vendor API's versions: /api/vendor/v1/ is the documented one; the unversioned paths it
had before answer the same, for a deprecation period, and say so on every answer (RFC 9745's
Deprecation, RFC 8594's Sunset, and a Link to the successor and to the changelog), so that a
vendor's developer learns of the move from their own logs, not from a broken integration."""

from __future__ import annotations

from datetime import UTC, datetime
from email.utils import format_datetime

from litestar.datastructures import MutableScopeHeaders
from litestar.enums import ScopeType
from litestar.types import Message, Scope

VENDOR_ROOT = "/api/vendor"
V1 = f"{VENDOR_ROOT}/v1"
# The vendor document and its page: not versioned resources, so not deprecated.
UNVERSIONED = frozenset({f"{VENDOR_ROOT}/openapi.json", f"{VENDOR_ROOT}/docs"})
DEPRECATED_AT = datetime(2026, 11, 30, tzinfo=UTC)  # when v1 was published
SUNSET_AT = datetime(2027, 5, 31, tzinfo=UTC)  # six months for vendors to move; then the alias goes
CHANGELOG = f"{VENDOR_ROOT}/docs"  # the vendor document: its description carries the changelog


def is_alias(path: str) -> bool:
    """A path under /api/vendor/ that is not versioned: the deprecated alias of v1's."""
    return (
        (path + "/").startswith(VENDOR_ROOT + "/") and not (path + "/").startswith(V1 + "/") and path not in UNVERSIONED
    )


def canonical(path: str) -> str:
    """The same resource whichever way it was asked for (an Idempotency-Key spans both)."""
    return V1 + path.removeprefix(VENDOR_ROOT) if is_alias(path) else path


async def announce_deprecation(message: Message, scope: Scope) -> None:
    """A before_send hook: each answer to an alias path says it is deprecated and where to go."""
    if message["type"] != "http.response.start" or scope.get("type") != ScopeType.HTTP or not is_alias(scope["path"]):
        return
    headers = MutableScopeHeaders.from_message(message)
    headers["Deprecation"] = f"@{int(DEPRECATED_AT.timestamp())}"
    headers["Sunset"] = format_datetime(SUNSET_AT, usegmt=True)
    headers["Link"] = (
        f'<{canonical(scope["path"])}>; rel="successor-version", <{CHANGELOG}>; rel="deprecation"; type="text/html"'
    )
