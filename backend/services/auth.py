"""Sign-in and tokens. Tokens are signed (itsdangerous), expire, and are revoked by
bumping the user's ``token_version``."""
from __future__ import annotations

import hmac

from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import bindparam, select
from sqlalchemy.orm import joinedload
from werkzeug.security import check_password_hash, generate_password_hash

from backend import wechat
from backend.errors import AppError, Unauthorized
from backend.extensions import db
from backend.models import Room, RoomBinding, User
from backend.models.base import MAX_ROW_ID

TOKEN_SALT = "wuye-auth-token"
# Compared against when the username is unknown, so timing does not reveal it.
_DUMMY_HASH = generate_password_hash("not-a-real-password")


def _serializer() -> URLSafeTimedSerializer:
    serializer = current_app.extensions.get("token_serializer")
    if serializer is None:
        serializer = URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=TOKEN_SALT)
        current_app.extensions["token_serializer"] = serializer
    return serializer


def issue_token(user: User) -> str:
    return _serializer().dumps({"uid": user.id, "v": user.token_version})


# The signed-in user, staff roles and bindings with their rooms in one statement (a
# few rows per user: bindings × staff roles); built once, as it is the same for all.
_SIGNED_IN_USER = select(User).where(User.id == bindparam("uid")).options(
    joinedload(User.staff_roles),
    joinedload(User.bindings).options(
        joinedload(RoomBinding.room).options(
            joinedload(Room.building), joinedload(Room.unit),
            joinedload(Room.community)),
        joinedload(RoomBinding.owner)))


def load_user(user_id) -> User | None:
    """The signed-in user with what every request asks of them: staff roles, and
    room bindings with their rooms (building, unit, community) and the owner of
    record each binding was verified against (flaskr's ``load_logged_in_user``)."""
    if not isinstance(user_id, int) or isinstance(user_id, bool) or not 0 < user_id <= MAX_ROW_ID:
        return None
    return db.session.execute(_SIGNED_IN_USER, {"uid": user_id}).unique().scalar_one_or_none()


def _token_claims(token: str) -> dict:
    ttl = current_app.config["TOKEN_TTL_SECONDS"]
    serializer = _serializer()
    # Base64 decoding skips characters outside its alphabet, so junk appended to a
    # signature still verifies: accept only the one spelling we issued.
    value, _, signature = token.rpartition(".")
    canonical = serializer.make_signer().get_signature(value).decode()
    if not hmac.compare_digest(signature, canonical):
        raise Unauthorized("登录凭证无效，请重新登录", code="invalid_token")
    try:
        data = serializer.loads(token, max_age=ttl)
    except SignatureExpired as exc:
        raise Unauthorized("登录已过期，请重新登录", code="token_expired") from exc
    except BadSignature as exc:
        raise Unauthorized("登录凭证无效，请重新登录", code="invalid_token") from exc
    if not isinstance(data, dict):
        raise Unauthorized("登录凭证无效，请重新登录", code="invalid_token")
    return data


def user_from_token(token: str) -> User:
    data = _token_claims(token)
    user = load_user(data.get("uid"))
    if user is None or not user.is_active or user.token_version != data.get("v"):
        raise Unauthorized("登录凭证已失效，请重新登录", code="invalid_token")
    return user


def revoke_tokens(user: User) -> None:
    user.token_version += 1


MIN_PASSWORD_LENGTH = 10


def check_password_policy(username: str, password: str) -> None:
    """A staff password: at least 10 characters, and not the username (in any case)."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AppError(f"密码至少{MIN_PASSWORD_LENGTH}位", code="weak_password")
    if username.strip().lower() in password.strip().lower():
        raise AppError("密码不能包含用户名", code="weak_password")


def hash_password(password: str) -> str:
    return generate_password_hash(password)


def staff_login(username: str, password: str) -> User:
    user = db.session.scalar(select(User).where(User.username == username))
    hashed = user.password_hash if user and user.password_hash else _DUMMY_HASH
    ok = check_password_hash(hashed, password)
    if not (user and user.password_hash and ok and user.is_active):
        raise Unauthorized("用户名或密码错误", code="bad_credentials")
    return user


def wx_login(code: str) -> User:
    """Mini-program login: ``code`` from wx.login, or ``dev:<openid>`` in development."""
    if code.startswith("dev:"):
        if not current_app.config.get("DEV_LOGIN") or current_app.config["APP_ENV"] == "production":
            raise AppError("开发登录已关闭", code="dev_login_disabled", status=400)
        openid, unionid = code[4:].strip(), None
        if not openid or len(openid) > 64:
            raise AppError("登录码无效", code="invalid_code", status=400)
    else:
        try:
            session = wechat.code_to_session(code)
        except wechat.WechatError as exc:
            if exc.errcode is None:
                raise AppError("微信服务暂时不可用，请稍后再试", code="wechat_unavailable",
                               status=503) from exc
            raise AppError("微信登录失败，请重新进入小程序", code="invalid_code", status=400,
                           details={"errcode": exc.errcode}) from exc
        openid, unionid = session.openid, session.unionid
    user = db.session.scalar(select(User).where(User.openid == openid))
    if user is None:
        user = User(openid=openid, unionid=unionid, name="")
        db.session.add(user)
        db.session.flush()
    elif unionid and not user.unionid:
        user.unionid = unionid
    if not user.is_active:
        raise Unauthorized("账号已停用", code="account_disabled")
    return user
