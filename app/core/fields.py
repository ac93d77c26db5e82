"""Field types shared by the registry's schemas, each with its rule in one place."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated

import pycountry
from pydantic import AfterValidator, StringConstraints

from app.core.credit_code import normalise_credit_code
from app.core.messages import InvalidValue

CreditCode = Annotated[
    str,
    StringConstraints(max_length=40),
    AfterValidator(normalise_credit_code),
]
"""A unified social credit code, normalised to upper case and checked (GB 32100-2015)."""

MAX_INDIVIDUALS = 10_000_000_000
"""More people than live on Earth: a bound so that no count overflows a database column."""

CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
NO_CONTROL_CHARACTERS = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f]*$"
"""For query parameters: the same rule as a pattern."""


def _printable(value: str) -> str:
    # PostgreSQL refuses NUL in text, and no legal name or address needs control characters.
    if CONTROL_CHARACTERS.search(value):
        raise InvalidValue("must not contain control characters", zh="不能包含控制字符")
    return value


Name = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500), AfterValidator(_printable)
]
Text = Annotated[str, StringConstraints(strip_whitespace=True, max_length=4000), AfterValidator(_printable)]
ShortText = Annotated[str, StringConstraints(strip_whitespace=True, max_length=500), AfterValidator(_printable)]
# A decision's reason: long enough to say something, short enough for its column.
Reason = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=10, max_length=2000), AfterValidator(_printable)
]
# Each bounded by its column: PostgreSQL refuses a longer value with an error, so it is a 400 here.
# (A Field(max_length=...) beside one of the types above does not override its 500.)
Label = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100), AfterValidator(_printable)
]
"""What a token or a key is for: api_tokens.name, vendor_keys.name."""
PersonName = Annotated[str, StringConstraints(strip_whitespace=True, max_length=200), AfterValidator(_printable)]
"""users.name."""


def _country(value: str) -> str:
    code = value.strip().upper()
    if pycountry.countries.get(alpha_2=code) is None:
        raise InvalidValue(
            f"{value!r} is not an ISO 3166-1 alpha-2 country code (CN, DE, US, ...)",
            zh=f"{value!r} 不是 ISO 3166-1 两位国家代码（如 CN、DE、US）",
        )
    return code


CountryCode = Annotated[str, StringConstraints(min_length=2, max_length=2), AfterValidator(_country)]
"""ISO 3166-1 alpha-2, upper case."""


def _region(value: str) -> str:
    code = value.strip().upper()
    if pycountry.subdivisions.get(code=code) is None:  # type: ignore[no-untyped-call]
        raise InvalidValue(
            f"{value!r} is not an ISO 3166-2 subdivision code (CN-SH, CN-GD, ...)",
            zh=f"{value!r} 不是 ISO 3166-2 地区代码（如 CN-SH、CN-GD）",
        )
    return code


RegionCode = Annotated[str, StringConstraints(max_length=10), AfterValidator(_region)]
"""ISO 3166-2 subdivision, e.g. CN-SH for Shanghai: where a provincial regulator is competent."""


def _aware(value: datetime) -> datetime:
    # A timestamp without a zone is ambiguous between Beijing and UTC by eight hours.
    if value.tzinfo is None:
        raise InvalidValue(
            "must carry a time zone, e.g. 2027-01-01T00:00:00+08:00", zh="须带时区，如 2027-01-01T00:00:00+08:00"
        )
    return value


AwareDateTime = Annotated[datetime, AfterValidator(_aware)]
"""A timestamp with its time zone."""
