"""People who sign in: residents (by WeChat openid) and staff (by username)."""
from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, String, UniqueConstraint, and_, exists, false, or_
from sqlalchemy.ext.hybrid import hybrid_property
from sqlalchemy.orm import Mapped, aliased, mapped_column, relationship

from backend.models.base import Base, UTCDateTime, str_enum, utcnow
from backend.models.community import OwnerOfRecord, Room


class Role(str, enum.Enum):
    owner = "owner"  # 业主 (owner of record, bound to a room)
    family = "family"  # 家庭成员
    tenant = "tenant"  # 租户
    desk = "desk"  # 前台/客服
    engineer = "engineer"  # 工程维修
    manager = "manager"  # 项目经理
    committee = "committee"  # 业委会委员
    admin = "admin"


STAFF_ROLES = {Role.desk, Role.engineer, Role.manager, Role.admin}
RESIDENT_RELATIONS = {Role.owner, Role.family, Role.tenant}


class User(Base):
    __tablename__ = "user"
    __table_args__ = (
        CheckConstraint("openid IS NOT NULL OR username IS NOT NULL", name="has_identity"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    openid: Mapped[str | None] = mapped_column(String(64), unique=True)
    unionid: Mapped[str | None] = mapped_column(String(64))
    username: Mapped[str | None] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str | None] = mapped_column(String(256))
    name: Mapped[str] = mapped_column(String(64), default="")
    phone: Mapped[str | None] = mapped_column(String(32))
    # Bumped to revoke every token issued so far (logout everywhere, password change).
    token_version: Mapped[int] = mapped_column(default=1)
    is_active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_message_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    staff_roles: Mapped[list[StaffRole]] = relationship(
        back_populates="user", cascade="all, delete-orphan"
    )
    bindings: Mapped[list[RoomBinding]] = relationship(
        back_populates="user", cascade="all, delete-orphan", order_by="RoomBinding.id"
    )

    @property
    def shown_name(self) -> str:
        """How pages, timelines and messages name this person: their name, else what
        they are (工作人员 for staff, who sign in by username; else 业主)."""
        return self.name or ("工作人员" if self.username else "业主")


class StaffRole(Base):
    """A staff role held in one community (desk, engineer, manager, admin)."""

    __tablename__ = "staff_role"
    __table_args__ = (UniqueConstraint("user_id", "community_id", "role"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), index=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("community.id", ondelete="CASCADE"))
    role: Mapped[Role] = mapped_column(str_enum(Role, "staff_role_kind"))

    user: Mapped[User] = relationship(back_populates="staff_roles")


class RoomBinding(Base):
    """A resident's link to a room. ``owner_id`` records which owner of record the
    binding was verified against: if the ledger later names another owner, the
    binding no longer grants an owner's rights (``is_current_owner``) nor any other
    right the room gives (``is_current``). ``created_at``: since when the resident is
    part of the household (reset when the binding is verified against a new owner).

    Family members and tenants join by an owner's invitation (``services.households``):
    their ``owner_id`` is the owner of record who invited them; ``ends_at`` ends the
    binding (a tenancy's end date, or the moment the member was removed, left or
    unbound, or the ledger named another owner; the row stays as history) and
    ``bills_allowed`` lets a member see the room's bills (the owner toggles it)."""

    __tablename__ = "room_binding"
    __table_args__ = (UniqueConstraint("user_id", "room_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), index=True)
    room_id: Mapped[int] = mapped_column(ForeignKey("room.id", ondelete="CASCADE"), index=True)
    relation: Mapped[Role] = mapped_column(str_enum(Role, "binding_relation"))
    owner_id: Mapped[int | None] = mapped_column(
        ForeignKey("owner_of_record.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    ends_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    bills_allowed: Mapped[bool] = mapped_column(default=False, server_default=false())

    user: Mapped[User] = relationship(back_populates="bindings")
    room: Mapped[Room] = relationship()
    owner: Mapped[OwnerOfRecord | None] = relationship()

    @hybrid_property
    def has_ended(self) -> bool:
        """Whether ``ends_at`` has passed (a tenancy over, a member removed, a room unbound)."""
        return self.ends_at is not None and self.ends_at <= utcnow()

    @has_ended.inplace.expression
    @classmethod
    def _has_ended_expression(cls):
        # the time is a bound parameter, taken when the query is built
        return and_(cls.ends_at.is_not(None), cls.ends_at <= utcnow())

    @hybrid_property
    def is_current_owner(self) -> bool:
        """Whether this binding grants an owner's rights now: it is an owner binding
        verified against an owner of record, and the ledger still names that same
        owner for the room (a sold room stops granting the seller's rights), and the
        owner has not unbound it (``ends_at``)."""
        return (
            not self.has_ended
            and self.relation == Role.owner
            and self.owner_id is not None
            and self.room.owner_id == self.owner_id
        )

    @is_current_owner.inplace.expression
    @classmethod
    def _is_current_owner_expression(cls):
        # An alias so the EXISTS stays correlated to the binding only, even when the
        # enclosing query joins room itself.
        room = aliased(Room)
        return and_(
            ~cls.has_ended,
            cls.relation == Role.owner,
            cls.owner_id.is_not(None),
            exists().where(room.id == cls.room_id, room.owner_id == cls.owner_id)
            .correlate_except(room),
        )

    @hybrid_property
    def is_current(self) -> bool:
        """Whether the room is the resident's now: a family or tenant binding, or an
        owner binding while the ledger still names its owner (``is_current_owner``),
        and in both cases before its ``ends_at``. Bills, the rooms /me lists, the
        bot's answers, reporting and a household's repairs follow it: a seller loses
        them all when the ledger names the buyer, a tenant when the tenancy ends."""
        return (self.relation in (Role.family, Role.tenant) and not self.has_ended) \
            or self.is_current_owner

    @is_current.inplace.expression
    @classmethod
    def _is_current_expression(cls):
        return or_(and_(cls.relation.in_([Role.family, Role.tenant]), ~cls.has_ended),
                   cls.is_current_owner)
