"""The one place bills are marked paid, orders closed and refunds finished.

Settling claims the order with a conditional UPDATE (status pending/closed → paid,
once), after locking it (``FOR UPDATE`` on PostgreSQL); only the claim's winner adds
the order's lines to its bills. A notification delivered twice, or a query after
the notification, finds the order paid and changes nothing. Whatever does not match
the order (merchant, app id, amount) changes nothing and is logged.
"""
from __future__ import annotations

import logging
from decimal import Decimal

from sqlalchemy import select, update

from backend import wechatpay
from backend.extensions import db
from backend.models import Bill
from backend.models.payment import (
    OrderStatus,
    PaymentOrder,
    PaymentOrderBill,
    PaymentRefund,
    RefundStatus,
)
from backend.timeutil import local_text, utcnow

log = logging.getLogger(__name__)


class SettleRefused(Exception):
    """The transaction does not fit the order (logged; nothing changed)."""

    def __init__(self, message: str, status: int = 400):
        super().__init__(message)
        self.status = status


def _locked_order(out_trade_no: str) -> PaymentOrder | None:
    return db.session.scalar(select(PaymentOrder).where(
        PaymentOrder.out_trade_no == out_trade_no).with_for_update())


def settle_transaction(tx: wechatpay.Transaction) -> PaymentOrder:
    """Mark the order's bills paid if WeChat Pay says it is paid (once)."""
    order = _locked_order(tx.out_trade_no)
    if order is None:
        log.warning("payment for unknown order %r refused", tx.out_trade_no)
        raise SettleRefused("unknown order", 404)
    if tx.mchid != wechatpay.mch_id() or tx.appid != wechatpay.app_id():
        log.warning("payment %s for merchant %r / app %r refused", order.out_trade_no, tx.mchid,
                    tx.appid)
        raise SettleRefused("merchant or app id mismatch")
    if tx.trade_state != "SUCCESS":
        return order
    if tx.total_fen != order.amount_fen:
        log.error("payment %s of %s fen refused: the order is %s fen", order.out_trade_no,
                  tx.total_fen, order.amount_fen)
        raise SettleRefused("amount mismatch")
    if order.status == OrderStatus.paid:
        if order.transaction_id != tx.transaction_id:
            log.error("order %s paid again by %s (first: %s)", order.out_trade_no,
                      tx.transaction_id, order.transaction_id)
        else:
            log.info("order %s already paid (%s): repeated report, nothing changed",
                     order.out_trade_no, tx.transaction_id)
        return order
    if order.status == OrderStatus.closed:
        log.error("order %s was closed but WeChat Pay reports it paid: settling it",
                  order.out_trade_no)
    claimed = db.session.execute(
        update(PaymentOrder).where(PaymentOrder.id == order.id,
                                   PaymentOrder.status != OrderStatus.paid)
        .values(status=OrderStatus.paid, paid_at=utcnow(), transaction_id=tx.transaction_id)
        .execution_options(synchronize_session=False)).rowcount
    if claimed != 1:
        return order
    lines = list(db.session.scalars(select(PaymentOrderBill).where(
        PaymentOrderBill.order_id == order.id)))
    bills = {b.id: b for b in db.session.scalars(select(Bill).where(
        Bill.id.in_([line.bill_id for line in lines])).with_for_update())}
    for line in lines:
        bill = bills[line.bill_id]
        bill.paid = bill.paid + line.amount
        line.hold = None
    db.session.flush()
    db.session.refresh(order)
    log.info("order %s paid (%s), %d bill(s)", order.out_trade_no, tx.transaction_id, len(lines))
    return order


def _release(order: PaymentOrder) -> None:
    db.session.execute(update(PaymentOrderBill).where(PaymentOrderBill.order_id == order.id)
                       .values(hold=None).execution_options(synchronize_session=False))
    order.status = OrderStatus.closed
    order.closed_at = utcnow()
    db.session.flush()


def release_if_unpaid(order: PaymentOrder) -> bool:
    """Ask WeChat Pay about a pending order: settle it if paid (False), else close it
    there and here, releasing its bills (True)."""
    tx = wechatpay.query(order.out_trade_no)
    if tx.trade_state == "SUCCESS":
        settle_transaction(tx)
        return False
    if tx.trade_state == "USERPAYING":
        return False
    if tx.trade_state != "CLOSED":
        wechatpay.close(order.out_trade_no)
    _release(order)
    log.info("order %s closed (%s)", order.out_trade_no, tx.trade_state or "no answer")
    return True


