"""Orders: one per selection of a room's unpaid bills, amounts from the database.

The same selection while its order is pending returns that order (its prepay id is
reused); a bill in another pending order is refused until that order is paid or
closed (the database's unique key on (bill_id, hold) is the final guard).
"""
from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta
from decimal import Decimal

from flask import current_app
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from backend import wechatpay
from backend.errors import AppError, Conflict, Forbidden, NotFound, ValidationFailed
from backend.extensions import db
from backend.models import Bill, Room, User
from backend.models.payment import OrderStatus, PaymentOrder, PaymentOrderBill
from backend.services.permissions import may_see_bills, room_for_resident
from backend.timeutil import local, utcnow


class PaymentUnavailable(AppError):
    status, code, message = 503, "payment_unavailable", "微信支付暂时不可用，请稍后再试或到物业服务中心缴纳"


def require_enabled() -> None:
    if not wechatpay.enabled():
        raise NotFound("本小区暂未开通在线缴费", code="payment_disabled")


def payable_room(user: User, room_id: int) -> Room:
    """The room if ``user`` may pay its bills (``permissions.may_see_bills``)."""
    room = room_for_resident(user, room_id)
    if room is None:
        raise NotFound("找不到该房屋", code="room_not_found")
    if not may_see_bills(user, room):
        raise Forbidden("业主尚未允许您查看和缴纳本房屋的账单，请联系业主开通",
                        code="bills_not_allowed")
    return room


def selection_key(room_id: int, bill_ids: list[int]) -> str:
    text = f"{room_id}:" + ",".join(str(i) for i in sorted(set(bill_ids)))
    return hashlib.sha256(text.encode()).hexdigest()


def new_trade_no() -> str:
    """WY + local time + 8 random hex characters (24 of WeChat's 32)."""
    return "WY" + local(utcnow()).strftime("%Y%m%d%H%M%S") + secrets.token_hex(4).upper()


def _locked_bills(room: Room, bill_ids: list[int]) -> list[Bill]:
    bills = list(db.session.scalars(select(Bill).where(
        Bill.room_id == room.id, Bill.id.in_(bill_ids)).order_by(Bill.period).with_for_update()))
    if len(bills) != len(set(bill_ids)):
        raise ValidationFailed("所选账单不属于该房屋", code="bill_not_found",
                               details={"fields": {"bill_ids": ["账单不存在"]}})
    paid = [b.period for b in bills if b.outstanding <= 0]
    if paid:
        raise Conflict(f"{'、'.join(paid)} 的账单已缴清，请刷新后重新选择", code="bill_already_paid")
    return bills


def _pending_for(key: str) -> PaymentOrder | None:
    return db.session.scalar(select(PaymentOrder).where(
        PaymentOrder.selection_key == key, PaymentOrder.status == OrderStatus.pending,
        PaymentOrder.expires_at > utcnow()).with_for_update())


def create_order(user: User, room_id: int, bill_ids: list[int]) -> PaymentOrder:
    """The pending order for this selection (made and prepaid if there is none)."""
    require_enabled()
    if not bill_ids:
        raise ValidationFailed("请选择要缴纳的账单", code="no_bills",
                               details={"fields": {"bill_ids": ["至少选择一笔账单"]}})
    room = payable_room(user, room_id)
    bills = _locked_bills(room, bill_ids)
    key = selection_key(room.id, bill_ids)
    existing = _pending_for(key)
    if existing is not None:
        return existing
    busy = db.session.scalar(select(PaymentOrderBill).join(PaymentOrder).where(
        PaymentOrderBill.bill_id.in_([b.id for b in bills]), PaymentOrderBill.hold.is_(True)))
    if busy is not None:
        from backend.services.payments.settle import release_if_unpaid

        if not release_if_unpaid(busy.order):
            raise Conflict("所选账单已支付，请刷新后查看", code="bill_already_paid")
    now = utcnow()
    minutes = current_app.config["PAYMENT_PENDING_MINUTES"]
    order = PaymentOrder(
        out_trade_no=new_trade_no(), community_id=room.community_id, room_id=room.id,
        payer_id=user.id, selection_key=key,
        amount=sum((b.outstanding for b in bills), Decimal("0.00")),
        status=OrderStatus.pending, created_at=now, expires_at=now + timedelta(minutes=minutes),
        lines=[PaymentOrderBill(bill_id=b.id, amount=b.outstanding, hold=True) for b in bills])
    db.session.add(order)
    try:
        with db.session.begin_nested():
            db.session.flush()
    except IntegrityError as exc:
        raise Conflict("所选账单正在另一笔订单中支付，请稍后再试", code="bill_in_pending_order") from exc
    periods = "、".join(b.period for b in bills)
    description = f"物业费 {room.label} {periods}"
    try:
        order.prepay_id = wechatpay.jsapi_prepay(
            order.out_trade_no, description, order.amount_fen, user.openid or "",
            local(order.expires_at).isoformat(timespec="seconds"))
    except wechatpay.PayError as exc:
        current_app.logger.warning("prepay of %s failed: %s", order.out_trade_no, exc)
        raise PaymentUnavailable() from exc
    db.session.flush()
    return order


def payment_params(order: PaymentOrder) -> dict | None:
    if order.status != OrderStatus.pending or not order.prepay_id:
        return None
    return wechatpay.request_payment_params(order.prepay_id)


def order_query():
    return select(PaymentOrder).options(
        selectinload(PaymentOrder.lines).selectinload(PaymentOrderBill.bill),
        selectinload(PaymentOrder.refunds), selectinload(PaymentOrder.invoice),
        selectinload(PaymentOrder.room).selectinload(Room.building),
        selectinload(PaymentOrder.room).selectinload(Room.unit),
        selectinload(PaymentOrder.room).selectinload(Room.community))


def order_for_resident(user: User, order_id: int) -> PaymentOrder:
    """An order of a room whose bills ``user`` may see now (payer or not)."""
    order = db.session.scalar(order_query().where(PaymentOrder.id == order_id))
    if order is None or room_for_resident(user, order.room_id) is None \
            or not may_see_bills(user, order.room_id):
        raise NotFound("找不到该订单", code="order_not_found")
    return order


def resident_orders(user: User) -> list[PaymentOrder]:
    from backend.services.permissions import bill_rooms

    room_ids = [r.id for r in bill_rooms(user)]
    if not room_ids:
        return []
    return list(db.session.scalars(order_query().where(
        PaymentOrder.room_id.in_(room_ids)).order_by(PaymentOrder.id.desc()).limit(100)))
