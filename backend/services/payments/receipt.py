"""The electronic receipt (电子收据) of a paid payment order as a PDF (#16 item 4):
community, room, payer, order number, WeChat Pay's transaction id, the time paid,
each bill paid (period, item, amount), the total and any refunds. The same order the
receipt page shows (``payments.orders.order_for_resident``): amounts as stored."""
from __future__ import annotations

from datetime import datetime

from backend.errors import Conflict
from backend.models.payment import OrderStatus, PaymentOrder
from backend.pdf import Document
from backend.rules.labels import REFUND_STATUS_LABELS
from backend.rules.money import format_yuan
from backend.timeutil import local, utcnow

BILL_ITEM = "物业费"  # the only kind of bill (models Bill: one room's fee for a period)


def _time(value: datetime | None) -> str:
    return local(value).strftime("%Y-%m-%d %H:%M:%S") if value else "—"


def receipt_pdf(order: PaymentOrder, now: datetime | None = None) -> bytes:
    if order.status != OrderStatus.paid:
        raise Conflict("该订单尚未支付成功，暂无电子收据", code="order_not_paid")
    room = order.room
    doc = Document(f"电子收据 {order.out_trade_no}", author=room.community.name,
                   generated_at=now or utcnow())
    doc.title_block("物业费电子收据", room.community.name)
    doc.key_values([
        ("小区", room.community.name), ("房屋", room.label),
        ("付款人", order.payer.shown_name if order.payer else "—"),
        ("订单号", order.out_trade_no), ("微信支付单号", order.transaction_id or "—"),
        ("支付时间", _time(order.paid_at) + "（北京时间）"), ("支付方式", "微信支付"),
    ])
    lines = sorted(order.lines, key=lambda line: line.bill.period)
    doc.heading("缴费明细")
    doc.table(["月份", "项目", "金额"],
              [[line.bill.period, BILL_ITEM, format_yuan(line.amount)] for line in lines]
              + [["合计", f"{len(lines)} 笔", format_yuan(order.amount)]],
              widths_mm=[50, 64, 60], align_right=(2,))
    if order.refunds:
        doc.heading("退款")
        doc.table(["时间", "金额", "状态", "原因"],
                  [[_time(r.created_at), format_yuan(r.amount), REFUND_STATUS_LABELS[r.status.value],
                    r.reason or "—"] for r in sorted(order.refunds, key=lambda r: r.id)],
                  widths_mm=[46, 40, 30, 58], align_right=(1,))
        doc.paragraph(f"已退款合计：{format_yuan(order.refunded)}；实收："
                      f"{format_yuan(order.amount - order.refunded)}")
    doc.spacer(4)
    doc.paragraph("本收据为缴费凭证，不作为发票；如需发票，请在小程序收据页申请。", "small")
    return doc.render()
