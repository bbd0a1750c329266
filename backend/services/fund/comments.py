"""Owners' questions on a published plan (公示期) and queries on the preliminary
result (询异), and the committee's answers.

Who reads them: the owners in scope (a current owner binding to a room in scope, or
the owner of record in the vote's snapshot), the community's staff and its
committee, the same people who may open the plan's files. Owners in scope ask
while the proposal is published and voting has not started, or lodge a query
between the close and the end of the query window; committee members answer.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from backend.errors import Conflict, Forbidden, NotFound
from backend.extensions import db
from backend.models import FundProposal, ProposalStatus, Room, RoomBinding, User, utcnow
from backend.models.fund import CommentStage, FundComment
from backend.services.fund.access import get_proposal, is_committee_of, lock_visible
from backend.services.fund.scope import scope_filter, voter_keys
from backend.services.permissions import committee_community_ids, staff_community_ids
from backend.timeutil import local_text


def is_owner_in_scope(user: User, proposal: FundProposal) -> bool:
    if proposal.genesis_hash is not None and voter_keys(user, proposal.id):
        return True
    room_ids = [b.room_id for b in user.bindings if b.is_current_owner]
    if not room_ids:
        return False
    return db.session.scalar(
        select(Room.id).join(Room.building)
        .where(scope_filter(proposal), Room.id.in_(room_ids)).limit(1)) is not None


def may_read_plan(user: User, proposal: FundProposal) -> bool:
    """Owners in scope, the community's staff and committee."""
    if proposal.community_id in staff_community_ids(user) | committee_community_ids(user):
        return True
    return is_owner_in_scope(user, proposal)


def query_ends_at(proposal: FundProposal, now: datetime) -> datetime | None:
    """The end of the query window, as stored, or as the close will set it."""
    if proposal.query_ends_at is not None or not proposal.closing_due(now):
        return proposal.query_ends_at
    from datetime import timedelta

    return proposal.closes_at + timedelta(days=proposal.query_days)


def open_stage(proposal: FundProposal, now: datetime) -> CommentStage | None:
    """Which kind of question owners may ask now, if any."""
    if proposal.status == ProposalStatus.scheduled and proposal.published_at is not None:
        return CommentStage.publicity
    ends = query_ends_at(proposal, now)
    if proposal.closing_due(now):  # the close job has not run yet: its window has begun
        return CommentStage.query if ends and now < ends else None
    if (proposal.status == ProposalStatus.closed and proposal.finalised_at is None
            and proposal.query_ends_at is not None and now < proposal.query_ends_at):
        return CommentStage.query
    return None


def comments_of(user: User, proposal_id: int) -> tuple[FundProposal, list[FundComment]]:
    proposal = get_proposal(user, proposal_id)
    if not may_read_plan(user, proposal):
        raise Forbidden("只有范围内的业主、物业和业委会可以查看提问与答复", code="not_in_scope")
    return proposal, list(db.session.scalars(select(FundComment).where(
        FundComment.proposal_id == proposal.id).order_by(FundComment.id)))


def ask(user: User, proposal_id: int, body: str, now: datetime | None = None) -> FundComment:
    now = now or utcnow()
    proposal = lock_visible(user, proposal_id)
    if proposal.closing_due(now):
        # the first query after the deadline freezes the preliminary result it is about
        from backend.services.fund.closing import close_voting

        close_voting(proposal.id, now)
        db.session.refresh(proposal)
    if not is_owner_in_scope(user, proposal):
        raise Forbidden("只有范围内的业主可以提问或询异", code="not_in_scope")
    stage = open_stage(proposal, now)
    if stage is None:
        if proposal.query_ends_at is not None and proposal.finalised_at is None:
            raise Conflict(f"询异期已于{local_text(proposal.query_ends_at)}结束", code="query_window_over")
        raise Conflict("只能在公示期内提问或在询异期内询异", code="not_open_for_questions")
    comment = FundComment(proposal_id=proposal.id, stage=stage, author_id=user.id,
                          author_name=user.shown_name, body=body.strip(), created_at=now)
    db.session.add(comment)
    db.session.flush()
    return comment


def answer(user: User, proposal_id: int, comment_id: int, text: str,
           now: datetime | None = None) -> FundComment:
    now = now or utcnow()
    proposal = lock_visible(user, proposal_id)
    if not is_committee_of(user, proposal):
        raise Forbidden("只有业委会委员可以答复", code="not_committee")
    if proposal.finalised_at is not None:
        raise Conflict("最终结果已公布，不能再答复", code="already_final")
    comment = db.session.get(FundComment, comment_id)
    if comment is None or comment.proposal_id != proposal.id:
        raise NotFound("找不到该提问", code="comment_not_found")
    comment.answer = text.strip()
    comment.answered_by_id = user.id
    comment.answered_at = now
    db.session.flush()
    return comment
