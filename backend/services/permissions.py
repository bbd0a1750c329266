"""Who may do what: roles and object-level checks every route builds on.

Roles come from two places: staff roles held in a community (desk, engineer,
manager, admin), and room bindings (owner, family, tenant). Committee membership
(业委会委员) belongs to an owner of record; a user has it while they are bound as
that owner. An owner binding counts only while the ledger still names the same
owner of record for the room (a sold room stops granting the seller owner's rights).
"""
from __future__ import annotations

from sqlalchemy import select

from backend.extensions import db
from backend.models import OwnerOfRecord, Role, Room, RoomBinding, StaffRole, User


def staff_community_ids(user: User, *roles: Role | str) -> set[int]:
    """Communities where ``user`` holds any of ``roles`` (all staff roles if none);
    admin counts as every staff role."""
    wanted = {Role(r) for r in roles} if roles else None
    return {
        sr.community_id
        for sr in user.staff_roles
        if wanted is None or sr.role in wanted or sr.role == Role.admin
    }


def current_bindings(user: User) -> list[RoomBinding]:
    """The user's bindings that count now (``RoomBinding.is_current``): family and
    tenant bindings, and owner bindings while the ledger names their owner."""
    return [b for b in user.bindings if b.is_current]


def valid_owner_bindings(user: User) -> list[RoomBinding]:
    """The user's bindings that grant an owner's rights (``RoomBinding.is_current_owner``)."""
    return [b for b in user.bindings if b.is_current_owner]


def owned_rooms(user: User) -> list[Room]:
    """Rooms for which ``user`` acts as owner of record (may vote for them)."""
    return [b.room for b in valid_owner_bindings(user)]


def bound_rooms(user: User) -> list[Room]:
    """The rooms the user is bound to now (``current_bindings``): what their bills,
    the bot's answers and the desk's view of them cover."""
    return [b.room for b in current_bindings(user)]


def home_community(user: User):
    """A resident's community: that of the room they bound most recently (of those
    bound now), or None without one. The bot answers from it and the conversation
    belongs to its desk."""
    rooms = bound_rooms(user)
    return rooms[-1].community if rooms else None


def owner_records(user: User) -> list[OwnerOfRecord]:
    seen: dict[int, OwnerOfRecord] = {}
    for b in valid_owner_bindings(user):
        seen.setdefault(b.owner_id, b.owner)
    return list(seen.values())


def committee_community_ids(user: User) -> set[int]:
    return {o.community_id for o in owner_records(user) if o.is_committee}


def resident_community_ids(user: User) -> set[int]:
    """Communities the user has a binding in that has not ended (``has_ended``),
    current or not: a seller still sees the community's fund proposals, as a vote
    opened before the sale may still be theirs to cast (the owner in the vote's
    snapshot votes); a removed member or an unbound room no longer counts."""
    return {b.room.community_id for b in user.bindings if not b.has_ended}


def roles_of(user: User) -> list[str]:
    roles = {sr.role.value for sr in user.staff_roles}
    roles |= {b.relation.value for b in current_bindings(user)}
    if committee_community_ids(user):
        roles.add(Role.committee.value)
    order = [r.value for r in Role]
    return sorted(roles, key=order.index)


def has_role(user: User, role: Role | str, community_id: int | None = None) -> bool:
    role = Role(role)
    if role == Role.committee:
        ids = committee_community_ids(user)
    elif role in (Role.owner, Role.family, Role.tenant):
        ids = {b.room.community_id for b in current_bindings(user) if b.relation == role}
    else:
        ids = staff_community_ids(user, role)
    return bool(ids) if community_id is None else community_id in ids


def community_ids_with(user: User, *roles: Role | str) -> set[int]:
    """Communities in which ``user`` has any of ``roles``."""
    ids: set[int] = set()
    for role in roles:
        role = Role(role)
        if role == Role.committee:
            ids |= committee_community_ids(user)
        elif role == Role.owner:
            ids |= {r.community_id for r in owned_rooms(user)}
        elif role in (Role.family, Role.tenant):
            ids |= {b.room.community_id for b in current_bindings(user) if b.relation == role}
        else:
            ids |= staff_community_ids(user, role)
    return ids


def is_staff(user: User) -> bool:
    return bool(user.staff_roles)


def can_see_room(user: User, room: Room) -> bool:
    """Residents see the rooms they are bound to now; staff their community's rooms."""
    if any(b.room_id == room.id for b in current_bindings(user)):
        return True
    return room.community_id in staff_community_ids(user)


def may_see_bills(user: User, room: Room | int) -> bool:
    """Whether ``user`` may see (and pay) the room's bills: its current owner, and a
    family member or tenant bound now whose owner allowed bills for them
    (``RoomBinding.bills_allowed``). The one rule for bills pages, payments and the
    bot's fee answers; staff see bills through the desk's own checks, not this."""
    room_id = room if isinstance(room, int) else room.id
    return any(
        b.room_id == room_id and (b.is_current_owner or b.bills_allowed)
        for b in current_bindings(user)
    )


def bill_rooms(user: User) -> list[Room]:
    """The rooms whose bills ``user`` may see now (``may_see_bills``)."""
    return [b.room for b in current_bindings(user) if may_see_bills(user, b.room_id)]


def room_for_resident(user: User, room_id: int) -> Room | None:
    """The room if the user is bound to it now, else None (callers answer 404)."""
    for b in current_bindings(user):
        if b.room_id == room_id:
            return b.room
    return None


def grant_staff_role(user: User, community_id: int, role: Role) -> None:
    exists = db.session.scalar(select(StaffRole).where(
        StaffRole.user_id == user.id, StaffRole.community_id == community_id, StaffRole.role == role
    ))
    if exists is None:
        db.session.add(StaffRole(user_id=user.id, community_id=community_id, role=role))
