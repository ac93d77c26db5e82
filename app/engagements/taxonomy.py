"""The PI category taxonomy, loaded once from pi_categories.yaml."""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from pathlib import Path

import yaml
from pydantic import BaseModel, TypeAdapter

TAXONOMY_FILE = Path(__file__).with_name("pi_categories.yaml")
FACE = "facial_recognition"  # the category the facial-recognition measures are about
MINORS = "minors_under_14"  # a data subject, sensitive whatever the category (PIPL art. 28)
MINORS_18 = "minors_under_18"  # a data subject: the yearly minors' audit (未成年人网络保护条例 art. 37)
MINORS_CATEGORY = "minors_data"  # the category of PI of children under 14


class PICategory(BaseModel):
    code: str
    zh: str
    en: str
    sensitive: bool
    biometric: bool = False
    source: str = ""


@cache
def categories() -> dict[str, PICategory]:
    raw = yaml.safe_load(TAXONOMY_FILE.read_text(encoding="utf-8"))
    items = TypeAdapter(list[PICategory]).validate_python(raw["categories"])
    by_code = {item.code: item for item in items}
    if len(by_code) != len(items):
        raise ValueError(f"{TAXONOMY_FILE.name}: a category code appears twice")
    return by_code


def unknown(codes: list[str]) -> list[str]:
    known = categories()
    return [code for code in codes if code not in known]


def sensitive(codes: list[str]) -> list[str]:
    known = categories()
    return [code for code in codes if code in known and known[code].sensitive]


def minors_under_18(categories: Sequence[str], subjects: Sequence[str]) -> bool:
    """Whether PI of anyone under 18 is processed (the yearly minors' compliance audit):
    an under-18 or under-14 subject, or the category of children's PI."""
    return MINORS_18 in subjects or MINORS in subjects or MINORS_CATEGORY in categories
