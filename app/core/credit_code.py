"""Unified social credit code (统一社会信用代码), GB 32100-2015.

18 characters from a 31-character alphabet (no I, O, S, V, Z); the last one is a check
character: weights 3^i mod 31, and check = 31 - (weighted sum mod 31), where 31 means 0.
"""

from __future__ import annotations

from app.core.messages import InvalidValue

ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
LENGTH = 18


def check_character(first17: str) -> str:
    total = sum(ALPHABET.index(ch) * weight for ch, weight in zip(first17, WEIGHTS, strict=True))
    return ALPHABET[(31 - total % 31) % 31]


def _reason(code: str) -> tuple[str, str] | None:
    """Why `code` is not a valid credit code, in English and in Chinese, or None when it is."""
    if len(code) != LENGTH:
        return f"must be {LENGTH} characters, got {len(code)}", f"应为 {LENGTH} 位，实为 {len(code)} 位"
    bad = "".join(sorted({ch for ch in code if ch not in ALPHABET}))
    if bad:
        return f"contains characters not allowed in a credit code: {bad}", f"含有信用代码不允许的字符：{bad}"
    expected = check_character(code[:17])
    if code[17] != expected:
        return (
            f"check character is {code[17]!r} but should be {expected!r}",
            f"校验码为 {code[17]!r}，应为 {expected!r}",
        )
    return None


def credit_code_error(code: str) -> str | None:
    """Why `code` is not a valid credit code, or None when it is."""
    reason = _reason(code)
    return reason[0] if reason else None


def normalise_credit_code(value: str) -> str:
    """Upper-case, without spaces; raises ValueError with the reason when invalid."""
    code = "".join(value.split()).upper()
    reason = _reason(code)
    if reason:
        raise InvalidValue(
            f"not a valid unified social credit code: {reason[0]}", zh=f"统一社会信用代码无效：{reason[1]}"
        )
    return code
