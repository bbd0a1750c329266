"""WeChat message push (消息推送) at /wechat/callback.

GET verifies the server (echoes ``echostr``). POST receives a resident's message, in
plain or AES safe mode (wechatpy's crypto and parser, backend/wechat.py); once
WECHAT_AES_KEY is set, only in safe mode (``encrypt_type=aes`` and a valid
``msg_signature``; a push in clear is 403):

1. the signature is checked in constant time and the timestamp must be within
   WECHAT_TIMESTAMP_WINDOW seconds; the body is read, capped at
   WECHAT_MAX_PUSH_BYTES (413 beyond, without reading it);
2. the replay guard (services/chat/nonces.py) holds the "timestamp:nonce" with a
   digest of the request: the same nonce again with the same request is WeChat's
   retry and is handled again (the MsgId answers it), with another request it is
   refused (403). Every request's nonce is held, refused and event pushes and the
   GET server check included: in Redis, or else in the ``wechat_nonce`` table
   through a short transaction of its own, committed at once whatever the request
   does next (a GET never writes through the request's session, and a refused
   push's transaction is rolled back). In production with REDIS_URL, a Redis that
   does not answer makes the push 503 (no database fallback; WeChat retries);
3. XML with a DOCTYPE or entity declaration is refused (400) before it reaches the
   parser, in the envelope and inside it;
4. the message goes the app chat's way (``services.chat.receive_wechat_message``:
   the resident behind the openid, then ``record_resident_message``), once per
   MsgId (a unique key: a retry writes nothing and gets the first reply again), in
   the request's transaction; the answer goes back as the passive reply (or, with
   WECHAT_PASSIVE_REPLY off, as it must for a real mini-program: ``success``, and
   the reply follows as a customer-service message through the outbox). While a
   desk member holds the conversation the push gets ``success``.

Deadline. WeChat waits 5 s for the answer, then retries (three times), and the
MsgId makes a retry safe. So the push's database work is bounded, not waited for:
every transaction the request begins (the nonce's, the message's) is over within
WECHAT_REPLY_BUDGET_SECONDS (B, default 3.5 s) of the request reaching this module,
leaving the rest of the 5 s to the network and the web server.
``db_setup.set_deadline`` does it with S = min(0.5 s, B/4): no statement starts after
B − 2S; on PostgreSQL each statement, its lock waits and the COMMIT are cut at S
(``SET LOCAL statement_timeout``, ``lock_timeout``); on SQLite lock waits (the busy
timeout) and execution (a progress handler) stop at B − S. Jobs the push records go
to Redis only after the response is sent, and the nonce guard's Redis calls are cut
by the client's short timeouts (outside production a Redis that failed is then
skipped for a while), so Redis cannot hold the answer up either.

When a bound is hit, or anything else fails, in the view (its writes are flushed
there) or at the request's COMMIT (``App.dispatch_request``, after the view), the
transaction is rolled back and the answer is 503: WeChat takes it as no answer and
retries, and the retry, same nonce or new, is recorded once the database has time
again. Nothing is acknowledged before it is committed, and no work is left in a
thread to be lost with the process.
"""
from __future__ import annotations

import logging
import re
import time

from flask import Blueprint, Response, current_app, request
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session
from werkzeug.exceptions import RequestEntityTooLarge

from backend import wechat
from backend.db_setup import DeadlineExceeded, is_timeout, set_deadline
from backend.errors import AppError, Forbidden, TooLarge, ValidationFailed, error_response
from backend.extensions import db
from backend.jobs.queue import dispatch_after_response
from backend.services import chat as chat_service
from backend.services.chat import nonces

log = logging.getLogger(__name__)

bp = Blueprint("wechat_callback", __name__)

_ENTITIES = re.compile(rb"<!\s*(doctype|entity)", re.IGNORECASE)
MAX_STATEMENT_SECONDS = 0.5
UNREADABLE_LABELS = {"image": "[图片]", "voice": "[语音]", "video": "[视频]", "shortvideo": "[视频]",
                     "location": "[位置]", "link": "[链接]", "miniprogrampage": "[小程序卡片]"}


