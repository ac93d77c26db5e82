from __future__ import annotations

import pytest

from app.core.credit_code import check_character, credit_code_error, normalise_credit_code

# Published codes of well-known companies: the check character must agree with them.
REAL_CODES = ["91350100M000100Y43", "9144030071526726XG", "91330100716105852F", "91110000802100433B"]


@pytest.mark.parametrize("code", REAL_CODES)
def test_real_codes_are_valid(code: str) -> None:
    assert credit_code_error(code) is None


@pytest.mark.parametrize("code", REAL_CODES)
def test_any_other_check_character_is_refused(code: str) -> None:
    for wrong in "0123456789ABCDEFGHJKLMNPQRTUWXY":
        if wrong != code[17]:
            assert "check character" in (credit_code_error(code[:17] + wrong) or "")


def test_reason_names_the_expected_character() -> None:
    assert credit_code_error("911100001000000000") == "check character is '0' but should be 'R'"


@pytest.mark.parametrize(
    ("code", "reason"),
    [
        ("9144030071526726X", "must be 18 characters, got 17"),
        ("9144030071526726XGG", "must be 18 characters, got 19"),
        ("91440300715267I6XG", "contains characters not allowed in a credit code: I"),
        ("9144030071526O26XG", "contains characters not allowed in a credit code: O"),
    ],
)
def test_malformed_codes_say_why(code: str, reason: str) -> None:
    assert credit_code_error(code) == reason


def test_normalise_accepts_lower_case_and_spaces() -> None:
    assert normalise_credit_code(" 9144 0300 7152 6726xg ") == "9144030071526726XG"


def test_normalise_raises_with_reason() -> None:
    with pytest.raises(ValueError, match="should be 'R'"):
        normalise_credit_code("911100001000000000")


def test_check_character_round_trip() -> None:
    assert check_character("91310115MA1H7Q2K5") == "0"
