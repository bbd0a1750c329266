"""Maintenance-fund decisions (专项维修资金): proposals and their lifecycle.

draft → (scheduled →) voting → closed (outcome passed / rejected / no_quorum), or for
emergency use draft → approved once a committee member and the manager have signed.

- When voting opens (or an emergency use is approved) the rooms in scope are
  snapshotted with their areas and owners of record; the tally and the ballots use
  the snapshot only, so a later ledger import changes nothing about the vote.
- The live tally is one aggregate query over the snapshot and the ballots, decided by
  the pure rules in backend/rules/tally.py; at close it is frozen on the proposal.
- Closing happens exactly once: the proposal row is locked and the status changes by
  a conditional UPDATE (… WHERE status = 'voting'). A job scheduled at ``closes_at``,
  a periodic sweep and any read past the deadline all call the same function.

Ballots, the hash-chained log and verification are in services/fund_ballots.py; the
fund ledger (balance, payments) in services/fund_ledger.py.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

from sqlalchemy import (
    Integer,
    and_,
    bindparam,
    case,
    distinct,
    func,
    insert,
    literal,
    or_,
    select,
    update,
)

from backend.errors import Conflict, Forbidden, NotFound, ValidationFailed
from backend.extensions import db
from backend.outbox import enqueue
from backend.models import (
    Building,
    Community,
    FundBallot,
    FundBallotRoom,
    FundEligibleRoom,
    FundProposal,
    FundRule,
    FundSignature,
    ObjectionBasis,
    Outcome,
    OwnerOfRecord,
    ProposalStatus,
    Role,
    Room,
    RoomBinding,
    SignerRole,
    Unit,
    User,
    utcnow,
)
from backend.rules import fund_chain
from backend.rules.fund_rules import EMERGENCY_CASES, OUTCOME_LABELS, RULE_SHORT_LABELS
from backend.rules.tally import (
    PENDING,
    RULES,
    Counts,
    EligibleRoom,
    Figures,
    Settings,
    parse_threshold,
    threshold_text,
)
from backend.services.community import setting
# re-exported: callers (the bot) think of the fund as one service
from backend.services.fund_ledger import FundBalance, fund_balance  # noqa: F401
from backend.services.notifications import notify
from backend.services.permissions import (
    committee_community_ids,
    community_ids_with,
    owner_records,
    resident_community_ids,
    staff_community_ids,
)
from backend.timeutil import local_text

log = logging.getLogger(__name__)
CENT = Decimal("0.01")
MAX_VOTING_DAYS = 366


# ------------------------------------------------------------------ who may see / act
def visible_community_ids(user: User) -> set[int]:
    """Communities whose (non-draft) proposals the user may see: staff, committee and
    every resident bound to a room there (decisions are publicised, 公示)."""
    return staff_community_ids(user) | resident_community_ids(user) | committee_community_ids(user)


def managing_community_ids(user: User) -> set[int]:
    """Communities where the user may draft, open and see drafts: committee members
    and the manager (admin counts as manager)."""
    return community_ids_with(user, Role.committee, Role.manager)


def can_see(user: User, proposal: FundProposal) -> bool:
    community_id = proposal.community_id
    if proposal.status == ProposalStatus.draft:
        return community_id in managing_community_ids(user)
    # cheapest first: most callers are residents
    return (community_id in resident_community_ids(user) or community_id in staff_community_ids(user)
            or community_id in committee_community_ids(user))


def is_committee_of(user: User, proposal: FundProposal) -> bool:
    return proposal.community_id in committee_community_ids(user)


def get_proposal(user: User, proposal_id: int) -> FundProposal:
    """The proposal if the user may see it; otherwise 404 (never reveal it exists)."""
    proposal = db.session.get(FundProposal, proposal_id)
    if proposal is None or not can_see(user, proposal):
        raise NotFound("找不到该表决事项", code="proposal_not_found")
    return proposal


def _require_manager(user: User, proposal: FundProposal) -> None:
    if proposal.community_id not in managing_community_ids(user):
        raise Forbidden("只有业委会委员或物业项目经理可以操作", code="not_committee_or_manager")


def lock_proposal(proposal_id: int) -> FundProposal | None:
    """Load the proposal for writing: on PostgreSQL the row is locked until commit
    (ballots, opening and closing queue up behind each other); on SQLite every write
    transaction is already exclusive (BEGIN IMMEDIATE)."""
    return db.session.scalar(
        select(FundProposal).where(FundProposal.id == proposal_id)
        .with_for_update().execution_options(populate_existing=True)
    )


def list_proposals(user: User, status: str | None = None):
    """The query for the proposals the user may see, newest first (paginated by the
    route)."""
    visible = visible_community_ids(user)
    managing = managing_community_ids(user)
    query = select(FundProposal).where(
        FundProposal.community_id.in_(visible | managing),
        or_(FundProposal.status != ProposalStatus.draft, FundProposal.community_id.in_(managing)),
    )
    if status:
        query = query.where(FundProposal.status == ProposalStatus(status))
    return query


# ------------------------------------------------------------------ create
def _community_for(user: User, name: str | None) -> Community:
    allowed = managing_community_ids(user)
    if not allowed:
        raise Forbidden("只有业委会委员或物业项目经理可以发起表决", code="not_committee_or_manager")
    if name:
        community = db.session.scalar(select(Community).where(Community.name == name))
        if community is None or community.id not in allowed:
            raise Forbidden("您不能在该小区发起表决", code="not_committee_or_manager")
        return community
    if len(allowed) > 1:
        raise ValidationFailed("您管理多个小区，请指定小区名称", code="community_required",
                               details={"fields": {"community": ["请指定小区"]}})
    return db.session.get(Community, next(iter(allowed)))


def normalise_scope(community: Community, scope: dict) -> dict:
    """Check the scope against the ledger and return it in canonical form."""
    if scope.get("community"):
        return {"community": True}
    if scope.get("buildings"):
        from backend.services.ledger import norm_building

        names = sorted({norm_building(b) for b in scope["buildings"]},
                       key=lambda n: (len(n), n))
        known = set(db.session.scalars(select(Building.name).where(
            Building.community_id == community.id, Building.name.in_(names))))
        unknown = [n for n in names if n not in known]
        if unknown:
            raise ValidationFailed(f"小区中没有这些楼栋：{'、'.join(unknown)}", code="unknown_building",
                                   details={"fields": {"scope": {"buildings": unknown}}})
        return {"buildings": names}
    ids = sorted(set(scope.get("room_ids") or []))
    known = set(db.session.scalars(select(Room.id).where(
        Room.community_id == community.id, Room.id.in_(ids))))
    unknown = [i for i in ids if i not in known]
    if unknown or not ids:
        raise ValidationFailed("有房屋不属于本小区", code="unknown_room",
                               details={"fields": {"scope": {"room_ids": unknown}}})
    return {"room_ids": ids}


def _scope_filter(proposal: FundProposal):
    scope = proposal.scope or {}
    condition = Room.community_id == proposal.community_id
    if scope.get("buildings"):
        return and_(condition, Building.name.in_(scope["buildings"]))
    if scope.get("room_ids"):
        return and_(condition, Room.id.in_(scope["room_ids"]))
    return condition


def scope_label(proposal: FundProposal) -> str:
    scope = proposal.scope or {}
    if scope.get("buildings"):
        return "、".join(f"{b}栋" for b in scope["buildings"])
    if scope.get("room_ids"):
        return f"指定的{len(scope['room_ids'])}户"
    return "全体业主"


def _scope_size(proposal: FundProposal) -> int:
    return db.session.scalar(
        select(func.count(Room.id)).join(Building, Room.building_id == Building.id)
        .where(_scope_filter(proposal))
    ) or 0


def create_proposal(user: User, data: dict, now: datetime | None = None) -> FundProposal:
    """A draft. ``data`` is the validated request body (see routes/fund.py)."""
    now = now or utcnow()
    community = _community_for(user, data.get("community"))
    rule = FundRule(data["rule"])
    closes_at, opens_at = data.get("closes_at"), data.get("opens_at")
    if rule == FundRule.emergency:
        if not data.get("emergency_case"):
            raise ValidationFailed("应急使用须选择应急情形", code="emergency_case_required", details={
                "fields": {"emergency_case": [f"可选：{', '.join(EMERGENCY_CASES)}"]}})
        closes_at = opens_at = None  # no vote
    else:
        if data.get("emergency_case"):
            raise ValidationFailed("只有应急使用才需填写应急情形", code="emergency_case_not_allowed",
                                   details={"fields": {"emergency_case": ["仅限 emergency 规则"]}})
        if closes_at is None:
            raise ValidationFailed("请填写表决截止时间", code="closes_at_required",
                                   details={"fields": {"closes_at": ["必填"]}})
        if closes_at <= now:
            raise ValidationFailed("表决截止时间必须在将来", code="closes_at_in_past",
                                   details={"fields": {"closes_at": ["必须晚于当前时间"]}})
        if closes_at > now + timedelta(days=MAX_VOTING_DAYS):
            raise ValidationFailed("表决截止时间不能超过一年", code="closes_at_too_far",
                                   details={"fields": {"closes_at": ["不能超过一年"]}})
        if opens_at is not None and opens_at >= closes_at:
            raise ValidationFailed("开始时间必须早于截止时间", code="opens_after_closes",
                                   details={"fields": {"opens_at": ["必须早于截止时间"]}})
    threshold = data.get("objection_threshold") or setting(community, "objection_threshold")
    try:
        threshold = threshold_text(parse_threshold(threshold))
    except ValueError as exc:
        raise ValidationFailed("异议比例应为0到1之间的分数，如 1/3", code="invalid_threshold",
                               details={"fields": {"objection_threshold": [str(threshold)]}}) from exc
    basis = data.get("objection_basis") or setting(community, "objection_basis")
    publicity = data.get("publicity_days")
    if publicity is None:
        publicity = int(setting(community, "fund_publicity_days"))
    proposal = FundProposal(
        community_id=community.id, title=data["title"].strip(),
        description=(data.get("description") or "").strip(), amount=data["amount_yuan"],
        scope=normalise_scope(community, data["scope"]), rule=rule,
        status=ProposalStatus.draft, objection_threshold=threshold,
        objection_basis=ObjectionBasis(basis), publicity_days=publicity,
        emergency_case=data.get("emergency_case") if rule == FundRule.emergency else None,
        opens_at=opens_at, closes_at=closes_at, created_by_id=user.id, created_at=now,
    )
    if _scope_size(proposal) == 0:
        raise ValidationFailed("表决范围内没有任何房屋", code="scope_empty",
                               details={"fields": {"scope": ["范围内没有房屋"]}})
    db.session.add(proposal)
    db.session.flush()
    return proposal


# ------------------------------------------------------------------ snapshot
def take_snapshot(proposal: FundProposal) -> str:
    """Copy the rooms in scope (area, owner of record, label) into the snapshot and
    return the genesis hash of the ballot chain."""
    label = Building.name + "栋" + Unit.name + "单元" + Room.number
    source = (
        select(literal(proposal.id, Integer), Room.id, Room.area_m2,
               func.coalesce(Room.owner_id, 0), OwnerOfRecord.name, label)
        .select_from(Room)
        .join(Building, Room.building_id == Building.id)
        .join(Unit, Room.unit_id == Unit.id)
        .outerjoin(OwnerOfRecord, Room.owner_id == OwnerOfRecord.id)
        .where(_scope_filter(proposal))
    )
    db.session.execute(insert(FundEligibleRoom).from_select(
        ["proposal_id", "room_id", "area_m2", "owner_key", "owner_name", "label"], source))
    rows = snapshot_rows(proposal.id)
    if not rows:
        raise Conflict("表决范围内没有任何房屋", code="scope_empty")
    return fund_chain.genesis_hash(proposal.id, proposal.rule.value, proposal.closes_at,
                                   settings_text(proposal), rows)


def snapshot_rows(proposal_id: int) -> list[EligibleRoom]:
    return [
        EligibleRoom(room_id, Decimal(area).quantize(CENT), owner_key)
        for room_id, area, owner_key in db.session.execute(
            select(FundEligibleRoom.room_id, FundEligibleRoom.area_m2, FundEligibleRoom.owner_key)
            .where(FundEligibleRoom.proposal_id == proposal_id)
            .order_by(FundEligibleRoom.room_id))
    ]


def settings_text(proposal: FundProposal) -> str:
    return f"{proposal.objection_threshold}|{proposal.objection_basis.value}"


def rule_settings(proposal: FundProposal) -> Settings:
    return Settings(parse_threshold(proposal.objection_threshold), proposal.objection_basis.value)


# ------------------------------------------------------------------ open / start
def open_proposal(user: User, proposal_id: int, now: datetime | None = None) -> FundProposal:
    """Committee or manager opens a draft: voting starts now (snapshot, owners told),
    or at ``opens_at`` if that is still ahead (status ``scheduled``)."""
    now = now or utcnow()
    proposal = lock_proposal(proposal_id)
    if proposal is None or not can_see(user, proposal):
        raise NotFound("找不到该表决事项", code="proposal_not_found")
    _require_manager(user, proposal)
    if proposal.rule == FundRule.emergency:
        raise Conflict("应急使用无需表决，请由业委会委员和物业项目经理签字确认",
                       code="emergency_needs_signatures")
    if proposal.status != ProposalStatus.draft:
        raise Conflict("该事项已开始表决或已结束", code="not_draft",
                       details={"status": proposal.status.value})
    if proposal.closes_at <= now:
        raise Conflict("表决截止时间已过，请修改截止时间后重新发起", code="deadline_passed")
    if proposal.opens_at is not None and proposal.opens_at > now:
        proposal.status = ProposalStatus.scheduled
        enqueue("fund.start_voting", proposal.id, key=f"fund-start-{proposal.id}",
                run_after=proposal.opens_at)
        db.session.flush()
        return proposal
    _start_voting(proposal, now)
    return proposal


def _start_voting(proposal: FundProposal, now: datetime) -> bool:
    """Snapshot, then the conditional status change; the close job and the owners'
    notifications are recorded in the same transaction. The caller holds the lock."""
    expected = proposal.status
    genesis = take_snapshot(proposal)
    changed = db.session.execute(
        update(FundProposal)
        .where(FundProposal.id == proposal.id, FundProposal.status == expected)
        .values(status=ProposalStatus.voting, opened_at=now, genesis_hash=genesis)
        .execution_options(synchronize_session=False)
    ).rowcount
    if changed != 1:
        raise Conflict("该事项已开始表决", code="not_draft")
    db.session.refresh(proposal)
    enqueue("fund.close", proposal.id, key=f"fund-close-{proposal.id}", run_after=proposal.closes_at)
    enqueue("fund.notify", proposal.id, "opened", key=f"fund-opened-{proposal.id}")
    return True


def start_scheduled(proposal_id: int, now: datetime | None = None) -> bool:
    """Start a scheduled vote whose ``opens_at`` has come (job, sweep or a read)."""
    now = now or utcnow()
    proposal = lock_proposal(proposal_id)
    if (proposal is None or proposal.status != ProposalStatus.scheduled
            or (proposal.opens_at is not None and proposal.opens_at > now)):
        return False
    if proposal.closes_at <= now:
        # The whole window passed without the vote starting (the service was down):
        # back to a draft, for the committee to put again with new dates.
        log.warning("fund proposal %s: voting window passed before it could start", proposal.id)
        proposal.status = ProposalStatus.draft
        db.session.flush()
        return True
    return _start_voting(proposal, now)


# ------------------------------------------------------------------ emergency
def sign_proposal(user: User, proposal_id: int, as_role: str | None = None,
                  now: datetime | None = None) -> FundProposal:
    """A committee member or the manager signs an emergency use; with both signatures
    it is approved, snapshotted and publicised to the owners in scope."""
    now = now or utcnow()
    proposal = lock_proposal(proposal_id)
    if proposal is None or not can_see(user, proposal):
        raise NotFound("找不到该表决事项", code="proposal_not_found")
    if proposal.rule != FundRule.emergency:
        raise Conflict("只有应急使用需要签字确认，其他事项请发起表决", code="not_emergency")
    capacities = []
    if proposal.community_id in committee_community_ids(user):
        capacities.append(SignerRole.committee)
    if proposal.community_id in staff_community_ids(user, Role.manager):
        capacities.append(SignerRole.manager)
    if not capacities:
        raise Forbidden("只有业委会委员或物业项目经理可以签字", code="not_committee_or_manager")
    if proposal.status != ProposalStatus.draft:
        raise Conflict("该应急使用已批准", code="already_approved")
    signed = {s.role: s for s in proposal.signatures}
    if any(s.user_id == user.id for s in signed.values()):
        raise Conflict("您已签字；应急使用须由业委会委员和物业项目经理两人分别签字",
                       code="already_signed")
    if as_role is not None:
        role = SignerRole(as_role)
        if role not in capacities:
            raise Forbidden("您不能以该身份签字", code="wrong_signer_role")
    else:
        open_roles = [c for c in capacities if c not in signed]
        if len(open_roles) > 1:
            raise ValidationFailed("请选择以业委会委员还是项目经理身份签字", code="signer_role_required",
                                   details={"fields": {"as": ["committee 或 manager"]}})
        role = open_roles[0] if open_roles else capacities[0]
    if role in signed:
        raise Conflict("该身份已有人签字", code="already_signed", details={"role": role.value})
    proposal.signatures.append(FundSignature(role=role, user_id=user.id,
                                             name=_signer_name(user, proposal, role), signed_at=now))
    db.session.flush()
    if {s.role for s in proposal.signatures} == {SignerRole.committee, SignerRole.manager}:
        genesis = take_snapshot(proposal)
        proposal.status = ProposalStatus.approved
        proposal.approved_at = now
        proposal.genesis_hash = genesis
        db.session.flush()
        enqueue("fund.notify", proposal.id, "approved", key=f"fund-approved-{proposal.id}")
    return proposal


def _signer_name(user: User, proposal: FundProposal, role: SignerRole) -> str:
    if role == SignerRole.committee:
        for record in owner_records(user):
            if record.community_id == proposal.community_id:
                return record.name
    return user.name or user.username or f"用户{user.id}"


# ------------------------------------------------------------------ tally
@dataclass
class Tally:
    rule: str
    status: str
    eligible: Figures
    participating: Figures
    counts: dict[str, Figures]
    outcome: str
    frozen: bool = False
    extra: dict = field(default_factory=dict)

    def as_json(self) -> dict:
        return {
            "rule": self.rule, "status": self.status, "eligible": self.eligible.as_json(),
            "counts": {k: v.as_json() for k, v in self.counts.items()},
            "participating": self.participating.as_json(), "outcome": self.outcome, **self.extra,
        }

    @classmethod
    def from_json(cls, data: dict) -> Tally:
        known = {"rule", "status", "eligible", "counts", "participating", "outcome"}
        return cls(
            rule=data["rule"], status=data["status"], eligible=Figures.from_json(data["eligible"]),
            participating=Figures.from_json(data["participating"]),
            counts={k: Figures.from_json(v) for k, v in data["counts"].items()},
            outcome=data["outcome"], frozen=True,
            extra={k: v for k, v in data.items() if k not in known},
        )


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


def _tally_extra(proposal: FundProposal) -> dict:
    extra = {"rule_label": RULE_SHORT_LABELS[proposal.rule.value]}
    if proposal.rule == FundRule.objection:
        extra.update(objection_threshold=proposal.objection_threshold,
                     objection_basis=proposal.objection_basis.value)
    return extra


def compute_tally(proposal: FundProposal) -> Tally:
    """The frozen result once closed; otherwise the live figures (outcome pending)."""
    if proposal.rule == FundRule.emergency:
        raise Conflict("应急使用不进行表决，没有计票结果", code="no_vote_for_emergency")
    if proposal.status == ProposalStatus.closed and proposal.result:
        return Tally.from_json(proposal.result)
    if proposal.status in (ProposalStatus.draft, ProposalStatus.scheduled):
        zero = Figures()
        return Tally(proposal.rule.value, proposal.status.value, zero, zero,
                     {c: zero for c in RULES[proposal.rule.value].choices}, PENDING,
                     extra=_tally_extra(proposal))
    counts = live_counts(proposal)
    return Tally(proposal.rule.value, proposal.status.value, counts.eligible, counts.participating,
                 counts.by_choice, PENDING, extra=_tally_extra(proposal))


# ------------------------------------------------------------------ close
def close_voting(proposal_id: int, now: datetime | None = None, *, closed_by: User | None = None,
                 early: bool = False) -> bool:
    """Close, freeze and publish the result, exactly once. Without ``early`` only a
    proposal past its deadline closes. Returns whether this call closed it."""
    now = now or utcnow()
    proposal = lock_proposal(proposal_id)
    if proposal is None or proposal.status != ProposalStatus.voting:
        return False
    if not early and proposal.closes_at > now:
        return False
    rule = RULES[proposal.rule.value]
    counts = live_counts(proposal)
    outcome = rule.decide(counts, rule_settings(proposal))
    last = db.session.execute(
        select(FundBallot.seq, FundBallot.entry_hash).where(FundBallot.proposal_id == proposal.id)
        .order_by(FundBallot.seq.desc()).limit(1)).first()
    head, count = (last.entry_hash, last.seq) if last else (proposal.genesis_hash, 0)
    result = Tally(rule.name, ProposalStatus.closed.value, counts.eligible, counts.participating,
                   counts.by_choice, outcome, extra=_tally_extra(proposal)).as_json()
    result.update(closed_at=now.isoformat(), closed_early=bool(early and proposal.closes_at > now),
                  chain_head=head, ballots=count, genesis_hash=proposal.genesis_hash)
    changed = db.session.execute(
        update(FundProposal)
        .where(FundProposal.id == proposal.id, FundProposal.status == ProposalStatus.voting)
        .values(status=ProposalStatus.closed, outcome=Outcome(outcome), closed_at=now,
                closed_by_id=closed_by.id if closed_by else None, result=result,
                chain_head=head, ballot_count=count)
        .execution_options(synchronize_session=False)
    ).rowcount
    if changed != 1:
        return False
    db.session.refresh(proposal)
    enqueue("fund.notify", proposal.id, "result", key=f"fund-result-{proposal.id}")
    return True


def close_by_committee(user: User, proposal_id: int, now: datetime | None = None) -> FundProposal:
    """A committee member closes voting (before the deadline too: the figures as they
    stand are frozen and the result marked ``closed_early``)."""
    now = now or utcnow()
    proposal = get_proposal(user, proposal_id)
    if not is_committee_of(user, proposal):
        raise Forbidden("只有业委会委员可以结束表决", code="not_committee")
    if proposal.status != ProposalStatus.voting:
        raise Conflict("该事项不在表决中", code="not_voting", details={"status": proposal.status.value})
    if not close_voting(proposal.id, now, closed_by=user, early=True):
        raise Conflict("该事项不在表决中", code="not_voting")
    return proposal


def settle_due(proposal: FundProposal, now: datetime | None = None) -> bool:
    """Bring one proposal up to date with the clock (start a due scheduled vote, close
    an overdue one). True if something changed: the caller commits."""
    now = now or utcnow()
    if proposal.status == ProposalStatus.voting and proposal.closes_at <= now:
        return close_voting(proposal.id, now)
    if (proposal.status == ProposalStatus.scheduled and proposal.opens_at is not None
            and proposal.opens_at <= now):
        return start_scheduled(proposal.id, now)
    return False


def due_proposal_ids(now: datetime, community_ids: set[int] | None = None) -> list[int]:
    query = select(FundProposal.id).where(or_(
        and_(FundProposal.status == ProposalStatus.voting, FundProposal.closes_at <= now),
        and_(FundProposal.status == ProposalStatus.scheduled, FundProposal.opens_at <= now),
    ))
    if community_ids is not None:
        query = query.where(FundProposal.community_id.in_(community_ids))
    return list(db.session.scalars(query.order_by(FundProposal.id)))


def settle_all_due(community_ids: set[int] | None = None, now: datetime | None = None) -> int:
    now = now or utcnow()
    changed = 0
    for proposal_id in due_proposal_ids(now, community_ids):
        proposal = db.session.get(FundProposal, proposal_id)
        if proposal is not None and settle_due(proposal, now):
            changed += 1
    return changed


# ------------------------------------------------------------------ notifications
def owner_user_ids(proposal_id: int) -> list[int]:
    """Users bound as owner of record (per the snapshot) to a room in scope."""
    return list(db.session.scalars(
        select(RoomBinding.user_id).distinct()
        .join(FundEligibleRoom, and_(FundEligibleRoom.room_id == RoomBinding.room_id,
                                     FundEligibleRoom.proposal_id == proposal_id))
        .where(RoomBinding.relation == Role.owner, RoomBinding.owner_id == FundEligibleRoom.owner_key)
        .order_by(RoomBinding.user_id)
    ))


def notify_owners(proposal_id: int, event: str, now: datetime | None = None) -> int:
    """Tell every owner in scope, once per event ("opened", "result", "approved"):
    in-app notifications plus WeChat subscribe messages (sent by their own jobs)."""
    now = now or utcnow()
    flag = FundProposal.open_notified_at if event == "opened" else FundProposal.result_notified_at
    claimed = db.session.execute(
        update(FundProposal).where(FundProposal.id == proposal_id, flag.is_(None))
        .values({flag.key: now}).execution_options(synchronize_session=False)
    ).rowcount
    if claimed != 1:
        return 0
    proposal = db.session.get(FundProposal, proposal_id)
    title, body, short = _message(proposal, event)
    link = f"/fund/{proposal.id}"
    when = proposal.closes_at if event == "opened" else (proposal.closed_at or proposal.approved_at)
    data = {"thing1": proposal.title, "time2": local_text(when) if when else "",
            "thing3": short}
    users = owner_user_ids(proposal_id)
    for user_id in users:
        notify(user_id, f"fund_{event}", title, body, link, wechat_data=data)
    return len(users)


def _message(proposal: FundProposal, event: str) -> tuple[str, str, str]:
    amount = f"{proposal.amount:,.2f}"
    scope = scope_label(proposal)
    if event == "opened":
        deadline = local_text(proposal.closes_at)
        if proposal.rule == FundRule.objection:
            ask = f"如有异议，请在{deadline}前在小程序中提出；未提出异议视为同意"
            short = "请在截止前提出异议"
        else:
            ask = f"请在{deadline}前在小程序中投票（同意、反对或弃权）"
            short = "请在截止前投票"
        return (f"维修资金表决：{proposal.title}",
                f"{scope}业主：拟使用维修资金{amount}元用于“{proposal.title}”，"
                f"采用{RULE_SHORT_LABELS[proposal.rule.value]}。{ask}。", short)
    if event == "approved":
        case_label = EMERGENCY_CASES.get(proposal.emergency_case or "", "")
        return (f"维修资金应急使用公示：{proposal.title}",
                f"{scope}业主：因{case_label}，经业委会委员和物业项目经理签字确认，应急使用维修资金"
                f"{amount}元用于“{proposal.title}”，公示{proposal.publicity_days}天。", "应急使用公示")
    tally = Tally.from_json(proposal.result)
    outcome = OUTCOME_LABELS[tally.outcome]
    part, elig = tally.participating, tally.eligible
    if proposal.rule == FundRule.objection:
        obj = tally.counts.get("object", Figures())
        figures = (f"提出异议的面积{obj.area}㎡（共{elig.area}㎡），人数{obj.headcount}人"
                   f"（共{elig.headcount}人）")
    else:
        figures = (f"参与表决面积{part.area}㎡（共{elig.area}㎡），人数{part.headcount}人"
                   f"（共{elig.headcount}人）")
    return (f"表决结果：{proposal.title}",
            f"{scope}业主：“{proposal.title}”表决已结束，结果：{outcome}。{figures}。"
            f"结果公示{proposal.publicity_days}天。选票日志链头：{(proposal.chain_head or '')[:16]}…，"
            f"可凭投票回执在小程序中核对。", f"结果：{outcome}"[:20])


# ------------------------------------------------------------------ for the bot
_OPEN_FOR_ROOMS = (
    select(FundProposal.__table__)
    .where(FundProposal.status == ProposalStatus.voting,
           FundProposal.closes_at > bindparam("now", type_=FundProposal.closes_at.type),
           FundProposal.id.in_(select(FundEligibleRoom.proposal_id).where(
               FundEligibleRoom.room_id.in_(bindparam("rooms", expanding=True)))))
    .order_by(FundProposal.id.desc()))
# the owner keys (owners of record, per each snapshot) the user votes for
_VOTER_KEYS = (
    select(FundEligibleRoom.proposal_id, FundEligibleRoom.owner_key).distinct()
    .join(RoomBinding, RoomBinding.room_id == FundEligibleRoom.room_id)
    .where(FundEligibleRoom.proposal_id.in_(bindparam("proposals", expanding=True)),
           RoomBinding.user_id == bindparam("uid"), RoomBinding.relation == Role.owner,
           RoomBinding.owner_id == FundEligibleRoom.owner_key, FundEligibleRoom.owner_key > 0))
_VOTED_KEYS = select(FundBallot.proposal_id, FundBallot.voter_key).where(
    FundBallot.proposal_id.in_(bindparam("proposals", expanding=True)),
    FundBallot.voter_key.in_(bindparam("keys", expanding=True)))


def open_proposals_for(user: User, now: datetime | None = None) -> list[tuple[object, bool]]:
    """Proposals in voting whose scope includes a room the user is bound to, newest
    first (read-only rows with FundProposal's fields), with whether the user's owner
    record(s) in scope already voted. Read through fastread: the bot asks this often."""
    now = now or utcnow()
    room_ids = sorted({b.room_id for b in user.bindings})
    if not room_ids:
        return []
    proposals = db.session.execute(_OPEN_FOR_ROOMS, {"now": now, "rooms": room_ids}).all()
    if not proposals:
        return []
    ids = [p.id for p in proposals]
    keys: dict[int, set[int]] = {}
    for row in db.session.execute(_VOTER_KEYS, {"proposals": ids, "uid": user.id}).all():
        keys.setdefault(row.proposal_id, set()).add(row.owner_key)
    voted: dict[int, set[int]] = {}
    all_keys = sorted(set().union(*keys.values())) if keys else []
    if all_keys:
        for row in db.session.execute(_VOTED_KEYS, {"proposals": ids, "keys": all_keys}).all():
            voted.setdefault(row.proposal_id, set()).add(row.voter_key)
    return [(p, bool(keys.get(p.id)) and keys[p.id] <= voted.get(p.id, set()))
            for p in proposals]


def publicity_ends_at(proposal: FundProposal) -> datetime | None:
    start = proposal.closed_at or proposal.approved_at
    return start + timedelta(days=proposal.publicity_days) if start else None
