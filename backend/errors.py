"""The one error shape: {"error": {"code", "message", "details"}}.

Services raise ``AppError`` subclasses; every HTTP error (404 for an unknown path,
405, 413, validation failures from the request schemas, rate limits) and every
unexpected exception leaves the app in this shape, with Chinese ``message`` text and
no stack trace.
"""
from __future__ import annotations

import logging

from flask import Flask, jsonify
from sqlalchemy.exc import DataError
from werkzeug.exceptions import HTTPException

log = logging.getLogger(__name__)


class AppError(Exception):
    status = 400
    code = "bad_request"
    message = "请求有误"

    def __init__(self, message: str | None = None, *, code: str | None = None,
                 details: dict | None = None, status: int | None = None):
        super().__init__(message or self.message)
        self.message = message or self.message
        self.code = code or self.code
        self.details = details or {}
        if status is not None:
            self.status = status


class ValidationFailed(AppError):
    status, code, message = 400, "validation_error", "提交的内容有误"


class Unauthorized(AppError):
    status, code, message = 401, "unauthorized", "请先登录"


class Forbidden(AppError):
    status, code, message = 403, "forbidden", "没有权限进行此操作"


class NotFound(AppError):
    status, code, message = 404, "not_found", "找不到该内容"


class Conflict(AppError):
    status, code, message = 409, "conflict", "当前状态不允许此操作"


class TooLarge(AppError):
    status, code, message = 413, "too_large", "上传内容过大"


class UnsupportedMedia(AppError):
    status, code, message = 415, "unsupported_media_type", "不支持的文件类型"


HTTP_DEFAULTS = {
    400: ("bad_request", "请求有误"),
    401: ("unauthorized", "请先登录"),
    403: ("forbidden", "没有权限进行此操作"),
    404: ("not_found", "找不到该内容"),
    405: ("method_not_allowed", "不支持该请求方法"),
    409: ("conflict", "当前状态不允许此操作"),
    413: ("too_large", "上传内容过大"),
    415: ("unsupported_media_type", "不支持的文件类型"),
    422: ("validation_error", "提交的内容有误"),
    429: ("rate_limited", "操作太频繁，请稍后再试"),
    500: ("internal_error", "服务器开小差了，请稍后再试"),
    503: ("unavailable", "服务暂时不可用，请稍后再试"),
}


def error_body(code: str, message: str, details: dict | None = None) -> dict:
    return {"error": {"code": code, "message": message, "details": details or {}}}


def error_response(status: int, code: str, message: str, details: dict | None = None):
    response = jsonify(error_body(code, message, details))
    response.status_code = status
    return response


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(AppError)
    def _app_error(err: AppError):
        return error_response(err.status, err.code, err.message, err.details)

    @app.errorhandler(DataError)
    def _data_error(err: DataError):
        # the database refused a value the schemas let through (PostgreSQL: a NUL
        # character in a string, a number out of a column's range): bad input, not ours
        log.info("value refused by the database: %s", err.orig)
        return error_response(400, "invalid_value", "提交的内容含有无法保存的字符或数值")

    @app.errorhandler(HTTPException)
    def _http_error(err: HTTPException):
        status = err.code or 500
        code, message = HTTP_DEFAULTS.get(status, ("http_error", "请求有误"))
        details: dict = {}
        data = getattr(err, "data", None) or {}
        if status == 422:  # webargs / flask-smorest schema validation
            status = 400
            messages = data.get("messages") or data.get("errors") or {}
            # webargs nests messages by location ("json", "form", "query", ...)
            details = {"fields": _flatten_locations(messages)}
        elif status == 400 and data.get("messages"):
            details = {"fields": _flatten_locations(data["messages"])}
            if "_body" in details["fields"]:
                code, message = "malformed_body", "请求内容格式有误（需要合法的 JSON）"
        response = error_response(status, code, message, details)
        if status == 405 and getattr(err, "valid_methods", None):
            response.headers["Allow"] = ", ".join(err.valid_methods)
        return response

    @app.errorhandler(Exception)
    def _unexpected(err: Exception):
        log.exception("unhandled error")
        code, message = HTTP_DEFAULTS[500]
        return error_response(500, code, message)


def _flatten_locations(messages):
    if isinstance(messages, dict) and set(messages) <= {
        "json", "form", "query", "files", "headers", "cookies", "view_args", "json_or_form"
    }:
        merged: dict = {}
        for part in messages.values():
            if isinstance(part, dict):
                merged.update(part)
            elif part:
                merged.setdefault("_body", []).extend(part if isinstance(part, list) else [part])
        return merged
    return messages
