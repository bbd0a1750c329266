"""WeChat Pay v3 stood in for at the HTTP boundary: a merchant key pair and a platform
key pair made here, api.mch.weixin.qq.com answered by ``responses`` with signed
answers, and notifications signed and encrypted as WeChat Pay v3 does
(Wechatpay-Signature over ``timestamp\\nnonce\\nbody\\n``, resource AES-256-GCM with
the API v3 key)."""
from __future__ import annotations

import base64
import json
import re
import secrets
import time
from pathlib import Path

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

GATEWAY = "https://api.mch.weixin.qq.com"
MCHID = "1900000109"
APPID = "wx0123456789abcdef"
PUBLIC_KEY_ID = "PUB_KEY_ID_0114232134912410000000000000"


def _pem_private(key) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def _pem_public(key) -> bytes:
    return key.public_key().public_bytes(serialization.Encoding.PEM,
                                         serialization.PublicFormat.SubjectPublicKeyInfo)


class WeChatPayStub:
    def __init__(self, folder: Path):
        self.merchant = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.platform = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.apiv3_key = secrets.token_hex(16)
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "apiclient_key.pem").write_bytes(_pem_private(self.merchant))
        (folder / "pub_key.pem").write_bytes(_pem_public(self.platform))
        self.folder = folder
        self.trades: dict[str, dict] = {}  # out_trade_no → what WeChat Pay knows
        self.refunds: dict[str, dict] = {}
        self.prepaid: list[dict] = []
        self.closed: list[str] = []

    def config(self) -> dict:
        return {"PAYMENT_ENABLED": True, "PAYMENT_DEV_STANDIN": False, "WECHATPAY_MCHID": MCHID,
                "WECHATPAY_SERIAL_NO": "5157F09EFDC096DE15EBE81A47057A72",
                "WECHATPAY_PRIVATE_KEY_PATH": str(self.folder / "apiclient_key.pem"),
                "WECHATPAY_APIV3_KEY": self.apiv3_key,
                "WECHATPAY_PUBLIC_KEY_PATH": str(self.folder / "pub_key.pem"),
                "WECHATPAY_PUBLIC_KEY_ID": PUBLIC_KEY_ID,
                "WECHATPAY_NOTIFY_URL": "https://wuye.example.com/api/v1/payments/notify",
                "WECHAT_APPID": APPID}

    # ------------------------------------------------------------- signing
    def sign(self, body: str, key=None) -> dict:
        timestamp, nonce = str(int(time.time())), secrets.token_hex(16)
        message = f"{timestamp}\n{nonce}\n{body}\n".encode()
        signature = (key or self.platform).sign(message, padding.PKCS1v15(), hashes.SHA256())
        return {"Wechatpay-Signature": base64.b64encode(signature).decode(),
                "Wechatpay-Timestamp": timestamp, "Wechatpay-Nonce": nonce,
                "Wechatpay-Serial": PUBLIC_KEY_ID,
                "Wechatpay-Signature-Type": "WECHATPAY2-SHA256-RSA2048"}

    def notification(self, resource: dict, event_type="TRANSACTION.SUCCESS", key=None,
                     original_type="transaction") -> tuple[dict, bytes]:
        nonce = secrets.token_hex(6)
        sealed = AESGCM(self.apiv3_key.encode()).encrypt(
            nonce.encode(), json.dumps(resource).encode(), original_type.encode())
        body = json.dumps({
            "id": secrets.token_hex(8), "create_time": "2026-12-03T16:00:00+08:00",
            "resource_type": "encrypt-resource", "event_type": event_type, "summary": "支付成功",
            "resource": {"original_type": original_type, "algorithm": "AEAD_AES_256_GCM",
                         "ciphertext": base64.b64encode(sealed).decode(),
                         "associated_data": original_type, "nonce": nonce}})
        headers = self.sign(body, key)
        headers["Content-Type"] = "application/json"
        return headers, body.encode()

    def transaction(self, out_trade_no: str, total: int, state="SUCCESS", **extra) -> dict:
        data = {"mchid": MCHID, "appid": APPID, "out_trade_no": out_trade_no,
                "transaction_id": "4200" + secrets.token_hex(12)[:24], "trade_type": "JSAPI",
                "trade_state": state, "payer": {"openid": "o-test"},
                "amount": {"total": total, "payer_total": total, "currency": "CNY"}}
        data.update(extra)
        return data

    # ------------------------------------------------------------- the HTTP stand-in
    def _answer(self, status: int, data: dict | None):
        body = json.dumps(data) if data is not None else ""
        headers = self.sign(body)
        return status, headers, body

    def install(self, mock) -> None:
        mock.add_callback("POST", f"{GATEWAY}/v3/pay/transactions/jsapi", callback=self._prepay,
                          content_type="application/json")
        mock.add_callback("GET", re.compile(rf"{GATEWAY}/v3/pay/transactions/out-trade-no/\w+\?mchid=\d+"),
                          callback=self._query, content_type="application/json")
        mock.add_callback("POST", re.compile(rf"{GATEWAY}/v3/pay/transactions/out-trade-no/\w+/close"),
                          callback=self._close, content_type="application/json")
        mock.add_callback("POST", f"{GATEWAY}/v3/refund/domestic/refunds", callback=self._refund,
                          content_type="application/json")

    def _prepay(self, request):
        data = json.loads(request.body)
        assert request.headers["Authorization"].startswith("WECHATPAY2-SHA256-RSA2048 ")
        self.prepaid.append(data)
        self.trades.setdefault(data["out_trade_no"], self.transaction(
            data["out_trade_no"], data["amount"]["total"], state="NOTPAY"))
        return self._answer(200, {"prepay_id": "wx2614" + secrets.token_hex(10)})

    def _query(self, request):
        number = request.path_url.split("/out-trade-no/")[1].split("?")[0]
        trade = self.trades.get(number)
        if trade is None:
            return self._answer(404, {"code": "ORDER_NOT_EXIST", "message": "订单不存在"})
        return self._answer(200, trade)

    def _close(self, request):
        number = request.path_url.split("/out-trade-no/")[1].split("/")[0]
        self.closed.append(number)
        if number in self.trades:
            self.trades[number]["trade_state"] = "CLOSED"
        return self._answer(204, None)

    def _refund(self, request):
        data = json.loads(request.body)
        answer = {"refund_id": "5030" + secrets.token_hex(10), "out_refund_no": data["out_refund_no"],
                  "out_trade_no": data["out_trade_no"], "status": "PROCESSING",
                  "amount": {"refund": data["amount"]["refund"], "total": data["amount"]["total"],
                             "currency": "CNY"}}
        self.refunds[data["out_refund_no"]] = answer
        return self._answer(200, answer)

    def pay(self, out_trade_no: str) -> dict:
        """The payer pays at WeChat: the trade is SUCCESS (no notification yet)."""
        trade = self.trades[out_trade_no]
        trade["trade_state"] = "SUCCESS"
        return trade
