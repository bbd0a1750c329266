"""Residents and their rooms: binding a room against the ledger."""
from __future__ import annotations

from sqlalchemy import select

from backend.errors import Forbidden
from backend.extensions import db
from backend.models import Building, Role, Room, RoomBinding, Unit, User, utcnow
from backend.services.community import resolve_community
from backend.services.ledger import norm_building, norm_name, norm_number, norm_phone, norm_unit

MISMATCH = "房屋信息、产权人姓名或手机号与物业台账不一致，请核对后重试，或联系物业服务中心"


def find_room(community_id: int, building: str, unit: str, number: str) -> Room | None:
    return db.session.scalar(
        select(Room)
        .join(Building, Room.building_id == Building.id)
        .join(Unit, Room.unit_id == Unit.id)
        .where(Room.community_id == community_id, Building.name == norm_building(building),
               Unit.name == norm_unit(unit), Room.number == norm_number(number))
    )


def bind_room_as_owner(user: User, *, community: str | None, building: str, unit: str,
                       number: str, owner_name: str, phone: str) -> RoomBinding:
    """Bind ``user`` to a room as its owner when name and phone match the owner of
    record. Every mismatch (unknown room, unsold room, wrong name or phone) is the
    same 403 so the ledger cannot be probed."""
    target = resolve_community(community)
    room = find_room(target.id, building, unit, number)
    owner = room.owner if room is not None else None
    phone_ok = owner is not None and norm_phone(phone) is not None and norm_phone(phone) == owner.phone
    if not (owner and phone_ok and norm_name(owner_name) == norm_name(owner.name)):
        raise Forbidden(MISMATCH, code="ledger_mismatch")
    binding = db.session.scalar(
        select(RoomBinding).where(RoomBinding.user_id == user.id, RoomBinding.room_id == room.id)
    )
    if binding is None:
        binding = RoomBinding(user_id=user.id, room_id=room.id, relation=Role.owner, owner_id=owner.id)
        db.session.add(binding)
    else:
        if binding.relation == Role.owner and binding.owner_id != owner.id:
            # Verified against another owner of record than before (the room changed
            # hands): a new household, which shares only the repairs from now on.
            binding.created_at = utcnow()
        elif binding.has_ended or binding.relation != Role.owner:
            # bound again after unbinding, or a member becoming the owner
            binding.created_at = utcnow()
        binding.relation, binding.owner_id = Role.owner, owner.id
        binding.ends_at, binding.bills_allowed = None, False
    if not user.name:
        user.name = owner.name
    if not user.phone:
        user.phone = owner.phone
    db.session.flush()
    return binding
