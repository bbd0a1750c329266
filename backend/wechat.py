"""The one adapter to WeChat (wechatpy is imported here and nowhere else).

Tests stand in for WeChat's servers at the HTTP boundary (``responses``) and build
callback traffic with the same wechatpy crypto this module uses.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import secrets
import struct
import time
from dataclasses import dataclass
from xml.parsers import expat

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


class PushCrypto:
    """Safe mode's AES-256-CBC, as WeChat (and wechatpy's ``WeChatCrypto``) define it:
    key = base64(EncodingAESKey + "="), IV = the key's first 16 bytes, plaintext =
    16 random bytes + 4-byte big-endian length + message + app id, PKCS#7 padded to
    32 bytes. Built once per configuration and process (``push_crypto``); the tests
    play WeChat with wechatpy's own crypto against it."""

    BLOCK = 32

    def __init__(self, token: str, encoding_aes_key: str, app_id: str):
        from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

        key = base64.b64decode(encoding_aes_key + "=")
        if len(key) != 32:
            raise ValueError("WECHAT_AES_KEY must be the 43-character EncodingAESKey")
        self.token = token
        self.app_id = app_id
        self._app_id = app_id.encode("utf-8")
        self._cipher = Cipher(algorithms.AES(key), modes.CBC(key[:16]))

    def decrypt(self, encrypt: str) -> str:
        """The message inside ``Encrypt`` (its msg_signature is checked by the caller)."""
        try:
            data = base64.b64decode(encrypt)
            decryptor = self._cipher.decryptor()
            plain = decryptor.update(data) + decryptor.finalize()
            padding = plain[-1]
            if not 1 <= padding <= self.BLOCK:
                raise ValueError("bad padding")
            content = plain[16:-padding]
            (length,) = _LENGTH.unpack_from(content)
            message, app_id = content[4:4 + length], content[4 + length:]
            text = message.decode("utf-8")
        except Exception as exc:  # noqa: BLE001 - padding, base64, UTF-8, length errors
            raise PushError(f"cannot decrypt: {exc}") from exc
        if len(message) != length or app_id != self._app_id:
            raise PushError("message for another app id")
        return text

    def encrypt(self, text: str) -> str:
        raw = text.encode("utf-8")
        # 16 random characters first, as WeChat's own samples (letters and digits)
        plain = b"".join((secrets.token_hex(8).encode("ascii"), _LENGTH.pack(len(raw)), raw,
                          self._app_id))
        padding = self.BLOCK - len(plain) % self.BLOCK
        plain += bytes((padding,)) * padding
        encryptor = self._cipher.encryptor()
        return base64.b64encode(encryptor.update(plain) + encryptor.finalize()).decode("ascii")

    def encrypt_reply(self, xml: str, nonce: str, timestamp: str) -> str:
        """The encrypted envelope of a passive reply (wechatpy's layout)."""
        encrypt = self.encrypt(xml)
        signature = push_signature(self.token, timestamp, nonce, encrypt)
        return (f"<xml>\n<Encrypt><![CDATA[{encrypt}]]></Encrypt>\n"
                f"<MsgSignature><![CDATA[{signature}]]></MsgSignature>\n"
                f"<TimeStamp>{timestamp}</TimeStamp>\n"
                f"<Nonce>{_cdata(nonce)}</Nonce>\n</xml>")


_LENGTH = struct.Struct(">I")
_CRYPTO: dict[tuple, PushCrypto] = {}


def push_crypto() -> PushCrypto | None:
    """The safe-mode crypto for the configured key (one per process and key), or None
    when no AES key is configured."""
    cfg = current_app.config
    aes_key = cfg.get("WECHAT_AES_KEY")
    if not aes_key:
        return None
    key = (cfg.get("WECHAT_TOKEN") or "", aes_key, cfg.get("WECHAT_APPID") or "")
    box = _CRYPTO.get(key)
    if box is None:
        box = PushCrypto(*key)
        if len(_CRYPTO) > 8:  # a handful of configurations per process (tests make many)
            _CRYPTO.clear()
        _CRYPTO[key] = box
    return box


# ----------------------------------------------------------------- message push (客服消息推送)
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


def push_signature(token: str, *parts: str) -> str:
    """SHA-1 of the sorted token, timestamp, nonce (and, in safe mode, Encrypt)."""
    return hashlib.sha1("".join(sorted([token, *parts])).encode("utf-8")).hexdigest()


