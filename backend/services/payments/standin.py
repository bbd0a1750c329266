"""Development stand-in for WeChat Pay's notifications: the payment notice the phone's
``wx.requestPayment`` would lead to, and the refund notice WeChat Pay sends once a
refund is through, for the browser mock. It signs the notice with
the stand-in's 'platform' key and encrypts the resource with its API v3 key exactly
as WeChat Pay v3 does, and hands it to the notify handler, which verifies it like
any other. Only while ``wechatpay.standin()`` (never in production)."""
from __future__ import annotations

import base64
import json
import secrets
import time

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from backend import wechatpay
from backend.models.payment import PaymentOrder, PaymentRefund
from backend.timeutil import local, utcnow


def signed_notice(order: PaymentOrder) -> tuple[dict, bytes]:
    """WeChat Pay's TRANSACTION.SUCCESS notice for the order, paid in full."""
    resource = {
        "mchid": wechatpay.mch_id(), "appid": wechatpay.app_id(),
        "out_trade_no": order.out_trade_no, "transaction_id": "42" + secrets.token_hex(13)[:26],
        "trade_type": "JSAPI", "trade_state": "SUCCESS", "trade_state_desc": "支付成功",
        "success_time": local(utcnow()).isoformat(timespec="seconds"),
        "payer": {"openid": order.payer.openid or ""},
        "amount": {"total": order.amount_fen, "payer_total": order.amount_fen,
                   "currency": "CNY", "payer_currency": "CNY"},
    }
    return _sealed(resource, "transaction", "TRANSACTION.SUCCESS", "支付成功")


def signed_refund_notice(order: PaymentOrder, refund: PaymentRefund) -> tuple[dict, bytes]:
    """WeChat Pay's REFUND.SUCCESS notice for one refund of the order."""
    fen = int(refund.amount * 100)
    resource = {
        "mchid": wechatpay.mch_id(), "out_trade_no": order.out_trade_no,
        "transaction_id": order.transaction_id or "", "out_refund_no": refund.out_refund_no,
        "refund_id": "50" + secrets.token_hex(14)[:28], "refund_status": "SUCCESS",
        "success_time": local(utcnow()).isoformat(timespec="seconds"),
        "amount": {"total": order.amount_fen, "refund": fen, "payer_total": order.amount_fen,
                   "payer_refund": fen},
    }
    return _sealed(resource, "refund", "REFUND.SUCCESS", "退款成功")


def _sealed(resource: dict, original_type: str, event_type: str,
            summary: str) -> tuple[dict, bytes]:
    keys = wechatpay._standin_keys()
    nonce = secrets.token_hex(6)
    sealed = AESGCM(keys["apiv3_key"].encode()).encrypt(
        nonce.encode(), json.dumps(resource, ensure_ascii=False).encode(), original_type.encode())
    body = json.dumps({
        "id": secrets.token_hex(16), "create_time": local(utcnow()).isoformat(timespec="seconds"),
        "resource_type": "encrypt-resource", "event_type": event_type, "summary": summary,
        "resource": {"original_type": original_type, "algorithm": "AEAD_AES_256_GCM",
                     "ciphertext": base64.b64encode(sealed).decode(),
                     "associated_data": original_type, "nonce": nonce},
    }, ensure_ascii=False).encode()
    timestamp, header_nonce = str(int(time.time())), secrets.token_hex(16)
    message = f"{timestamp}\n{header_nonce}\n{body.decode()}\n".encode()
    signature = keys["platform_private"].sign(message, padding.PKCS1v15(), hashes.SHA256())
    headers = {"Wechatpay-Signature": base64.b64encode(signature).decode(),
               "Wechatpay-Timestamp": timestamp, "Wechatpay-Nonce": header_nonce,
               "Wechatpay-Serial": keys["platform_key_id"],
               "Wechatpay-Signature-Type": "WECHATPAY2-SHA256-RSA2048"}
    return headers, body
