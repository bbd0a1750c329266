"""Fees: the published standard (收费标准公示) and the caller's bills."""
from __future__ import annotations

from decimal import Decimal

from marshmallow import Schema, fields

from backend.auth import current_user
from backend.errors import NotFound
from backend.models import ROOM_KIND_LABELS
from backend.routes.common import Blueprint, Money, RowId
from backend.services import fees as fee_service
from backend.services.community import fee_standards, resolve_community
from backend.services.permissions import bill_rooms
from backend.timeutil import local_today

blp = Blueprint("fees", __name__, url_prefix="/api/v1/fees", description="物业费")


class StandardArgs(Schema):
    community = fields.String(load_default=None)


class StandardItem(Schema):
    kind = fields.String(required=True)
    label = fields.String(required=True)
    unit_price_yuan = Money(required=True)
    unit = fields.String(required=True)


class StandardsOut(Schema):
    community = fields.String(required=True)
    items = fields.List(fields.Nested(StandardItem), required=True)


class BillArgs(Schema):
    room_id = RowId(load_default=None)


class BillItem(Schema):
    """A ``models.Bill``."""

    id = fields.Integer(required=True)
    room_id = fields.Integer(required=True)
    room = fields.String(attribute="room.label", required=True)
    period = fields.String(required=True)
    amount_yuan = Money(attribute="amount", required=True)
    paid_yuan = Money(attribute="paid", required=True)
    outstanding_yuan = Money(attribute="outstanding", required=True)
    due_date = fields.Date(required=True)
    overdue = fields.Method("_overdue", required=True, metadata={"type": "boolean"})

    def _overdue(self, bill) -> bool:
        return bill.overdue(local_today())


class BillsOut(Schema):
    items = fields.List(fields.Nested(BillItem), required=True)
    arrears_yuan = Money(required=True, metadata={"description": "unpaid amounts past due"})
    outstanding_yuan = Money(required=True, metadata={"description": "all unpaid amounts"})


@blp.route("/standards", methods=["GET"])
@blp.public
@blp.arguments(StandardArgs, location="query")
@blp.response(200, StandardsOut)
def standards(args):
    """The published fee standard: yuan per m² per month by kind of room."""
    community = resolve_community(args["community"])
    return {
        "community": community.name,
        "items": [
            {"kind": s.kind.value, "label": ROOM_KIND_LABELS[s.kind], "unit_price_yuan": s.unit_price,
             "unit": "元/㎡·月"} for s in fee_standards(community)
        ],
    }


@blp.route("/bills", methods=["GET"])
@blp.arguments(BillArgs, location="query")
@blp.response(200, BillsOut)
def bills(args):
    """The caller's bills (all rooms whose bills they may see, ``may_see_bills``, or
    one), with arrears."""
    rooms = {r.id: r for r in bill_rooms(current_user())}
    if args["room_id"] is not None:
        if args["room_id"] not in rooms:
            raise NotFound("找不到该房屋", code="room_not_found")
        rooms = {args["room_id"]: rooms[args["room_id"]]}
    bills = fee_service.bills_for_rooms(list(rooms))
    total_late, _ = fee_service.arrears_for(bills)
    outstanding = sum((bill.outstanding for bill in bills), start=Decimal("0.00"))
    return {"items": bills, "arrears_yuan": total_late, "outstanding_yuan": outstanding}
