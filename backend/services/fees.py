"""Fees for rooms: the published standard applied to a room, and its bills."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy import select

from backend.extensions import db
from backend.models import Bill, FeeStandard, Room
from backend.rules import fees as rules
from backend.timeutil import local_today


@dataclass(frozen=True)
class RoomFee:
    room: Room
    unit_price: Decimal | None  # None: no published standard for this kind of room
    monthly: Decimal | None

    def for_period(self, period: str) -> Decimal | None:
        if self.unit_price is None:
            return None
        return rules.fee_for(self.room.area_m2, self.unit_price, period)


def room_fees(rooms: list[Room]) -> list[RoomFee]:
    if not rooms:
        return []
    community_ids = sorted({r.community_id for r in rooms})
    prices = {(s.community_id, s.kind): s.unit_price
              for s in db.session.scalars(select(FeeStandard).where(
                  FeeStandard.community_id.in_(community_ids)))}
    out = []
    for room in rooms:
        price = prices.get((room.community_id, room.kind))
        out.append(RoomFee(room, price, rules.monthly_fee(room.area_m2, price) if price is not None else None))
    return out


def bills_for_rooms(room_ids: list[int]) -> list:
    """The rooms' bills, newest period first per room."""
    if not room_ids:
        return []
    return list(db.session.scalars(select(Bill).where(Bill.room_id.in_(room_ids))
                                   .order_by(Bill.room_id, Bill.period.desc())))


def as_line(bill: Bill) -> rules.BillLine:
    """The bill as the pure rules see it (same outstanding amount as ``Bill.outstanding``)."""
    return rules.BillLine(bill.period, bill.amount, bill.paid, bill.due_date)


def arrears_for(bills: list[Bill], today: date | None = None) -> tuple[Decimal, list[Bill]]:
    """Total owed on the bills past due, and those bills by room and period."""
    total, late = rules.arrears(bills, today or local_today())
    return total, sorted(late, key=lambda b: (b.room_id, b.period))
