"""Development stand-in for WeChat Pay's payment notification: what the phone's
``wx.requestPayment`` would lead to, for the browser mock. It signs the notice with
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
from backend.models.payment import PaymentOrder
from backend.timeutil import local, utcnow


def signed_notice(order: PaymentOrder) -> tuple[dict, bytes]:
    keys = wechatpay._standin_keys()
    resource = {
        "mchid": wechatpay.mch_id(), "appid": wechatpay.app_id(),
        "out_trade_no": order.out_trade_no, "transaction_id": "42" + secrets.token_hex(13)[:26],
        "trade_type": "JSAPI", "trade_state": "SUCCESS", "trade_state_desc": "支付成功",
        "success_time": local(utcnow()).isoformat(timespec="seconds"),
        "payer": {"openid": order.payer.openid or ""},
        "amount": {"total": order.amount_fen, "payer_total": order.amount_fen,
                   "currency": "CNY", "payer_currency": "CNY"},
    }
    nonce = secrets.token_hex(6)
    sealed = AESGCM(keys["apiv3_key"].encode()).encrypt(
        nonce.encode(), json.dumps(resource, ensure_ascii=False).encode(), b"transaction")
    body = json.dumps({
        "id": secrets.token_hex(16), "create_time": resource["success_time"],
        "resource_type": "encrypt-resource", "event_type": "TRANSACTION.SUCCESS",
        "summary": "支付成功",
        "resource": {"original_type": "transaction", "algorithm": "AEAD_AES_256_GCM",
                     "ciphertext": base64.b64encode(sealed).decode(),
                     "associated_data": "transaction", "nonce": nonce},
    }, ensure_ascii=False).encode()
    timestamp, header_nonce = str(int(time.time())), secrets.token_hex(16)
    message = f"{timestamp}\n{header_nonce}\n{body.decode()}\n".encode()
    signature = keys["platform_private"].sign(message, padding.PKCS1v15(), hashes.SHA256())
    headers = {"Wechatpay-Signature": base64.b64encode(signature).decode(),
               "Wechatpay-Timestamp": timestamp, "Wechatpay-Nonce": header_nonce,
               "Wechatpay-Serial": keys["platform_key_id"],
               "Wechatpay-Signature-Type": "WECHATPAY2-SHA256-RSA2048"}
    return headers, body
