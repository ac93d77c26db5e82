"""API tokens: recognisable, checksummed, random, and stored only as a hash.

Format: `<prefix>_<30 base62 characters of randomness><6 base62 characters of CRC32>`.
30 base62 characters carry 178 bits. The checksum lets a malformed or mistyped token be
refused before any database look-up, and the prefix lets secret scanners recognise a
leaked one. Tokens are random, not passwords, so a plain SHA-256 is the right hash:
a slow hash would add nothing against guessing 178 bits and cost every request.
"""

from __future__ import annotations

import hashlib
import secrets
import string
import zlib
from datetime import datetime

ALPHABET = string.digits + string.ascii_letters  # base62
RANDOM_LENGTH = 30
CHECKSUM_LENGTH = 6

USER_TOKEN_PREFIX = "dpu"  # noqa: S105 - a prefix, not a secret
CALENDAR_TOKEN_PREFIX = "dpc"  # noqa: S105 - a calendar subscription's URL; a prefix, not a secret
VENDOR_KEY_PREFIX = "dpv"  # a vendor's key; distinct so it is never mistaken for a user's token
# A vendor's sandbox key: recognisably a test key wherever it is pasted, logged or leaked.
VENDOR_TEST_KEY_PREFIX = f"{VENDOR_KEY_PREFIX}_test"


def _base62(number: int, width: int) -> str:
    digits = []
    for _ in range(width):
        number, rest = divmod(number, 62)
        digits.append(ALPHABET[rest])
    return "".join(reversed(digits))


def _checksum(body: str) -> str:
    return _base62(zlib.crc32(body.encode()), CHECKSUM_LENGTH)


def new_token(prefix: str) -> str:
    body = "".join(secrets.choice(ALPHABET) for _ in range(RANDOM_LENGTH))
    return f"{prefix}_{body}{_checksum(body)}"


def is_well_formed(token: str, prefix: str) -> bool:
    # By the whole prefix, which may hold an underscore itself (dpv_test).
    if not token.startswith(prefix + "_"):
        return False
    rest = token[len(prefix) + 1 :]
    if len(rest) != RANDOM_LENGTH + CHECKSUM_LENGTH:
        return False
    if any(ch not in ALPHABET for ch in rest):
        return False
    body, checksum = rest[:RANDOM_LENGTH], rest[RANDOM_LENGTH:]
    return secrets.compare_digest(_checksum(body), checksum)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def token_hint(token: str) -> str:
    """What a listing shows of a token: enough to recognise it, useless to an attacker."""
    return token[: len(token.rpartition("_")[0]) + 5] + "…"  # the whole prefix (dpv_test_) and 4 more


def is_expired(expires_at: datetime | None, now: datetime) -> bool:
    return expires_at is not None and expires_at <= now
