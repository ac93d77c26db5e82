"""Schema helpers shared by the domains: partial updates and paginated lists."""

from __future__ import annotations

from typing import Annotated, Any, Generic, TypeVar

from litestar.params import QueryParameter
from pydantic import BaseModel, ConfigDict, ValidationError, create_model
from sqlmodel import SQLModel

from app.core.errors import validation_exception
from app.core.fields import NO_CONTROL_CHARACTERS

T = TypeVar("T")


MAX_PAGE = 200

Limit = Annotated[int, QueryParameter(ge=1, le=MAX_PAGE, description="Items per page.")]
# Bounded: past a BIGINT the database answers an error, not an empty page.
MAX_OFFSET = 2**31 - 1
Offset = Annotated[int, QueryParameter(ge=0, le=MAX_OFFSET, description="Items to skip.")]
SearchText = Annotated[
    str | None,
    QueryParameter(
        max_length=200,
        pattern=NO_CONTROL_CHARACTERS,
        description="Text to look for in names (and, for engagements, purposes).",
    ),
]


class Page(BaseModel, Generic[T]):
    """One page of a list: the items, how many match in all, and where the page starts."""

    items: list[T]
    total: int
    limit: int
    offset: int


def _optional(annotation: Any) -> Any:
    return annotation | None


def partial_model(model: type[SQLModel], name: str) -> type[BaseModel]:
    """The same fields as `model`, all optional, for PATCH.

    Field rules are not repeated here: the service merges the patch into the stored
    record and validates the result with `model`, so a PATCH obeys the same rules as a
    POST, cross-field ones included.
    """
    fields: dict[str, Any] = {
        field_name: (_optional(info.annotation), None) for field_name, info in model.model_fields.items()
    }
    return create_model(
        name,
        __config__=ConfigDict(extra="forbid"),
        __doc__=f"Fields of {model.__name__} to change; absent fields keep their value.",
        **fields,
    )


M = TypeVar("M", bound=BaseModel)
_ABSENT = object()


def from_row(model: type[M], row: Any, **values: Any) -> M:
    """`model` filled from a stored row without validating it again.

    The row was validated on its way in, and its columns come back typed (JSON lists
    as their Pydantic objects, statuses as enum members, times aware): validating each field
    of each row of a page a second time was most of what a list read cost. `values` are fields
    the row does not hold (its sub-processors, say)."""
    # A mapped row keeps its loaded columns in its __dict__: read there, not through each
    # column's descriptor (a third of the cost on a page of 50 engagements).
    loaded = getattr(row, "__dict__", {})
    for name in model.model_fields:
        if name in values:
            continue
        if name in loaded:
            values[name] = loaded[name]
        elif (value := getattr(row, name, _ABSENT)) is not _ABSENT:
            values[name] = value
    if (
        len(values) == len(model.model_fields)
        and not model.__private_attributes__
        and model.model_config.get("extra") != "allow"
    ):
        # Every field given, none to default: what model_construct ends with, without its walk
        # over the fields looking for defaults.
        built = model.__new__(model)
        object.__setattr__(built, "__dict__", values)
        object.__setattr__(built, "__pydantic_fields_set__", set(values))
        object.__setattr__(built, "__pydantic_extra__", None)
        object.__setattr__(built, "__pydantic_private__", None)
        return built
    return model.model_construct(**values)


def merge_patch(current: SQLModel, patch: BaseModel, model: type[M]) -> M:
    """The stored record with the patch applied, validated as a whole by `model`."""
    values = {name: getattr(current, name) for name in model.model_fields}
    values.update(patch.model_dump(exclude_unset=True))
    try:
        return model.model_validate(values)
    except ValidationError as exc:
        raise validation_exception(exc) from None
