"""Putting a use of the fund to the owners: drafting, opening the vote (now or at
``opens_at``), and the emergency path, where a committee member and the manager
sign instead of a vote.

draft → (scheduled →) voting → closed (services/fund/closing.py), or for emergency
use draft → approved once both signatures are in. Opening snapshots the scope
(services/fund/scope.py) and records, in the same transaction, the close job at
``closes_at`` and the owners' notice.
"""
from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy import select, update

from backend.errors import Conflict, Forbidden, ValidationFailed
from backend.extensions import db
from backend.models import (
    Community,
    FundProposal,
    FundRule,
    FundSignature,
    ObjectionBasis,
    ProposalStatus,
    Role,
    SignerRole,
    User,
    utcnow,
)
from backend.outbox import enqueue
from backend.rules.fund_rules import EMERGENCY_CASES
from backend.rules.tally import parse_threshold, threshold_text
from backend.services.community import setting
from backend.services.fund.access import (
    lock_proposal,
    lock_visible,
    managing_community_ids,
    require_manager,
)
from backend.services.fund.scope import normalise_scope, scope_size, take_snapshot
from backend.services.permissions import committee_community_ids, owner_records, staff_community_ids

log = logging.getLogger(__name__)
MAX_VOTING_DAYS = 366


# ------------------------------------------------------------------ draft
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


def _check_dates(data: dict, now: datetime) -> None:
    closes_at, opens_at = data.get("closes_at"), data.get("opens_at")
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
        _check_dates(data, now)
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
    if scope_size(proposal) == 0:
        raise ValidationFailed("表决范围内没有任何房屋", code="scope_empty",
                               details={"fields": {"scope": ["范围内没有房屋"]}})
    db.session.add(proposal)
    db.session.flush()
    return proposal


# ------------------------------------------------------------------ open / start
def open_proposal(user: User, proposal_id: int, now: datetime | None = None) -> FundProposal:
    """Committee or manager opens a draft: voting starts now (snapshot, owners told),
    or at ``opens_at`` if that is still ahead (status ``scheduled``)."""
    now = now or utcnow()
    proposal = lock_visible(user, proposal_id)
    require_manager(user, proposal)
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


def _start_voting(proposal: FundProposal, now: datetime) -> None:
    """Snapshot, then the conditional status change; the close job and the owners'
    notice are recorded in the same transaction. The caller holds the lock."""
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


def start_scheduled(proposal_id: int, now: datetime | None = None) -> bool:
    """Start a scheduled vote whose ``opens_at`` has come (the job or the sweep)."""
    now = now or utcnow()
    proposal = lock_proposal(proposal_id)
    if proposal is None or not proposal.opening_due(now):
        return False
    if proposal.closes_at <= now:
        # The whole window passed without the vote starting (the service was down):
        # back to a draft, for the committee to put again with new dates.
        log.warning("fund proposal %s: voting window passed before it could start", proposal.id)
        proposal.status = ProposalStatus.draft
        db.session.flush()
        return True
    _start_voting(proposal, now)
    return True


# ------------------------------------------------------------------ emergency
def _signing_role(user: User, proposal: FundProposal, as_role: str | None) -> SignerRole:
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
    return role


def sign_proposal(user: User, proposal_id: int, as_role: str | None = None,
                  now: datetime | None = None) -> FundProposal:
    """A committee member or the manager signs an emergency use; with both signatures
    it is approved, snapshotted and publicised to the owners in scope."""
    now = now or utcnow()
    proposal = lock_visible(user, proposal_id)
    if proposal.rule != FundRule.emergency:
        raise Conflict("只有应急使用需要签字确认，其他事项请发起表决", code="not_emergency")
    role = _signing_role(user, proposal, as_role)
    proposal.signatures.append(FundSignature(role=role, user_id=user.id,
                                             name=_signer_name(user, proposal, role), signed_at=now))
    db.session.flush()
    if {s.role for s in proposal.signatures} == {SignerRole.committee, SignerRole.manager}:
        proposal.genesis_hash = take_snapshot(proposal)
        proposal.status = ProposalStatus.approved
        proposal.approved_at = now
        db.session.flush()
        enqueue("fund.notify", proposal.id, "approved", key=f"fund-approved-{proposal.id}")
    return proposal


def _signer_name(user: User, proposal: FundProposal, role: SignerRole) -> str:
    if role == SignerRole.committee:
        for record in owner_records(user):
            if record.community_id == proposal.community_id:
                return record.name
    return user.shown_name
