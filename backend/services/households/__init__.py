"""Households (#14): an owner of record invites family members and tenants to a
room, sees and removes them, sets a tenancy's end and whether a member sees the
bills; a member leaves; any resident unbinds a room.

Rules (each defined once):
- Who may invite and manage: the room's current owner (``RoomBinding.is_current_owner``).
- An invitation is a random one-time code (stored as its sha256), valid for
  ``HOUSEHOLD_INVITE_TTL_HOURS`` and only while the ledger names the inviting owner.
- A member's binding records the inviting owner of record (``owner_id``); the
  binding ends (``ends_at``, kept as history) when removed, when the member leaves,
  at a tenancy's end, and when the ledger names another owner (``end_households``).
- An owner unbinding ends only their own binding: members stay, as the ownership
  did not change (they belong to the owner of record, who manages them again after
  binding once more); the owner's pending invitations are withdrawn.
"""
from __future__ import annotations

import hashlib
import secrets
from datetime import date, datetime, time, timedelta, timezone

from flask import current_app
from sqlalchemy import select, update
from sqlalchemy.orm import selectinload

from backend.errors import Conflict, Forbidden, NotFound, ValidationFailed
from backend.extensions import db
from backend.models import Role, Room, RoomBinding, User
from backend.models.household import HouseholdInvitation
from backend.services.permissions import current_bindings
from backend.timeutil import LOCAL_TZ, local_today, utcnow

MEMBER_RELATIONS = (Role.family, Role.tenant)
# no 0/O, 1/I/L: read aloud or copied from a chat without mistakes
CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
CODE_LENGTH = 8


def hash_code(code: str) -> str:
    return hashlib.sha256(normalise_code(code).encode()).hexdigest()


def normalise_code(code: str) -> str:
    return "".join(ch for ch in code.upper() if ch.isalnum())


def end_of_local_day(day: date) -> datetime:
    """The moment a binding ending on ``day`` (a local date) stops: the next midnight
    in Asia/Shanghai, as UTC."""
    return datetime.combine(day + timedelta(days=1), time(0), LOCAL_TZ).astimezone(timezone.utc)


def last_day(ends_at: datetime | None) -> date | None:
    """The local date a binding's ``ends_at`` (the next midnight) ends, as shown."""
    if ends_at is None:
        return None
    return (ends_at.astimezone(LOCAL_TZ) - timedelta(seconds=1)).date()


def _ends_at(relation: Role, ends_on: date | None) -> datetime | None:
    if ends_on is None:
        return None
    if relation != Role.tenant:
        raise ValidationFailed("只有租户可以设置租住截止日期", code="end_date_for_tenant_only",
                               details={"fields": {"ends_on": ["只有租户可以设置"]}})
    if ends_on < local_today():
        raise ValidationFailed("租住截止日期不能早于今天", code="end_date_in_past",
                               details={"fields": {"ends_on": ["不能早于今天"]}})
    return end_of_local_day(ends_on)


def owner_binding(user: User, room_id: int) -> RoomBinding:
    """The user's current owner binding of the room, else 403 (a member, a seller)
    or 404 (not bound there at all)."""
    bound = [b for b in current_bindings(user) if b.room_id == room_id]
    if not bound:
        raise NotFound("找不到该房屋", code="room_not_found")
    if not bound[0].is_current_owner:
        raise Forbidden("只有该房屋的业主可以管理家庭成员和租户", code="not_room_owner")
    return bound[0]


def members_of(room: Room) -> list[RoomBinding]:
    """The room's family members and tenants bound now, in the order they joined."""
    return list(db.session.scalars(
        select(RoomBinding).where(
            RoomBinding.room_id == room.id, RoomBinding.relation.in_(MEMBER_RELATIONS),
            RoomBinding.is_current)
        .options(selectinload(RoomBinding.user))
        .order_by(RoomBinding.id)))


def pending_invitations(room: Room) -> list[HouseholdInvitation]:
    now = utcnow()
    return list(db.session.scalars(
        select(HouseholdInvitation).where(
            HouseholdInvitation.room_id == room.id, HouseholdInvitation.used_at.is_(None),
            HouseholdInvitation.revoked_at.is_(None), HouseholdInvitation.expires_at > now)
        .order_by(HouseholdInvitation.id)))


def invite(user: User, room_id: int, relation: Role, ends_on: date | None = None
           ) -> tuple[HouseholdInvitation, str]:
    """A new invitation to the room and its code (shown once: only its hash is kept)."""
    binding = owner_binding(user, room_id)
    if relation not in MEMBER_RELATIONS:
        raise ValidationFailed("只能邀请家庭成员或租户", code="invalid_relation")
    ends_at = _ends_at(relation, ends_on)
    code = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
    hours = current_app.config["HOUSEHOLD_INVITE_TTL_HOURS"]
    invitation = HouseholdInvitation(
        room_id=room_id, owner_id=binding.owner_id, invited_by_id=user.id, relation=relation,
        code_hash=hash_code(code), expires_at=utcnow() + timedelta(hours=hours), ends_at=ends_at)
    db.session.add(invitation)
    db.session.flush()
    return invitation, code


