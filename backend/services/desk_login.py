"""Desk sign-in codes: a committee member (an owner who signs in with WeChat) or a
staff member gets a short one-time code in the mini-program and types it into the
desk console on a computer. Codes live 5 minutes, work once, and only their SHA-256
hash is stored."""
from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from sqlalchemy import delete, select, update

from backend.errors import Forbidden, Unauthorized
from backend.extensions import db
from backend.models import DeskLoginCode, User
from backend.timeutil import utcnow
from backend.services.permissions import committee_community_ids, staff_community_ids

# No 0/O, 1/I/L: easy to read off a phone and type on a keyboard.
ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
CODE_LENGTH = 8
CODE_TTL = timedelta(minutes=5)
# Spent and expired codes of a user are deleted when they ask for a new one after this.
KEEP_OLD_CODES = timedelta(days=7)
# Separators people type or paste: spaces, ASCII and full-width dashes.
_SEPARATORS = str.maketrans("", "", " \t\r\n\u3000-\u2010\u2011\u2012\u2013\u2014\u2212\uff0d_")

INVALID_MESSAGE = "登录码无效或已过期，请在小程序中重新获取"


def may_use_desk(user: User) -> bool:
    """Committee members and staff may sign in to the desk console."""
    return bool(committee_community_ids(user) or staff_community_ids(user))


def normalise(code: str) -> str:
    return code.translate(_SEPARATORS).upper()


def display(code: str) -> str:
    return f"{code[:4]}-{code[4:]}"


def _hash(code: str) -> str:
    return hashlib.sha256(code.encode("ascii")).hexdigest()


def issue_code(user: User) -> tuple[str, DeskLoginCode]:
    """A new code for ``user`` (shown as "K7M2-9QXP"); earlier unused codes stop working."""
    if not may_use_desk(user):
        raise Forbidden("只有业委会委员和物业员工可以登录物业工作台", code="desk_not_allowed")
    now = utcnow()
    db.session.execute(
        update(DeskLoginCode)
        .where(DeskLoginCode.user_id == user.id, DeskLoginCode.used_at.is_(None),
               DeskLoginCode.expires_at > now)
        .values(expires_at=now)
    )
    db.session.execute(
        delete(DeskLoginCode)
        .where(DeskLoginCode.user_id == user.id, DeskLoginCode.created_at < now - KEEP_OLD_CODES)
    )
    while True:
        code = "".join(secrets.choice(ALPHABET) for _ in range(CODE_LENGTH))
        digest = _hash(code)
        taken = db.session.scalar(select(DeskLoginCode.id).where(DeskLoginCode.code_hash == digest))
        if taken is None:
            break
    row = DeskLoginCode(user_id=user.id, code_hash=digest, created_at=now,
                        expires_at=now + CODE_TTL)
    db.session.add(row)
    db.session.flush()
    return display(code), row


def redeem_code(raw: str) -> User:
    """The user a code was issued to; the code is spent. Unknown, expired or already
    used codes (also a second use racing the first) are refused alike."""
    code = normalise(raw)
    invalid = Unauthorized(INVALID_MESSAGE, code="invalid_login_code")
    if len(code) != CODE_LENGTH or any(c not in ALPHABET for c in code):
        raise invalid
    digest = _hash(code)
    now = utcnow()
    # Conditional update: of two concurrent uses exactly one changes the row.
    result = db.session.execute(
        update(DeskLoginCode)
        .where(DeskLoginCode.code_hash == digest, DeskLoginCode.used_at.is_(None),
               DeskLoginCode.expires_at > now)
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        raise invalid
    user_id = db.session.scalar(select(DeskLoginCode.user_id).where(DeskLoginCode.code_hash == digest))
    user = db.session.get(User, user_id) if user_id is not None else None
    # The role may have ended (sold room, left the committee) since the code was issued.
    if user is None or not user.is_active or not may_use_desk(user):
        raise invalid
    return user
