"""One-time codes a signed-in committee member (or staff member) gets in the
mini-program to sign in to the desk console on a computer. Only a SHA-256 hash of
the code is stored."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from backend.models.base import Base, UTCDateTime, utcnow


class DeskLoginCode(Base):
    __tablename__ = "desk_login_code"
    __table_args__ = (
        # Issuing a code invalidates the caller's earlier unused ones.
        Index("ix_desk_login_code_user_unused", "user_id", "used_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"))
    # Hex SHA-256 of the normalised code (8 characters, no dash).
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
