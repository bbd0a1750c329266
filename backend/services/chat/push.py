"""A message pushed by WeChat (消息推送): the resident behind the openid (made on
their first message), then the same path as the app's chat
(``record_resident_message``)."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from backend.extensions import db
from backend.models import Channel, Delivery, User
from backend.services.auth import load_user
from backend.services.chat.messages import record_resident_message


def resident_for_openid(openid: str) -> User:
    """The user behind a WeChat openid, made on their first message (its unique key
    decides between two first messages at once), loaded as a signed-in user is."""
    user_id = db.session.scalar(select(User.id).where(User.openid == openid))
    if user_id is None:
        user = User(openid=openid, name="")
        try:
            with db.session.begin_nested():
                db.session.add(user)
            user_id = user.id
        except IntegrityError:  # made a moment ago by a concurrent first message
            user_id = db.session.scalar(select(User.id).where(User.openid == openid))
    return load_user(user_id)


def receive_wechat_message(openid: str, text: str, *, msg_id: str, readable: bool = True,
                           passive: bool = True, now: datetime | None = None) -> str | None:
    """Record a pushed message and the bot's reply in the current transaction (the
    request commits). ``msg_id`` counts the push once: a retry records nothing and
    gets the first reply again if that went back passively. Returns the passive
    reply's text, or None: nothing to say in the push's response (a person holds
    the conversation, or the reply follows as a customer-service message)."""
    exchange = record_resident_message(
        resident_for_openid(openid), text, channel=Channel.wechat, wechat_msg_id=msg_id,
        readable=readable, passive=passive, now=now)
    reply = exchange.reply
    return reply.text if reply is not None and reply.delivery == Delivery.passive else None
