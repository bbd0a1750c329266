"""The signed-in user and their rooms."""
from __future__ import annotations

from marshmallow import Schema, fields, validate

from backend.auth import current_user
from backend.extensions import db, limiter
from backend.routes.common import Blueprint, login_limit
from backend.models import User
from backend.services import rooms as room_service
from backend.services.desk_login import may_use_desk
from backend.services.permissions import current_bindings, may_see_bills, roles_of

blp = Blueprint("me", __name__, url_prefix="/api/v1/me", description="我的账号与房屋")


class RoomOut(Schema):
    id = fields.Integer(required=True)
    community = fields.String()
    building = fields.String(required=True)
    unit = fields.String(required=True)
    number = fields.String(required=True)
    area_m2 = fields.Decimal(as_string=True, places=2, required=True)
    kind = fields.String()
    relation = fields.String(required=True)
    bills_visible = fields.Boolean(required=True, metadata={
        "description": "whether I may see and pay this room's bills (its owner, or a member "
                       "the owner allowed)"})


class MeSchema(Schema):
    id = fields.Integer(required=True)
    name = fields.String(required=True)
    roles = fields.List(fields.String(), required=True)
    rooms = fields.List(fields.Nested(RoomOut), required=True)
    is_staff = fields.Boolean()
    may_use_desk = fields.Boolean(metadata={
        "description": "committee members and staff may sign in to the desk console"})


class BindRoomIn(Schema):
    community = fields.String(validate=validate.Length(max=100), load_default=None)
    building = fields.String(required=True, validate=validate.Length(min=1, max=32))
    unit = fields.String(required=True, validate=validate.Length(min=1, max=32))
    number = fields.String(required=True, validate=validate.Length(min=1, max=32))
    owner_name = fields.String(required=True, validate=validate.Length(min=1, max=64))
    phone = fields.String(required=True, validate=validate.Length(min=5, max=32))


def room_payload(binding) -> dict:
    """A bound room (a ``RoomBinding``)."""
    room = binding.room
    return {
        "id": room.id, "community": room.community.name,
        "building": room.building.name, "unit": room.unit.name, "number": room.number,
        "area_m2": room.area_m2, "kind": room.kind.value, "relation": binding.relation.value,
        "bills_visible": may_see_bills(binding.user, room),
    }


def me_payload(user: User) -> dict:
    return {
        "id": user.id, "name": user.name, "roles": roles_of(user),
        "rooms": [room_payload(b) for b in current_bindings(user)],
        "is_staff": bool(user.staff_roles),
        "may_use_desk": may_use_desk(user),
    }


@blp.route("", methods=["GET"])
@blp.response(200, MeSchema)
def me():
    """Who I am: name, roles and the rooms I am bound to now (a room sold to someone
    else, as the ledger says, is no longer listed)."""
    return me_payload(current_user())


@blp.route("/rooms", methods=["POST"])
@limiter.limit(login_limit)
@blp.arguments(BindRoomIn)
@blp.response(201, RoomOut)
def bind_room(data):
    """Bind a room as its owner: name and phone must match the ledger's owner of record."""
    binding = room_service.bind_room_as_owner(current_user(), **data)
    return room_payload(binding)
