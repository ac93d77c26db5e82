"""Conditional GETs for the lists a vendor polls: each answer carries an ETag over its content,
and a request whose If-None-Match names it is answered 304 with no body, so polling is cheap.
`updated_since` (a query parameter of the same lists) narrows what a poll returns."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Annotated, Any, TypeVar, cast

from litestar import Response
from litestar.datastructures import ResponseHeader
from litestar.openapi import ResponseSpec
from litestar.params import HeaderParameter, QueryParameter
from pydantic import BaseModel

T = TypeVar("T", bound=BaseModel)

IfNoneMatch = Annotated[
    str | None,
    HeaderParameter(
        name="If-None-Match",
        max_length=1000,
        description="The ETag of the answer you have: 304 with no body if nothing changed.",
    ),
]
UpdatedSince = Annotated[
    datetime | None,
    QueryParameter(description="Only what changed at or after this time (ISO 8601; without an offset, UTC)."),
]
ETAG = ResponseHeader(
    name="ETag", description="Send it back as If-None-Match on the next poll.", documentation_only=True
)
NOT_MODIFIED: dict[int, ResponseSpec] = {
    304: ResponseSpec(data_container=None, description="Nothing changed since the ETag you sent (no body).")
}


def since(value: datetime | None) -> datetime | None:
    """A client's `updated_since`, as an aware UTC time (a time without an offset is UTC)."""
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def etag_of(content: BaseModel) -> str:
    return '"' + hashlib.sha256(content.model_dump_json().encode()).hexdigest()[:32] + '"'


def respond(content: T, if_none_match: str | None) -> Response[T]:
    """The answer with its ETag, or 304 when the client already has it."""
    tag = etag_of(content)
    headers = {"ETag": tag, "Cache-Control": "private, no-cache"}
    sent = {value.strip().removeprefix("W/") for value in (if_none_match or "").split(",")}
    if tag in sent or "*" in sent:
        return cast(Response[T], Response[Any](content=None, status_code=304, headers=headers))
    return Response(content, headers=headers)
