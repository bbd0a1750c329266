"""WeChat message push (消息推送) at /wechat/callback.

GET verifies the server (echoes ``echostr``). POST receives a resident's message, in
plain or AES safe mode, and answers within WeChat's 5-second deadline:

1. the signature is checked in constant time, the timestamp must be within
   WECHAT_TIMESTAMP_WINDOW seconds and its nonce never seen before — all before the
   body is read. Redis ``SET NX`` holds the nonce; with Redis down or absent the
   ``wechat_nonce`` table is checked then, and the nonce recorded in the same
   transaction as the message (its primary key refuses a concurrent copy);
2. the body is capped (WECHAT_MAX_PUSH_BYTES) before any parsing, and XML with a
   DOCTYPE or entity declaration is refused at once (400);
3. the message is handled once per MsgId (a unique key: retries get the first reply);
4. the message, the bot's reply and the conversation are written in the request,
   in one transaction whose lock waits are bounded by what is left of
   WECHAT_REPLY_BUDGET_SECONDS: the answer goes back as the passive reply. If a lock
   is not granted in time (or the budget is 0), the push gets ``success`` at once
   and a worker thread records it without that bound, the answer following as a
   customer-service message (jobs/chat.py). While a desk member holds the
   conversation the push gets ``success`` (their replies go out the same way). If
   recording fails, 503 and nothing is kept: WeChat retries (the MsgId guard keeps
   it to one).
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


def _verify_request() -> tuple[str, str, str]:
    """Signature, timestamp window, nonce replay: (timestamp, nonce, nonce state) if
    all pass; the state is ``chat_service.NONCE_PENDING`` when the nonce is to be
    recorded in the database with the request's writes."""
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
    state = chat_service.check_nonce(f"{timestamp}:{nonce}", ttl=2 * window)
    if state == chat_service.NONCE_REPLAYED:
        raise _replayed()
    return timestamp, nonce, state


def _replayed() -> Forbidden:
    return Forbidden("重复的请求", code="replayed_nonce")


def _record_nonce(key: str) -> None:
    """Record a database-guarded nonce on its own (a request with nothing else to
    write: the server check, an event, a refused push). A database too busy to take
    it within the reply budget is not waited for: such a request changes nothing, so
    neither would its replay."""
    try:
        with chat_service.bounded_lock_waits(max(_budget(), 1.0)):
            first = chat_service.claim_nonce(key)
        db.session.commit()
    except chat_service.LockWaitTimeout as exc:
        db.session.rollback()
        log.warning("nonce %s not recorded, database busy: %s", key, exc)
        return
    except Exception:
        db.session.rollback()
        raise
    if not first:
        raise _replayed()


def _budget() -> float:
    return float(current_app.config["WECHAT_REPLY_BUDGET_SECONDS"])


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
    timestamp, nonce, state = _verify_request()
    if state == chat_service.NONCE_PENDING:
        _record_nonce(f"{timestamp}:{nonce}")
    return Response(request.args.get("echostr", ""), mimetype="text/plain")


@bp.route("/wechat/callback", methods=["POST"])
def receive_push():
    started = time.monotonic()
    timestamp, nonce, nonce_state = _verify_request()
    nonce_key = f"{timestamp}:{nonce}" if nonce_state == chat_service.NONCE_PENDING else None
    try:
        push = _read_push(timestamp, nonce)
    except AppError:
        if nonce_key is not None:
            _record_nonce(nonce_key)  # a refused request is not replayed either
        raise
    if push.msg_type == "event" or (push.msg_type not in UNREADABLE_LABELS and push.msg_type != "text"):
        if nonce_key is not None:
            _record_nonce(nonce_key)
        return _success()  # events (entering the chat, subscribing): nothing to answer
    text = _answer(push, nonce_key, started + _budget() - time.monotonic())
    if text is None:
        return _success()
    xml = wechat.text_reply_xml(push, text)
    if request.args.get("encrypt_type", "raw").lower() == "aes":
        xml = wechat.encrypt_reply(xml, nonce, timestamp)
    return Response(xml, mimetype="application/xml")


def _read_push(timestamp: str, nonce: str) -> wechat.Push:
    body = _read_body()
    try:
        if request.args.get("encrypt_type", "raw").lower() == "aes":
            encrypt = wechat.encrypted_part(body)
            if not wechat.check_push_signature(request.args.get("msg_signature", ""),
                                               timestamp, nonce, encrypt):
                raise Forbidden("消息签名校验失败", code="bad_signature")
            inner = wechat.decrypt_push(encrypt).encode("utf-8")
            _refuse_entities(inner)
        else:
            inner = body
        return wechat.parse_push(inner)
    except wechat.PushError as exc:
        log.info("unreadable push: %s", exc)
        raise ValidationFailed("无法解析的消息", code="malformed_push") from exc


def _success() -> Response:
    return Response("success", mimetype="text/plain")


def _message_fields(push: wechat.Push) -> dict:
    readable = push.msg_type == "text" or bool(push.text)
    text = (push.text or "").strip()[:1000] or UNREADABLE_LABELS.get(push.msg_type, "[消息]")
    return dict(openid=push.openid, text=text, msg_id=push.dedupe_key, readable=readable)


def _answer(push: wechat.Push, nonce_key: str | None, seconds_left: float) -> str | None:
    """Record the push and the bot's reply in this request, waiting at most
    ``seconds_left`` for database locks: the passive reply's text (None: answer
    ``success``). Out of time, the work goes to a worker thread and the answer
    follows as a customer-service message."""
    if seconds_left > 0:
        try:
            with chat_service.bounded_lock_waits(seconds_left):
                text = chat_service.receive_wechat_message(**_message_fields(push),
                                                           nonce=nonce_key)
            db.session.commit()
            return text
        except chat_service.NonceReplayed:
            db.session.rollback()
            raise _replayed() from None
        except chat_service.LockWaitTimeout as exc:
            db.session.rollback()
            log.warning("push %s: database busy (%s); replying by customer-service message",
                        push.dedupe_key, exc)
        except Exception as exc:
            db.session.rollback()
            log.exception("handling push %s failed", push.dedupe_key)
            # nothing was recorded: let WeChat retry (the MsgId guard keeps it to one)
            raise AppError("服务暂时不可用", code="unavailable", status=503) from exc
    _pool().submit(_handle_late, current_app._get_current_object(), push, nonce_key)
    return None


def _handle_late(app, push: wechat.Push, nonce_key: str | None) -> None:
    """Record a push the request could not (in a worker thread with its own app
    context and session, without the request's time bound); the reply is sent as a
    customer-service message."""
    with app.app_context():
        try:
            if nonce_key is not None:
                # a concurrent copy that recorded the nonce first does not stop this
                # one: the MsgId's key still counts the message once
                chat_service.claim_nonce(nonce_key)
            chat_service.receive_wechat_message(**_message_fields(push), passive=False)
            db.session.commit()
        except Exception:  # noqa: BLE001 - a thread has no one to tell but the log
            db.session.rollback()
            log.exception("handling push %s failed", push.dedupe_key)
