"""The figures of a fund vote and its outcome, as they stand: live while voting; past
the deadline, exactly what the close will freeze (a read shows it, the job or the
sweep freezes it); frozen and published once closed.

The live figures are one aggregate query over the snapshot and the ballots; the
pure rules in backend/rules/tally.py decide from them and say which comparisons
they made (``measures``, the bars the pages draw). Nothing here writes.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from fractions import Fraction

from sqlalchemy import and_, case, distinct, func, select

from backend.errors import Conflict
from backend.extensions import db
from backend.models import (
    FundBallot,
    FundBallotRoom,
    FundEligibleRoom,
    FundProposal,
    FundRule,
    ProposalStatus,
    utcnow,
)
from backend.rules.fund_rules import (
    MEASURE_GROUP_LABELS,
    MEASURE_LABELS,
    OUTCOME_LABELS,
    RULE_LABELS,
    STATUS_LABELS,
    requirement_text,
)
from backend.rules.tally import (
    AREA,
    DEFAULT_BASIS,
    DEFAULT_THRESHOLD,
    PENDING,
    RULES,
    WITHDRAWN,
    Counts,
    Figures,
    Measure,
    Settings,
    parse_threshold,
    threshold_text,
)

CENT = Decimal("0.01")
SHARE_PLACES = Decimal("0.0001")


def _decimal(value: Fraction) -> Decimal:
    return (Decimal(value.numerator) / Decimal(value.denominator)).quantize(SHARE_PLACES)


@dataclass(frozen=True)
class ShownMeasure:
    """A comparison of the tally as the pages show it: the figures, the share, the
    threshold and whether it is met, all from the server (the pages compute none)."""

    measure: Measure

    name = property(lambda self: self.measure.name)
    group = property(lambda self: self.measure.group)
    basis = property(lambda self: self.measure.basis)
    comparison = property(lambda self: self.measure.comparison)
    met = property(lambda self: self.measure.met)
    label = property(lambda self: MEASURE_LABELS[self.measure.name])
    group_label = property(lambda self: MEASURE_GROUP_LABELS[self.measure.group])
    requirement = property(lambda self: requirement_text(self.measure))
    threshold = property(lambda self: threshold_text(self.measure.threshold))
    threshold_share = property(lambda self: _decimal(self.measure.threshold))
    share = property(lambda self: _decimal(min(self.measure.share, Fraction(1))))

    def _amount(self, value) -> str:
        return f"{Decimal(value):.2f}" if self.measure.basis == AREA else str(int(value))

    @property
    def part(self) -> str:
        return self._amount(self.measure.part)

    @property
    def whole(self) -> str:
        return self._amount(self.measure.whole)


@dataclass
class Tally:
    """Figures and outcome of one vote; ``frozen`` once the close has stored them."""

    proposal_id: int
    rule: str
    status: str
    eligible: Figures
    participating: Figures
    counts: dict[str, Figures]
    outcome: str
    objection_threshold: str | None = None
    objection_basis: str | None = None
    closes_at: datetime | None = None
    closed_at: datetime | None = None
    closed_early: bool | None = None
    chain_head: str | None = None
    ballots: int | None = None
    genesis_hash: str | None = None
    frozen: bool = False
    stored: dict = field(default_factory=dict)  # the frozen JSON as stored

    rule_label = property(lambda self: RULE_LABELS[self.rule])
    status_label = property(lambda self: STATUS_LABELS[self.status])
    outcome_label = property(lambda self: OUTCOME_LABELS[self.outcome])

    @property
    def settings(self) -> Settings:
        threshold = (parse_threshold(self.objection_threshold) if self.objection_threshold
                     else DEFAULT_THRESHOLD)
        return Settings(threshold, self.objection_basis or DEFAULT_BASIS)

    @property
    def measures(self) -> list[ShownMeasure]:
        counts = Counts(self.eligible, self.participating, self.counts)
        return [ShownMeasure(m) for m in RULES[self.rule].measures(counts, self.settings)]

    def as_json(self) -> dict:
        """What the close stores on the proposal (``FundProposal.result``)."""
        data = {
            "rule": self.rule, "status": self.status, "eligible": self.eligible.as_json(),
            "counts": {k: v.as_json() for k, v in self.counts.items()},
            "participating": self.participating.as_json(), "outcome": self.outcome,
            "closed_at": self.closed_at.isoformat() if self.closed_at else None,
            "closed_early": bool(self.closed_early), "chain_head": self.chain_head,
            "ballots": self.ballots, "genesis_hash": self.genesis_hash,
        }
        if self.rule == FundRule.objection.value:
            data.update(objection_threshold=self.objection_threshold,
                        objection_basis=self.objection_basis)
        return data

    @classmethod
    def frozen_of(cls, proposal: FundProposal) -> Tally:
        """The result stored at close."""
        data = proposal.result
        return cls(
            proposal_id=proposal.id, rule=data["rule"], status=data["status"],
            eligible=Figures.from_json(data["eligible"]),
            participating=Figures.from_json(data["participating"]),
            counts={k: Figures.from_json(v) for k, v in data["counts"].items()},
            outcome=data["outcome"], objection_threshold=data.get("objection_threshold"),
            objection_basis=data.get("objection_basis"), closes_at=proposal.closes_at,
            closed_at=proposal.closed_at, closed_early=bool(data.get("closed_early")),
            chain_head=data.get("chain_head", proposal.chain_head),
            ballots=data.get("ballots", proposal.ballot_count),
            genesis_hash=data.get("genesis_hash"), frozen=True, stored=data,
        )


def rule_settings(proposal: FundProposal) -> Settings:
    return Settings(parse_threshold(proposal.objection_threshold), proposal.objection_basis.value)


def _area(value) -> Decimal:
    # SQLite sums areas as floats: the true sum is a whole number of cents.
    return Decimal(str(value or 0)).quantize(CENT)


def live_counts(proposal: FundProposal) -> Counts:
    """Eligible, participating and per-choice figures in ONE aggregate query."""
    snap, link, ballot = FundEligibleRoom, FundBallotRoom, FundBallot
    voted = link.room_id.isnot(None)
    columns = [
        func.count(snap.room_id), func.sum(snap.area_m2), func.count(distinct(snap.owner_key)),
        func.count(link.room_id), func.sum(case((voted, snap.area_m2))),
        func.count(distinct(case((voted, snap.owner_key)))),
    ]
    choices = RULES[proposal.rule.value].choices
    for choice in choices:
        chosen = ballot.choice == choice
        columns += [func.count(case((chosen, 1))), func.sum(case((chosen, snap.area_m2))),
                    func.count(distinct(case((chosen, snap.owner_key))))]
    row = db.session.execute(
        select(*columns).select_from(snap)
        .outerjoin(link, and_(link.proposal_id == snap.proposal_id, link.room_id == snap.room_id))
        .outerjoin(ballot, ballot.id == link.ballot_id)
        .where(snap.proposal_id == proposal.id)
    ).one()

    def figures_at(i: int) -> Figures:
        return Figures(int(row[i] or 0), _area(row[i + 1]), int(row[i + 2] or 0))

    return Counts(eligible=figures_at(0), participating=figures_at(3),
                  by_choice={c: figures_at(6 + 3 * n) for n, c in enumerate(choices)})


def chain_head(proposal: FundProposal) -> tuple[str | None, int]:
    """The ballot log's last hash and its length (the genesis hash when empty)."""
    last = db.session.execute(
        select(FundBallot.seq, FundBallot.entry_hash).where(FundBallot.proposal_id == proposal.id)
        .order_by(FundBallot.seq.desc()).limit(1)).first()
    return (last.entry_hash, last.seq) if last else (proposal.genesis_hash, 0)


