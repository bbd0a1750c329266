"""Payment reconciliation: orders still pending PAYMENT_PENDING_MINUTES after they
were made are queried at WeChat Pay and settled or closed, and refunds still
processing are queried, so a lost notification never leaves a paid bill unpaid.
Commits per order."""
from __future__ import annotations

import logging
from datetime import timedelta

from flask import current_app
from sqlalchemy import select

from backend import wechatpay
from backend.extensions import db
from backend.jobs.registry import periodic
from backend.models.payment import OrderStatus, PaymentOrder, PaymentRefund, RefundStatus
from backend.timeutil import utcnow

log = logging.getLogger(__name__)


@periodic("payments.reconcile", every_seconds=60)
def reconcile_pending() -> int:
    from backend.services.payments.settle import SettleRefused, finish_refund, reconcile

    if not wechatpay.enabled():
        return 0
    cutoff = utcnow() - timedelta(minutes=current_app.config["PAYMENT_PENDING_MINUTES"])
    ids = db.session.scalars(select(PaymentOrder.id).where(
        PaymentOrder.status == OrderStatus.pending, PaymentOrder.created_at <= cutoff)
        .order_by(PaymentOrder.id).limit(200)).all()
    db.session.rollback()
    done = 0
    for order_id in ids:
        try:
            reconcile(order_id)
            db.session.commit()
            done += 1
        except (wechatpay.PayError, SettleRefused) as exc:
            db.session.rollback()
            log.warning("order %s not reconciled: %s", order_id, exc)
    refund_nos = db.session.scalars(select(PaymentRefund.out_refund_no).where(
        PaymentRefund.status == RefundStatus.processing, PaymentRefund.created_at <= cutoff)
        .limit(200)).all()
    db.session.rollback()
    for number in refund_nos:
        try:
            finish_refund(wechatpay.query_refund(number))
            db.session.commit()
        except (wechatpay.PayError, SettleRefused) as exc:
            db.session.rollback()
            log.warning("refund %s not reconciled: %s", number, exc)
    return done