def reconcile(order_id: int) -> str:
    """Settle or close one pending order past its time (the reconciliation job)."""
    order = db.session.scalar(select(PaymentOrder).where(PaymentOrder.id == order_id)
                              .with_for_update())
    if order is None or order.status != OrderStatus.pending:
        return "done"
    return "closed" if release_if_unpaid(order) else order.status.value


# ----------------------------------------------------------------- refunds
def finish_refund(result: wechatpay.Refund) -> PaymentRefund:
    """A refund's outcome (notification or query): on success the amount comes off the
    order's bills, latest period first, once."""
    refund = db.session.scalar(select(PaymentRefund).where(
        PaymentRefund.out_refund_no == result.out_refund_no).with_for_update())
    if refund is None:
        log.warning("refund outcome for unknown refund %r refused", result.out_refund_no)
        raise SettleRefused("unknown refund", 404)
    if refund.status != RefundStatus.processing or result.status == "PROCESSING":
        return refund
    if result.status != "SUCCESS":
        refund.status, refund.finished_at = RefundStatus.failed, utcnow()
        order = db.session.get(PaymentOrder, refund.order_id, with_for_update=True)
        order.refunded = order.refunded - refund.amount
        db.session.flush()
        log.warning("refund %s ended %s", refund.out_refund_no, result.status)
        return refund
    if result.refund_fen is not None and result.refund_fen != int(refund.amount * 100):
        log.error("refund %s of %s fen refused: asked %s", refund.out_refund_no,
                  result.refund_fen, refund.amount)
        raise SettleRefused("refund amount mismatch")
    claimed = db.session.execute(
        update(PaymentRefund).where(PaymentRefund.id == refund.id,
                                    PaymentRefund.status == RefundStatus.processing)
        .values(status=RefundStatus.success, finished_at=utcnow(), refund_id=result.refund_id)
        .execution_options(synchronize_session=False)).rowcount
    if claimed == 1:
        lines = list(db.session.scalars(select(PaymentOrderBill).where(
            PaymentOrderBill.order_id == refund.order_id)))
        bills = {b.id: b for b in db.session.scalars(select(Bill).where(
            Bill.id.in_([line.bill_id for line in lines])).with_for_update())}
        left = refund.amount
        for line in sorted(lines, key=lambda x: bills[x.bill_id].period, reverse=True):
            take = min(left, bills[line.bill_id].paid, line.amount)
            bills[line.bill_id].paid -= take
            left -= take
            if left <= Decimal("0"):
                break
        db.session.flush()
        db.session.refresh(refund)
        log.info("refund %s succeeded", refund.out_refund_no)
        _tell_payer(refund)
    return refund


def _tell_payer(refund: PaymentRefund) -> None:
    """The payer learns the money is back (in-app, and a subscribe message)."""
    from backend.rules.money import format_yuan
    from backend.services.notifications import notify

    order = db.session.get(PaymentOrder, refund.order_id)
    if order.payer_id is None:
        return
    notify(order.payer_id, "payment_refund", f"退款 {format_yuan(refund.amount)} 已原路退回",
           f"{order.room.label} 缴费订单 {order.out_trade_no} 的退款 {format_yuan(refund.amount)}"
           "已原路退回您的微信支付账户。", link=f"#/receipt?id={order.id}",
           wechat_data={"amount1": f"{refund.amount:.2f}元",
                        "character_string2": order.out_trade_no,
                        "time3": local_text(refund.finished_at or utcnow()),
                        "thing4": order.room.label})


# ----------------------------------------------------------------- notifications
def handle_notification(headers, body: bytes):
    """A WeChat Pay notification: verified, decrypted, then settled (payments) or
    finished (refunds). Raises ``wechatpay.NotificationRejected`` or ``SettleRefused``."""
    note = wechatpay.parse_notification(headers, body)
    if note.event_type.startswith("TRANSACTION."):
        return settle_transaction(wechatpay.Transaction.of(note.resource))
    if note.event_type.startswith("REFUND."):
        return finish_refund(wechatpay.Refund.of(note.resource))
    log.info("WeChat Pay notification %s of type %r ignored", note.id, note.event_type)
    return None
