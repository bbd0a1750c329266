"""Paying fees with WeChat Pay: the resident's orders and receipts, invoice requests,
WeChat Pay's notify URL, the desk's payments, refunds and invoice queue, and the
development stand-in's confirmation (404 unless ``PAYMENT_DEV_STANDIN``)."""
from __future__ import annotations

import json
import logging

from flask import Response, current_app, request
from marshmallow import Schema, fields, validate
from sqlalchemy import select

from backend import wechatpay
from backend.auth import current_user, roles_required
from backend.errors import NotFound
from backend.extensions import db
from backend.models.payment import InvoiceKind, InvoiceStatus, OrderStatus, PaymentOrder
from backend.routes.common import Blueprint, LocalDateTime, Money, MoneyIn, RowId
from backend.rules.labels import INVOICE_STATUS_LABELS, ORDER_STATUS_LABELS, REFUND_STATUS_LABELS
from backend.services.payments import invoices, orders, refunds, settle
from backend.services.permissions import staff_community_ids

log = logging.getLogger(__name__)

blp = Blueprint("payments", __name__, url_prefix="/api/v1/payments", description="在线缴费")

MAX_NOTIFY_BYTES = 16 * 1024


class OrderIn(Schema):
    room_id = RowId(required=True)
    bill_ids = fields.List(RowId(), required=True, validate=validate.Length(min=1, max=120))


class LineOut(Schema):
    bill_id = fields.Integer(required=True)
    period = fields.String(attribute="bill.period", required=True)
    amount_yuan = Money(attribute="amount", required=True)


class RefundOut(Schema):
    id = fields.Integer(required=True)
    amount_yuan = Money(attribute="amount", required=True)
    reason = fields.String(required=True)
    status = fields.String(attribute="status.value", required=True)
    status_label = fields.Function(lambda r: REFUND_STATUS_LABELS[r.status.value], required=True)
    created_at = LocalDateTime(required=True)


class InvoiceOut(Schema):
    id = fields.Integer(required=True)
    order_id = fields.Integer(required=True)
    kind = fields.String(attribute="kind.value", required=True)
    title = fields.String(required=True)
    tax_number = fields.String(allow_none=True)
    email = fields.String(required=True)
    status = fields.String(attribute="status.value", required=True)
    status_label = fields.Function(lambda i: INVOICE_STATUS_LABELS[i.status.value], required=True)
    note = fields.String(required=True)
    created_at = LocalDateTime(required=True)


class OrderOut(Schema):
    """An order, and for a paid one its electronic receipt (电子收据)."""

    id = fields.Integer(required=True)
    out_trade_no = fields.String(required=True)
    transaction_id = fields.String(allow_none=True)
    community = fields.String(attribute="room.community.name", required=True)
    room_id = fields.Integer(required=True)
    room = fields.String(attribute="room.label", required=True)
    amount_yuan = Money(attribute="amount", required=True)
    refunded_yuan = Money(attribute="refunded", required=True)
    status = fields.String(attribute="status.value", required=True)
    status_label = fields.Function(lambda o: ORDER_STATUS_LABELS[o.status.value], required=True)
    created_at = LocalDateTime(required=True)
    expires_at = LocalDateTime(required=True)
    paid_at = LocalDateTime(allow_none=True)
    lines = fields.List(fields.Nested(LineOut), required=True)
    refunds = fields.List(fields.Nested(RefundOut), required=True)
    invoice = fields.Nested(InvoiceOut, allow_none=True)
    payment = fields.Dict(allow_none=True, metadata={
        "description": "wx.requestPayment parameters while pending (signed by the server)"})
    standin = fields.Boolean(metadata={"description": "development stand-in: confirm instead"})


class OrdersOut(Schema):
    items = fields.List(fields.Nested(OrderOut), required=True)


class StatusOut(Schema):
    enabled = fields.Boolean(required=True)
    standin = fields.Boolean(required=True)
    order_statuses = fields.Dict(keys=fields.String(), values=fields.String(), required=True,
                                 metadata={"description": "order status → label (待支付, ...)"})


class InvoiceIn(Schema):
    kind = fields.String(required=True, validate=validate.OneOf([k.value for k in InvoiceKind]))
    title = fields.String(required=True, validate=validate.Length(max=100))
    tax_number = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=40))
    email = fields.String(load_default="", validate=validate.Length(max=120))


class RefundIn(Schema):
    amount_yuan = MoneyIn(load_default=None, metadata={"description": "empty: all that is left"})
    reason = fields.String(load_default="", validate=validate.Length(max=80))


class DeskOrderArgs(Schema):
    status = fields.String(load_default=None, validate=validate.OneOf([s.value for s in OrderStatus]))


class InvoiceArgs(Schema):
    status = fields.String(load_default=None,
                           validate=validate.OneOf([s.value for s in InvoiceStatus]))


class InvoiceHandleIn(Schema):
    status = fields.String(required=True, validate=validate.OneOf(["issued", "rejected"]))
    note = fields.String(load_default="", validate=validate.Length(max=200))


class InvoicesOut(Schema):
    items = fields.List(fields.Nested(InvoiceOut), required=True)


def _shown(order: PaymentOrder, with_payment: bool = False) -> PaymentOrder:
    order.payment = orders.payment_params(order) if with_payment else None
    order.standin = wechatpay.standin()
    return order


