"""WeChat message push (消息推送) at /wechat/callback.

GET verifies the server (echoes ``echostr``). POST receives a resident's message, in
plain or AES safe mode, and answers within WeChat's 5-second deadline:

1. the signature is checked in constant time, the timestamp must be within
   WECHAT_TIMESTAMP_WINDOW seconds and its nonce never seen before (Redis, or the
   database when Redis is down or absent) — all before the body is read;
2. the body is capped (WECHAT_MAX_PUSH_BYTES) before any parsing, and XML with a
   DOCTYPE or entity declaration is refused at once (400);
3. the message is handled once per MsgId (a unique key: retries get the first reply);
4. the bot's answer goes back as the passive reply if it is ready within
   WECHAT_REPLY_BUDGET_SECONDS; otherwise the push gets ``success`` and the answer
   follows as a customer-service message (jobs/chat.py). While a desk member holds
   the conversation the push gets ``success`` (their replies go out the same way).
"""
from __future__ import annotations

import logging
import re
import threading
import time
from concurrent.futures import ThreadPoolExecutor

from flask import Blueprint, Response, current_app, request

from backend import wechat
from backend.errors import AppError, Forbidden, TooLarge, ValidationFailed
from backend.extensions import db
from backend.models import Channel, Delivery
from backend.services import chat as chat_service

log = logging.getLogger(__name__)

bp = Blueprint("wechat_callback", __name__)

_ENTITIES = re.compile(rb"<!\s*(doctype|entity)", re.IGNORECASE)
_POOL: dict[str, ThreadPoolExecutor] = {}
_POOL_LOCK = threading.Lock()
UNREADABLE_LABELS = {"image": "[图片]", "voice": "[语音]", "video": "[视频]", "shortvideo": "[视频]",
                     "location": "[位置]", "link": "[链接]", "miniprogrampage": "[小程序卡片]"}


def _pool() -> ThreadPoolExecutor:
    # created lazily in each (forked) worker process, never at import
    with _POOL_LOCK:
        pool = _POOL.get("pool")
        if pool is None:
            pool = _POOL["pool"] = ThreadPoolExecutor(max_workers=8, thread_name_prefix="wx-push")
        return pool


def _verify_request() -> tuple[str, str]:
    """Signature, timestamp window, nonce replay: (timestamp, nonce) if all pass."""
    args = request.args
    timestamp, nonce = args.get("timestamp", ""), args.get("nonce", "")
    if not wechat.check_push_signature(args.get("signature", ""), timestamp, nonce):
        raise Forbidden("签名校验失败", code="bad_signature")
    try:
        sent_at = int(timestamp)
    except ValueError:
        raise Forbidden("时间戳无效", code="bad_timestamp") from None
    window = current_app.config["WECHAT_TIMESTAMP_WINDOW"]
    if abs(time.time() - sent_at) > window:
        raise Forbidden("请求已过期", code="stale_timestamp")
    if not nonce or len(nonce) > 64:
        raise Forbidden("nonce 无效", code="bad_nonce")
    first = chat_service.first_sight_of_nonce(f"{timestamp}:{nonce}", ttl=2 * window)
    db.session.commit()  # release the database before the message is handled
    if not first:
        raise Forbidden("重复的请求", code="replayed_nonce")
    return timestamp, nonce


def _read_body() -> bytes:
    cap = current_app.config["WECHAT_MAX_PUSH_BYTES"]
    if request.content_length is not None and request.content_length > cap:
        raise TooLarge("消息过大", code="push_too_large")
    body = request.stream.read(cap + 1)
    if len(body) > cap:
        raise TooLarge("消息过大", code="push_too_large")
    if not body.strip():
        raise ValidationFailed("消息为空", code="empty_push")
    _refuse_entities(body)
    return body


def _refuse_entities(xml: bytes) -> None:
    if _ENTITIES.search(xml):
        raise ValidationFailed("不接受带 DOCTYPE 或实体声明的 XML", code="xml_entities_refused")


@bp.route("/wechat/callback", methods=["GET"])
def verify_server():
    """WeChat's server check: echo ``echostr`` when the signature is ours."""
    _verify_request()
    return Response(request.args.get("echostr", ""), mimetype="text/plain")


