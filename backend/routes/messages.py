"""Marshmallow's validation messages in Simplified Chinese.

A 400 lists what was wrong with each field (``details.fields``); residents and staff
may see those lines, so they are written in Chinese like every ``message``. Applied
once, when ``backend.routes`` is imported: before any schema is declared, since fields
and ``Range`` read their messages when they are made. Placeholders ({min}, {choices},
...) are marshmallow's own."""
from __future__ import annotations

from marshmallow import Schema, fields, validate

FIELD_MESSAGES = {
    fields.Field: {"required": "缺少必填项", "null": "不能为空", "validator_failed": "取值无效"},
    fields.String: {"invalid": "须为文本", "invalid_utf8": "须为有效的 UTF-8 文本"},
    fields.Number: {"invalid": "须为数字", "too_large": "数字过大"},
    fields.Integer: {"invalid": "须为整数"},
    fields.Float: {"special": "不接受 NaN 或无穷大"},
    fields.Decimal: {"special": "不接受 NaN 或无穷大"},
    fields.Boolean: {"invalid": "须为 true 或 false"},
    fields.DateTime: {"invalid": "须为日期时间", "invalid_awareness": "日期时间的时区不符合要求",
                      "format": "“{input}”无法写成日期时间"},
    fields.Date: {"invalid": "须为日期（YYYY-MM-DD）", "format": "“{input}”无法写成日期"},
    fields.List: {"invalid": "须为列表"},
    fields.Tuple: {"invalid": "须为列表"},
    fields.Mapping: {"invalid": "须为对象"},
    fields.Nested: {"type": "须为对象"},
    fields.Enum: {"unknown": "须为以下之一：{choices}"},
    fields.Email: {"invalid": "不是有效的邮箱地址"},
    fields.URL: {"invalid": "不是有效的网址"},
    fields.UUID: {"invalid_uuid": "不是有效的 UUID"},
}
VALIDATOR_MESSAGES = {
    validate.Length: {"message_min": "长度不能少于 {min}", "message_max": "长度不能超过 {max}",
                      "message_all": "长度须在 {min} 到 {max} 之间",
                      "message_equal": "长度须为 {equal}"},
    validate.Range: {"message_min": "须{min_op} {{min}}", "message_max": "须{max_op} {{max}}",
                     "message_all": "须{min_op} {{min}} 且{max_op} {{max}}",
                     "message_gte": "不小于", "message_gt": "大于", "message_lte": "不大于",
                     "message_lt": "小于"},
    validate.OneOf: {"default_message": "须为以下之一：{choices}"},
    validate.ContainsOnly: {"default_message": "含有不允许的选项（可选：{choices}）"},
    validate.NoneOf: {"default_message": "取值无效"},
    validate.Equal: {"default_message": "须等于 {other}"},
    validate.Regexp: {"default_message": "格式不正确"},
    validate.Email: {"default_message": "不是有效的邮箱地址"},
    validate.URL: {"default_message": "不是有效的网址"},
    validate.Predicate: {"default_message": "取值无效"},
}
SCHEMA_MESSAGES = {"type": "须为对象", "unknown": "未知字段"}


def apply() -> None:
    for cls, messages in FIELD_MESSAGES.items():
        cls.default_error_messages = {**cls.__dict__.get("default_error_messages", {}),
                                      **messages}
    for cls, messages in VALIDATOR_MESSAGES.items():
        for name, text in messages.items():
            setattr(cls, name, text)
    Schema._default_error_messages = {**Schema._default_error_messages, **SCHEMA_MESSAGES}
