"""The rooms of a vote's snapshot and the log entry that counts for each (read once,
in room order), and each owner's rooms by voter key: what the result's room list,
the ballot sheets and the workbooks are made of."""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from sqlalchemy import and_, select

from backend.extensions import db
from backend.models import FundBallot, FundBallotRoom, FundEligibleRoom, FundProposal
from backend.models.fund import BallotAction
from backend.rules.fund_rules import BALLOT_KIND_LABELS


@dataclass(frozen=True)
class RoomTaking:
    room: FundEligibleRoom
    ballot: FundBallot | None  # the entry the tally counts for this room, if any
    withdrawn: bool  # objection rule: the owner withdrew their objection

    @property
    def voted(self) -> bool:
        return self.ballot is not None

    @property
    def channel_label(self) -> str:
        if self.ballot is not None:
            return BALLOT_KIND_LABELS[self.ballot.kind.value]
        return "已撤回异议" if self.withdrawn else ""


def rooms_taking_part(proposal: FundProposal) -> list[RoomTaking]:
    """Every snapshot room with the entry that counts for it (the tally's join:
    a change moved the room to its entry, a withdrawal took it out)."""
    withdrawn = set(db.session.scalars(select(FundBallot.voter_key).where(
        FundBallot.proposal_id == proposal.id, FundBallot.action == BallotAction.withdraw)))
    rows = db.session.execute(
        select(FundEligibleRoom, FundBallot)
        .outerjoin(FundBallotRoom, and_(FundBallotRoom.proposal_id == FundEligibleRoom.proposal_id,
                                        FundBallotRoom.room_id == FundEligibleRoom.room_id))
        .outerjoin(FundBallot, FundBallot.id == FundBallotRoom.ballot_id)
        .where(FundEligibleRoom.proposal_id == proposal.id)
        .order_by(FundEligibleRoom.room_id))
    return [RoomTaking(room, ballot, ballot is None and room.owner_key in withdrawn)
            for room, ballot in rows]


def rooms_by_voter(proposal: FundProposal) -> dict[int, list[FundEligibleRoom]]:
    """Each owner's rooms in the snapshot: what every entry of theirs covers (a
    withdrawal or a superseded ballot no longer has its own links)."""
    rooms: dict[int, list[FundEligibleRoom]] = defaultdict(list)
    for room in db.session.scalars(select(FundEligibleRoom).where(
            FundEligibleRoom.proposal_id == proposal.id, FundEligibleRoom.owner_key > 0)
            .order_by(FundEligibleRoom.room_id)):
        rooms[room.owner_key].append(room)
    return rooms
