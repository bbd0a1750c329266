"""Closing a fund vote, exactly once: freeze the result and publish it.

Who closes: the job scheduled at ``closes_at`` when voting opens, the periodic sweep
(for a vote whose job was lost), or a committee member (early too: then an objection
vote is withdrawn, never passed, and a civil-code vote is decided only if every
owner has voted, else withdrawn; rules/tally.py ``decide_early``). Never a read: a
read past the deadline shows the vote closed with the outcome the close will freeze
(services/fund/results.py ``current_tally``), and a ballot that arrives after the
deadline is refused (409 ``voting_closed``) without closing anything, since that
refusal is rolled back with the rest of its request. These functions change rows
and never commit: the job, the sweep or the request does.

Closing locks the proposal row and changes the status by a conditional UPDATE
(… WHERE status = 'voting'), so two workers, a job and the sweep, or a job and the
committee change it once.
"""
from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy import func, or_, select, update

from backend.errors import Conflict, Forbidden
from backend.extensions import db
from backend.models import FundProposal, Outcome, ProposalStatus, User, utcnow
from backend.outbox import enqueue
from backend.services.fund.access import (
    can_see,
    get_proposal,
    is_committee_of,
    lock_proposal,
    not_found,
)
from backend.timeutil import local_iso, local_text
from backend.services.fund.proposals import start_scheduled
from backend.services.fund.results import closing_tally

log = logging.getLogger(__name__)


def close_voting(proposal_id: int, now: datetime | None = None, *, closed_by: User | None = None,
                 early: bool = False) -> bool:
    """Close, freeze and publish the result, exactly once. Without ``early`` only a
    vote past its deadline closes. Returns whether this call closed it."""
    now = now or utcnow()
    proposal = lock_proposal(proposal_id)
    if proposal is None or proposal.status != ProposalStatus.voting:
        return False
    if not early and not proposal.closing_due(now):
        return False
    result = closing_tally(proposal, now)
    # A withdrawn vote has no result to query: it is final at once. Any other result
    # is preliminary (初步统计结果) until the query window has passed and the committee
    # finalises it.
    withdrawn = result.outcome == Outcome.withdrawn.value
    query_ends_at = None if withdrawn else result.closed_at + timedelta(days=proposal.query_days)
    changed = db.session.execute(
        update(FundProposal)
        .where(FundProposal.id == proposal.id, FundProposal.status == ProposalStatus.voting)
        .values(status=ProposalStatus.closed, outcome=Outcome(result.outcome),
                closed_at=result.closed_at, closed_by_id=closed_by.id if closed_by else None,
                result=result.as_json(), chain_head=result.chain_head, ballot_count=result.ballots,
                query_ends_at=query_ends_at, finalised_at=result.closed_at if withdrawn else None,
                finalised_by_id=(closed_by.id if closed_by and withdrawn else None))
        .execution_options(synchronize_session=False)
    ).rowcount
    if changed != 1:
        return False
    db.session.refresh(proposal)
    # the owners in scope are told of the (preliminary) result at once
    enqueue("fund.notify", proposal.id, "result", key=f"fund-result-{proposal.id}")
    if withdrawn:
        _publish_final(proposal)
    else:
        from backend.services.notices.system import post_fund_result

        post_fund_result(proposal, stage="preliminary")
    return True


def _publish_final(proposal: FundProposal) -> None:
    from backend.services.notices.system import post_fund_result

    post_fund_result(proposal, stage="final")


def finalise(user: User, proposal_id: int, now: datetime | None = None) -> FundProposal:
    """The committee publishes the final result (已公布) once the query window is over
    and every query has its answer. The figures are those frozen at close (the
    ballots are a hash chain; a query is answered, never by editing them)."""
    from backend.models.fund import CommentStage, FundComment

    now = now or utcnow()
    proposal = lock_proposal(proposal_id)
    if proposal is None or not can_see(user, proposal):
        raise not_found()
    if not is_committee_of(user, proposal):
        raise Forbidden("只有业委会委员可以公布最终结果", code="not_committee")
    if proposal.status != ProposalStatus.closed or proposal.finalised_at is not None:
        raise Conflict("该事项不在询异期", code="not_in_query_window",
                       details={"status": proposal.status.value})
    if proposal.query_ends_at and now < proposal.query_ends_at:
        raise Conflict(f"询异期至{local_text(proposal.query_ends_at)}结束，届时才能公布最终结果",
                       code="query_window_open",
                       details={"query_ends_at": local_iso(proposal.query_ends_at)})
    unanswered = db.session.scalar(select(func.count(FundComment.id)).where(
        FundComment.proposal_id == proposal.id, FundComment.stage == CommentStage.query,
        FundComment.answer.is_(None))) or 0
    if unanswered:
        raise Conflict(f"还有{unanswered}条询异未答复，请先答复", code="queries_unanswered",
                       details={"unanswered": unanswered})
    proposal.finalised_at = now
    proposal.finalised_by_id = user.id
    db.session.flush()
    _publish_final(proposal)
    return proposal


def close_by_committee(user: User, proposal_id: int, now: datetime | None = None) -> FundProposal:
    """A committee member closes voting before the deadline: the figures as they stand
    are frozen, marked ``closed_early``, with the rule's early outcome (withdrawn
    unless the result is already certain)."""
    now = now or utcnow()
    proposal = get_proposal(user, proposal_id)
    if not is_committee_of(user, proposal):
        raise Forbidden("只有业委会委员可以结束表决", code="not_committee")
    if proposal.status != ProposalStatus.voting or not close_voting(
            proposal.id, now, closed_by=user, early=True):
        raise Conflict("该事项不在表决中", code="not_voting", details={"status": proposal.status.value})
    return proposal


def due_proposal_ids(now: datetime, community_ids: set[int] | None = None) -> list[int]:
    """Votes past their deadline and scheduled votes whose start has come."""
    query = select(FundProposal.id).where(
        or_(FundProposal.closing_due(now), FundProposal.opening_due(now)))
    if community_ids is not None:
        query = query.where(FundProposal.community_id.in_(community_ids))
    return list(db.session.scalars(query.order_by(FundProposal.id)))


def settle_due(proposal_id: int, now: datetime | None = None) -> bool:
    """Bring one proposal up to date with the clock (start a due scheduled vote, close
    an overdue one). True if something changed; the caller (a job) commits."""
    now = now or utcnow()
    proposal = db.session.get(FundProposal, proposal_id)
    if proposal is None:
        return False
    if proposal.closing_due(now):
        return close_voting(proposal.id, now)
    if proposal.opening_due(now):
        return start_scheduled(proposal.id, now)
    return False
