"""In-app notifications (the list the mini-program shows); WeChat subscribe messages
are sent for them by a job."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from backend.models.base import Base, UTCDateTime, utcnow


class Notification(Base):
    __tablename__ = "notification"
    __table_args__ = (Index("ix_notification_user_id_id", "user_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(32))  # ticket_status, fund_open, ...
    title: Mapped[str] = mapped_column(String(100))
    body: Mapped[str] = mapped_column(Text, default="")
    link: Mapped[str | None] = mapped_column(String(200))  # e.g. "/tickets/12"
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # WeChat subscribe message: pending / sent / refused (43101) / failed / skipped
    wechat_state: Mapped[str] = mapped_column(String(16), default="pending")


class WechatSubscription(Base):
    """A user's acceptance of a subscribe-message template (wx.requestSubscribeMessage).
    Each acceptance allows one message; refusal (43101) clears it."""

    __tablename__ = "wechat_subscription"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), index=True)
    template_id: Mapped[str] = mapped_column(String(64))
    remaining: Mapped[int] = mapped_column(default=1)
    refused_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
