"""Field types shared by the registry's schemas, each with its rule in one place."""

from __future__ import annotations

from typing import Annotated

import pycountry
from pydantic import AfterValidator, StringConstraints

from app.core.credit_code import normalise_credit_code

CreditCode = Annotated[
    str,
    StringConstraints(max_length=40),
    AfterValidator(normalise_credit_code),
]
"""A unified social credit code, normalised to upper case and checked (GB 32100-2015)."""

Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=300)]
Text = Annotated[str, StringConstraints(strip_whitespace=True, max_length=4000)]
ShortText = Annotated[str, StringConstraints(strip_whitespace=True, max_length=300)]


def _country(value: str) -> str:
    code = value.strip().upper()
    if pycountry.countries.get(alpha_2=code) is None:
        raise ValueError(f"{value!r} is not an ISO 3166-1 alpha-2 country code (CN, DE, US, ...)")
    return code


CountryCode = Annotated[str, StringConstraints(min_length=2, max_length=2), AfterValidator(_country)]
"""ISO 3166-1 alpha-2, upper case."""


def _region(value: str) -> str:
    code = value.strip().upper()
    if pycountry.subdivisions.get(code=code) is None:  # type: ignore[no-untyped-call]
        raise ValueError(f"{value!r} is not an ISO 3166-2 subdivision code (CN-SH, CN-GD, ...)")
    return code


RegionCode = Annotated[str, StringConstraints(max_length=10), AfterValidator(_region)]
"""ISO 3166-2 subdivision, e.g. CN-SH for Shanghai: where a provincial regulator is competent."""
