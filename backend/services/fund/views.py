"""A fund proposal as a reader sees it now, for lists and the detail alike.

A vote past its deadline that the job or the sweep has not frozen yet shows as
closed, with the outcome, closing time and log head the close will freeze
(``results.closing_tally``); its rows are not touched. Everything else shows as
stored. The routes dump these views through their schemas, so a list row and the
detail page read the same status, outcome and labels.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

from backend.models import FundBallot, FundEligibleRoom, FundProposal, FundRule, ProposalStatus, User
from backend.rules.fund_rules import CHOICE_LABELS, cost_per_m2, explain_rule, stage_of
from backend.rules.tally import RULES
from backend.services.fund.access import can_manage, is_committee_of
from backend.services.fund.results import (
    Tally,
    closing_tally,
    current_tally,
    early_close_withdraws,
)
from backend.services.fund.scope import ballots_of, rooms_of, scope_area, scope_label, voter_keys


@dataclass(frozen=True)
class MyRoom:
    """A snapshot room the caller's choice covers, and whether it is voted."""

    room: FundEligibleRoom
    voted: bool

    room_id = property(lambda self: self.room.room_id)
    label = property(lambda self: self.room.label)
    area_m2 = property(lambda self: self.room.area_m2)


@dataclass
class ProposalView:
    proposal: FundProposal
    status: ProposalStatus
    outcome: str | None
    closed_at: datetime | None
    chain_head: str | None
    ballot_count: int | None
    # the detail's
    tally: Tally | None = None
    my_rooms: list[MyRoom] = field(default_factory=list)
    my_ballots: list[FundBallot] = field(default_factory=list)
    can_vote: bool = False
    can_manage: bool = False
    can_open: bool = False
    can_close: bool = False
    early_close_withdraws: bool = False
    paid_yuan: Decimal | None = None
    # decision steps (#15)
    can_withdraw: bool = False
    can_change: bool = False
    can_enter_paper: bool = False
    can_ask: bool = False
    can_finalise: bool = False
    can_read_plan: bool = False
    my_proxy: object | None = None
    proxy_rooms: list[MyRoom] = field(default_factory=list)
    files: list = field(default_factory=list)
    scope_area_m2: Decimal | None = None

    @property
    def stage(self) -> str:
        finalised = self.proposal.finalised_at is not None
        return stage_of(self.status.value, finalised)

    query_ends_at: datetime | None = None

    @property
    def cost_per_m2(self) -> Decimal | None:
        return cost_per_m2(self.proposal.amount, self.scope_area_m2)

    @property
    def community(self) -> str:
        return self.proposal.community.name

    @property
    def scope_label(self) -> str:
        return scope_label(self.proposal)

    @property
    def created_by(self) -> str | None:
        creator = self.proposal.created_by
        return creator.shown_name if creator else None

    @property
    def publicity_ends_at(self) -> datetime | None:
        return self.proposal.publicity_ends_at

    @property
    def choices(self) -> list[dict]:
        """What a ballot may say under the proposal's rule, with labels."""
        return [{"code": c, "label": CHOICE_LABELS[c]} for c in RULES[self.proposal.rule.value].choices]

    @property
    def explanation(self) -> str:
        p = self.proposal
        return explain_rule(p.rule.value, p.objection_threshold, p.objection_basis.value,
                            p.publicity_days)


def view_of(proposal: FundProposal, now: datetime) -> ProposalView:
    """The proposal's status and outcome as they stand at ``now`` (list rows)."""
    from backend.services.fund.comments import query_ends_at

    if proposal.closing_due(now):
        due = closing_tally(proposal, proposal.closes_at)
        view = ProposalView(proposal, ProposalStatus.closed, due.outcome, due.closed_at,
                            due.chain_head, due.ballots, tally=due)
    else:
        view = ProposalView(proposal, proposal.status,
                            proposal.outcome.value if proposal.outcome else None,
                            proposal.closed_at, proposal.chain_head, proposal.ballot_count)
    view.query_ends_at = query_ends_at(proposal, now)
    return view


def detail_of(user: User, proposal: FundProposal, now: datetime) -> ProposalView:
    """``view_of`` plus the tally, the caller's rooms in scope and own ballots."""
    from backend.services.fund_ledger import paid_for

    view = view_of(proposal, now)
    keys = voter_keys(user, proposal.id) if proposal.genesis_hash else set()
    view.my_rooms = [MyRoom(room, voted) for room, voted in rooms_of(proposal.id, keys)]
    view.my_ballots = ballots_of(proposal.id, keys)
    view.can_vote = proposal.takes_ballots(now) and any(not r.voted for r in view.my_rooms)
    view.can_manage = can_manage(user, proposal)
    committee = is_committee_of(user, proposal)
    view.can_open = (committee and proposal.status == ProposalStatus.draft
                     and proposal.rule != FundRule.emergency)
    view.can_close = committee and proposal.takes_ballots(now)
    view.early_close_withdraws = view.can_close and early_close_withdraws(proposal, now)
    if proposal.rule != FundRule.emergency and proposal.status not in (
            ProposalStatus.draft, ProposalStatus.scheduled):
        view.tally = view.tally or current_tally(proposal, now)
    else:
        view.tally = None
    decided = FundProposal.is_decided(view.status, view.outcome)
    view.paid_yuan = paid_for(proposal.id) if decided else None
    _steps_of(user, proposal, view, keys, committee, now)
    return view


def _steps_of(user: User, proposal: FundProposal, view: ProposalView, keys: set[int],
              committee: bool, now: datetime) -> None:
    """What the caller may do at this step: withdraw or change a ballot, enter paper
    ballots, ask, finalise; the proxy they gave or hold; the plan's files."""
    from backend.models.fund import BallotAction
    from backend.services.fund.comments import may_read_plan, open_stage
    from backend.services.fund.proxies import my_proxy, proxies_held
    from backend.services.permissions import committee_community_ids, staff_community_ids

    taking = proposal.takes_ballots(now)
    actions = {(b.voter_key, b.action) for b in view.my_ballots}
    cast = {k for k, a in actions if a == BallotAction.cast}
    view.can_vote = taking and bool(keys - cast)
    if taking and proposal.rule == FundRule.objection:
        view.can_withdraw = any((k, BallotAction.withdraw) not in actions for k in cast)
    elif taking and proposal.allow_change:
        view.can_change = any((k, BallotAction.change) not in actions for k in cast)
    view.can_enter_paper = taking and proposal.community_id in (
        staff_community_ids(user) | committee_community_ids(user))
    view.can_read_plan = may_read_plan(user, proposal)
    stage = open_stage(proposal, now)
    view.can_ask = stage is not None and bool(keys or view.can_read_plan) and not committee and (
        proposal.community_id not in staff_community_ids(user))
    view.can_finalise = (committee and proposal.status == ProposalStatus.closed
                         and proposal.finalised_at is None
                         and (view.query_ends_at is None or view.query_ends_at <= now))
    if proposal.genesis_hash is not None:
        view.my_proxy = my_proxy(user, proposal)
        held = {p.voter_key for p in proxies_held(user, proposal.id)}
        if held:
            view.proxy_rooms = [MyRoom(room, v) for room, v in rooms_of(proposal.id, held)]
            view.can_vote = view.can_vote or (taking and any(not r.voted for r in view.proxy_rooms))
    view.files = [f.attachment for f in proposal.files] if view.can_read_plan else []
    view.scope_area_m2 = scope_area(proposal)
