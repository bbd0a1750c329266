"""Putting a use of the fund to the owners: drafting, opening the vote (now or at
``opens_at``), and the emergency path, where a committee member and the manager
sign instead of a vote.

draft → (scheduled →) voting → closed (services/fund/closing.py), or for emergency
use draft → approved once both signatures are in. Opening snapshots the scope
(services/fund/scope.py) and records, in the same transaction, the close job at
``closes_at`` and the owners' notice.

Committee members and the manager draft; only committee members open a vote (the
owners' representatives decide to put it to them; the manager, who would spend the
money, cannot start the clock alone). The community's settings decide the
objection threshold and basis, the shortest voting window of each rule (counted
from the moment voting starts) and the shortest publicity of the result
(services/fund/settings.py); a proposal may lengthen its publicity, nothing else.
Opening fixes the settings in force then on the proposal.
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
from backend.rules.fund_rules import BASIS_LABELS, EMERGENCY_CASES, RULE_LABELS
from backend.rules.tally import parse_threshold
from backend.services.fund.access import (
    is_committee_of,
    lock_proposal,
    lock_visible,
    managing_community_ids,
)
from backend.services.fund.scope import normalise_scope, scope_size, take_snapshot
from backend.services.fund.settings import FundSettings, fund_settings
from backend.timeutil import local_iso, local_text
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


def check_window(rule: FundRule, opens_at: datetime | None, closes_at: datetime,
                 settings: FundSettings, now: datetime) -> None:
    """Owners get the rule's whole window: from the moment voting starts (``opens_at``
    if still ahead, else now: a start in the past gives no time) to ``closes_at``."""
    days = settings.min_window_days(rule)
    start = max(opens_at, now) if opens_at is not None else now
    if days is None or closes_at - start >= timedelta(days=days):
        return
    period = "异议期" if rule == FundRule.objection else "表决期"
    earliest = start + timedelta(days=days)
    raise ValidationFailed(
        f"{RULE_LABELS[rule.value]}的{period}不得少于{days}天（从开始表决算起），"
        f"截止时间最早为{local_text(earliest)}",
        code="voting_window_too_short",
        details={"min_days": days, "earliest_closes_at": local_iso(earliest),
                 "fields": {"closes_at": [f"须在开始表决至少{days}天之后"]}})


def _fixed_objection_settings(data: dict, settings: FundSettings) -> None:
    """The threshold and basis are the community's: a proposal naming others is refused
    (the same value in another spelling, "2/6" for "1/3", is the same)."""
    problems = {}
    given = data.get("objection_threshold")
    if given is not None:
        try:
            same = parse_threshold(given) == settings.objection_threshold
        except ValueError:
            same = False
        if not same:
            problems["objection_threshold"] = [f"本小区规定为 {settings.threshold_text}"]
    basis = data.get("objection_basis")
    if basis is not None and basis != settings.objection_basis:
        problems["objection_basis"] = [f"本小区规定为 {settings.objection_basis}"]
    if problems:
        raise ValidationFailed(
            f"异议比例和计算方式由小区统一规定（{settings.threshold_text}，"
            f"{BASIS_LABELS[settings.objection_basis]}），不能按事项另设",
            code="objection_setting_fixed",
            details={"objection_threshold": settings.threshold_text,
                     "objection_basis": settings.objection_basis, "fields": problems})


def _publicity(data: dict, settings: FundSettings) -> int:
    days = data.get("publicity_days")
    if days is None:
        return settings.publicity_days
    if days < settings.publicity_days:
        raise ValidationFailed(
            f"结果公示期不得少于{settings.publicity_days}天（本小区规定），可以延长，不能缩短",
            code="publicity_too_short", details={
                "min_days": settings.publicity_days,
                "fields": {"publicity_days": [f"不少于{settings.publicity_days}天"]}})
    return days


def create_proposal(user: User, data: dict, now: datetime | None = None) -> FundProposal:
    """A draft. ``data`` is the validated request body (see routes/fund.py)."""
    now = now or utcnow()
    community = _community_for(user, data.get("community"))
    settings = fund_settings(community)
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
        check_window(rule, opens_at, closes_at, settings, now)  # again, from the real start, when published
    _fixed_objection_settings(data, settings)
    proposal = FundProposal(
        community_id=community.id, title=data["title"].strip(),
        description=(data.get("description") or "").strip(), amount=data["amount_yuan"],
        scope=normalise_scope(community, data["scope"]), rule=rule,
        status=ProposalStatus.draft, objection_threshold=settings.threshold_text,
        objection_basis=ObjectionBasis(settings.objection_basis),
        publicity_days=_publicity(data, settings),
        emergency_case=data.get("emergency_case") if rule == FundRule.emergency else None,
        opens_at=opens_at, closes_at=closes_at, created_by_id=user.id, created_at=now,
    )
    if scope_size(proposal) == 0:
        raise ValidationFailed("表决范围内没有任何房屋", code="scope_empty",
                               details={"fields": {"scope": ["范围内没有房屋"]}})
    db.session.add(proposal)
    db.session.flush()
    if data.get("attachment_ids"):
        from backend.models.fund import FundProposalFile
        from backend.services.attachments import get_attachments

        for position, attachment in enumerate(get_attachments(community.id, data["attachment_ids"])):
            proposal.files.append(FundProposalFile(attachment_id=attachment.id, position=position))
        db.session.flush()
    return proposal


def _apply_settings(proposal: FundProposal, settings: FundSettings) -> None:
    """What a vote keeps from the community's settings, fixed when it opens (or an
    emergency use is approved): the threshold and basis, a publicity period no
    shorter than the community's, whether a ballot may be changed, the query window."""
    proposal.objection_threshold = settings.threshold_text
    proposal.objection_basis = ObjectionBasis(settings.objection_basis)
    proposal.publicity_days = max(proposal.publicity_days, settings.publicity_days)
    proposal.allow_change = settings.allow_change and proposal.rule != FundRule.objection
    proposal.query_days = settings.query_days
    db.session.flush()  # before the snapshot's genesis hash reads them