def revoke(user: User, room_id: int, invitation_id: int) -> None:
    owner_binding(user, room_id)
    invitation = db.session.get(HouseholdInvitation, invitation_id)
    if invitation is None or invitation.room_id != room_id or not invitation.is_pending(utcnow()):
        raise NotFound("找不到该邀请，或已使用、已过期", code="invitation_not_found")
    invitation.revoked_at = utcnow()
    db.session.flush()


def redeem(user: User, code: str) -> RoomBinding:
    """Join the household the code invites to, as the relation the owner chose."""
    invitation = db.session.scalar(
        select(HouseholdInvitation).where(HouseholdInvitation.code_hash == hash_code(code))
        .with_for_update())
    now = utcnow()
    if invitation is None or invitation.revoked_at is not None:
        raise ValidationFailed("邀请码无效，请核对后重试，或请业主重新邀请", code="invitation_invalid",
                               details={"fields": {"code": ["邀请码无效"]}})
    if invitation.used_at is not None:
        raise Conflict("该邀请码已被使用，请业主重新邀请", code="invitation_used")
    if invitation.expires_at <= now or invitation.room.owner_id != invitation.owner_id:
        raise ValidationFailed("邀请码已过期，请业主重新邀请", code="invitation_expired",
                               details={"fields": {"code": ["邀请码已过期"]}})
    binding = db.session.scalar(select(RoomBinding).where(
        RoomBinding.user_id == user.id, RoomBinding.room_id == invitation.room_id))
    if binding is not None and binding.is_current:
        raise Conflict("您已绑定该房屋", code="already_bound")
    if binding is None:
        binding = RoomBinding(user_id=user.id, room_id=invitation.room_id)
        db.session.add(binding)
    # a former member (or a seller) joining again starts a new membership
    binding.relation, binding.owner_id = invitation.relation, invitation.owner_id
    binding.ends_at, binding.bills_allowed, binding.created_at = invitation.ends_at, False, now
    invitation.used_at, invitation.used_by_id = now, user.id
    db.session.flush()
    db.session.refresh(user, ["bindings"])
    return binding


def _member(user: User, room_id: int, binding_id: int) -> RoomBinding:
    owner_binding(user, room_id)
    member = db.session.get(RoomBinding, binding_id)
    if member is None or member.room_id != room_id or member.relation not in MEMBER_RELATIONS \
            or not member.is_current:
        raise NotFound("找不到该成员", code="member_not_found")
    return member


def update_member(user: User, room_id: int, binding_id: int, *,
                  bills_allowed: bool | None = None, ends_on: date | None = None,
                  clear_end: bool = False) -> RoomBinding:
    """The owner lets a member see the bills (or not) and sets or clears a tenancy's end."""
    member = _member(user, room_id, binding_id)
    if bills_allowed is not None:
        member.bills_allowed = bills_allowed
    if clear_end:
        member.ends_at = None
    elif ends_on is not None:
        member.ends_at = _ends_at(member.relation, ends_on)
    db.session.flush()
    return member


def remove_member(user: User, room_id: int, binding_id: int) -> None:
    member = _member(user, room_id, binding_id)
    member.ends_at = utcnow()
    db.session.flush()


def unbind(user: User, room_id: int) -> None:
    """The resident ends their own binding of the room (a member leaves, an owner
    unbinds). An owner's pending invitations to the room are withdrawn; members stay
    (the ownership did not change)."""
    bound = [b for b in current_bindings(user) if b.room_id == room_id]
    if not bound:
        raise NotFound("找不到该房屋", code="room_not_found")
    now = utcnow()
    bound[0].ends_at = now
    if bound[0].relation == Role.owner:
        db.session.execute(update(HouseholdInvitation).where(
            HouseholdInvitation.room_id == room_id, HouseholdInvitation.invited_by_id == user.id,
            HouseholdInvitation.used_at.is_(None), HouseholdInvitation.revoked_at.is_(None))
            .values(revoked_at=now))
    db.session.flush()


def end_households(room_ids: list[int]) -> None:
    """The ledger named another owner for these rooms: the former owner's family
    members and tenants stop (their bindings end now) and pending invitations are
    withdrawn. Members bound before invitations existed (no ``owner_id``) stay."""
    if not room_ids:
        return
    now = utcnow()
    for start in range(0, len(room_ids), 500):
        chunk = room_ids[start:start + 500]
        db.session.execute(update(RoomBinding).where(
            RoomBinding.room_id.in_(chunk), RoomBinding.relation.in_(MEMBER_RELATIONS),
            RoomBinding.owner_id.is_not(None), ~RoomBinding.has_ended).values(ends_at=now)
            .execution_options(synchronize_session=False))
        db.session.execute(update(HouseholdInvitation).where(
            HouseholdInvitation.room_id.in_(chunk), HouseholdInvitation.used_at.is_(None),
            HouseholdInvitation.revoked_at.is_(None)).values(revoked_at=now))
