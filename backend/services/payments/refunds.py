"""Refunds by the community's manager: full or partial, never above what is left of
the order (refunds still processing count), through WeChat Pay; the outcome arrives
by notification (services/payments/settle.py ``finish_refund``) or the job's query;
with the development stand-in, by its signed notice at once."""
from __future__ import annotations

import secrets
from decimal import Decimal

from backend import wechatpay
from backend.errors import Conflict, NotFound, ValidationFailed
from backend.extensions import db
from backend.models import User
from backend.models.payment import OrderStatus, PaymentOrder, PaymentRefund
from backend.services.payments.orders import PaymentUnavailable
from backend.services.permissions import staff_community_ids


def request_refund(user: User, order_id: int, amount: Decimal | None, reason: str) -> PaymentRefund:
    order = db.session.get(PaymentOrder, order_id, with_for_update=True)
    if order is None or order.community_id not in staff_community_ids(user, "manager"):
        raise NotFound("找不到该订单", code="order_not_found")
    if order.status != OrderStatus.paid:
        raise Conflict("只有已支付的订单可以退款", code="order_not_paid")
    left = order.amount - order.refunded
    amount = left if amount is None else amount
    if amount <= 0 or amount > left:
        raise ValidationFailed(f"退款金额须大于0且不超过可退金额 {left}", code="refund_too_large",
                               details={"fields": {"amount_yuan": [f"最多可退 {left}"]}})
    refund = PaymentRefund(order_id=order.id, amount=amount, reason=reason[:80],
                           out_refund_no=f"RF{order.out_trade_no}{secrets.token_hex(3).upper()}",
                           requested_by_id=user.id)
    order.refunded = order.refunded + amount
    db.session.add(refund)
    db.session.flush()
    try:
        result = wechatpay.refund(order.out_trade_no, refund.out_refund_no, int(amount * 100),
                                  order.amount_fen, reason)
    except wechatpay.PayError as exc:
        raise PaymentUnavailable("微信支付退款暂时不可用，请稍后再试") from exc
    from backend.services.payments import settle

    if wechatpay.standin():  # development: WeChat Pay's refund notice, verified as any other
        from backend.services.payments.standin import signed_refund_notice

        settle.handle_notification(*signed_refund_notice(order, refund))
    elif result.status in ("SUCCESS", "CLOSED", "ABNORMAL"):
        settle.finish_refund(result)
    return refund
