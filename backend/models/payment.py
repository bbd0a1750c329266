"""WeChat Pay (JSAPI) orders for property-fee bills, their refunds and invoice requests.

An order pays a selection of one room's unpaid bills; its amount and each line's
amount are taken from the database when the order is made. The guards live in the
database: ``out_trade_no`` and WeChat's ``transaction_id`` are unique; a bill is held
by at most one pending order (``PaymentOrderBill.hold`` is True while the order is
pending and NULL afterwards, with a unique key on (bill_id, hold)); settling is a
conditional UPDATE of the order's status (services/payments/settle.py).
"""
from __future__ import annotations

import enum
from datetime import datetime
from decimal import Decimal

from sqlalchemy import CheckConstraint, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from backend.models.base import Base, Money, UTCDateTime, str_enum, utcnow
from backend.models.community import Bill, Room
from backend.models.user import User


class OrderStatus(str, enum.Enum):
    pending = "pending"  # 待支付: prepaid at WeChat, no success seen yet
    paid = "paid"  # 已支付: bills marked paid
    closed = "closed"  # 已关闭: not paid in time (or replaced); bills released


class RefundStatus(str, enum.Enum):
    processing = "processing"  # 退款中
    success = "success"  # 已退款
    failed = "failed"  # 退款失败 (WeChat: CLOSED / ABNORMAL)


class InvoiceStatus(str, enum.Enum):
    requested = "requested"  # 待开票
    issued = "issued"  # 已开票
    rejected = "rejected"  # 已退回


class InvoiceKind(str, enum.Enum):
    personal = "personal"  # 个人
    company = "company"  # 单位 (needs a 统一社会信用代码)


class PaymentOrder(Base):
    __tablename__ = "payment_order"
    __table_args__ = (
        CheckConstraint("amount > 0", name="amount_positive"),
        CheckConstraint("refunded >= 0 AND refunded <= amount", name="refund_within_amount"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    out_trade_no: Mapped[str] = mapped_column(String(32), unique=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("community.id", ondelete="CASCADE"),
                                              index=True)
    room_id: Mapped[int] = mapped_column(ForeignKey("room.id", ondelete="CASCADE"), index=True)
    payer_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), index=True)
    # sha256 of the room and the sorted bill ids: the same selection finds its order
    selection_key: Mapped[str] = mapped_column(String(64), index=True)
    amount: Mapped[Decimal] = mapped_column(Money)
    refunded: Mapped[Decimal] = mapped_column(Money, default=Decimal("0"))
    status: Mapped[OrderStatus] = mapped_column(str_enum(OrderStatus, "payment_order_status"),
                                                default=OrderStatus.pending, index=True)
    prepay_id: Mapped[str | None] = mapped_column(String(64))
    transaction_id: Mapped[str | None] = mapped_column(String(32), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    paid_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    room: Mapped[Room] = relationship()
    payer: Mapped[User] = relationship()
    lines: Mapped[list[PaymentOrderBill]] = relationship(
        back_populates="order", order_by="PaymentOrderBill.id", cascade="all, delete-orphan")
    refunds: Mapped[list[PaymentRefund]] = relationship(
        back_populates="order", order_by="PaymentRefund.id")
    invoice: Mapped[InvoiceRequest | None] = relationship(back_populates="order", uselist=False)

    @property
    def amount_fen(self) -> int:
        return int(self.amount * 100)


class PaymentOrderBill(Base):
    """One bill of an order, with the amount it pays (the bill's outstanding amount
    when the order was made)."""

    __tablename__ = "payment_order_bill"
    __table_args__ = (
        UniqueConstraint("order_id", "bill_id"),
        # one pending order per bill: hold is True while pending, NULL after (NULLs
        # never collide in a unique key, on either database)
        UniqueConstraint("bill_id", "hold"),
        CheckConstraint("amount > 0", name="amount_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("payment_order.id", ondelete="CASCADE"),
                                          index=True)
    bill_id: Mapped[int] = mapped_column(ForeignKey("bill.id", ondelete="CASCADE"))
    amount: Mapped[Decimal] = mapped_column(Money)
    hold: Mapped[bool | None] = mapped_column(default=True)

    order: Mapped[PaymentOrder] = relationship(back_populates="lines")
    bill: Mapped[Bill] = relationship()


class PaymentRefund(Base):
    __tablename__ = "payment_refund"
    __table_args__ = (CheckConstraint("amount > 0", name="amount_positive"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("payment_order.id", ondelete="CASCADE"),
                                          index=True)
    out_refund_no: Mapped[str] = mapped_column(String(64), unique=True)
    refund_id: Mapped[str | None] = mapped_column(String(32), unique=True)
    amount: Mapped[Decimal] = mapped_column(Money)
    reason: Mapped[str] = mapped_column(String(80), default="")
    status: Mapped[RefundStatus] = mapped_column(str_enum(RefundStatus, "payment_refund_status"),
                                                 default=RefundStatus.processing)
    requested_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    order: Mapped[PaymentOrder] = relationship(back_populates="refunds")


class InvoiceRequest(Base):
    """An owner's request for an invoice (发票) of a paid order, in the desk's queue."""

    __tablename__ = "invoice_request"

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("payment_order.id", ondelete="CASCADE"),
                                          unique=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("community.id", ondelete="CASCADE"),
                                              index=True)
    requested_by_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"))
    kind: Mapped[InvoiceKind] = mapped_column(str_enum(InvoiceKind, "invoice_kind"))
    title: Mapped[str] = mapped_column(String(100))
    tax_number: Mapped[str | None] = mapped_column(String(18))
    email: Mapped[str] = mapped_column(String(120), default="")
    status: Mapped[InvoiceStatus] = mapped_column(str_enum(InvoiceStatus, "invoice_status"),
                                                  default=InvoiceStatus.requested)
    note: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    handled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    handled_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))

    order: Mapped[PaymentOrder] = relationship(back_populates="invoice")
