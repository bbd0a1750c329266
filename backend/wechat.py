"""The one adapter to WeChat (wechatpy is imported here and nowhere else).

Tests stand in for WeChat's servers at the HTTP boundary (``responses``) and build
callback traffic with the same wechatpy crypto this module uses.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass

from flask import current_app

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
    if cfg.get("REDIS_URL"):
        from redis import Redis
        from wechatpy.session.redisstorage import RedisStorage

        session = RedisStorage(
            Redis.from_url(cfg["REDIS_URL"], socket_connect_timeout=1, socket_timeout=2),
            prefix="wuye:wechatpy",
        )
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


# ----------------------------------------------------------------- message push crypto
def crypto():
    """WeChatCrypto for safe mode, or None when no AES key is configured."""
    cfg = current_app.config
    if not cfg.get("WECHAT_AES_KEY"):
        return None
    from wechatpy.crypto import WeChatCrypto

    return WeChatCrypto(cfg["WECHAT_TOKEN"], cfg["WECHAT_AES_KEY"], cfg["WECHAT_APPID"])
