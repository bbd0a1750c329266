"""Fund ballots (维修资金表决票): casting, what each person may see of them, the
hash-chained audit log, and verification of that log.

- Only the owner of record of a room in the snapshot may vote for it (their room
  binding must have been verified against that same owner of record). One choice
  covers all the owner's rooms in scope: one FundBallot, one FundBallotRoom per
  room. The primary key (proposal, room) in the database is what makes a second
  ballot for any of those rooms fail (409), however many requests race.
- Nothing is edited: an owner may withdraw an objection (否定表决) or, where the
  proposal allows it, change a civil-code ballot once, each as a new entry after
  the first; the tally replays the entries. Each entry gets a random receipt the
  owner keeps, a digest and a link in the hash chain (backend/rules/fund_chain.py).
- Privacy: an owner sees their own ballot; committee members of the community see
  who chose what; everyone else who may see the proposal sees aggregate figures and
  the log's digests and hashes only.
"""
from __future__ import annotations

import secrets
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import and_, delete, insert, select, update
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
from backend.models.fund import BallotAction, BallotKind, FundProxy
from backend.rules import fund_chain
from backend.rules.fund_rules import CHOICE_LABELS
from backend.rules.tally import DEVELOPER_KEY, RULES, aggregate
from backend.services.permissions import committee_community_ids, staff_community_ids
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
def _open_for_ballots(user: User, proposal_id: int, now: datetime) -> FundProposal:
    proposal = lock_visible(user, proposal_id)
    if proposal.rule == FundRule.emergency:
        raise Conflict("应急使用无需业主投票", code="no_vote_for_emergency")
    if proposal.status in (ProposalStatus.draft, ProposalStatus.scheduled):
        raise Conflict("表决尚未开始", code="voting_not_open")
    if not proposal.takes_ballots(now):
        raise Conflict("表决已结束，不能再投票", code="voting_closed")
    return proposal


def _check_choice(proposal: FundProposal, choice: str) -> None:
    rule = RULES[proposal.rule.value]
    if choice not in rule.choices:
        raise ValidationFailed(
            f"本事项只能选择：{'、'.join(CHOICE_LABELS[c] for c in rule.choices)}",
            code="invalid_choice", details={"fields": {"choice": list(rule.choices)}})


def owner_rooms(proposal: FundProposal, room_id: int) -> list[FundEligibleRoom]:
    """The room as the snapshot has it first, then every room of its owner in scope
    (one choice covers them all). 403 if the room is not in scope."""
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
    return [room] + [r for r in rooms if r is not room]


def entries_of(proposal_id: int, voter_key: int) -> dict[BallotAction, FundBallot]:
    """The owner's entries in the log, by action (at most one of each)."""
    return {b.action: b for b in db.session.scalars(select(FundBallot).where(
        FundBallot.proposal_id == proposal_id, FundBallot.voter_key == voter_key))}


def _already_voted(entry: FundBallot) -> Conflict:
    how = {BallotKind.paper: "已线下投票", BallotKind.proxy: "已由受托人投票"}.get(entry.kind, "已投票")
    return Conflict(f"您（或您名下在范围内的其他房屋）{how}，一户只能投一票",
                    code="already_voted",
                    details={"cast_at": entry.cast_at.isoformat(), "kind": entry.kind.value})


def append_entry(proposal: FundProposal, rooms: list[FundEligibleRoom], choice: str, *,
                 user: User | None, now: datetime, kind: BallotKind = BallotKind.online,
                 action: BallotAction = BallotAction.cast, **columns) -> FundBallot:
    """Add one entry to the chain and point the owner's rooms at what now counts: a
    cast adds the rooms (the primary key (proposal, room) refuses a second ballot for
    any of them), a change moves them to the new entry, a withdrawal takes them out
    of the tally. The caller holds the proposal's lock."""
    voter_key = rooms[0].owner_key
    head, count = chain_head(proposal)
    seq = count + 1
    room_ids = sorted(r.room_id for r in rooms)
    ballot = FundBallot(
        proposal_id=proposal.id, seq=seq, voter_key=voter_key, choice=BallotChoice(choice),
        user_id=user.id if user else None, receipt=secrets.token_urlsafe(16),
        # Whole seconds: the time as the owner's receipt shows it is the time hashed.
        cast_at=now.replace(microsecond=0), kind=kind, action=action, prev_hash=head, **columns)
    ballot.digest = fund_chain.ballot_digest(proposal.id, seq, voter_key, room_ids, choice,
                                             ballot.cast_at, ballot.receipt, ballot.chain_extra())
    ballot.entry_hash = fund_chain.link_hash(head, proposal.id, seq, ballot.digest)
    try:
        with db.session.begin_nested():
            db.session.add(ballot)
            db.session.flush()
            links = (FundBallotRoom.proposal_id == proposal.id) & FundBallotRoom.room_id.in_(room_ids)
            if action == BallotAction.cast:
                db.session.execute(insert(FundBallotRoom), [
                    {"proposal_id": proposal.id, "room_id": r, "ballot_id": ballot.id}
                    for r in room_ids])
            elif action == BallotAction.change:
                db.session.execute(update(FundBallotRoom).where(links).values(ballot_id=ballot.id)
                                   .execution_options(synchronize_session=False))
            else:
                db.session.execute(delete(FundBallotRoom).where(links)
                                   .execution_options(synchronize_session=False))
    except IntegrityError as exc:
        # The proposal's lock already queues entries one after another; the keys (one
        # ballot per room, one entry of each action per owner) are the guarantee if
        # anything slips past it. The savepoint undoes just this entry.
        raise Conflict("该房屋已投票，一户只能投一票", code="already_voted") from exc
    return ballot


