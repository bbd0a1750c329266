"""The one adapter to WeChat (wechatpy is imported here and nowhere else).

Tests stand in for WeChat's servers at the HTTP boundary (``responses``) and build
callback traffic with the same wechatpy crypto this module uses.
"""
from __future__ import annotations

import hmac
import logging
from dataclasses import dataclass

from flask import current_app

from backend.extensions import redis_client

log = logging.getLogger(__name__)

# WeChat error codes the product reacts to.
ERR_SUBSCRIBE_REFUSED = 43101  # user refused / no acceptance left: stop, never retry
ERR_OUT_OF_WINDOW = 45015  # customer-service reply outside the 48 h window
ERR_REPLY_LIMIT = 45047  # too many customer-service replies
ERR_INVALID_CODE = 40029
ERR_CODE_USED = 40163
PERMANENT_ERRORS = {ERR_SUBSCRIBE_REFUSED, ERR_OUT_OF_WINDOW, ERR_REPLY_LIMIT, 40003, 40037}


class WechatError(Exception):
    def __init__(self, errcode: int | None, errmsg: str):
        super().__init__(f"{errcode}: {errmsg}")
        self.errcode = errcode
        self.errmsg = errmsg

    @property
    def permanent(self) -> bool:
        return self.errcode in PERMANENT_ERRORS


@dataclass(frozen=True)
class WxSession:
    openid: str
    unionid: str | None


def _client():
    from wechatpy import WeChatClient

    cfg = current_app.config
    session = None
    redis = redis_client()
    if redis is not None:
        from wechatpy.session.redisstorage import RedisStorage

        session = RedisStorage(redis, prefix="wuye:wechatpy")
    return WeChatClient(cfg["WECHAT_APPID"], cfg["WECHAT_SECRET"], session=session, timeout=5)


def _call(fn, *args, **kwargs):
    from requests.exceptions import RequestException
    from wechatpy.exceptions import WeChatClientException

    try:
        return fn(*args, **kwargs)
    except WeChatClientException as exc:
        raise WechatError(int(exc.errcode) if exc.errcode is not None else None, exc.errmsg) from exc
    except RequestException as exc:
        raise WechatError(None, f"network: {exc}") from exc


def code_to_session(code: str) -> WxSession:
    """wx.login code → openid via jscode2session (the app secret stays here)."""
    client = _client()
    data = _call(client.wxa.code_to_session, code)
    if not data.get("openid"):
        raise WechatError(data.get("errcode"), data.get("errmsg", "no openid"))
    return WxSession(openid=data["openid"], unionid=data.get("unionid"))


def send_subscribe_message(openid: str, template_id: str, data: dict[str, str],
                           page: str | None = None) -> dict:
    """订阅消息. ``thing.*`` values are cut to WeChat's 20-character limit."""
    payload = {key: {"value": _limit(key, str(value))} for key, value in data.items()}
    return _call(_client().wxa.send_subscribe_message, openid, template_id, payload, page)


def send_customer_service_text(openid: str, text: str) -> dict:
    """客服消息 (within 48 h of the user's last message, at most 5 replies)."""
    return _call(_client().message.send_text, openid, text)


LIMITS = {"thing": 20, "name": 10, "phrase": 5, "character_string": 32, "number": 32}


def _limit(key: str, value: str) -> str:
    kind = key.rstrip("0123456789")
    limit = LIMITS.get(kind)
    if limit and len(value) > limit:
        return value[: limit - 1] + "…"
    return value


# ----------------------------------------------------------------- message push (消息推送)
class PushError(Exception):
    """A push that cannot be read: bad encryption, bad XML, wrong app id."""


@dataclass(frozen=True)
class Push:
    """One message or event pushed by WeChat, as the product reads it."""

    msg_type: str  # text, image, voice, event, ...
    openid: str  # FromUserName
    to_user: str  # ToUserName (our account)
    create_time: int
    msg_id: str | None  # MsgId; events have none
    text: str | None  # text content, or the voice message's speech recognition
    event: str | None

    @property
    def dedupe_key(self) -> str:
        """MsgId, or FromUserName+CreateTime for events (WeChat's own advice)."""
        return self.msg_id or f"{self.openid}:{self.create_time}"


