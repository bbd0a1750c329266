"""The electronic receipt of a paid order as a PDF (#16 item 4): it lists the order's
bills, total and refunds as the receipt page's API gives them; 409 while unpaid;
404 for someone who may not see the order."""
from __future__ import annotations

import io
import re

from pypdf import PdfReader
from sqlalchemy import select

from backend.extensions import db
from tests.test_payments import (  # noqa: F401 (fixtures: WeChat Pay stood in for, bills of 1-1-101)
    app,
    bills,
    make_order,
    paid_order,
    post_notice,
    refund_notice,
    stub,
    wxpay,
)


def _text(response) -> str:
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    assert response.mimetype == "application/pdf"
    pages = PdfReader(io.BytesIO(response.data)).pages
    return re.sub(r"\s+", " ", "\n".join(p.extract_text() for p in pages))


def test_the_receipt_lists_the_bills_and_total_of_the_order(client, owner, staff, bills, stub,
                                                            wxpay):
    from backend.models.payment import PaymentRefund

    headers = owner("O-1")
    order = paid_order(client, headers, bills, stub)
    refund = client.post(f"/api/v1/payments/desk/orders/{order['id']}/refunds",
                         headers=staff("manager"), json={"amount_yuan": "100.00", "reason": "多缴"})
    assert refund.status_code == 201
    with client.application.app_context():
        number = db.session.scalar(select(PaymentRefund.out_refund_no))
    assert post_notice(client, *refund_notice(stub, number, order, 10000)).status_code == 204
    shown = client.get(f"/api/v1/payments/orders/{order['id']}", headers=headers).json
    response = client.get(f"/api/v1/payments/orders/{order['id']}/receipt.pdf", headers=headers)
    text = _text(response)
    for line in shown["lines"]:
        assert f"{line['period']} 物业费 ¥{float(line['amount_yuan']):,.2f}" in text
    assert "合计 2 笔 ¥551.60" in text and shown["amount_yuan"] == "551.60"
    assert shown["out_trade_no"] in text and shown["transaction_id"] in text
    assert shown["room"] in text and shown["community"] in text and "张三" in text
    assert shown["paid_at"].endswith("+08:00")
    assert shown["paid_at"][:19].replace("T", " ") in text
    assert "¥100.00 已退款 多缴" in text and "实收：¥451.60" in text
    disposition = response.headers["Content-Disposition"]
    assert disposition.startswith(f'attachment; filename="receipt-{order["out_trade_no"]}.pdf"')
    assert response.headers["Cache-Control"] == "no-store"


def test_no_receipt_for_an_unpaid_order_nor_for_another_owner(client, owner, bills, wxpay):
    headers = owner("O-1")
    order = make_order(client, headers, bills).json
    unpaid = client.get(f"/api/v1/payments/orders/{order['id']}/receipt.pdf", headers=headers)
    assert unpaid.status_code == 409 and unpaid.json["error"]["code"] == "order_not_paid"
    assert "尚未支付" in unpaid.json["error"]["message"]
    other = client.get(f"/api/v1/payments/orders/{order['id']}/receipt.pdf", headers=owner("O-2"))
    assert other.status_code == 404 and other.json["error"]["code"] == "order_not_found"
