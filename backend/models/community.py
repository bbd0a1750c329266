"""The community (小区) and its ledger (台账): buildings, units, rooms, owners of record,
the published fee standard, bills and policy texts."""
from __future__ import annotations

import enum
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import (
    JSON,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from backend.models.base import Area, Base, Money, UTCDateTime, str_enum, utcnow
from backend.rules import fees as fee_rules


class RoomKind(str, enum.Enum):
    residential_lift = "residential_lift"  # 电梯住宅
    residential = "residential"  # 非电梯住宅 / 多层
    shop = "shop"  # 商铺


ROOM_KIND_LABELS = {
    RoomKind.residential_lift: "电梯住宅",
    RoomKind.residential: "非电梯住宅",
    RoomKind.shop: "商铺",
}


def room_label(building: str, unit: str, number: str) -> str:
    """How residents name a room: 3栋2单元1502."""
    return f"{building}栋{unit}单元{number}"


class Community(Base):
    __tablename__ = "community"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    # Contact, payment and invoice settings the bot and pages show; see
    # services.community.DEFAULT_SETTINGS for the keys.
    settings: Mapped[dict] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    buildings: Mapped[list[Building]] = relationship(back_populates="community")


class Building(Base):
    """楼栋."""

    __tablename__ = "building"
    __table_args__ = (UniqueConstraint("community_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("community.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(32))

    community: Mapped[Community] = relationship(back_populates="buildings")


class Unit(Base):
    """单元."""

    __tablename__ = "unit"
    __table_args__ = (UniqueConstraint("building_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    building_id: Mapped[int] = mapped_column(ForeignKey("building.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(32))

    building: Mapped[Building] = relationship()


class OwnerOfRecord(Base):
    """产权人 as named in the property register; ``owner_ref`` is the register's id.

    Unsold rooms have no owner of record (``Room.owner_id`` is NULL): the developer
    holds them, and for headcount they count as one person together.
    """

    __tablename__ = "owner_of_record"
    __table_args__ = (UniqueConstraint("community_id", "owner_ref"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("community.id", ondelete="CASCADE"))
    owner_ref: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(64))
    phone: Mapped[str] = mapped_column(String(32))
    # 业委会委员: committee members are owners of record.
    is_committee: Mapped[bool] = mapped_column(default=False)

    rooms: Mapped[list[Room]] = relationship(back_populates="owner")


class Room(Base):
    """户: one exclusive part (专有部分) with its registered floor area."""

    __tablename__ = "room"
    __table_args__ = (
        UniqueConstraint("unit_id", "number"),
        CheckConstraint("area_m2 > 0", name="area_positive"),
        Index("ix_room_community_building", "community_id", "building_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("community.id", ondelete="CASCADE"))
    building_id: Mapped[int] = mapped_column(ForeignKey("building.id", ondelete="CASCADE"))
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id", ondelete="CASCADE"))
    number: Mapped[str] = mapped_column(String(32))
    area_m2: Mapped[Decimal] = mapped_column(Area)
    kind: Mapped[RoomKind] = mapped_column(str_enum(RoomKind, "room_kind"))
    owner_id: Mapped[int | None] = mapped_column(
        ForeignKey("owner_of_record.id", ondelete="SET NULL"), index=True
    )

    community: Mapped[Community] = relationship()
    building: Mapped[Building] = relationship()
    unit: Mapped[Unit] = relationship()
    owner: Mapped[OwnerOfRecord | None] = relationship(back_populates="rooms")

    @property
    def label(self) -> str:
        """3栋2单元1502 (needs building and unit: lists load them eagerly)."""
        return room_label(self.building.name, self.unit.name, self.number)


class FeeStandard(Base):
    """收费标准: yuan per m² per month for a kind of room, as published."""

    __tablename__ = "fee_standard"
    __table_args__ = (
        UniqueConstraint("community_id", "kind"),
        CheckConstraint("unit_price >= 0", name="price_non_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("community.id", ondelete="CASCADE"))
    kind: Mapped[RoomKind] = mapped_column(str_enum(RoomKind, "fee_room_kind"))
    unit_price: Mapped[Decimal] = mapped_column(Money)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class Bill(Base):
    """One room's property-fee bill for one period (YYYY-MM)."""

    __tablename__ = "bill"
    __table_args__ = (
        UniqueConstraint("room_id", "period"),
        CheckConstraint("amount >= 0", name="amount_non_negative"),
        CheckConstraint("paid >= 0", name="paid_non_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    room_id: Mapped[int] = mapped_column(ForeignKey("room.id", ondelete="CASCADE"))
    period: Mapped[str] = mapped_column(String(7))
    amount: Mapped[Decimal] = mapped_column(Money)
    paid: Mapped[Decimal] = mapped_column(Money, default=Decimal("0"))
    due_date: Mapped[date] = mapped_column(Date)

    room: Mapped[Room] = relationship()

    @property
    def outstanding(self) -> Decimal:
        """What is still to pay (never below zero): ``rules.fees.outstanding``."""
        return fee_rules.outstanding(self.amount, self.paid)

    def overdue(self, today: date) -> bool:
        """Unpaid past its due date (counts in arrears): ``rules.fees.is_overdue``."""
        return fee_rules.is_overdue(self.amount, self.paid, self.due_date, today)


class PolicyText(Base):
    """A community rule in plain words (renovation, pets, parking, waste, office hours)
    that staff edit and the bot quotes."""

    __tablename__ = "policy_text"
    __table_args__ = (UniqueConstraint("community_id", "topic"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("community.id", ondelete="CASCADE"))
    topic: Mapped[str] = mapped_column(String(32))
    title: Mapped[str] = mapped_column(String(100))
    body: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
