"""Who a fund decision is for: the scope (the rooms that will share the cost), the
eligibility snapshot taken when voting opens, and who votes for which room.

Scope = a building list, a room list or the whole community, checked against the
ledger. When voting opens (or an emergency use is approved) the rooms in scope are
copied with their areas and owners of record into ``FundEligibleRoom``; the tally
and the ballots use the snapshot only, so a later ledger import changes nothing
about the vote. A room's voter is the user bound to it as the owner of record the
snapshot names (``FundEligibleRoom.voted_for_by``); one owner's choice covers all
their rooms in scope.
"""
from __future__ import annotations

from decimal import Decimal

from sqlalchemy import and_, func, insert, select
from sqlalchemy.orm import contains_eager, joinedload

from backend.errors import Conflict, ValidationFailed
from backend.extensions import db
from backend.models import (
    Building,
    Community,
    FundBallot,
    FundBallotRoom,
    FundEligibleRoom,
    FundProposal,
    Room,
    RoomBinding,
    User,
)
from backend.rules import fund_chain
from backend.rules.tally import DEVELOPER_KEY, EligibleRoom

CENT = Decimal("0.01")


# ------------------------------------------------------------------ scope
def normalise_scope(community: Community, scope: dict) -> dict:
    """Check the scope against the ledger and return it in canonical form."""
    if scope.get("community"):
        return {"community": True}
    if scope.get("buildings"):
        from backend.services.ledger import norm_building

        names = sorted({norm_building(b) for b in scope["buildings"]}, key=lambda n: (len(n), n))
        known = set(db.session.scalars(select(Building.name).where(
            Building.community_id == community.id, Building.name.in_(names))))
        unknown = [n for n in names if n not in known]
        if unknown:
            raise ValidationFailed(f"小区中没有这些楼栋：{'、'.join(unknown)}", code="unknown_building",
                                   details={"fields": {"scope": {"buildings": unknown}}})
        return {"buildings": names}
    ids = sorted(set(scope.get("room_ids") or []))
    known = set(db.session.scalars(select(Room.id).where(
        Room.community_id == community.id, Room.id.in_(ids))))
    unknown = [i for i in ids if i not in known]
    if unknown or not ids:
        raise ValidationFailed("有房屋不属于本小区", code="unknown_room",
                               details={"fields": {"scope": {"room_ids": unknown}}})
    return {"room_ids": ids}


def scope_filter(proposal: FundProposal):
    """The rooms in the proposal's scope (a query joining Room to its Building)."""
    scope = proposal.scope or {}
    condition = Room.community_id == proposal.community_id
    if scope.get("buildings"):
        return and_(condition, Building.name.in_(scope["buildings"]))
    if scope.get("room_ids"):
        return and_(condition, Room.id.in_(scope["room_ids"]))
    return condition


def scope_label(proposal: FundProposal) -> str:
    scope = proposal.scope or {}
    if scope.get("buildings"):
        return "、".join(f"{b}栋" for b in scope["buildings"])
    if scope.get("room_ids"):
        return f"指定的{len(scope['room_ids'])}户"
    return "全体业主"


def scope_size(proposal: FundProposal) -> int:
    return db.session.scalar(
        select(func.count(Room.id)).join(Room.building).where(scope_filter(proposal))) or 0


def scope_area(proposal: FundProposal) -> Decimal:
    """The area the cost is shared over: the snapshot's once voting opened (or an
    emergency use was approved), the ledger's rooms in scope before."""
    if proposal.genesis_hash is not None:
        total = db.session.scalar(select(func.sum(FundEligibleRoom.area_m2)).where(
            FundEligibleRoom.proposal_id == proposal.id))
    else:
        total = db.session.scalar(
            select(func.sum(Room.area_m2)).join(Room.building).where(scope_filter(proposal)))
    # SQLite sums as floats: the true sum is a whole number of cents
    return Decimal(str(total or 0)).quantize(CENT)


# ------------------------------------------------------------------ snapshot
def settings_text(proposal: FundProposal) -> str:
    """The rule settings as hashed into the chain's genesis."""
    text = f"{proposal.objection_threshold}|{proposal.objection_basis.value}"
    # only when allowed, so votes opened before the setting existed hash as they did
    return text + "|change-once" if proposal.allow_change else text


