"""The rooms of a vote's snapshot as the desk looks them up to enter a paper ballot
(线下表决): a named room, its owner of record and area, and whether its owner's
ballot is in (and how). Staff and committee members of the community only: owners
see their own rooms on the proposal."""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import and_, select

from backend.errors import Forbidden
from backend.extensions import db
from backend.models import FundBallot, FundEligibleRoom, FundProposal, User
from backend.models.fund import FundBallotRoom
from backend.services.permissions import committee_community_ids, staff_community_ids


@dataclass(frozen=True)
class SnapshotRoom:
    room_id: int
    label: str
    area_m2: object
    owner_name: str | None
    unsold: bool
    ballot_kind: str | None  # online | paper | proxy, None while not voted


def snapshot_rooms(user: User, proposal: FundProposal, q: str | None, limit: int,
                   after: int | None = None) -> tuple[list[SnapshotRoom], int | None]:
    """Rooms in room order after room id ``after``, and the last id when more follow."""
    if proposal.community_id not in staff_community_ids(user) | committee_community_ids(user):
        raise Forbidden("只有物业工作人员或业委会委员可以查看表决房屋名单", code="not_staff_or_committee")
    query = (
        select(FundEligibleRoom, FundBallot.kind)
        .outerjoin(FundBallotRoom, and_(FundBallotRoom.proposal_id == FundEligibleRoom.proposal_id,
                                        FundBallotRoom.room_id == FundEligibleRoom.room_id))
        .outerjoin(FundBallot, FundBallot.id == FundBallotRoom.ballot_id)
        .where(FundEligibleRoom.proposal_id == proposal.id)
        .order_by(FundEligibleRoom.room_id).limit(limit + 1))
    if after is not None:
        query = query.where(FundEligibleRoom.room_id > after)
    if q:
        query = query.where(FundEligibleRoom.label.contains(q.strip(), autoescape=True))
    rows = [SnapshotRoom(room.room_id, room.label, room.area_m2, room.owner_name,
                         room.owner_key == 0, kind.value if kind is not None else None)
            for room, kind in db.session.execute(query)]
    more = len(rows) > limit
    return rows[:limit], rows[limit - 1].room_id if more else None