def _proxy_held(user: User, proposal: FundProposal, voter_key: int) -> FundProxy | None:
    return db.session.scalar(select(FundProxy).where(
        FundProxy.proposal_id == proposal.id, FundProxy.voter_key == voter_key,
        FundProxy.proxy_user_id == user.id, FundProxy.revoked_at.is_(None)))


def cast_ballot(user: User, proposal_id: int, room_id: int, choice: str,
                now: datetime | None = None) -> FundBallot:
    """Record the choice of the owner of record (or of the person they authorised for
    this proposal) for all the owner's rooms in scope.

    After the deadline the ballot is refused (409 ``voting_closed``) and nothing else
    happens here: the refusal rolls back with its request, and closing the vote is
    the job's and the sweep's (a read meanwhile shows it closed)."""
    now = now or utcnow()
    proposal = _open_for_ballots(user, proposal_id, now)
    _check_choice(proposal, choice)
    rooms = owner_rooms(proposal, room_id)
    proxy = None
    if not any(rooms[0].voted_for_by(binding) for binding in user.bindings):
        proxy = _proxy_held(user, proposal, rooms[0].owner_key) if rooms[0].owner_key else None
        if proxy is None:
            raise Forbidden("只有该房屋的产权人（表决开始时登记的业主）或其委托的受托人可以投票",
                            code="not_owner_of_record")
    existing = entries_of(proposal.id, rooms[0].owner_key).get(BallotAction.cast)
    if existing is not None:
        raise _already_voted(existing)
    if proxy is not None:
        return append_entry(proposal, rooms, choice, user=user, now=now, kind=BallotKind.proxy,
                            proxy_id=proxy.id)
    return append_entry(proposal, rooms, choice, user=user, now=now)


def enter_paper_ballot(user: User, proposal_id: int, room_id: int, choice: str, photo_id: int,
                       now: datetime | None = None) -> FundBallot:
    """线下表决: staff of the community or a committee member enters the paper ballot
    of a named room, with the photo of the signed sheet. Its entry records who entered
    it and the photo's sha256 (both hashed), and counts like any ballot: an owner who
    voted online cannot also be entered, nor vote online afterwards."""
    from backend.services.attachments import get_attachments

    now = now or utcnow()
    proposal = _open_for_ballots(user, proposal_id, now)
    if proposal.community_id not in staff_community_ids(user) | committee_community_ids(user):
        raise Forbidden("只有物业工作人员或业委会委员可以录入纸质选票", code="not_staff_or_committee")
    _check_choice(proposal, choice)
    (photo,) = get_attachments(proposal.community_id, [photo_id])
    if photo.is_pdf:
        raise ValidationFailed("请上传纸质选票的照片", code="photo_required",
                               details={"fields": {"photo_id": ["须为图片"]}})
    rooms = owner_rooms(proposal, room_id)
    if rooms[0].owner_key == DEVELOPER_KEY:
        raise Forbidden("未售出的房屋没有投票权", code="not_owner_of_record")
    existing = entries_of(proposal.id, rooms[0].owner_key).get(BallotAction.cast)
    if existing is not None:
        raise _already_voted(existing)
    return append_entry(proposal, rooms, choice, user=None, now=now, kind=BallotKind.paper,
                        entered_by_id=user.id, entered_by_name=user.shown_name,
                        photo_id=photo.id, photo_sha256=photo.sha256)


def _own_entries(user: User, proposal: FundProposal, room_id: int):
    rooms = owner_rooms(proposal, room_id)
    if not any(rooms[0].voted_for_by(binding) for binding in user.bindings):
        raise Forbidden("只有该房屋的产权人可以撤回或更改选票", code="not_owner_of_record")
    entries = entries_of(proposal.id, rooms[0].owner_key)
    if BallotAction.cast not in entries:
        raise Conflict("您还没有投票", code="not_voted")
    return rooms, entries


def withdraw_objection(user: User, proposal_id: int, room_id: int,
                       now: datetime | None = None) -> FundBallot:
    """否定表决: the owner withdraws their objection before the deadline. A new entry
    of the chain (the objection stays in the log), and the rooms leave the tally.
    Once withdrawn it stays withdrawn (the entry's action is unique per owner)."""
    now = now or utcnow()
    proposal = _open_for_ballots(user, proposal_id, now)
    if proposal.rule != FundRule.objection:
        raise Conflict("只有否定表决可以撤回异议；本事项的选票一经投出不能撤回", code="not_objection")
    rooms, entries = _own_entries(user, proposal, room_id)
    if BallotAction.withdraw in entries:
        raise Conflict("您已撤回异议", code="already_withdrawn")
    return append_entry(proposal, rooms, entries[BallotAction.cast].choice.value, user=user,
                        now=now, action=BallotAction.withdraw)


