"""Pydantic's validation messages in Chinese, by error type and with the error's context.

The API keeps Pydantic's English `message` (scripts read it); the Chinese stands beside it
(`message_zh` in a problem's `extra`, and first on the pages). A validator's own refusal
raises `InvalidValue` with its Chinese, which Pydantic hands back as ctx["error"].
"""

from __future__ import annotations

import re
from typing import Any

from pydantic_core import ErrorDetails

GENERIC = "输入不符合要求"
"""An error type with no Chinese of its own: the English beside it says the rest."""


class InvalidValue(ValueError):
    """A validator's refusal with its Chinese: `raise InvalidValue("must ...", zh="须……")`.
    Pydantic keeps str(self) as the English message (type value_error, as any ValueError)."""

    def __init__(self, message: str, *, zh: str) -> None:
        super().__init__(message)
        self.zh = zh


def _choices(expected: Any) -> str:
    # Pydantic writes "'a', 'b' or 'c'"
    return re.sub(r",? or ", "、", str(expected)).replace(", ", "、")


DATE = "不是有效的日期，请按 YYYY-MM-DD 填写（如 2026-11-29）"
DATETIME = "不是有效的日期时间，请按 YYYY-MM-DDTHH:MM 填写，并带时区（如 2026-11-29T09:30+08:00）"

TEMPLATES: dict[str, str] = {
    "missing": "必填",
    "extra_forbidden": "不接受此字段",
    "no_such_attribute": "不接受此字段",
    "unexpected_keyword_argument": "不接受此字段",
    "json_invalid": "不是有效的 JSON",
    "json_type": "须为 JSON 文本",
    "model_type": "须为一个对象（JSON object）",
    "model_attributes_type": "须为一个对象（JSON object）",
    "dataclass_type": "须为一个对象（JSON object）",
    "dict_type": "须为一个对象（JSON object）",
    "mapping_type": "须为一个对象（JSON object）",
    "list_type": "须为列表",
    "tuple_type": "须为列表",
    "set_type": "须为列表",
    "frozen_set_type": "须为列表",
    "iterable_type": "须为列表",
    "none_required": "此处应留空",
    "too_short": "至少 {min_length} 项",
    "too_long": "最多 {max_length} 项",
    "greater_than": "须大于 {gt}",
    "greater_than_equal": "须大于或等于 {ge}",
    "less_than": "须小于 {lt}",
    "less_than_equal": "须小于或等于 {le}",
    "multiple_of": "须为 {multiple_of} 的整数倍",
    "finite_number": "须为有限的数字",
    "string_type": "须为文本",
    "string_unicode": "须为有效的 Unicode 文本",
    "string_too_short": "至少 {min_length} 个字符",
    "string_too_long": "最多 {max_length} 个字符",
    "string_pattern_mismatch": "格式不正确（须符合 {pattern}）",
    "string_not_ascii": "只能包含 ASCII 字符",
    "enum": "须为以下之一：{expected}",
    "literal_error": "须为以下之一：{expected}",
    "bool_type": "须为是或否（true / false）",
    "bool_parsing": "须为是或否（true / false）",
    "int_type": "须为整数",
    "int_parsing": "须为整数",
    "int_parsing_size": "数字太大",
    "int_from_float": "须为整数，不能有小数",
    "float_type": "须为数字",
    "float_parsing": "须为数字",
    "decimal_type": "须为数字",
    "decimal_parsing": "须为数字",
    "decimal_max_digits": "最多 {max_digits} 位数字",
    "decimal_max_places": "小数最多 {decimal_places} 位",
    "decimal_whole_digits": "整数部分最多 {whole_digits} 位",
    "bytes_type": "须为文本或文件内容",
    "bytes_too_short": "至少 {min_length} 字节",
    "bytes_too_long": "最多 {max_length} 字节",
    "date_type": DATE,
    "date_parsing": DATE,
    "date_from_datetime_parsing": DATE,
    "date_from_datetime_inexact": "须为日期，不带时间",
    "date_past": "须为过去的日期",
    "date_future": "须为将来的日期",
    "time_type": "不是有效的时间，请按 HH:MM 填写",
    "time_parsing": "不是有效的时间，请按 HH:MM 填写",
    "datetime_type": DATETIME,
    "datetime_parsing": DATETIME,
    "datetime_from_date_parsing": DATETIME,
    "datetime_object_invalid": DATETIME,
    "datetime_past": "须为过去的时间",
    "datetime_future": "须为将来的时间",
    "timezone_naive": "不能带时区",
    "timezone_aware": "须带时区（如 +08:00）",
    "timezone_offset": "时区须为 {tz_expected}",
    "time_delta_type": "不是有效的时长",
    "time_delta_parsing": "不是有效的时长",
    "union_tag_invalid": "类型 {tag} 不正确，须为以下之一：{expected_tags}",
    "union_tag_not_found": "缺少字段 {discriminator}，无法判断类型",
    "url_type": "须为网址",
    "url_parsing": "不是有效的网址",
    "url_syntax_violation": "不是有效的网址",
    "url_too_long": "网址最长 {max_length} 个字符",
    "url_scheme": "网址须以 {expected_schemes} 开头",
    "uuid_type": "须为 UUID（如 123e4567-e89b-12d3-a456-426614174000）",
    "uuid_parsing": "不是有效的 UUID（如 123e4567-e89b-12d3-a456-426614174000）",
    "uuid_version": "须为第 {expected_version} 版 UUID",
    "recursion_loop": "数据嵌套循环",
    "recursion_depth_exceeded": "数据嵌套过深",
    "frozen_field": "此字段不能修改",
    "frozen_instance": "不能修改",
    "assertion_error": GENERIC,
}


def pydantic_zh(error: ErrorDetails) -> str:
    """The Chinese of one Pydantic error (an item of ValidationError.errors())."""
    kind = error["type"]
    ctx: dict[str, Any] = dict(error.get("ctx") or {})
    if kind == "value_error":
        raised = ctx.get("error")
        if isinstance(raised, InvalidValue):
            return raised.zh
        if error["msg"].startswith("value is not a valid email address"):
            return "不是有效的电子邮件地址"
        return GENERIC
    template = TEMPLATES.get(kind)
    if template is None:
        return GENERIC
    for key, value in ctx.items():
        if key in ("expected", "expected_tags", "expected_schemes"):
            ctx[key] = _choices(value)
        elif isinstance(value, float) and value.is_integer():
            ctx[key] = int(value)  # 1, as Pydantic's English says it, not 1.0
    try:
        return template.format(**ctx)
    except (KeyError, IndexError, ValueError):  # a context Pydantic did not give
        return GENERIC
