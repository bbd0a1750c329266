"""Fund ballots (维修资金表决票): casting, what each person may see of them, the
hash-chained audit log, and verification of that log.

- Only the owner of record of a room in the snapshot may vote for it (their room
  binding must have been verified against that same owner of record). One choice
  covers all the owner's rooms in scope: one FundBallot, one FundBallotRoom per
  room. The primary key (proposal, room) in the database is what makes a second
  ballot for any of those rooms fail (409), however many requests race.
- A ballot is final. Each gets a random receipt the owner keeps, a digest and a link
  in the hash chain (backend/rules/fund_chain.py).
- Privacy: an owner sees their own ballot; committee members of the community see
  who chose what; everyone else who may see the proposal sees aggregate figures and
  the log's digests and hashes only.
"""
from __future__ import annotations

import secrets
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import and_, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import aliased, selectinload

from backend.errors import Conflict, Forbidden, NotFound, ValidationFailed
from backend.extensions import db
from backend.models import (
    BallotChoice,
    FundBallot,
    FundBallotRoom,
    FundEligibleRoom,
    FundProposal,
    FundRule,
    ProposalStatus,
    User,
    utcnow,
)
from backend.rules import fund_chain
from backend.rules.fund_rules import CHOICE_LABELS
from backend.rules.tally import RULES, aggregate
from backend.services.fund.access import is_committee_of, lock_visible
from backend.services.fund.results import Tally, chain_head, rule_settings
from backend.services.fund.scope import (  # noqa: F401 (voter identity, re-exported)
    my_ballots,
    my_rooms,
    settings_text,
    snapshot_rows,
    voter_keys,
)


# ------------------------------------------------------------------ cast
def cast_ballot(user: User, proposal_id: int, room_id: int, choice: str,
                now: datetime | None = None) -> FundBallot:
    """Record the owner's final choice for all their rooms in scope.

    After the deadline the ballot is refused (409 ``voting_closed``) and nothing else
    happens here: the refusal rolls back with its request, and closing the vote is
    the job's and the sweep's (a read meanwhile shows it closed)."""
    now = now or utcnow()
    proposal = lock_visible(user, proposal_id)
    if proposal.rule == FundRule.emergency:
        raise Conflict("应急使用无需业主投票", code="no_vote_for_emergency")
    if proposal.status in (ProposalStatus.draft, ProposalStatus.scheduled):
        raise Conflict("表决尚未开始", code="voting_not_open")
    if not proposal.takes_ballots(now):
        raise Conflict("表决已结束，不能再投票", code="voting_closed")
    rule = RULES[proposal.rule.value]
    if choice not in rule.choices:
        raise ValidationFailed(
            f"本事项只能选择：{'、'.join(CHOICE_LABELS[c] for c in rule.choices)}",
            code="invalid_choice", details={"fields": {"choice": list(rule.choices)}})
    # The room as the snapshot has it, and all rooms of that owner in scope.
    target, same_owner = aliased(FundEligibleRoom), aliased(FundEligibleRoom)
    rooms = list(db.session.scalars(
        select(same_owner).select_from(target)
        .join(same_owner, and_(same_owner.proposal_id == target.proposal_id,
                               same_owner.owner_key == target.owner_key))
        .where(target.proposal_id == proposal.id, target.room_id == room_id)
        .order_by(same_owner.room_id)))
    room = next((r for r in rooms if r.room_id == room_id), None)
    if room is None:
        raise Forbidden("该房屋不在本次表决范围内", code="room_not_in_scope")
    if not any(room.voted_for_by(binding) for binding in user.bindings):
        raise Forbidden("只有该房屋的产权人（表决开始时登记的业主）可以投票", code="not_owner_of_record")
    existing = db.session.scalar(select(FundBallot.cast_at).where(
        FundBallot.proposal_id == proposal.id, FundBallot.voter_key == room.owner_key))
    if existing is not None:
        raise _already_voted(existing)
    head, count = chain_head(proposal)
    seq = count + 1
    room_ids = [r.room_id for r in rooms]
    receipt = secrets.token_urlsafe(16)
    # Whole seconds: the time as the owner's receipt shows it is the time hashed.
    cast_at = now.replace(microsecond=0)
    digest = fund_chain.ballot_digest(proposal.id, seq, room.owner_key, room_ids, choice, cast_at,
                                      receipt)
    ballot = FundBallot(
        proposal_id=proposal.id, seq=seq, voter_key=room.owner_key, choice=BallotChoice(choice),
        user_id=user.id, cast_at=cast_at, receipt=receipt, digest=digest, prev_hash=head,
        entry_hash=fund_chain.link_hash(head, proposal.id, seq, digest),
    )
    try:
        # The proposal's lock already queues ballots one after another; the database's
        # keys (one ballot per owner, one per room) are the guarantee if anything slips
        # past it. A savepoint undoes just this ballot and the request answers 409.
        with db.session.begin_nested():
            db.session.add(ballot)
            db.session.flush()
            db.session.execute(insert(FundBallotRoom), [
                {"proposal_id": proposal.id, "room_id": r, "ballot_id": ballot.id} for r in room_ids])
    except IntegrityError as exc:
        raise Conflict("该房屋已投票，选票一经投出不能更改", code="already_voted") from exc
    return ballot


