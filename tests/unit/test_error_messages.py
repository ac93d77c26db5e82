"""Every refusal a person can meet has its Chinese: a walk over the code's call sites (so new
code cannot add an English-only one), and Pydantic's messages translated by type."""

from __future__ import annotations

import ast
import re
import uuid
from datetime import date, datetime
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Literal

import pytest
from pydantic import BaseModel, ConfigDict, EmailStr, Field, StringConstraints, ValidationError, field_validator

from app.core import errors
from app.core.fields import AwareDateTime, CountryCode, CreditCode, Name
from app.core.messages import GENERIC, InvalidValue, pydantic_zh

APP = Path(__file__).resolve().parents[2] / "app"
CJK = re.compile(r"[\u4e00-\u9fff]")

# Refusals made of fields: Chinese required (mypy says so too, the walk also refuses an empty one).
FIELD_REFUSALS = {"field_error", "FieldDomainError", "InvalidReferenceError", "PayloadTooLargeError"}
FIELD_REFUSALS |= {"UnsupportedMediaTypeError", "InvalidValue", "CellProblem", "CellError", "_cell"}
# Refusals with a detail: zh optional in the signature, required here.
DETAIL_REFUSALS = {name for name, value in vars(errors).items() if isinstance(value, type)}
DETAIL_REFUSALS = {
    name for name in DETAIL_REFUSALS if issubclass(getattr(errors, name), errors.DomainError)
} - FIELD_REFUSALS
# Nobody reads these: the client has gone; a glyph missing from the font is a message for the operator.
NOT_SHOWN = {("app/core/middleware.py", "ClientGoneError"), ("app/agreements/services.py", "UnprocessableError")}


