"""Sign-in and tokens. Tokens are signed (itsdangerous), expire, and are revoked by
bumping the user's ``token_version``."""
from __future__ import annotations

import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from decimal import Decimal
from typing import NamedTuple

from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import bindparam, select
from sqlalchemy.orm import aliased
from werkzeug.security import check_password_hash, generate_password_hash

from backend import fastread, wechat
from backend.errors import AppError, Unauthorized
from backend.extensions import db
from backend.models import (
    Building,
    Community,
    OwnerOfRecord,
    Role,
    Room,
    RoomBinding,
    RoomKind,
    StaffRole,
    Unit,
    User,
)
from backend.models.community import room_label
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


class StaffGrant(NamedTuple):
    community_id: int
    role: Role


class OwnerRef(NamedTuple):
    """The owner of record a binding was verified against."""

    id: int
    community_id: int
    name: str
    is_committee: bool


class RoomRef(NamedTuple):
    """A bound room as the principal carries it (read-only)."""

    id: int
    community_id: int
    community_name: str
    building_name: str
    unit_name: str
    number: str
    area_m2: Decimal
    kind: RoomKind
    owner_id: int | None

    @property
    def label(self) -> str:
        return room_label(self.building_name, self.unit_name, self.number)


class BindingRef(NamedTuple):
    id: int
    room_id: int
    relation: Role
    owner_id: int | None
    room: RoomRef
    owner: OwnerRef | None


@dataclass(frozen=True, slots=True)
class Principal:
    """The signed-in user as every request sees it: who they are, their staff roles
    and their room bindings (with rooms and the owner each binding was verified
    against). Read-only, loaded in one indexed query without the ORM
    (backend/fastread.py); ``services.permissions`` works on it. Code that changes
    the user loads the row with ``entity()``."""

    id: int
    name: str
    phone: str | None
    openid: str | None
    username: str | None
    token_version: int
    is_active: bool
    staff_roles: tuple[StaffGrant, ...]
    bindings: tuple[BindingRef, ...]

    def entity(self) -> User:
        """The ORM row, from the request's Session (for changes)."""
        return db.session.get(User, self.id)


_OwnerAlias = aliased(OwnerOfRecord)
_PRINCIPAL_ROWS = (
    select(User.id, User.name, User.phone, User.openid, User.username, User.token_version,
           User.is_active, RoomBinding.id.label("binding_id"), RoomBinding.room_id,
           RoomBinding.relation, RoomBinding.owner_id.label("binding_owner_id"),
           Room.community_id, Community.name.label("community_name"),
           Building.name.label("building_name"), Unit.name.label("unit_name"), Room.number,
           Room.area_m2, Room.kind, Room.owner_id.label("room_owner_id"),
           _OwnerAlias.community_id.label("owner_community_id"),
           _OwnerAlias.name.label("owner_name"), _OwnerAlias.is_committee,
           StaffRole.id.label("grant_id"), StaffRole.community_id.label("grant_community_id"),
           StaffRole.role.label("grant_role"))
    .outerjoin(RoomBinding, RoomBinding.user_id == User.id)
    .outerjoin(Room, Room.id == RoomBinding.room_id)
    .outerjoin(Community, Community.id == Room.community_id)
    .outerjoin(Building, Building.id == Room.building_id)
    .outerjoin(Unit, Unit.id == Room.unit_id)
    .outerjoin(_OwnerAlias, _OwnerAlias.id == RoomBinding.owner_id)
    .outerjoin(StaffRole, StaffRole.user_id == User.id)
    .where(User.id == bindparam("uid"))
    .order_by(RoomBinding.id, StaffRole.id)
)  # one row per (binding, staff role) pair: few, as residents seldom hold staff roles


def load_principal(user_id) -> Principal | None:
    if not isinstance(user_id, int) or isinstance(user_id, bool) or not 0 < user_id <= MAX_ROW_ID:
        return None
    rows = fastread.fetch(_PRINCIPAL_ROWS, {"uid": user_id})
    if not rows:
        return None
    first = rows[0]
    bindings, grants = {}, {}
    for r in rows:
        if r.binding_id is not None and r.binding_id not in bindings:
            bindings[r.binding_id] = BindingRef(
                r.binding_id, r.room_id, r.relation, r.binding_owner_id,
                RoomRef(r.room_id, r.community_id, r.community_name, r.building_name,
                        r.unit_name, r.number, r.area_m2, r.kind, r.room_owner_id),
                OwnerRef(r.binding_owner_id, r.owner_community_id, r.owner_name,
                         bool(r.is_committee)) if r.binding_owner_id is not None else None)
        if r.grant_id is not None and r.grant_id not in grants:
            grants[r.grant_id] = StaffGrant(r.grant_community_id, r.grant_role)
    roles = tuple(grants[k] for k in sorted(grants))
    return Principal(first.id, first.name, first.phone, first.openid, first.username,
                     first.token_version, bool(first.is_active), roles,
                     tuple(bindings.values()))


_TOKENS: OrderedDict = OrderedDict()
_TOKENS_LOCK = threading.Lock()


def _token_claims(token: str) -> dict:
    """The token's verified claims. A verified signature is remembered (bounded, per
    process) with its signing time, so a token seen again skips the HMAC but is still
    checked for age on every use."""
    ttl = current_app.config["TOKEN_TTL_SECONDS"]
    key = (current_app.config["SECRET_KEY"], token)
    known = _TOKENS.get(key)
    if known is None:
        try:
            data, signed_at = _serializer().loads(token, max_age=ttl, return_timestamp=True)
        except SignatureExpired as exc:
            raise Unauthorized("登录已过期，请重新登录", code="token_expired") from exc
        except BadSignature as exc:
            raise Unauthorized("登录凭证无效，请重新登录", code="invalid_token") from exc
        if not isinstance(data, dict):
            raise Unauthorized("登录凭证无效，请重新登录", code="invalid_token")
        known = (data, signed_at.timestamp())
        with _TOKENS_LOCK:
            _TOKENS[key] = known
            if len(_TOKENS) > 4096:
                _TOKENS.popitem(last=False)
    data, signed_at = known
    if time.time() - signed_at > ttl:
        raise Unauthorized("登录已过期，请重新登录", code="token_expired")
    return data


def user_from_token(token: str) -> Principal:
    data = _token_claims(token)
    user = load_principal(data.get("uid"))
    if user is None or not user.is_active or user.token_version != data.get("v"):
        raise Unauthorized("登录凭证已失效，请重新登录", code="invalid_token")
    return user


def revoke_tokens(user: User) -> None:
    user.token_version += 1


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