def _already_voted(cast_at: datetime) -> Conflict:
    return Conflict("您（或您名下在范围内的其他房屋）已投票，选票一经投出不能更改",
                    code="already_voted", details={"cast_at": cast_at.isoformat()})


# ------------------------------------------------------------------ views
WITH_ROOMS = selectinload(FundBallot.rooms).joinedload(FundBallotRoom.snapshot)


def ballots_query(user: User, proposal: FundProposal):
    """Committee members of the community see every ballot (who chose what); anyone
    else only their own. Each with the snapshot rooms it covers."""
    query = select(FundBallot).where(FundBallot.proposal_id == proposal.id).options(WITH_ROOMS)
    if not is_committee_of(user, proposal):
        query = query.where(FundBallot.voter_key.in_(voter_keys(user, proposal.id) or {-1}))
    return query


@dataclass
class AuditView:
    genesis_hash: str | None
    head: str | None
    published_head: str | None
    ballots: int
    entries: list[FundBallot]
    full: bool  # the caller may see choices and voters (committee)
    mine: set[int]  # ballot ids that are the caller's own
    receipt_found: bool | None = None
    intact: bool | None = None
    problems: list[str] = field(default_factory=list)


def audit(user: User, proposal: FundProposal, *, receipt: str | None, limit: int,
          after_seq: int | None, check: bool = False) -> tuple[AuditView, int | None]:
    """A page of the log (ascending), or with ``receipt`` the one entry it names; with
    ``check``, whether the whole chain verifies (it reads every ballot: on request)."""
    if proposal.genesis_hash is None:
        raise Conflict("表决尚未开始，没有选票记录", code="voting_not_open")
    full = is_committee_of(user, proposal)
    mine = {b.id for b in my_ballots(user, proposal)}
    query = select(FundBallot).where(FundBallot.proposal_id == proposal.id)
    if full:
        query = query.options(WITH_ROOMS)
    if receipt is not None:
        query = query.where(FundBallot.receipt == receipt)
    elif after_seq is not None:
        query = query.where(FundBallot.seq > after_seq)
    entries = list(db.session.scalars(query.order_by(FundBallot.seq).limit(limit + 1)))
    next_seq = entries[limit - 1].seq if len(entries) > limit else None
    entries = entries[:limit]
    report = verify(proposal.id) if check else None
    head, count = chain_head(proposal)
    view = AuditView(
        genesis_hash=proposal.genesis_hash, head=head, published_head=proposal.chain_head,
        ballots=count, entries=entries, full=full, mine=mine,
        receipt_found=(bool(entries) if receipt is not None else None),
        intact=report.ok if report else None,
        problems=[str(p) for p in report.problems] if report and full else [],
    )
    return view, next_seq


