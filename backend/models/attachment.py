"""Uploaded files that other records refer to: a notice's images and PDFs, a fund
proposal's plan and quotations, a paper ballot's photo, a proxy's 授权委托书.

An attachment belongs to one community (who may see it is decided by the record
that refers to it, never by the attachment alone). Images are stored re-encoded
(JPEG, sRGB, no metadata); PDFs as uploaded after validation. ``sha256`` is the
digest of the stored bytes: what a ballot chain entry records."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from backend.models.base import Base, UTCDateTime, utcnow

__all__ = ["Attachment"]


class Attachment(Base):
    __tablename__ = "attachment"

    id: Mapped[int] = mapped_column(primary_key=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("community.id", ondelete="CASCADE"),
                                              index=True)
    key: Mapped[str] = mapped_column(String(200), unique=True)
    content_type: Mapped[str] = mapped_column(String(64))
    byte_size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    # The uploader's file name, for display and downloads only (never a path).
    name: Mapped[str] = mapped_column(String(120))
    pages: Mapped[int | None] = mapped_column(Integer)  # PDFs
    width: Mapped[int | None] = mapped_column(Integer)  # images, as stored
    height: Mapped[int | None] = mapped_column(Integer)
    uploaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    @property
    def is_pdf(self) -> bool:
        return self.content_type == "application/pdf"