def voting_starts(opens_at: datetime | None, settings: FundSettings, now: datetime) -> datetime:
    """When voting can start if the proposal is published now: after the whole
    publicity period (公示), or at ``opens_at`` if that is later."""
    earliest = now + timedelta(days=settings.notice_days)
    return max(opens_at, earliest) if opens_at is not None else earliest


# ------------------------------------------------------------------ open / start
def open_proposal(user: User, proposal_id: int, now: datetime | None = None) -> FundProposal:
    """A committee member publishes a draft (公示): owners in scope read it and ask
    questions for the community's publicity period (``notice_days``), then voting
    starts by itself (status ``scheduled`` until then; the job or the sweep starts
    it at ``opens_at``). The window must still be the rule's minimum, counted from
    the start of voting."""
    now = now or utcnow()
    proposal = lock_visible(user, proposal_id)
    if proposal.rule == FundRule.emergency:
        raise Conflict("应急使用无需表决，请由业委会委员和物业项目经理签字确认",
                       code="emergency_needs_signatures")
    if not is_committee_of(user, proposal):
        raise Forbidden("只有业委会委员可以开始表决；物业项目经理可以起草事项，由业委会决定是否交付表决",
                        code="not_committee")
    if proposal.status != ProposalStatus.draft:
        raise Conflict("该事项已公示、开始表决或已结束", code="not_draft",
                       details={"status": proposal.status.value})
    if proposal.closes_at <= now:
        raise Conflict("表决截止时间已过，请修改截止时间后重新发起", code="deadline_passed")
    settings = fund_settings(proposal.community)
    starts = voting_starts(proposal.opens_at, settings, now)
    check_window(proposal.rule, starts, proposal.closes_at, settings, now)
    _apply_settings(proposal, settings)
    proposal.status = ProposalStatus.scheduled
    proposal.published_at = now
    proposal.notice_days = settings.notice_days
    proposal.opens_at = starts
    db.session.flush()
    enqueue("fund.start_voting", proposal.id, key=f"fund-start-{proposal.id}", run_after=starts)
    enqueue("fund.notify", proposal.id, "published", key=f"fund-published-{proposal.id}")
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
        _apply_settings(proposal, fund_settings(proposal.community))
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
