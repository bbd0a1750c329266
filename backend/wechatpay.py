"""The one adapter to WeChat Pay API v3 (the ``wechatpayv3`` SDK is imported here and
nowhere else), as backend/wechat.py is for wechatpy.

The SDK is configured with WeChat Pay's platform public key (公钥模式: the key and
its id from the merchant platform), so it never downloads platform certificates at
start-up; every response and notification is verified against that key. Amounts
cross this module in fen (int); callers keep Decimal yuan.

With ``PAYMENT_DEV_STANDIN`` (development only, refused in production) there is no
WeChat: prepay answers a local prepay id, a query answers NOTPAY, and the stand-in
(services/payments/standin.py) signs notifications with a key pair of its own kept
in the instance folder, which this module then verifies like WeChat's.
"""
from __future__ import annotations

import json
import logging
import secrets
import time
from dataclasses import dataclass
from pathlib import Path

from flask import current_app

log = logging.getLogger(__name__)

# Settings payment needs (README lists them).
REQUIRED = ("WECHATPAY_MCHID", "WECHATPAY_SERIAL_NO", "WECHATPAY_PRIVATE_KEY_PATH",
            "WECHATPAY_APIV3_KEY", "WECHATPAY_PUBLIC_KEY_PATH", "WECHATPAY_PUBLIC_KEY_ID",
            "WECHATPAY_NOTIFY_URL", "WECHAT_APPID")
TIMEOUT = (3, 10)  # connect, read (seconds)
STANDIN_DIR = "wechatpay-standin"


class PayError(Exception):
    """WeChat Pay answered an error, or could not be reached."""

    def __init__(self, message: str, code: str | None = None, status: int | None = None):
        super().__init__(message)
        self.code = code
        self.status = status


class NotificationRejected(Exception):
    """A notification that is not WeChat Pay's, or cannot be read."""


def settings_problems(config: dict) -> list[str]:
    """Why production must not start with this payment configuration (config.py)."""
    problems = []
    if config.get("PAYMENT_DEV_STANDIN"):
        problems.append("PAYMENT_DEV_STANDIN must be off in production")
    if config.get("PAYMENT_ENABLED"):
        missing = [name for name in REQUIRED if not config.get(name)]
        if missing:
            problems.append("PAYMENT_ENABLED needs " + ", ".join(missing))
        if config.get("WECHATPAY_APIV3_KEY") and len(config["WECHATPAY_APIV3_KEY"]) != 32:
            problems.append("WECHATPAY_APIV3_KEY must be the 32-character API v3 key")
        if config.get("WECHATPAY_NOTIFY_URL", "").startswith("http://"):
            problems.append("WECHATPAY_NOTIFY_URL must be https")
    return problems


def enabled() -> bool:
    """Whether the pay page is offered: real WeChat Pay, or the development stand-in."""
    cfg = current_app.config
    return bool(cfg.get("PAYMENT_ENABLED") or standin())


def standin() -> bool:
    cfg = current_app.config
    return bool(cfg.get("PAYMENT_DEV_STANDIN")) and cfg.get("APP_ENV") != "production" \
        and not cfg.get("PAYMENT_ENABLED")


def app_id() -> str:
    return current_app.config.get("WECHAT_APPID") or "wx-standin"


def mch_id() -> str:
    return current_app.config.get("WECHATPAY_MCHID") or ("1900000000" if standin() else "")


def apiv3_key() -> str:
    if standin():
        return _standin_keys()["apiv3_key"]
    return current_app.config["WECHATPAY_APIV3_KEY"]


def _read(path: str) -> str:
    return Path(path).read_text(encoding="utf-8")


