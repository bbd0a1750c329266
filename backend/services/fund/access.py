"""Who may see a fund proposal and who may act on it.

Decisions are publicised (公示): every resident bound to a room in the community, its
staff and its committee see proposals once they are opened; drafts only the people
who may open them (committee members and the manager). Anyone else gets 404, never
a hint that the proposal exists.
"""
from __future__ import annotations

from sqlalchemy import select

from backend.errors import Forbidden, NotFound
from backend.extensions import db
from backend.models import FundProposal, ProposalStatus, Role, User
from backend.services.permissions import (
    committee_community_ids,
    community_ids_with,
    resident_community_ids,
    staff_community_ids,
)


def visible_community_ids(user: User) -> set[int]:
    """Communities whose (non-draft) proposals the user may see: staff, committee and
    every resident bound to a room there."""
    return staff_community_ids(user) | resident_community_ids(user) | committee_community_ids(user)


def managing_community_ids(user: User) -> set[int]:
    """Communities where the user may draft, open and see drafts: committee members
    and the manager (admin counts as manager)."""
    return community_ids_with(user, Role.committee, Role.manager)


def can_see(user: User, proposal: FundProposal) -> bool:
    if proposal.status == ProposalStatus.draft:
        return proposal.community_id in managing_community_ids(user)
    if proposal.community_id in visible_community_ids(user):
        return True
    # someone an owner authorised to vote for them (委托投票), from anywhere
    from backend.services.fund.proxies import holds_proxy

    return proposal.genesis_hash is not None and holds_proxy(user, proposal.id)


def is_committee_of(user: User, proposal: FundProposal) -> bool:
    return proposal.community_id in committee_community_ids(user)


def can_manage(user: User, proposal: FundProposal) -> bool:
    return proposal.community_id in managing_community_ids(user)


def require_manager(user: User, proposal: FundProposal) -> None:
    if not can_manage(user, proposal):
        raise Forbidden("只有业委会委员或物业项目经理可以操作", code="not_committee_or_manager")


def not_found() -> NotFound:
    return NotFound("找不到该表决事项", code="proposal_not_found")


def get_proposal(user: User, proposal_id: int) -> FundProposal:
    """The proposal if the user may see it; otherwise 404."""
    proposal = db.session.get(FundProposal, proposal_id)
    if proposal is None or not can_see(user, proposal):
        raise not_found()
    return proposal


def lock_proposal(proposal_id: int) -> FundProposal | None:
    """Load the proposal for writing: on PostgreSQL the row is locked until commit
    (ballots, opening and closing queue up behind each other); on SQLite the write
    transaction is exclusive (BEGIN IMMEDIATE, see backend/db_setup.py)."""
    return db.session.scalar(
        select(FundProposal).where(FundProposal.id == proposal_id)
        .with_for_update().execution_options(populate_existing=True)
    )


def lock_visible(user: User, proposal_id: int) -> FundProposal:
    """``lock_proposal`` for a user who must be able to see it (else 404)."""
    proposal = lock_proposal(proposal_id)
    if proposal is None or not can_see(user, proposal):
        raise not_found()
    return proposal
