"""Sign-in: WeChat mini-program login, staff login, logout."""
from __future__ import annotations

from marshmallow import Schema, fields, validate

from backend.auth import current_user
from backend.extensions import db, limiter
from backend.routes.common import Blueprint, login_limit
from backend.routes.me import MeSchema, me_payload
from backend.services import auth as auth_service

blp = Blueprint("auth", __name__, url_prefix="/api/v1/auth", description="登录")


class WxLoginIn(Schema):
    code = fields.String(required=True, validate=validate.Length(min=1, max=128))


class StaffLoginIn(Schema):
    username = fields.String(required=True, validate=validate.Length(min=1, max=64))
    password = fields.String(required=True, validate=validate.Length(min=1, max=128),
                             load_only=True)


class TokenOut(Schema):
    token = fields.String(required=True)
    user = fields.Nested(MeSchema, required=True)


def signed_in(user) -> dict:
    """The login answer: a token and who the user now is."""
    return {"token": auth_service.issue_token(user), "user": me_payload(user)}


@blp.route("/wx-login", methods=["POST"])
@blp.public
@limiter.limit(login_limit)
@blp.arguments(WxLoginIn)
@blp.response(200, TokenOut)
def wx_login(data):
    """Mini-program login with a wx.login code (``dev:<openid>`` in development)."""
    user = auth_service.wx_login(data["code"])
    return signed_in(user)


@blp.route("/staff-login", methods=["POST"])
@blp.public
@limiter.limit(login_limit)
@blp.arguments(StaffLoginIn)
@blp.response(200, TokenOut)
def staff_login(data):
    """Staff login with username and password."""
    user = auth_service.staff_login(data["username"], data["password"])
    return signed_in(user)


@blp.route("/logout", methods=["POST"])
@blp.response(204)
def logout():
    """Revoke every token of the caller (signs out on all devices)."""
    auth_service.revoke_tokens(current_user())
