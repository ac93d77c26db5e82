from __future__ import annotations

import math

from app.core import security
from app.core.security import USER_TOKEN_PREFIX, is_well_formed, new_token, token_hash, token_hint


def test_token_has_prefix_randomness_and_checksum() -> None:
    token = new_token(USER_TOKEN_PREFIX)
    assert token.startswith("dpu_")
    assert len(token) == len("dpu_") + security.RANDOM_LENGTH + security.CHECKSUM_LENGTH
    assert is_well_formed(token, USER_TOKEN_PREFIX)
    # At least the 160 bits the issue asks for.
    assert security.RANDOM_LENGTH * math.log2(62) >= 160


def test_tokens_differ() -> None:
    assert len({new_token(USER_TOKEN_PREFIX) for _ in range(1000)}) == 1000


def test_a_changed_character_breaks_the_checksum() -> None:
    token = new_token(USER_TOKEN_PREFIX)
    position = len("dpu_") + 3
    replacement = "a" if token[position] != "a" else "b"
    assert not is_well_formed(token[:position] + replacement + token[position + 1 :], USER_TOKEN_PREFIX)


def test_wrong_prefix_or_shape_is_refused() -> None:
    token = new_token(USER_TOKEN_PREFIX)
    assert not is_well_formed(token, "dpv")
    assert not is_well_formed(token[:-1], USER_TOKEN_PREFIX)
    assert not is_well_formed(token + "x", USER_TOKEN_PREFIX)
    assert not is_well_formed("dpu_" + "!" * 36, USER_TOKEN_PREFIX)
    assert not is_well_formed("", USER_TOKEN_PREFIX)


def test_hash_and_hint_do_not_reveal_the_token() -> None:
    token = new_token(USER_TOKEN_PREFIX)
    assert len(token_hash(token)) == 64 and token not in token_hash(token)
    hint = token_hint(token)
    assert hint == token[: len("dpu_") + 4] + "…"


def test_a_test_key_is_recognisable_and_never_passes_for_a_real_one() -> None:
    test_key = security.new_token(security.VENDOR_TEST_KEY_PREFIX)
    real_key = security.new_token(security.VENDOR_KEY_PREFIX)
    assert test_key.startswith("dpv_test_") and security.is_well_formed(test_key, security.VENDOR_TEST_KEY_PREFIX)
    assert not security.is_well_formed(test_key, security.VENDOR_KEY_PREFIX)
    assert not security.is_well_formed(real_key, security.VENDOR_TEST_KEY_PREFIX)
    assert security.token_hint(test_key) == test_key[:13] + "…"  # the whole prefix, then four characters
    assert security.token_hint(real_key) == real_key[:8] + "…"
