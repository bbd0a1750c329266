"""Schema fields, pagination and helpers shared by the route modules."""
from __future__ import annotations

import re

import base64
import binascii
from decimal import Decimal

from flask import current_app
from flask_smorest import Blueprint as SmorestBlueprint
from flask_smorest.fields import Upload
from marshmallow import Schema, ValidationError, fields, validate
from marshmallow import missing
from webargs.flaskparser import FlaskParser, is_json_request
from werkzeug.exceptions import BadRequest
from webargs.multidictproxy import MultiDictProxy
from werkzeug.datastructures import CombinedMultiDict, FileStorage
from werkzeug.routing import IntegerConverter

from backend.errors import ValidationFailed
from backend.models.base import MAX_ROW_ID
from backend.timeutil import local_iso

BEARER = [{"bearerAuth": []}]
PUBLIC: list = []


class _Parser(FlaskParser):
    """``location="form"`` reads form fields and files together, so one schema
    validates (and documents) a multipart body. JSON bodies are read by the app's
    JSON provider (``appclass.OrjsonProvider.loads``), which refuses what the
    standard library would turn into a 500: nesting past 1024 levels, numbers past
    a double, lone surrogates."""

    def load_form(self, req, schema):
        return MultiDictProxy(CombinedMultiDict([req.form, req.files]), schema)

    def load_json(self, req, schema):
        if not is_json_request(req):
            return missing
        try:
            return req.get_json()
        except BadRequest as exc:
            raise ValidationFailed("请求内容格式有误（需要合法的 JSON）", code="malformed_body",
                                   details={"fields": {"_body": ["无效的 JSON"]}}) from exc


class Blueprint(SmorestBlueprint):
    """flask-smorest's Blueprint with the parser above; every route module uses it."""

    ARGUMENTS_PARSER = _Parser()

    def public(self, view):
        """No sign-in needed: documented without a security requirement, and let
        through by ``backend.auth``'s check that every other API route has a valid
        token before its body is read."""
        view.is_public = True
        return self.doc(security=PUBLIC)(view)


def per_user() -> str:
    """Rate-limit key of a signed-in route: the user's id, however their token is
    spelt (many residents share a carrier's address, so never the address)."""
    from backend.auth import current_user

    return f"user:{current_user().id}"


def login_limit() -> str:
    """Flask-Limiter limit for sign-in and identity checks (RATELIMIT_LOGIN)."""
    return current_app.config["RATELIMIT_LOGIN"]


class LocalDateTime(fields.DateTime):
    """ISO 8601 with the Asia/Shanghai offset (+08:00) on output."""

    def _serialize(self, value, attr, obj, **kwargs):
        return None if value is None else local_iso(value)


MONEY_DOC = {"type": "string", "format": "decimal", "example": "123.45"}
MAX_YUAN = Decimal("10000000000")


def Money(**kwargs):  # noqa: N802 - a field factory
    """Yuan as a decimal string with two places ("123.45"), never a float."""
    kwargs["metadata"] = {**MONEY_DOC, **kwargs.get("metadata", {})}
    return fields.Decimal(as_string=True, places=2, **kwargs)


def _yuan_amount(value: Decimal) -> None:
    if not Decimal("0.01") <= value <= MAX_YUAN:
        raise ValidationError("金额须大于0且不超过100亿元")
    if value != value.quantize(Decimal("0.01")):
        raise ValidationError("金额最多两位小数")


class _Yuan(fields.Decimal):
    """The one parser of amounts people type: "128000", "128,000" or "128,000.50"
    (thousands separators only in groups of three), read exactly as a Decimal."""

    GROUPED = re.compile(r"^\d{1,3}(,\d{3})+(\.\d+)?$")

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, str):
            text = value.strip().replace("，", ",")
            if self.GROUPED.match(text):
                value = text.replace(",", "")
        return super()._deserialize(value, attr, data, **kwargs)