@bp.route("/wechat/callback", methods=["POST"])
def receive_push():
    timestamp, nonce = _verify_request()
    body = _read_body()
    safe_mode = request.args.get("encrypt_type", "raw").lower() == "aes"
    try:
        if safe_mode:
            encrypt = wechat.encrypted_part(body)
            if not wechat.check_push_signature(request.args.get("msg_signature", ""),
                                               timestamp, nonce, encrypt):
                raise Forbidden("消息签名校验失败", code="bad_signature")
            inner = wechat.decrypt_push(encrypt).encode("utf-8")
            _refuse_entities(inner)
        else:
            inner = body
        push = wechat.parse_push(inner)
    except wechat.PushError as exc:
        log.info("unreadable push: %s", exc)
        raise ValidationFailed("无法解析的消息", code="malformed_push") from exc
    if push.msg_type == "event" or (push.msg_type not in UNREADABLE_LABELS and push.msg_type != "text"):
        return _success()  # events (entering the chat, subscribing): nothing to answer
    text = _reply_text(push)
    if text is None:
        return _success()
    xml = wechat.text_reply_xml(push, text)
    if safe_mode:
        xml = wechat.encrypt_reply(xml, nonce, timestamp)
    return Response(xml, mimetype="application/xml")


def _success() -> Response:
    return Response("success", mimetype="text/plain")


class _Slot:
    """The answer handed from the worker thread to the request, unless the request
    has stopped waiting (then the worker sends it as a customer-service message)."""

    def __init__(self, expired: bool = False):
        self.lock = threading.Lock()
        self.ready = threading.Event()
        self.expired = expired
        self.failed = False
        self.text: str | None = None

    def offer(self, text: str | None, failed: bool = False) -> bool:
        with self.lock:
            if self.expired or self.ready.is_set():
                return False
            self.text, self.failed = text, failed
            self.ready.set()
            return True

    def give_up(self) -> bool:
        """Stop waiting; False if the answer arrived meanwhile."""
        with self.lock:
            if self.ready.is_set():
                return False
            self.expired = True
            return True


def _reply_text(push: wechat.Push) -> str | None:
    app = current_app._get_current_object()
    budget = float(app.config["WECHAT_REPLY_BUDGET_SECONDS"])
    slot = _Slot(expired=budget <= 0)  # budget 0: always answer by customer-service message
    _pool().submit(_handle, app, push, slot)
    if budget <= 0:
        return None
    if not slot.ready.wait(budget) and slot.give_up():
        log.warning("push %s not answered within %.1fs: replying by customer-service message",
                    push.dedupe_key, budget)
        return None
    if slot.failed:
        # nothing was recorded: let WeChat retry (the MsgId guard keeps it to one)
        raise AppError("服务暂时不可用", code="unavailable", status=503)
    return slot.text


def _handle(app, push: wechat.Push, slot: _Slot) -> None:
    """Record the message and the bot's reply (in a worker thread with its own app
    context and database session, so the request can stop waiting at its deadline)."""
    try:
        with app.app_context():
            reply_id = None
            try:
                user = chat_service.resident_for_openid(push.openid)
                readable = push.msg_type == "text" or bool(push.text)
                text = (push.text or "").strip()[:1000] or UNREADABLE_LABELS.get(push.msg_type, "[消息]")
                exchange = chat_service.post_resident_message(
                    user, text, channel=Channel.wechat, wechat_msg_id=push.dedupe_key,
                    readable=readable)
                reply = exchange.reply
                answer = None
                if reply is not None and not exchange.duplicate:
                    reply_id = reply.id
                    answer = reply.text
                    chat_service.mark_reply_delivery(reply_id, passive=True)
                elif reply is not None and reply.delivery == Delivery.passive:
                    # a retry of an answered push repeats the passive reply; one whose
                    # answer went by customer-service message gets "success"
                    answer = reply.text
                db.session.commit()
            except Exception:
                db.session.rollback()
                raise
            if not slot.offer(answer) and reply_id is not None:
                # the request stopped waiting: send the answer by customer-service message
                chat_service.mark_reply_delivery(reply_id, passive=False)
                db.session.commit()
    except Exception:  # noqa: BLE001 - never leave WeChat without an answer
        log.exception("handling push %s failed", push.dedupe_key)
        slot.offer(None, failed=True)