def _standin_keys() -> dict:
    """The stand-in's merchant and 'platform' keys (made once per instance folder)."""
    keys = current_app.extensions.get("wechatpay_standin_keys")
    if keys is not None:
        return keys
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    folder = Path(current_app.config["INSTANCE_DIR"]) / STANDIN_DIR
    folder.mkdir(parents=True, exist_ok=True)
    paths = {name: folder / f"{name}.pem" for name in ("merchant", "platform")}
    for path in paths.values():
        if not path.exists():
            key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
            path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                               serialization.PrivateFormat.PKCS8,
                                               serialization.NoEncryption()))
            path.chmod(0o600)
    v3 = folder / "apiv3.key"
    if not v3.exists():
        v3.write_text(secrets.token_hex(16))
        v3.chmod(0o600)
    platform = serialization.load_pem_private_key(paths["platform"].read_bytes(), None)
    keys = {
        "merchant_private": paths["merchant"].read_text(),
        "platform_private": platform,
        "platform_public": platform.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode(),
        "platform_key_id": "PUB_KEY_ID_STANDIN",
        "apiv3_key": v3.read_text().strip(),
    }
    current_app.extensions["wechatpay_standin_keys"] = keys
    return keys


def _client():
    client = current_app.extensions.get("wechatpay_client")
    if client is not None:
        return client
    from wechatpayv3 import WeChatPay, WeChatPayType

    cfg = current_app.config
    if standin():
        keys = _standin_keys()
        private, public, key_id = keys["merchant_private"], keys["platform_public"], keys["platform_key_id"]
        serial, notify = "STANDIN", cfg.get("WECHATPAY_NOTIFY_URL") or "https://localhost/notify"
    else:
        missing = [name for name in REQUIRED if not cfg.get(name)]
        if missing or not cfg.get("PAYMENT_ENABLED"):
            raise PayError("payment is not configured: " + ", ".join(missing), code="not_configured")
        private, public = _read(cfg["WECHATPAY_PRIVATE_KEY_PATH"]), _read(cfg["WECHATPAY_PUBLIC_KEY_PATH"])
        key_id, serial, notify = (cfg["WECHATPAY_PUBLIC_KEY_ID"], cfg["WECHATPAY_SERIAL_NO"],
                                  cfg["WECHATPAY_NOTIFY_URL"])
    client = WeChatPay(wechatpay_type=WeChatPayType.MINIPROG, mchid=mch_id(), private_key=private,
                       cert_serial_no=serial, appid=app_id(), apiv3_key=apiv3_key(),
                       notify_url=notify, logger=log, timeout=TIMEOUT,
                       public_key=public, public_key_id=key_id)
    current_app.extensions["wechatpay_client"] = client
    return client


def _call(fn, *args, ok=(200, 204), **kwargs) -> dict:
    """Run an SDK call: (status, text) → the JSON answer, or PayError."""
    from requests.exceptions import RequestException

    try:
        status, text = fn(*args, **kwargs)
    except RequestException as exc:
        raise PayError(f"network: {exc}", code="network") from exc
    except PayError:
        raise
    except Exception as exc:  # noqa: BLE001 - the SDK raises bare Exception (bad signature)
        raise PayError(f"wechatpay: {exc}", code="sdk") from exc
    try:
        data = json.loads(text) if text else {}
    except (TypeError, ValueError):
        data = {}
    if status not in ok:
        raise PayError(data.get("message") or f"HTTP {status}", code=data.get("code"), status=status)
    return data


# ----------------------------------------------------------------- orders
def jsapi_prepay(out_trade_no: str, description: str, total_fen: int, openid: str,
                 time_expire: str) -> str:
    """统一下单 (JSAPI / mini-program) → prepay_id."""
    if standin():
        return f"standin_{out_trade_no}"
    data = _call(_client().pay, description=description[:127], out_trade_no=out_trade_no,
                 amount={"total": total_fen, "currency": "CNY"}, payer={"openid": openid},
                 time_expire=time_expire)
    if not data.get("prepay_id"):
        raise PayError("no prepay_id", code="no_prepay_id")
    return data["prepay_id"]


def request_payment_params(prepay_id: str) -> dict:
    """What ``wx.requestPayment`` takes, signed with the merchant key (RSA)."""
    timestamp, nonce = str(int(time.time())), secrets.token_hex(16)
    package = f"prepay_id={prepay_id}"
    sign = _client().sign([app_id(), timestamp, nonce, package])
    return {"appId": app_id(), "timeStamp": timestamp, "nonceStr": nonce, "package": package,
            "signType": "RSA", "paySign": sign}