# ------------------------------------------------------------------ verification
@dataclass
class VerifyReport:
    proposal_id: int
    ballots: int
    head: str | None
    problems: list[fund_chain.Problem]

    @property
    def ok(self) -> bool:
        return not self.problems


def verify(proposal_id: int) -> VerifyReport:
    """Recompute the snapshot digest, every ballot digest and link, the published head
    and count, and (once closed) the frozen figures from the ballots."""
    proposal = db.session.get(FundProposal, proposal_id)
    if proposal is None:
        raise NotFound("找不到该表决事项", code="proposal_not_found")
    if proposal.genesis_hash is None:
        return VerifyReport(proposal_id, 0, None, [])
    snapshot = snapshot_rows(proposal_id)
    problems: list[fund_chain.Problem] = []
    genesis = fund_chain.genesis_hash(proposal.id, proposal.rule.value, proposal.closes_at,
                                      settings_text(proposal), snapshot)
    if genesis != proposal.genesis_hash:
        problems.append(fund_chain.Problem(
            "snapshot", None, "the eligibility snapshot (rooms, areas, owners) or the proposal's "
                              "deadline or settings changed after voting opened"))
    rooms_by_key: dict[int, list[int]] = defaultdict(list)
    for row in snapshot:
        rooms_by_key[row.owner_key].append(row.room_id)
    links = defaultdict(list)
    for ballot_id, room_id in db.session.execute(
            select(FundBallotRoom.ballot_id, FundBallotRoom.room_id)
            .where(FundBallotRoom.proposal_id == proposal_id)):
        links[ballot_id].append(room_id)
    ballots = list(db.session.scalars(
        select(FundBallot).where(FundBallot.proposal_id == proposal_id).order_by(FundBallot.seq)))
    entries = [
        fund_chain.LogEntry(b.id, b.seq, b.voter_key, tuple(sorted(links.get(b.id, ()))),
                            b.choice.value, b.cast_at, b.receipt, b.digest, b.prev_hash,
                            b.entry_hash)
        for b in ballots
    ]
    closed = proposal.status == ProposalStatus.closed
    problems += fund_chain.verify_chain(
        proposal.id, genesis, entries, rooms_by_key,
        published_head=proposal.chain_head if closed else None,
        published_count=proposal.ballot_count if closed else None)
    if closed and proposal.result:
        choices = RULES[proposal.rule.value].choices
        by_room = {room_id: e.choice for e in entries for room_id in e.room_ids}
        counts = aggregate(choices, snapshot, by_room)
        frozen = Tally.frozen_of(proposal)
        if (counts.eligible, counts.participating, counts.by_choice) != (
                frozen.eligible, frozen.participating, {c: frozen.counts.get(c) for c in choices}):
            problems.append(fund_chain.Problem(
                "published", None, "the published figures differ from a recount of the ballots"))
        rule, settings = RULES[proposal.rule.value], rule_settings(proposal)
        early = proposal.closed_at < proposal.closes_at
        if bool(frozen.closed_early) != early:
            problems.append(fund_chain.Problem(
                "published", None, "the published result says it closed "
                                   f"{'early' if frozen.closed_early else 'at the deadline'}, "
                                   "its closing time says otherwise"))
        if early:  # an early close decides only what is already certain (else withdrawn)
            voters = {row.owner_key for row in snapshot if row.owner_key > 0}
            outcome = rule.decide_early(counts, settings, owners_yet_to_vote=len(
                voters - {e.voter_key for e in entries}))
        else:
            outcome = rule.decide(counts, settings)
        if proposal.outcome is None or outcome != proposal.outcome.value or frozen.outcome != outcome:
            problems.append(fund_chain.Problem(
                "published", None, f"the published outcome differs from the recount ({outcome})"))
    head = entries[-1].entry_hash if entries else genesis
    return VerifyReport(proposal_id, len(entries), head, problems)
