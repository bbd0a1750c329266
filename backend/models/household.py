"""Household invitations: an owner of record invites a family member or a tenant to
a room with a one-time code (stored hashed). The bindings they create are
``RoomBinding`` rows (relation family/tenant, ``ends_at``, ``bills_allowed``)."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from backend.models.base import Base, UTCDateTime, str_enum, utcnow
from backend.models.community import Room
from backend.models.user import Role, User


class HouseholdInvitation(Base):
    """An invitation to join a room's household. Usable once, until ``expires_at``,
    while the room's owner of record is still ``owner_id`` (the inviter's); ``ends_at``
    is given to the tenant's binding (a tenancy's end)."""

    __tablename__ = "household_invitation"

    id: Mapped[int] = mapped_column(primary_key=True)
    room_id: Mapped[int] = mapped_column(ForeignKey("room.id", ondelete="CASCADE"), index=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("owner_of_record.id", ondelete="CASCADE"))
    invited_by_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), index=True)
    relation: Mapped[Role] = mapped_column(str_enum(Role, "invitation_relation"))
    # sha256 hex of the code: a leaked table does not let anyone join
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    used_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    room: Mapped[Room] = relationship()
    invited_by: Mapped[User] = relationship(foreign_keys=[invited_by_id])
    used_by: Mapped[User | None] = relationship(foreign_keys=[used_by_id])

    def is_pending(self, now: datetime) -> bool:
        return self.used_at is None and self.revoked_at is None and self.expires_at > now