def _tally(proposal: FundProposal, status: str, counts: Counts, outcome: str, **extra) -> Tally:
    objection = proposal.rule == FundRule.objection
    return Tally(
        proposal_id=proposal.id, rule=proposal.rule.value, status=status,
        eligible=counts.eligible, participating=counts.participating, counts=counts.by_choice,
        outcome=outcome, closes_at=proposal.closes_at,
        objection_threshold=proposal.objection_threshold if objection else None,
        objection_basis=proposal.objection_basis.value if objection else None, **extra)


def owners_yet_to_vote(proposal: FundProposal) -> int:
    """Owners in the snapshot who can vote (not the developer) and have not."""
    voters = select(FundEligibleRoom.owner_key).where(
        FundEligibleRoom.proposal_id == proposal.id, FundEligibleRoom.owner_key > 0).distinct()
    voted = select(FundBallot.voter_key).where(FundBallot.proposal_id == proposal.id)
    return db.session.scalar(select(func.count()).select_from(
        voters.where(FundEligibleRoom.owner_key.not_in(voted)).subquery())) or 0


def closing_tally(proposal: FundProposal, now: datetime) -> Tally:
    """The result a close at ``now`` freezes: the outcome decided from the figures, the
    log's head and length. Closed at the deadline, it is closed at ``closes_at`` (no
    ballot is taken after it, whenever the job gets to run); early, at ``now``, with
    the rule's early outcome (withdrawn unless the result is already certain)."""
    counts = live_counts(proposal)
    rule, settings = RULES[proposal.rule.value], rule_settings(proposal)
    early = proposal.closes_at > now
    if early:
        outcome = rule.decide_early(counts, settings,
                                    owners_yet_to_vote=owners_yet_to_vote(proposal))
    else:
        outcome = rule.decide(counts, settings)
    head, count = chain_head(proposal)
    return _tally(proposal, ProposalStatus.closed.value, counts, outcome,
                  closed_at=min(now, proposal.closes_at), closed_early=early,
                  chain_head=head, ballots=count, genesis_hash=proposal.genesis_hash)


def early_close_withdraws(proposal: FundProposal, now: datetime) -> bool:
    """Whether closing this vote now would withdraw it (what the committee is told
    before it closes early)."""
    if not proposal.takes_ballots(now):
        return False
    return RULES[proposal.rule.value].decide_early(
        live_counts(proposal), rule_settings(proposal),
        owners_yet_to_vote=owners_yet_to_vote(proposal)) == WITHDRAWN


def current_tally(proposal: FundProposal, now: datetime | None = None) -> Tally:
    """The figures as they stand at ``now`` (see the module docstring)."""
    now = now or utcnow()
    if proposal.rule == FundRule.emergency:
        raise Conflict("应急使用不进行表决，没有计票结果", code="no_vote_for_emergency")
    if proposal.status == ProposalStatus.closed and proposal.result:
        return Tally.frozen_of(proposal)
    if proposal.status in (ProposalStatus.draft, ProposalStatus.scheduled):
        zero = Figures()
        choices = RULES[proposal.rule.value].choices
        return _tally(proposal, proposal.status.value, Counts(zero, zero, {c: zero for c in choices}),
                      PENDING)
    if proposal.closing_due(now):
        return closing_tally(proposal, proposal.closes_at)
    return _tally(proposal, proposal.status.value, live_counts(proposal), PENDING)
