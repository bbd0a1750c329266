"""The electronic receipt of a paid order as a PDF (电子收据, #16 item 4), beside the
receipt page's ``GET /api/v1/payments/orders/<id>``: whoever may see that order may
download it (``orders.order_for_resident``, else 404); 409 while it is not paid."""
from __future__ import annotations

from backend.auth import current_user
from backend.pdf import PDF_MIMETYPE, pdf_response
from backend.routes.common import Blueprint
from backend.services.payments.receipt import receipt_pdf
from backend.services.payments import orders

blp = Blueprint("payment_receipts", __name__, url_prefix="/api/v1/payments",
                description="在线缴费：电子收据")


@blp.route("/orders/<id:order_id>/receipt.pdf", methods=["GET"])
@blp.doc(responses={
    "200": {"description": "the receipt as a PDF",
            "content": {PDF_MIMETYPE: {"schema": {"type": "string", "format": "binary"}}}},
    "404": {"description": "no such order, or not one of the caller's rooms"},
    "409": {"description": "`order_not_paid`: the order is not paid"}})
def receipt(order_id):
    """The receipt of a paid order as a PDF: community, room, payer, order number,
    WeChat Pay transaction id, time paid (+08:00), each bill with its amount, the
    total and any refunds. The caller must be able to see the order (404 otherwise);
    409 `order_not_paid` for an order not paid."""
    order = orders.order_for_resident(current_user(), order_id)
    return pdf_response(receipt_pdf(order), f"电子收据-{order.out_trade_no}.pdf",
                        f"receipt-{order.out_trade_no}.pdf")
