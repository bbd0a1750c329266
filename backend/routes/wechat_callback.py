"""WeChat message push (消息推送) at /wechat/callback.

GET verifies the server (echoes ``echostr``). POST receives a resident's message, in
plain or AES safe mode (wechatpy's crypto and parser, backend/wechat.py):

1. the signature is checked in constant time, the timestamp must be within
   WECHAT_TIMESTAMP_WINDOW seconds and its nonce never seen before — all before the
   body is read. Redis ``SET NX`` holds the nonce; with Redis down or absent the
   ``wechat_nonce`` table is checked then, and the nonce recorded in the same
   transaction as the message (its primary key refuses a concurrent copy);
2. the body is capped (WECHAT_MAX_PUSH_BYTES) before any parsing, and XML with a
   DOCTYPE or entity declaration is refused (400) before it reaches the parser, in
   the envelope and inside it;
3. the message is handled once per MsgId (a unique key: a retry writes nothing and
   gets the first reply again);
4. the message, the bot's reply and the conversation are written in the request, in
   one transaction, and the answer goes back as the passive reply (or, with
   WECHAT_PASSIVE_REPLY off, as it must for a real mini-program: ``success``, and
   the reply follows as a customer-service message through the outbox, recorded in
   the same transaction). While a desk member holds the conversation the push gets
   ``success`` (their replies go out as customer-service messages).

Deadline. WeChat waits 5 s for the answer, then retries (three times), and the
MsgId guard makes a retry safe. So the push's database work is bounded, not waited
for: every transaction the request begins (the nonce check, the message, a nonce
recorded alone) is over within WECHAT_REPLY_BUDGET_SECONDS (B, default 3.5 s) of the
request reaching this module, leaving the rest of the 5 s to the network and the web
server.
``db_setup.set_deadline`` does it with S = min(0.5 s, B/4): no statement starts after
B − 2S; on PostgreSQL each statement, its lock waits and the COMMIT are cut at S
(``SET LOCAL statement_timeout``, ``lock_timeout``); on SQLite lock waits (the busy
timeout) and execution (a progress handler) stop at B − S. Jobs the push records go
to Redis only after the response is sent, and the nonce guard's Redis calls time out
at 0.25 s, so Redis cannot hold the answer up either.

When a bound is hit, or anything else fails, the transaction is rolled back, so
nothing of the push is kept (nor its nonce: a Redis nonce is released), and the
answer is 503: WeChat takes it as no answer and retries, and the retry is recorded
once the database has time again. Nothing is acknowledged before it is committed,
and no work is left in a thread to be lost with the process.
"""
from __future__ import annotations

import logging
import re
import time

from flask import Blueprint, Response, current_app, request

from backend import wechat
from backend.db_setup import is_timeout, set_deadline
from backend.errors import AppError, Forbidden, TooLarge, ValidationFailed
from backend.extensions import db
from backend.jobs.queue import dispatch_after_response
from backend.services import chat as chat_service

log = logging.getLogger(__name__)

bp = Blueprint("wechat_callback", __name__)

_ENTITIES = re.compile(rb"<!\s*(doctype|entity)", re.IGNORECASE)
MAX_STATEMENT_SECONDS = 0.5
UNREADABLE_LABELS = {"image": "[图片]", "voice": "[语音]", "video": "[视频]", "shortvideo": "[视频]",
                     "location": "[位置]", "link": "[链接]", "miniprogrampage": "[小程序卡片]"}


@bp.route("/wechat/callback", methods=["GET"])
def verify_server():
    """WeChat's server check: echo ``echostr`` when the signature is ours."""
    nonce_key, pending = _check_request()
    if pending:
        _record_nonce(nonce_key)
    return Response(request.args.get("echostr", ""), mimetype="text/plain")


@bp.route("/wechat/callback", methods=["POST"])
def receive_push():
    nonce_key, pending = _check_request()
    try:
        push = _read_push()
    except AppError:
        if pending:
            _record_nonce(nonce_key)  # a refused request is not replayed either
        raise
    if push.msg_type != "text" and push.msg_type not in UNREADABLE_LABELS:
        if pending:
            _record_nonce(nonce_key)
        return _success()  # events (entering the chat, subscribing): nothing to answer
    passive = current_app.config["WECHAT_PASSIVE_REPLY"]
    dispatch_after_response()  # its jobs (a reply, a hand-off) reach Redis after the answer
    try:
        text = chat_service.receive_wechat_message(
            **_message_fields(push), passive=passive, nonce=nonce_key if pending else None)
        db.session.flush()
    except chat_service.NonceReplayed:
        db.session.rollback()
        raise _replayed() from None
    except Exception as exc:
        db.session.rollback()
        if not pending:
            chat_service.release_nonce(nonce_key)
        if is_timeout(exc):
            log.warning("push %s not recorded in time (%s): WeChat retries", push.dedupe_key, exc)
        else:
            log.exception("push %s not recorded: WeChat retries", push.dedupe_key)
        raise AppError("服务暂时不可用", code="unavailable", status=503) from exc
    if text is None:
        return _success()
    xml = wechat.text_reply_xml(push, text)
    if _safe_mode():
        xml = wechat.encrypt_reply(xml, request.args["nonce"], request.args["timestamp"])
    return Response(xml, mimetype="application/xml")


def _check_request() -> tuple[str, bool]:
    """Signature, timestamp window, nonce replay; then every database transaction
    of the request is bounded (see the module's docstring). Returns the nonce's
    "timestamp:nonce" key and whether it is still to be recorded in the database
    (with the request's writes: Redis, when up, holds it already)."""
    started = time.monotonic()
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
    budget = current_app.config["WECHAT_REPLY_BUDGET_SECONDS"]
    set_deadline(db.session, started + budget, min(MAX_STATEMENT_SECONDS, budget / 4))
    key = f"{timestamp}:{nonce}"
    try:
        state = chat_service.check_nonce(key, ttl=2 * window)
    except Exception as exc:
        db.session.rollback()
        log.warning("nonce %s not checked (%s): WeChat retries", key, exc)
        raise AppError("服务暂时不可用", code="unavailable", status=503) from exc
    if state == chat_service.NONCE_REPLAYED:
        raise _replayed()
    return key, state == chat_service.NONCE_PENDING


def _replayed() -> Forbidden:
    return Forbidden("重复的请求", code="replayed_nonce")


def _record_nonce(key: str) -> None:
    """Record a database-guarded nonce on its own (a request with nothing else to
    write: the server check, an event, a refused push). Out of time it is not: such
    a request changes nothing, so neither would its replay."""
    try:
        first = chat_service.claim_nonce(key)
        db.session.flush()
    except Exception as exc:  # noqa: BLE001 - see above
        db.session.rollback()
        log.warning("nonce %s not recorded: %s", key, exc)
        return
    if not first:
        raise _replayed()


def _safe_mode() -> bool:
    return request.args.get("encrypt_type", "raw").lower() == "aes"


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
    # xmltodict refuses entity declarations too; this answers early and plainly
    if _ENTITIES.search(xml):
        raise ValidationFailed("不接受带 DOCTYPE 或实体声明的 XML", code="xml_entities_refused")


def _read_push() -> wechat.Push:
    body = _read_body()
    args = request.args
    try:
        if _safe_mode():
            encrypt = wechat.encrypted_part(body)
            if not wechat.check_push_signature(args.get("msg_signature", ""), args["timestamp"],
                                               args["nonce"], encrypt):
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
