"""Households: an owner's family members and tenants, their invitations, and
leaving or unbinding a room (我的房屋)."""
from __future__ import annotations

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from backend.auth import current_user
from backend.extensions import limiter
from backend.jobs.notify import page_for
from backend.models import Role
from backend.routes.common import Blueprint, LocalDateTime, login_limit, per_user
from backend.services import households as service
from backend.services.permissions import current_bindings, may_see_bills

blp = Blueprint("households", __name__, url_prefix="/api/v1/households",
                description="我的房屋：家庭成员与租户的邀请、管理，退出与解绑")


class MemberOut(Schema):
    id = fields.Integer(required=True, metadata={"description": "the member's binding id"})
    name = fields.String(required=True)
    relation = fields.String(required=True, metadata={"description": "family or tenant"})
    since = LocalDateTime(required=True)
    ends_on = fields.Date(allow_none=True, metadata={"description": "a tenancy's last day"})
    bills_allowed = fields.Boolean(required=True)


class InvitationOut(Schema):
    id = fields.Integer(required=True)
    relation = fields.String(required=True)
    expires_at = LocalDateTime(required=True)
    ends_on = fields.Date(allow_none=True)


class NewInvitationOut(InvitationOut):
    code = fields.String(required=True, metadata={"description": "shown once; single use"})
    link = fields.String(required=True, metadata={"description": "in-app link that redeems it"})
    wechat_path = fields.String(required=True, metadata={"description": "mini-program page to share"})


class HouseholdOut(Schema):
    room_id = fields.Integer(required=True)
    room = fields.String(required=True)
    community = fields.String(required=True)
    relation = fields.String(required=True, metadata={"description": "mine: owner, family or tenant"})
    ends_on = fields.Date(allow_none=True)
    bills = fields.Boolean(required=True, metadata={"description": "I may see this room's bills"})
    is_owner = fields.Boolean(required=True, metadata={"description": "I manage the household"})
    members = fields.List(fields.Nested(MemberOut), metadata={"description": "owners only"})
    invitations = fields.List(fields.Nested(InvitationOut), metadata={"description": "owners only: pending"})


class HouseholdsOut(Schema):
    items = fields.List(fields.Nested(HouseholdOut), required=True)


class InviteIn(Schema):
    relation = fields.String(required=True, validate=validate.OneOf(["family", "tenant"]))
    ends_on = fields.Date(load_default=None, metadata={"description": "tenants: last day of the tenancy"})


class JoinIn(Schema):
    code = fields.String(required=True, validate=validate.Length(min=4, max=32))


class MemberIn(Schema):
    bills_allowed = fields.Boolean(load_default=None)
    ends_on = fields.Date(allow_none=True,
                          metadata={"description": "tenants: last day; null clears it; absent: unchanged"})

    @validates_schema
    def _something_to_change(self, data, **kwargs):
        if data.get("bills_allowed") is None and "ends_on" not in data:
            raise ValidationError("请指定要修改的内容", field_name="_body")


class JoinedOut(Schema):
    room_id = fields.Integer(required=True)
    room = fields.String(required=True)
    relation = fields.String(required=True)
    ends_on = fields.Date(allow_none=True)


def _member(binding) -> dict:
    return {"id": binding.id, "name": binding.user.name or "住户",
            "relation": binding.relation.value, "since": binding.created_at,
            "ends_on": service.last_day(binding.ends_at), "bills_allowed": binding.bills_allowed}


def _invitation(inv) -> dict:
    return {"id": inv.id, "relation": inv.relation.value, "expires_at": inv.expires_at,
            "ends_on": service.last_day(inv.ends_at)}


@blp.route("", methods=["GET"])
@blp.response(200, HouseholdsOut)
def my_households():
    """My rooms with what I may do there; for rooms I own, their current family
    members and tenants and the pending invitations."""
    user = current_user()
    items = []
    for b in current_bindings(user):
        item = {"room_id": b.room_id, "room": b.room.label, "community": b.room.community.name,
                "relation": b.relation.value, "ends_on": service.last_day(b.ends_at),
                "bills": may_see_bills(user, b.room_id), "is_owner": b.is_current_owner}
        if b.is_current_owner:
            item["members"] = [_member(m) for m in service.members_of(b.room)]
            item["invitations"] = [_invitation(i) for i in service.pending_invitations(b.room)]
        items.append(item)
    return {"items": items}


@blp.route("/<id:room_id>/invitations", methods=["POST"])
@limiter.limit(login_limit, key_func=per_user)
@blp.arguments(InviteIn)
@blp.response(201, NewInvitationOut)
def invite(data, room_id):
    """The room's owner invites a family member or a tenant: a one-time code (and a
    link carrying it), valid for HOUSEHOLD_INVITE_TTL_HOURS."""
    invitation, code = service.invite(current_user(), room_id, Role(data["relation"]), data["ends_on"])
    link = f"/join?code={code}"
    return {**_invitation(invitation), "code": code, "link": link, "wechat_path": page_for(link)}


@blp.route("/<id:room_id>/invitations/<id:invitation_id>", methods=["DELETE"])
@blp.response(204)
def revoke(room_id, invitation_id):
    """The owner withdraws a pending invitation."""
    service.revoke(current_user(), room_id, invitation_id)


@blp.route("/join", methods=["POST"])
@limiter.limit(login_limit, key_func=per_user)
@blp.arguments(JoinIn)
@blp.response(201, JoinedOut)
def join(data):
    """Redeem an invitation code: bound to the room as the owner chose (family/tenant)."""
    binding = service.redeem(current_user(), data["code"])
    return {"room_id": binding.room_id, "room": binding.room.label,
            "relation": binding.relation.value, "ends_on": service.last_day(binding.ends_at)}


@blp.route("/<id:room_id>/members/<id:binding_id>", methods=["PATCH"])
@blp.arguments(MemberIn)
@blp.response(200, MemberOut)
def update_member(data, room_id, binding_id):
    """The owner lets a member see the bills (or not), or sets/clears a tenancy's end."""
    member = service.update_member(
        current_user(), room_id, binding_id, bills_allowed=data["bills_allowed"],
        ends_on=data.get("ends_on"), clear_end="ends_on" in data and data["ends_on"] is None)
    return _member(member)


@blp.route("/<id:room_id>/members/<id:binding_id>", methods=["DELETE"])
@blp.response(204)
def remove_member(room_id, binding_id):
    """The owner removes a family member or tenant (from now on they see nothing of the room)."""
    service.remove_member(current_user(), room_id, binding_id)


@blp.route("/<id:room_id>", methods=["DELETE"])
@blp.response(204)
def unbind(room_id):
    """I leave the room (a member) or unbind it (the owner: members stay, the owner's
    pending invitations are withdrawn)."""
    service.unbind(current_user(), room_id)
