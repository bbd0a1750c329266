"""Chat background work: desk replies to WeChat residents (and the bot's, with
WECHAT_PASSIVE_REPLY off) sent as customer-service messages (客服消息), the inactivity
release of held conversations, and purging old nonces of the WeChat push replay guard."""
from __future__ import annotations

import logging
from datetime import timedelta

from flask import current_app
from sqlalchemy import delete, func, select

from backend import wechat
from backend.extensions import db
from backend.jobs.registry import PermanentJobError, job, periodic
from backend.models import Conversation, Delivery, Message, Sender, User, WechatNonce, utcnow
from backend.services.chat import release_idle

log = logging.getLogger(__name__)

WINDOW = timedelta(hours=48)  # after the user's last message
MAX_REPLIES = 5  # per window


def _undelivered(msg: Message, reason: str) -> None:
    msg.delivery = Delivery.undelivered
    msg.delivery_error = reason[:200]
    db.session.commit()


@job("chat.send_wechat", queue="default", timeout=30, retries=3, intervals=(10, 60, 300))
def send_wechat(message_id: int) -> None:
    """Send one reply as a customer-service message, once. Outside WeChat's window
    (48 h since the resident's last message, at most 5 replies in it) the message is
    marked undelivered without calling WeChat; 45015/45047 from WeChat mean the same
    and are final. Network errors are retried with backoff."""
    msg = db.session.get(Message, message_id)
    if msg is None or msg.delivery != Delivery.pending:
        return  # sent, passive or given up already: running twice sends once
    conv = db.session.get(Conversation, msg.conversation_id)
    resident = db.session.get(User, conv.resident_id)
    if not resident.openid or not current_app.config.get("WECHAT_APPID"):
        _undelivered(msg, "no WeChat identity or WeChat not configured")
        raise PermanentJobError("cannot send: no openid or appid")
    last = resident.last_message_at
    if last is None or utcnow() - last > WINDOW:
        _undelivered(msg, "outside the 48-hour window")
        raise PermanentJobError("outside the customer-service window")
    sent = db.session.scalar(select(func.count()).select_from(Message).where(
        Message.conversation_id == conv.id, Message.delivery == Delivery.sent,
        Message.created_at >= last, Message.sender != Sender.resident))
    if sent >= MAX_REPLIES:
        _undelivered(msg, "reply limit reached in this window")
        raise PermanentJobError("reply limit reached")
    try:
        wechat.send_customer_service_text(resident.openid, msg.text)
    except wechat.WechatError as exc:
        if exc.permanent:
            _undelivered(msg, f"wechat {exc.errcode}: {exc.errmsg}")
            raise PermanentJobError(str(exc)) from exc
        raise  # transient: retried with backoff
    msg.delivery = Delivery.sent
    msg.delivery_error = None
    db.session.commit()


@periodic("chat.release_idle", every_seconds=60)
def release_idle_conversations() -> None:
    count = release_idle()
    db.session.commit()
    if count:
        log.info("released %d idle conversation(s) back to the bot", count)


@periodic("chat.purge_nonces", every_seconds=600)
def purge_nonces() -> None:
    """Forget the push replay guard's nonces once their timestamps are long stale."""
    window = current_app.config["WECHAT_TIMESTAMP_WINDOW"]
    db.session.execute(delete(WechatNonce).where(
        WechatNonce.seen_at < utcnow() - timedelta(seconds=2 * window)))
    db.session.commit()
