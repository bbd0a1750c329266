"""Desk console sign-in for committee members: a one-time code from the mini-program."""
from __future__ import annotations

from marshmallow import Schema, fields, validate

from backend.auth import current_user
from backend.extensions import db, limiter
from backend.routes.auth import TokenOut, signed_in
from backend.routes.common import Blueprint, LocalDateTime, login_limit
from backend.services import auth as auth_service
from backend.services import desk_login as desk_login_service

blp = Blueprint("desk_login", __name__, url_prefix="/api/v1/auth",
                description="物业工作台登录码（业委会委员）")


class DeskCodeOut(Schema):
    code = fields.String(required=True, metadata={"example": "K7M2-9QXP"})
    expires_at = LocalDateTime(required=True)


class DeskCodeLoginIn(Schema):
    code = fields.String(required=True, validate=validate.Length(min=1, max=32),
                         load_only=True)


@blp.route("/desk-codes", methods=["POST"])
@blp.response(201, DeskCodeOut)
def issue_desk_code():
    """A one-time code (valid 5 minutes) to sign in to the desk console; committee
    members and staff only. Earlier unused codes of the caller stop working."""
    user = current_user()
    code, row = desk_login_service.issue_code(user)
    return {"code": code, "expires_at": row.expires_at}


@blp.route("/desk-code-login", methods=["POST"])
@blp.public
@limiter.limit(login_limit)
@blp.arguments(DeskCodeLoginIn)
@blp.response(200, TokenOut)
def desk_code_login(data):
    """Desk console sign-in with a code from the mini-program (works once)."""
    user = desk_login_service.redeem_code(data["code"])
    return signed_in(user)
