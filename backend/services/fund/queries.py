"""Reading fund proposals: the list a user may see, and the open votes that concern
a user (the bot asks this often, so it stays a few indexed queries)."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import or_, select
from sqlalchemy.orm import joinedload, selectinload

from backend.extensions import db
from backend.models import (
    FundBallot,
    FundEligibleRoom,
    FundProposal,
    ProposalStatus,
    RoomBinding,
    User,
    utcnow,
)
from backend.services.fund.access import managing_community_ids, visible_community_ids


def list_proposals(user: User, status: str | None = None):
    """The query for the proposals the user may see, newest first (paginated by the
    route), with what a list row shows loaded eagerly."""
    visible = visible_community_ids(user)
    managing = managing_community_ids(user)
    query = (
        select(FundProposal)
        .where(FundProposal.community_id.in_(visible | managing),
               or_(FundProposal.status != ProposalStatus.draft,
                   FundProposal.community_id.in_(managing)))
        .options(joinedload(FundProposal.community), joinedload(FundProposal.created_by),
                 selectinload(FundProposal.signatures))
    )
    if status:
        query = query.where(FundProposal.status == ProposalStatus(status))
    return query


def open_proposals_for(user: User, now: datetime | None = None) -> list[tuple[FundProposal, bool]]:
    """Votes taking ballots whose scope includes a room the user is bound to, newest
    first, each with whether the user's owner record(s) in scope already voted."""
    now = now or utcnow()
    room_ids = sorted({b.room_id for b in user.bindings})
    if not room_ids:
        return []
    proposals = db.session.scalars(
        select(FundProposal)
        .where(FundProposal.takes_ballots(now),
               FundProposal.id.in_(select(FundEligibleRoom.proposal_id)
                                   .where(FundEligibleRoom.room_id.in_(room_ids))))
        .order_by(FundProposal.id.desc())).all()
    if not proposals:
        return []
    ids = [p.id for p in proposals]
    keys: dict[int, set[int]] = {}
    for proposal_id, owner_key in db.session.execute(
            select(FundEligibleRoom.proposal_id, FundEligibleRoom.owner_key).distinct()
            .join(RoomBinding, FundEligibleRoom.voted_for_by(RoomBinding))
            .where(FundEligibleRoom.proposal_id.in_(ids), RoomBinding.user_id == user.id)):
        keys.setdefault(proposal_id, set()).add(owner_key)
    voted: dict[int, set[int]] = {}
    all_keys = set().union(*keys.values()) if keys else set()
    if all_keys:
        for proposal_id, voter_key in db.session.execute(
                select(FundBallot.proposal_id, FundBallot.voter_key)
                .where(FundBallot.proposal_id.in_(ids), FundBallot.voter_key.in_(all_keys))):
            voted.setdefault(proposal_id, set()).add(voter_key)
    return [(p, bool(keys.get(p.id)) and keys[p.id] <= voted.get(p.id, set())) for p in proposals]


def staged_proposals_for(user: User, now: datetime | None = None, recent_days: int = 30):
    """Decisions of the user's communities at another step than voting: published
    (公示中), in the query window (询异期) or finally published in the last
    ``recent_days`` (已公布); newest first, with the stage as it stands now."""
    from datetime import timedelta

    from sqlalchemy import and_, or_

    from backend.rules.fund_rules import stage_of
    from backend.services.fund.access import visible_community_ids

    now = now or utcnow()
    communities = visible_community_ids(user)
    if not communities:
        return []
    rows = db.session.scalars(
        select(FundProposal).where(
            FundProposal.community_id.in_(communities),
            or_(and_(FundProposal.status == ProposalStatus.scheduled,
                     FundProposal.published_at.is_not(None)),
                FundProposal.closing_due(now),
                and_(FundProposal.status == ProposalStatus.closed,
                     or_(FundProposal.finalised_at.is_(None),
                         FundProposal.finalised_at >= now - timedelta(days=recent_days)))))
        .order_by(FundProposal.id.desc()).limit(5)).all()
    return [(p, stage_of("closed" if p.closing_due(now) else p.status.value,
                         p.finalised_at is not None)) for p in rows]