def check_push_signature(signature: str, *parts: str) -> bool:
    """Constant-time comparison against the configured push token."""
    token = current_app.config.get("WECHAT_TOKEN") or ""
    if not token or not signature:
        return False
    expected = push_signature(token, *parts)
    return hmac.compare_digest(expected.encode("ascii"), signature.encode("ascii", "replace"))


class _Refused(Exception):
    pass


def _refuse_declarations(*_args) -> None:
    raise _Refused("DOCTYPE or entity declarations are not accepted")


def read_xml(xml: str | bytes) -> dict[str, str | None]:
    """The fields of a flat ``<xml>…</xml>`` document as WeChat sends them: each child
    of the root by tag, its text (CDATA included) stripped, None when empty; what is
    nested deeper is skipped. Parsed with expat directly (no tree, no xmltodict);
    a DOCTYPE, entity declaration, another root, a repeated field, or malformed XML
    raise PushError. Bytes must be UTF-8."""
    if isinstance(xml, bytes):
        try:
            xml = xml.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise PushError(f"not UTF-8: {exc}") from exc
    fields: dict[str, str | None] = {}
    depth = 0
    current: list[str] = []
    name = None
    root = None

    def start(tag, _attrs):
        nonlocal depth, name, root
        depth += 1
        if depth == 1:
            root = tag
        elif depth == 2:
            name = tag
            current.clear()

    def end(_tag):
        nonlocal depth, name
        if depth == 2:
            if name in fields:
                raise _Refused(f"repeated field {name}")
            fields[name] = "".join(current).strip() or None
            name = None
        depth -= 1

    def data(text):
        if depth == 2:
            current.append(text)

    parser = expat.ParserCreate()
    parser.StartDoctypeDeclHandler = _refuse_declarations
    parser.EntityDeclHandler = _refuse_declarations
    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.CharacterDataHandler = data
    try:
        parser.Parse(xml, True)
    except (expat.ExpatError, _Refused) as exc:
        raise PushError(f"bad XML: {exc}") from exc
    if root != "xml":
        raise PushError("the root element is not <xml>")
    return fields


def encrypted_part(xml: bytes) -> str:
    """The Encrypt field of a safe-mode envelope (for its msg_signature check)."""
    value = read_xml(xml).get("Encrypt")
    if not value:
        raise PushError("empty Encrypt")
    return value


def decrypt_push(encrypt: str) -> str:
    """Decrypt a safe-mode message (its msg_signature was checked by the caller)."""
    box = push_crypto()
    if box is None:
        raise PushError("safe mode is not configured (WECHAT_AES_KEY)")
    return box.decrypt(encrypt)


def encrypt_reply(xml: str, nonce: str, timestamp: str) -> str:
    return push_crypto().encrypt_reply(xml, nonce, timestamp)


def parse_push(xml: str | bytes) -> Push:
    """Read a (decrypted) push: the fields wechatpy's ``parse_message`` would give the
    product, without building its message objects."""
    fields = read_xml(xml)
    msg_type = (fields.get("MsgType") or "").lower()
    if not msg_type:
        raise PushError("no MsgType")
    openid = fields.get("FromUserName")
    if not openid:
        raise PushError("no FromUserName")
    try:
        created = int(fields.get("CreateTime") or 0)
        msg_id = int(fields.get("MsgId") or 0)
    except ValueError as exc:
        raise PushError(f"bad CreateTime or MsgId: {exc}") from exc
    if msg_type == "text":
        text = fields.get("Content")
    elif msg_type == "voice":
        text = fields.get("Recognition")
    else:
        text = None
    event = fields.get("Event")
    return Push(
        msg_type=msg_type,
        openid=openid,
        to_user=fields.get("ToUserName") or "",
        create_time=created,
        msg_id=str(msg_id) if msg_id else None,
        text=text,
        event=event.lower() if event and msg_type == "event" else None,
    )


def _cdata(text: str) -> str:
    # "]]>" cannot appear inside one CDATA section: split it over two
    return "<![CDATA[" + text.replace("]]>", "]]]]><![CDATA[>") + "]]>"


def text_reply_xml(push: Push, text: str, create_time: int | None = None) -> str:
    """A passive text reply to ``push`` (the answer inside the push's response), laid
    out as wechatpy's ``TextReply`` renders it."""
    created = int(time.time()) if create_time is None else create_time
    return (f"<xml>\n<ToUserName>{_cdata(push.openid)}</ToUserName>\n"
            f"<FromUserName>{_cdata(push.to_user)}</FromUserName>\n"
            f"<CreateTime>{created}</CreateTime>\n"
            f"<MsgType><![CDATA[text]]></MsgType>\n"
            f"<Content>{_cdata(text)}</Content>\n</xml>")