def take_snapshot(proposal: FundProposal) -> str:
    """Copy the rooms in scope (area, owner of record, label) into the snapshot and
    return the genesis hash of the ballot chain."""
    rooms = db.session.scalars(
        select(Room).join(Room.building).where(scope_filter(proposal))
        .options(contains_eager(Room.building), joinedload(Room.unit), joinedload(Room.owner))
        .order_by(Room.id)
    ).all()
    if not rooms:
        raise Conflict("表决范围内没有任何房屋", code="scope_empty")
    db.session.execute(insert(FundEligibleRoom), [
        {"proposal_id": proposal.id, "room_id": room.id, "area_m2": room.area_m2,
         "owner_key": room.owner_id or DEVELOPER_KEY,
         "owner_name": room.owner.name if room.owner else None, "label": room.label}
        for room in rooms])
    # what is hashed is what was stored (and what verification reads back)
    return fund_chain.genesis_hash(proposal.id, proposal.rule.value, proposal.closes_at,
                                   settings_text(proposal), snapshot_rows(proposal.id))


def snapshot_rows(proposal_id: int) -> list[EligibleRoom]:
    return [
        EligibleRoom(row.room_id, Decimal(row.area_m2).quantize(CENT), row.owner_key)
        for row in db.session.execute(
            select(FundEligibleRoom.room_id, FundEligibleRoom.area_m2, FundEligibleRoom.owner_key)
            .where(FundEligibleRoom.proposal_id == proposal_id)
            .order_by(FundEligibleRoom.room_id))
    ]


# ------------------------------------------------------------------ voters
def voter_keys(user: User, proposal_id: int) -> set[int]:
    """The owner keys (owners of record, per the snapshot) the user votes for."""
    return set(db.session.scalars(
        select(FundEligibleRoom.owner_key).distinct()
        .join(RoomBinding, FundEligibleRoom.voted_for_by(RoomBinding))
        .where(FundEligibleRoom.proposal_id == proposal_id, RoomBinding.user_id == user.id)
    ))


def rooms_of(proposal_id: int, keys: set[int]) -> list[tuple[FundEligibleRoom, bool]]:
    """The snapshot rooms of these owners, each with whether it is voted."""
    if not keys:
        return []
    rows = db.session.execute(
        select(FundEligibleRoom, FundBallotRoom.ballot_id)
        .outerjoin(FundBallotRoom, and_(FundBallotRoom.proposal_id == FundEligibleRoom.proposal_id,
                                        FundBallotRoom.room_id == FundEligibleRoom.room_id))
        .where(FundEligibleRoom.proposal_id == proposal_id, FundEligibleRoom.owner_key.in_(keys))
        .order_by(FundEligibleRoom.room_id)
    ).all()
    return [(room, ballot_id is not None) for room, ballot_id in rows]


def ballots_of(proposal_id: int, keys: set[int]) -> list[FundBallot]:
    """The ballots these owners cast, with the rooms each covers."""
    if not keys:
        return []
    return list(db.session.scalars(
        select(FundBallot).where(FundBallot.proposal_id == proposal_id, FundBallot.voter_key.in_(keys))
        .options(joinedload(FundBallot.rooms).joinedload(FundBallotRoom.snapshot))
        .order_by(FundBallot.seq)).unique())


def my_rooms(user: User, proposal: FundProposal) -> list[tuple[FundEligibleRoom, bool]]:
    """The snapshot rooms the user's choice covers, each with whether it is voted."""
    return rooms_of(proposal.id, voter_keys(user, proposal.id))


def my_ballots(user: User, proposal: FundProposal) -> list[FundBallot]:
    return ballots_of(proposal.id, voter_keys(user, proposal.id))


def owner_user_ids(proposal_id: int) -> list[int]:
    """Users who vote for a room in scope (per the snapshot): the owners to tell."""
    return list(db.session.scalars(
        select(RoomBinding.user_id).distinct()
        .join(FundEligibleRoom, FundEligibleRoom.voted_for_by(RoomBinding))
        .where(FundEligibleRoom.proposal_id == proposal_id)
        .order_by(RoomBinding.user_id)
    ))