def change_ballot(user: User, proposal_id: int, room_id: int, choice: str,
                  now: datetime | None = None) -> FundBallot:
    """Civil-code rules, where the community allows it (fixed on the proposal when
    voting opened): the owner changes a cast ballot once, before the deadline."""
    now = now or utcnow()
    proposal = _open_for_ballots(user, proposal_id, now)
    if proposal.rule == FundRule.objection:
        raise Conflict("否定表决可以撤回异议，不能更改", code="objection_withdraw_only")
    if not proposal.allow_change:
        raise Conflict("本小区规定选票一经投出不能更改", code="ballot_final")
    _check_choice(proposal, choice)
    rooms, entries = _own_entries(user, proposal, room_id)
    if BallotAction.change in entries:
        raise Conflict("选票只能更改一次，您已更改过", code="already_changed")
    if entries[BallotAction.cast].choice.value == choice:
        raise Conflict("新的选择与原来相同", code="same_choice")
    return append_entry(proposal, rooms, choice, user=user, now=now, action=BallotAction.change)


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
    links: dict[int, int] = dict(db.session.execute(
        select(FundBallotRoom.room_id, FundBallotRoom.ballot_id)
        .where(FundBallotRoom.proposal_id == proposal_id)).all())
    ballots = list(db.session.scalars(
        select(FundBallot).where(FundBallot.proposal_id == proposal_id).order_by(FundBallot.seq)))
    # What each entry hashed: its owner's rooms in the snapshot (an entry covering
    # other rooms fails its digest); which rooms count, and for which entry, is
    # replayed from the log and compared with the links the tally reads.
    entries = [
        fund_chain.LogEntry(b.id, b.seq, b.voter_key, tuple(sorted(rooms_by_key.get(b.voter_key, ()))),
                            b.choice.value, b.cast_at, b.receipt, b.digest, b.prev_hash,
                            b.entry_hash, extra=b.chain_extra(), description=_entry_text(b))
        for b in ballots
    ]
    effective = _effective_entries(ballots)
    by_room_ballot = {room_id: b.id for b in effective.values()
                      for room_id in rooms_by_key.get(b.voter_key, ())}
    for room_id in sorted(set(links) | set(by_room_ballot)):
        if links.get(room_id) != by_room_ballot.get(room_id):
            seq = next((b.seq for b in ballots if b.id in (links.get(room_id), by_room_ballot.get(room_id))),
                       None)
            problems.append(fund_chain.Problem(
                "rooms", seq, f"room {room_id} is counted for ballot id {links.get(room_id)} but the "
                              f"log says {by_room_ballot.get(room_id)}"))
    closed = proposal.status == ProposalStatus.closed
    problems += fund_chain.verify_chain(
        proposal.id, genesis, entries, rooms_by_key,
        published_head=proposal.chain_head if closed else None,
        published_count=proposal.ballot_count if closed else None)
    if closed and proposal.result:
        choices = RULES[proposal.rule.value].choices
        by_room = {room_id: b.choice.value for b in effective.values()
                   for room_id in rooms_by_key.get(b.voter_key, ())}
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
                voters - {b.voter_key for b in ballots if b.action == BallotAction.cast}))
        else:
            outcome = rule.decide(counts, settings)
        if proposal.outcome is None or outcome != proposal.outcome.value or frozen.outcome != outcome:
            problems.append(fund_chain.Problem(
                "published", None, f"the published outcome differs from the recount ({outcome})"))
    head = entries[-1].entry_hash if entries else genesis
    return VerifyReport(proposal_id, len(entries), head, problems)


def _effective_entries(ballots: list[FundBallot]) -> dict[int, FundBallot]:
    """Replay the log: the entry that counts for each owner (a change replaces the
    ballot, a withdrawal removes it)."""
    effective: dict[int, FundBallot] = {}
    for b in sorted(ballots, key=lambda b: b.seq):
        if b.action == BallotAction.withdraw:
            effective.pop(b.voter_key, None)
        else:
            effective[b.voter_key] = b
    return effective


def _entry_text(ballot: FundBallot) -> str:
    """How verification names an entry: which kind, and who entered a paper one."""
    what = {BallotAction.withdraw: "withdrawal", BallotAction.change: "changed ballot"}.get(
        ballot.action, "ballot")
    if ballot.kind == BallotKind.paper:
        return (f"paper {what} seq {ballot.seq} entered by {ballot.entered_by_name or '?'} "
                f"(photo sha256 {(ballot.photo_sha256 or '')[:12]}…)")
    if ballot.kind == BallotKind.proxy:
        return f"proxy {what} seq {ballot.seq}"
    return f"online {what} seq {ballot.seq}"