@bp.route("/wechat/callback", methods=["GET"])
def verify_server():
    """WeChat's server check: echo ``echostr`` when the signature is ours."""
    _check_request()
    return Response(request.args.get("echostr", ""), mimetype="text/plain")


@bp.route("/wechat/callback", methods=["POST"])
def receive_push():
    _check_request()
    if current_app.config.get("WECHAT_AES_KEY") and not _safe_mode():
        # configured for safe mode: a push in clear is not WeChat's (and would be
        # answered in clear)
        raise Forbidden("仅接受安全模式（加密）的消息", code="encryption_required")
    push = _read_push()
    if push.msg_type != "text" and push.msg_type not in UNREADABLE_LABELS:
        return _success()  # events (entering the chat, subscribing): nothing to answer
    passive = current_app.config["WECHAT_PASSIVE_REPLY"]
    dispatch_after_response()  # its jobs (a reply, a hand-off) reach Redis after the answer
    try:
        text = chat_service.receive_wechat_message(**_message_fields(push), passive=passive)
        db.session.flush()  # every write now, so that a failure is answered here
    except Exception as exc:
        _log_unrecorded(push.dedupe_key, exc)
        raise _unavailable() from exc
    if text is None:
        return _success()
    xml = wechat.text_reply_xml(push, text)
    if _safe_mode():
        xml = wechat.encrypt_reply(xml, request.args["nonce"], request.args["timestamp"])
    return Response(xml, mimetype="application/xml")


@bp.errorhandler(SQLAlchemyError)
@bp.errorhandler(DeadlineExceeded)
def _not_committed(exc):
    """The request's COMMIT (after the view) failed or ran out of time: rolled back
    already, so 503 and WeChat retries."""
    _log_unrecorded(request.args.get("nonce", ""), exc)
    return error_response(503, "unavailable", "服务暂时不可用")


def _log_unrecorded(what: str, exc: BaseException) -> None:
    if is_timeout(exc):
        log.warning("push %s not recorded in time (%s): WeChat retries", what, exc)
    else:
        log.error("push %s not recorded: WeChat retries", what, exc_info=exc)


def _unavailable() -> AppError:
    return AppError("服务暂时不可用", code="unavailable", status=503)


def _check_request() -> None:
    """Signature and timestamp window; then every database transaction of the request
    is bounded (see the module's docstring) and the nonce goes through the replay
    guard with the request's digest."""
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
    end, seconds = started + budget, min(MAX_STATEMENT_SECONDS, budget / 4)
    set_deadline(db.session, end, seconds)
    key = f"{timestamp}:{nonce}"
    body = _raw_body()
    digest = nonces.request_digest(request.method, args.items(multi=True),
                                   body if body is not None else b"\0too large")
    try:
        verdict = nonces.check_in_redis(key, digest, ttl=2 * window)
        if verdict is None:
            verdict = _check_nonce_in_database(key, digest, end, seconds)
    except nonces.GuardUnavailable as exc:  # logged by the guard
        raise _unavailable() from exc
    except Exception as exc:
        log.warning("nonce %s not checked (%s): WeChat retries", key, exc)
        raise _unavailable() from exc
    if verdict == nonces.REPLAY:
        raise Forbidden("重复的请求", code="replayed_nonce")


def _check_nonce_in_database(key: str, digest: str, end: float, seconds: float) -> str:
    """The database guard in a short transaction of its own, bounded like the
    request's and committed at once: the nonce stays held whatever the request does
    next (refused, an event, a GET, or a push that fails: its retry has the same
    digest)."""
    with Session(db.engine) as session:
        set_deadline(session, end, seconds)
        with session.begin():
            return nonces.check_in_database(session, key, digest)


def _safe_mode() -> bool:
    return request.args.get("encrypt_type", "raw").lower() == "aes"


def _raw_body() -> bytes | None:
    """The request's body (read once), or None when it is over WECHAT_MAX_PUSH_BYTES
    (then it is not read at all)."""
    request.max_content_length = current_app.config["WECHAT_MAX_PUSH_BYTES"]
    try:
        return request.get_data(cache=True)
    except RequestEntityTooLarge:
        return None


def _read_body() -> bytes:
    body = _raw_body()
    if body is None:
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
