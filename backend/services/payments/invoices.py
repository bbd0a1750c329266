"""Invoice requests (发票): the owner asks for an invoice of a paid order (personal
title, or a company's title with its 统一社会信用代码); the desk's queue marks it
issued or returns it with a note; the owner sees its state on the receipt."""
from __future__ import annotations

import re

from sqlalchemy import select

from backend.errors import Conflict, NotFound, ValidationFailed
from backend.extensions import db
from backend.models import User
from backend.models.payment import InvoiceKind, InvoiceRequest, InvoiceStatus, OrderStatus
from backend.services.payments.orders import order_for_resident
from backend.services.permissions import staff_community_ids
from backend.timeutil import utcnow

# GB 32100-2015: 18 characters from this alphabet (no I, O, S, V, Z), last a check digit
USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def valid_uscc(code: str) -> bool:
    """Whether ``code`` is a well-formed 统一社会信用代码 (its check digit included)."""
    if len(code) != 18 or any(c not in USCC_ALPHABET for c in code):
        return False
    total = sum(USCC_ALPHABET.index(c) * w for c, w in zip(code[:17], USCC_WEIGHTS))
    return USCC_ALPHABET[(31 - total % 31) % 31] == code[17]


def request_invoice(user: User, order_id: int, kind: str, title: str, tax_number: str | None,
                    email: str) -> InvoiceRequest:
    order = order_for_resident(user, order_id)
    if order.status != OrderStatus.paid:
        raise Conflict("订单支付成功后才能申请发票", code="order_not_paid")
    if order.invoice is not None and order.invoice.status != InvoiceStatus.rejected:
        raise Conflict("该订单已申请过发票", code="invoice_exists")
    title = (title or "").strip()
    tax = (tax_number or "").strip().upper() or None
    errors = {}
    if not title:
        errors["title"] = ["请填写发票抬头"]
    if kind == InvoiceKind.company.value and (tax is None or not valid_uscc(tax)):
        errors["tax_number"] = ["单位须填写18位统一社会信用代码（请核对）"]
    if kind == InvoiceKind.personal.value and tax is not None:
        errors["tax_number"] = ["个人抬头无需税号"]
    if email and not EMAIL.match(email):
        errors["email"] = ["邮箱格式有误"]
    if errors:
        raise ValidationFailed("发票信息有误", code="invalid_invoice", details={"fields": errors})
    invoice = order.invoice
    if invoice is None:
        invoice = InvoiceRequest(order_id=order.id, community_id=order.community_id,
                                 requested_by_id=user.id)
        db.session.add(invoice)
    invoice.kind, invoice.title, invoice.tax_number, invoice.email = InvoiceKind(kind), title, tax, email
    invoice.status, invoice.note, invoice.handled_at = InvoiceStatus.requested, "", None
    invoice.created_at = utcnow()
    db.session.flush()
    return invoice


def desk_invoices(user: User, status: str | None) -> list[InvoiceRequest]:
    ids = staff_community_ids(user, "desk", "manager")
    query = select(InvoiceRequest).where(InvoiceRequest.community_id.in_(ids))
    if status:
        query = query.where(InvoiceRequest.status == InvoiceStatus(status))
    return list(db.session.scalars(query.order_by(InvoiceRequest.id.desc()).limit(200)))


def handle_invoice(user: User, invoice_id: int, status: str, note: str) -> InvoiceRequest:
    invoice = db.session.get(InvoiceRequest, invoice_id, with_for_update=True)
    if invoice is None or invoice.community_id not in staff_community_ids(user, "desk", "manager"):
        raise NotFound("找不到该发票申请", code="invoice_not_found")
    if invoice.status != InvoiceStatus.requested:
        raise Conflict("该申请已处理", code="invoice_handled")
    if status == InvoiceStatus.rejected.value and not note.strip():
        raise ValidationFailed("退回时请说明原因", code="note_required",
                               details={"fields": {"note": ["请填写退回原因"]}})
    invoice.status, invoice.note = InvoiceStatus(status), note.strip()[:200]
    invoice.handled_at, invoice.handled_by_id = utcnow(), user.id
    db.session.flush()
    return invoice