@blp.route("/status", methods=["GET"])
@blp.public
@blp.response(200, StatusOut)
def status():
    """Whether the pay page is offered (WeChat Pay configured, or the dev stand-in)."""
    return {"enabled": wechatpay.enabled(), "standin": wechatpay.standin(),
            "order_statuses": ORDER_STATUS_LABELS}


@blp.route("/orders", methods=["POST"])
@blp.arguments(OrderIn)
@blp.response(201, OrderOut)
def create_order(body):
    """An order for the selected unpaid bills of one room (the same selection while
    pending returns the same order), with the signed ``wx.requestPayment`` parameters."""
    order = orders.create_order(current_user(), body["room_id"], body["bill_ids"])
    return _shown(db.session.scalar(orders.order_query().where(PaymentOrder.id == order.id)
                                    .execution_options(populate_existing=True)), True)


@blp.route("/orders", methods=["GET"])
@blp.response(200, OrdersOut)
def my_orders():
    """The orders of the rooms whose bills the caller may see, newest first."""
    return {"items": [_shown(o) for o in orders.resident_orders(current_user())]}


@blp.route("/orders/<id:order_id>", methods=["GET"])
@blp.response(200, OrderOut)
def order_detail(order_id):
    """One order; a paid one is the receipt. A pending one carries its payment parameters."""
    return _shown(orders.order_for_resident(current_user(), order_id), True)


@blp.route("/orders/<id:order_id>/invoice", methods=["POST"])
@blp.arguments(InvoiceIn)
@blp.response(201, InvoiceOut)
def request_invoice(body, order_id):
    """Ask for an invoice of a paid order (company titles need a 统一社会信用代码)."""
    return invoices.request_invoice(current_user(), order_id, body["kind"], body["title"],
                                    body["tax_number"], body["email"])


@blp.route("/orders/<id:order_id>/dev-confirm", methods=["POST"])
@blp.response(200, OrderOut)
def dev_confirm(order_id):
    """Development stand-in for ``wx.requestPayment``: WeChat Pay's signed payment
    notice for this order, handled by the notify handler (404 unless the stand-in is on)."""
    if not wechatpay.standin():
        raise NotFound()
    from backend.services.payments.standin import signed_notice

    order = orders.order_for_resident(current_user(), order_id)
    if order.payer_id != current_user().id:
        raise NotFound("找不到该订单", code="order_not_found")
    headers, body = signed_notice(order)
    settle.handle_notification(headers, body)
    return _shown(db.session.scalar(orders.order_query().where(PaymentOrder.id == order_id)
                                    .execution_options(populate_existing=True)))


def _fail(status: int, message: str) -> Response:
    return Response(json.dumps({"code": "FAIL", "message": message}), status=status,
                    mimetype="application/json")


@blp.route("/notify", methods=["POST"])
@blp.public
def notify():
    """WeChat Pay's notify URL (payments and refunds): 204 once handled (a repeat too);
    otherwise 4xx/5xx ``{"code": "FAIL"}`` and WeChat Pay retries. Nothing changes
    unless the signature, the decryption and the order all check out."""
    if (request.content_length or 0) > MAX_NOTIFY_BYTES:
        return _fail(413, "body too large")
    body = request.get_data(cache=False)
    if len(body) > MAX_NOTIFY_BYTES:
        return _fail(413, "body too large")
    try:
        settle.handle_notification(request.headers, body)
        db.session.flush()
    except wechatpay.NotificationRejected as exc:
        log.warning("WeChat Pay notification refused (%s) from %s", exc, request.remote_addr)
        return _fail(401, "signature verification failed")
    except settle.SettleRefused as exc:
        return _fail(exc.status, str(exc))
    except wechatpay.PayError as exc:
        log.error("WeChat Pay notification not handled: %s", exc)
        return _fail(500, "not configured")
    return Response(status=204)


# ----------------------------------------------------------------- desk
@blp.route("/desk/orders", methods=["GET"])
@roles_required("desk", "manager")
@blp.arguments(DeskOrderArgs, location="query")
@blp.response(200, OrdersOut)
def desk_orders(args):
    """Payments and pending orders of the caller's communities, newest first."""
    ids = staff_community_ids(current_user(), "desk", "manager")
    query = orders.order_query().where(PaymentOrder.community_id.in_(ids))
    if args["status"]:
        query = query.where(PaymentOrder.status == OrderStatus(args["status"]))
    items = db.session.scalars(query.order_by(PaymentOrder.id.desc()).limit(200))
    return {"items": [_shown(o) for o in items]}


@blp.route("/desk/orders/<id:order_id>/refunds", methods=["POST"])
@roles_required("manager")
@blp.arguments(RefundIn)
@blp.response(201, RefundOut)
def refund(body, order_id):
    """Refund a paid order, fully (no amount) or partly (manager)."""
    return refunds.request_refund(current_user(), order_id, body["amount_yuan"], body["reason"])


@blp.route("/desk/invoices", methods=["GET"])
@roles_required("desk", "manager")
@blp.arguments(InvoiceArgs, location="query")
@blp.response(200, InvoicesOut)
def desk_invoices(args):
    """The invoice queue of the caller's communities."""
    return {"items": invoices.desk_invoices(current_user(), args["status"])}


@blp.route("/desk/invoices/<id:invoice_id>", methods=["POST"])
@roles_required("desk", "manager")
@blp.arguments(InvoiceHandleIn)
@blp.response(200, InvoiceOut)
def handle_invoice(body, invoice_id):
    """Mark an invoice request issued, or return it with a note."""
    return invoices.handle_invoice(current_user(), invoice_id, body["status"], body["note"])