def _calls() -> list[tuple[str, int, str, ast.Call]]:
    found = []
    for path in sorted(APP.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            func = node.func
            if isinstance(func, ast.Name):
                name = func.id
            elif isinstance(func, ast.Attribute) and func.attr == "add" and ast.unparse(func.value) == "errors":
                name = "FieldErrors.add"
            else:
                continue
            found.append((str(path.relative_to(APP.parent)), node.lineno, name, node))
    return found


def _zh(call: ast.Call) -> ast.expr | None:
    """The Chinese: zh=..., an import cell's message_zh=..., or _cell's fourth argument."""
    if isinstance(call.func, ast.Name) and call.func.id == "_cell" and len(call.args) == 4:
        return call.args[3]
    return next((keyword.value for keyword in call.keywords if keyword.arg in ("zh", "message_zh")), None)


def _literal_text(node: ast.expr) -> str:
    """The constant parts of a string or f-string ('' for anything else)."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        return "".join(_literal_text(part) for part in node.values)
    return ""


def test_every_refusal_a_person_can_meet_has_its_chinese() -> None:
    missing, english_only = [], []
    calls = _calls()
    for where, line, name, call in calls:
        refusal = name in FIELD_REFUSALS or name == "FieldErrors.add"
        if name in DETAIL_REFUSALS and (where, name) not in NOT_SHOWN:
            refusal = True
        if not refusal or where == "app/core/errors.py":
            continue
        zh = _zh(call)
        if zh is None:
            missing.append(f"{where}:{line} {name}")
        elif _literal_text(zh) and not CJK.search(_literal_text(zh)):
            english_only.append(f"{where}:{line} {name}")
    assert not missing, "refusals without zh=...: " + ", ".join(missing)
    assert not english_only, "zh= without Chinese: " + ", ".join(english_only)
    assert sum(name == "FieldErrors.add" for _, _, name, _ in calls) >= 30  # the walk sees the call sites


def test_validators_refuse_with_invalid_value_not_a_bare_value_error() -> None:
    """A ValueError raised in a schema's validator reaches a page in English only."""
    bare = []
    for path in [*APP.rglob("schemas.py"), APP / "core" / "fields.py", APP / "core" / "credit_code.py"]:
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            call = node.exc if isinstance(node, ast.Raise) else None
            if isinstance(call, ast.Call) and isinstance(call.func, ast.Name) and call.func.id == "ValueError":
                bare.append(f"{path.relative_to(APP.parent)}:{call.lineno}")
    assert not bare, "use InvalidValue(..., zh=...): " + ", ".join(bare)


def test_a_field_error_keeps_the_english_and_carries_the_chinese() -> None:
    refusal = errors.field_error("end", "is before start", zh="结束日期早于开始日期")
    assert refusal.extra == [
        {"key": "end", "message": "is before start", "message_zh": "结束日期早于开始日期", "source": "body"}
    ]
    collected = errors.FieldErrors()
    collected.add("files", "at most 20 files", zh="最多 20 个文件")
    with pytest.raises(Exception) as raised:
        collected.raise_if_any()
    assert raised.value.extra == [  # type: ignore[attr-defined]
        {"key": "files", "message": "at most 20 files", "message_zh": "最多 20 个文件", "source": "body"}
    ]
    conflict = errors.ConflictError("already closed", zh="已关闭")
    assert (conflict.detail, conflict.detail_zh) == ("already closed", "已关闭")


class Colour(StrEnum):
    red = "red"
    blue = "blue"


class Everything(BaseModel):
    model_config = ConfigDict(extra="forbid")
    code: Annotated[str, StringConstraints(min_length=2, max_length=3, pattern=r"^[a-z]+$")] = "ab"
    count: int = Field(default=1, ge=0, le=5)
    share: float = Field(default=0.5, gt=0, lt=1)
    day: date = date(2026, 1, 1)
    moment: datetime = datetime(2026, 1, 1)
    aware: AwareDateTime | None = None
    email: EmailStr = "a@example.com"
    colour: Colour = Colour.red
    kind: Literal["x", "y"] = "x"
    id: uuid.UUID | None = None
    flag: bool = False
    items: list[int] = Field(default_factory=list, max_length=1)
    country: CountryCode = "CN"
    credit: CreditCode | None = None
    name: Name = "n"
    needed: str

    @field_validator("needed")
    @classmethod
    def _no_x(cls, value: str) -> str:
        if value == "x":
            raise InvalidValue("must not be x", zh="不能是 x")
        return value


def _translations(data: dict[str, object]) -> dict[str, str]:
    with pytest.raises(ValidationError) as raised:
        Everything.model_validate(data)
    return {".".join(str(part) for part in error["loc"]): pydantic_zh(error) for error in raised.value.errors()}


def test_pydantic_errors_in_chinese_by_type_with_their_context() -> None:
    found = _translations(
        {
            "code": "A",
            "count": -1,
            "share": 1,
            "day": "2026-13-01",
            "moment": "soon",
            "aware": "2026-01-01T00:00:00",
            "email": "nope",
            "colour": "green",
            "kind": "z",
            "id": "zz",
            "flag": "maybe",
            "items": [1, 2],
            "country": "ZZ",
            "credit": "911100001000000000",
            "name": "a\x00b",
            "extra": 1,
        }
    )
    assert found == {
        "code": "至少 2 个字符",
        "count": "须大于或等于 0",
        "share": "须小于 1",
        "day": "不是有效的日期，请按 YYYY-MM-DD 填写（如 2026-11-29）",
        "moment": "不是有效的日期时间，请按 YYYY-MM-DDTHH:MM 填写，并带时区（如 2026-11-29T09:30+08:00）",
        "aware": "须带时区，如 2027-01-01T00:00:00+08:00",
        "email": "不是有效的电子邮件地址",
        "colour": "须为以下之一：'red'、'blue'",
        "kind": "须为以下之一：'x'、'y'",
        "id": "不是有效的 UUID（如 123e4567-e89b-12d3-a456-426614174000）",
        "flag": "须为是或否（true / false）",
        "items": "最多 1 项",
        "country": "'ZZ' 不是 ISO 3166-1 两位国家代码（如 CN、DE、US）",
        "credit": "统一社会信用代码无效：校验码为 '0'，应为 'R'",
        "name": "不能包含控制字符",
        "needed": "必填",
        "extra": "不接受此字段",
    }
    more = _translations({"code": "abcd", "count": "many", "needed": "x", "items": "no", "day": 5})
    assert more == {
        "code": "最多 3 个字符",
        "count": "须为整数",
        "needed": "不能是 x",
        "items": "须为列表",
        "day": "须为日期，不带时间",  # 5 is read as a timestamp, five seconds into 1970
    }
    assert _translations({"code": "AB", "needed": "y"}) == {"code": "格式不正确（须符合 ^[a-z]+$）"}
    assert GENERIC not in found.values()
