"""The notice board (公告): notices for a community or some of its buildings, their
attachments and who has read them.

A notice is shown to residents with a current binding (``RoomBinding.is_current``) in
its scope from ``publish_at`` until ``expires_at``, unless withdrawn (a withdrawn
notice is kept for the record). Scope: no ``NoticeBuilding`` rows = the whole
community. ``source_key`` makes an automatic notice idempotent (one per event)."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from backend.models.attachment import Attachment
from backend.models.base import Base, UTCDateTime, utcnow
from backend.models.community import Building, Community
from backend.models.user import User

__all__ = ["Notice", "NoticeBuilding", "NoticeAttachment", "NoticeRead"]


class Notice(Base):
    __tablename__ = "notice"
    __table_args__ = (
        Index("ix_notice_community_publish", "community_id", "publish_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("community.id", ondelete="CASCADE"))
    title: Mapped[str] = mapped_column(String(100))
    body: Mapped[str] = mapped_column(Text)
    # a code of rules/notices.py CATEGORY_LABELS (checked by the service)
    category: Mapped[str] = mapped_column(String(32))
    # staff | committee | fee_standard | fund_ledger | fund_statement | fund_result
    source: Mapped[str] = mapped_column(String(32), default="staff")
    source_key: Mapped[str | None] = mapped_column(String(100), unique=True)
    pinned: Mapped[bool] = mapped_column(default=False)
    publish_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    withdrawn_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    withdrawn_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # when the subscribe messages were handed out (claimed once by the job)
    announced_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    community: Mapped[Community] = relationship()
    created_by: Mapped[User | None] = relationship(foreign_keys=[created_by_id])
    buildings: Mapped[list[NoticeBuilding]] = relationship(
        cascade="all, delete-orphan", order_by="NoticeBuilding.building_id")
    attachments: Mapped[list[NoticeAttachment]] = relationship(
        cascade="all, delete-orphan", order_by="NoticeAttachment.position")


class NoticeBuilding(Base):
    """A building in a notice's scope."""

    __tablename__ = "notice_building"

    notice_id: Mapped[int] = mapped_column(ForeignKey("notice.id", ondelete="CASCADE"),
                                           primary_key=True)
    building_id: Mapped[int] = mapped_column(ForeignKey("building.id", ondelete="CASCADE"),
                                             primary_key=True, index=True)

    building: Mapped[Building] = relationship()


class NoticeAttachment(Base):
    __tablename__ = "notice_attachment"

    notice_id: Mapped[int] = mapped_column(ForeignKey("notice.id", ondelete="CASCADE"),
                                           primary_key=True)
    attachment_id: Mapped[int] = mapped_column(ForeignKey("attachment.id", ondelete="CASCADE"),
                                               primary_key=True, index=True)
    position: Mapped[int] = mapped_column(default=0)

    attachment: Mapped[Attachment] = relationship()


class NoticeRead(Base):
    """A read receipt: the resident opened the notice (first time kept)."""

    __tablename__ = "notice_read"
    __table_args__ = (UniqueConstraint("notice_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    notice_id: Mapped[int] = mapped_column(ForeignKey("notice.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), index=True)
    read_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