def check_push_signature(signature: str, *parts: str) -> bool:
    """The push's signature over the configured token, timestamp, nonce (and, in safe
    mode, Encrypt), as wechatpy's ``WeChatSigner`` computes it, compared in constant
    time (wechatpy's own checks compare with ``!=``)."""
    from wechatpy.utils import WeChatSigner

    token = current_app.config.get("WECHAT_TOKEN") or ""
    if not token or not signature:
        return False
    signer = WeChatSigner()
    signer.add_data(token, *parts)
    return hmac.compare_digest(signer.signature.encode("ascii"),
                               signature.encode("ascii", "replace"))


def _crypto():
    """wechatpy's ``WeChatCrypto`` for the app's safe-mode configuration and the
    ``PrpCrypto`` that holds its AES cipher, made once per app (None without
    WECHAT_AES_KEY)."""
    cfg = current_app.config
    if not cfg.get("WECHAT_AES_KEY"):
        return None
    pair = current_app.extensions.get("wechat_crypto")
    if pair is None:
        from wechatpy.crypto import PrpCrypto, WeChatCrypto

        crypto = WeChatCrypto(cfg["WECHAT_TOKEN"], cfg["WECHAT_AES_KEY"], cfg["WECHAT_APPID"])
        pair = current_app.extensions["wechat_crypto"] = (crypto, PrpCrypto(crypto.key))
    return pair


def encrypted_part(xml: bytes) -> str:
    """The Encrypt field of a safe-mode envelope (for its msg_signature check)."""
    import xmltodict

    try:
        value = xmltodict.parse(xml, disable_entities=True)["xml"]["Encrypt"]
    except Exception as exc:  # noqa: BLE001 - any malformed envelope is the sender's fault
        raise PushError(f"bad envelope: {exc}") from exc
    if not isinstance(value, str) or not value:
        raise PushError("empty Encrypt")
    return value


def decrypt_push(encrypt: str) -> str:
    """Decrypt a safe-mode message (its msg_signature was checked by the caller)."""
    from wechatpy.exceptions import InvalidAppIdException

    pair = _crypto()
    if pair is None:
        raise PushError("safe mode is not configured (WECHAT_AES_KEY)")
    crypto, prp = pair
    try:
        return prp.decrypt(encrypt, crypto.app_id)
    except InvalidAppIdException as exc:
        raise PushError("message for another app id") from exc
    except Exception as exc:  # noqa: BLE001 - padding, base64, UTF-8 errors
        raise PushError(f"cannot decrypt: {exc}") from exc


def encrypt_reply(xml: str, nonce: str, timestamp: str) -> str:
    """The safe-mode envelope of a passive reply (wechatpy encrypts and signs it)."""
    return _crypto()[0].encrypt_message(xml, nonce, timestamp)


def parse_push(xml: str | bytes) -> Push:
    """Read a (decrypted) push with wechatpy's ``parse_message``."""
    from wechatpy import parse_message

    try:
        message = parse_message(xml)
        text = message.recognition if message.type == "voice" else getattr(message, "content", None)
        push = Push(msg_type=message.type, openid=message.source, to_user=message.target or "",
                    create_time=message.time or 0,
                    msg_id=str(message.id) if message.id else None, text=text,
                    event=getattr(message, "event", None) or None)
    except Exception as exc:  # noqa: BLE001 - malformed XML, a field that is no number
        raise PushError(f"bad message: {exc}") from exc
    if not push.openid or not all(isinstance(v, str) for v in (push.openid, push.to_user,
                                                                   push.text or "")):
        raise PushError("no FromUserName, or a field holding elements instead of text")
    return push


def _in_cdata(text: str) -> str:
    # wechatpy puts each value in one CDATA section, which "]]>" would end early
    return text.replace("]]>", "]]]]><![CDATA[>")


def text_reply_xml(push: Push, text: str, create_time: int | None = None) -> str:
    """A passive text reply to ``push`` (the answer inside the push's response)."""
    from wechatpy.replies import TextReply

    fields = {} if create_time is None else {"time": create_time}
    return TextReply(source=_in_cdata(push.to_user), target=_in_cdata(push.openid),
                     content=_in_cdata(text), **fields).render()