def MoneyIn(**kwargs):  # noqa: N802 - a field factory
    """A yuan amount in a request: a decimal string such as "128.00" or "128,000.00"
    (a JSON number is read exactly too), above 0, at most two places. Documented as a
    string with a pattern: JSON Schema's minimum/maximum are for numbers."""
    kwargs["metadata"] = {**MONEY_DOC,
                          "pattern": r"^(\d{1,11}|\d{1,3}(,\d{3}){1,3})(\.\d{1,2})?$",
                          **kwargs.get("metadata", {})}
    return _Yuan(as_string=True, validate=_yuan_amount, **kwargs)


def RowId(*, min: int = 1, **kwargs):  # noqa: N802 - a field factory
    """An id in a request: past the id column's range it is a 400, never a driver
    overflow (500)."""
    return fields.Integer(validate=validate.Range(min=min, max=MAX_ROW_ID), **kwargs)


class RowIdConverter(IntegerConverter):
    """``<id:...>`` in a route: a row id. Ids past the column's range match no route
    (404) instead of overflowing the database driver (500)."""

    def __init__(self, url_map, fixed_digits=0, min=None, max=MAX_ROW_ID, signed=False):
        super().__init__(url_map, fixed_digits, min, max, signed)


class ErrorDetail(Schema):
    code = fields.String(required=True)
    message = fields.String(required=True)
    details = fields.Dict()


class ErrorSchema(Schema):
    error = fields.Nested(ErrorDetail, required=True)


class PageArgs(Schema):
    limit = fields.Integer(load_default=20, validate=validate.Range(min=1, max=100))
    cursor = fields.String(load_default=None)


def encode_cursor(value: int) -> str:
    return base64.urlsafe_b64encode(str(value).encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> int | None:
    if not cursor:
        return None
    try:
        value = int(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode())
    except (ValueError, binascii.Error, UnicodeDecodeError):
        value = -1
    if not 0 < value <= MAX_ROW_ID:
        raise ValidationFailed("分页参数无效", code="invalid_cursor",
                               details={"fields": {"cursor": ["无效的游标"]}})
    return value


def paginate(session, query, id_column, limit: int, cursor: str | None, descending: bool = True):
    """Keyset pagination on an integer id column: (items, next_cursor)."""
    after = decode_cursor(cursor)
    if after is not None:
        query = query.where(id_column < after if descending else id_column > after)
    query = query.order_by(id_column.desc() if descending else id_column.asc()).limit(limit + 1)
    items = list(session.scalars(query))
    next_cursor = encode_cursor(items[limit - 1].id) if len(items) > limit else None
    return items[:limit], next_cursor


# ----------------------------------------------------------------- uploaded files
class FileUpload(Upload):
    """A file part of a multipart form (what it really is is decided by its bytes,
    in ``services.attachments``)."""

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, FileStorage):
            raise ValidationError("请上传文件")
        return value


def chosen_files(files: list) -> list:
    """The file parts that hold a file: a browser form's empty file input (no file
    chosen: no name, no bytes) counts as none."""
    chosen = []
    for upload in files:
        if upload.filename or upload.content_length:
            chosen.append(upload)
            continue
        position = upload.stream.tell()
        if upload.stream.read(1):
            chosen.append(upload)
        upload.stream.seek(position)
    return chosen


class AttachmentOut(Schema):
    """An attached file as its record shows it; ``url`` is where the record's route
    serves it (to the people who may see the record)."""

    id = fields.Integer(required=True)
    name = fields.String(required=True, metadata={"description": "the uploader's file name"})
    content_type = fields.String(required=True, metadata={"example": "application/pdf"})
    byte_size = fields.Integer(required=True)
    pages = fields.Integer(allow_none=True, metadata={"description": "PDFs: number of pages"})
    sha256 = fields.String(required=True, metadata={"description": "digest of the stored file"})
    url = fields.String(allow_none=True)