@dataclass(frozen=True)
class Transaction:
    """An order as WeChat Pay reports it (query or notification resource)."""

    out_trade_no: str
    trade_state: str  # SUCCESS, NOTPAY, CLOSED, USERPAYING, PAYERROR, REFUND, REVOKED
    total_fen: int | None
    transaction_id: str | None
    mchid: str
    appid: str

    @classmethod
    def of(cls, data: dict) -> Transaction:
        amount = data.get("amount") or {}
        total = amount.get("total")
        return cls(out_trade_no=str(data.get("out_trade_no") or ""),
                   trade_state=str(data.get("trade_state") or ""),
                   total_fen=total if isinstance(total, int) else None,
                   transaction_id=data.get("transaction_id") or None,
                   mchid=str(data.get("mchid") or ""), appid=str(data.get("appid") or ""))


def query(out_trade_no: str) -> Transaction:
    """查询订单 by our order number."""
    if standin():
        return Transaction(out_trade_no, "NOTPAY", None, None, mch_id(), app_id())
    return Transaction.of(_call(_client().query, out_trade_no=out_trade_no))


def close(out_trade_no: str) -> None:
    """关闭订单 (204 No Content)."""
    if standin():
        return
    _call(_client().close, out_trade_no=out_trade_no)


# ----------------------------------------------------------------- refunds
@dataclass(frozen=True)
class Refund:
    out_refund_no: str
    out_trade_no: str
    status: str  # SUCCESS, CLOSED, PROCESSING, ABNORMAL
    refund_fen: int | None
    refund_id: str | None

    @classmethod
    def of(cls, data: dict) -> Refund:
        amount = data.get("amount") or {}
        value = amount.get("refund")
        return cls(out_refund_no=str(data.get("out_refund_no") or ""),
                   out_trade_no=str(data.get("out_trade_no") or ""),
                   status=str(data.get("status") or data.get("refund_status") or ""),
                   refund_fen=value if isinstance(value, int) else None,
                   refund_id=data.get("refund_id") or None)


def refund(out_trade_no: str, out_refund_no: str, refund_fen: int, total_fen: int,
           reason: str) -> Refund:
    """申请退款; its outcome comes by notification (or ``query_refund``)."""
    if standin():
        return Refund(out_refund_no, out_trade_no, "PROCESSING", refund_fen, None)
    return Refund.of(_call(_client().refund, out_refund_no=out_refund_no, out_trade_no=out_trade_no,
                           amount={"refund": refund_fen, "total": total_fen, "currency": "CNY"},
                           reason=reason or None))


def query_refund(out_refund_no: str) -> Refund:
    if standin():
        return Refund(out_refund_no, "", "PROCESSING", None, None)
    return Refund.of(_call(_client().query_refund, out_refund_no=out_refund_no))


# ----------------------------------------------------------------- notifications
@dataclass(frozen=True)
class Notification:
    id: str
    event_type: str  # TRANSACTION.SUCCESS, REFUND.SUCCESS, REFUND.ABNORMAL, REFUND.CLOSED
    resource: dict


NOTIFY_HEADERS = ("Wechatpay-Signature", "Wechatpay-Timestamp", "Wechatpay-Nonce",
                  "Wechatpay-Serial", "Wechatpay-Signature-Type")


def parse_notification(headers, body: bytes) -> Notification:
    """Verify the notification's signature with the platform public key and decrypt
    its AES-256-GCM resource with the API v3 key (the SDK's ``callback``)."""
    wanted = {name: headers.get(name, "") for name in NOTIFY_HEADERS}
    if not wanted["Wechatpay-Signature"]:
        raise NotificationRejected("no Wechatpay-Signature")
    try:
        text = body.decode("utf-8")
        data = _client().callback(wanted, text)
    except PayError:
        raise
    except Exception as exc:  # noqa: BLE001 - bad UTF-8, JSON, algorithm
        raise NotificationRejected(f"unreadable: {exc}") from exc
    if not data:
        raise NotificationRejected("bad signature or resource")
    resource = data.get("resource")
    if not isinstance(resource, dict):
        raise NotificationRejected("resource is not an object")
    return Notification(id=str(data.get("id") or ""), event_type=str(data.get("event_type") or ""),
                        resource=resource)
