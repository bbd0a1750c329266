"""Notices the system posts itself: a closed fund vote's result with its figures, the
fee standard when it changes (收费标准公示) and the fund's balance and spending
statement when its ledger changes (定期公布维修资金使用情况). Each is posted once per
event (``Notice.source_key``); the callers' transactions commit them."""
from __future__ import annotations

import hashlib
from datetime import datetime

from sqlalchemy import func, select

from backend.extensions import db
from backend.models import (
    ROOM_KIND_LABELS,
    Building,
    Community,
    FeeStandard,
    FundLedgerEntry,
    FundProposal,
    FundRule,
    Room,
    utcnow,
)
from backend.models.notice import Notice
from backend.rules.tally import WITHDRAWN
from backend.services.notices.publish import create_notice

STAGES = {"preliminary": "初步结果", "final": "最终结果"}


def _existing(source_key: str) -> Notice | None:
    return db.session.scalar(select(Notice).where(Notice.source_key == source_key))


def _post(community_id: int, source_key: str, **fields) -> Notice:
    found = _existing(source_key)
    if found is not None:
        return found
    # A savepoint: a concurrent poster of the same event makes the unique key refuse
    # ours, and the caller's transaction goes on with theirs.
    from sqlalchemy.exc import IntegrityError

    try:
        with db.session.begin_nested():
            # on the board without subscribe messages: owners hear of a vote's result
            # through fund.notify already, and statements are not urgent news
            return create_notice(community_id, source_key=source_key, announce=False, **fields)
    except IntegrityError:
        return _existing(source_key)


def _supersede(community_id: int, sources: tuple[str, ...], keep: Notice, now: datetime) -> None:
    """Earlier notices of these sources stop showing (expired now, kept in the
    history): residents see the standard and the statement that hold now."""
    for old in db.session.scalars(select(Notice).where(
            Notice.community_id == community_id, Notice.source.in_(sources),
            Notice.id != keep.id, Notice.withdrawn_at.is_(None),
            (Notice.expires_at.is_(None)) | (Notice.expires_at > now))):
        old.expires_at = now
    db.session.flush()


def _changed_key(community_id: int, source: str, digest: str) -> str | None:
    """The key of a new notice for this state, or None if the latest notice of this
    source already shows it (a change back to an earlier state is posted again)."""
    latest = db.session.scalar(select(Notice.source_key).where(
        Notice.community_id == community_id, Notice.source == source)
        .order_by(Notice.id.desc()).limit(1))
    if latest is not None and latest.split("-")[-2] == digest:
        return None
    count = db.session.scalar(select(func.count(Notice.id)).where(
        Notice.community_id == community_id, Notice.source == source)) or 0
    return f"{source.replace('_', '-')}-{community_id}-{digest}-{count + 1}"


def _money(value) -> str:
    from backend.rules.money import format_yuan

    return format_yuan(value)


# ------------------------------------------------------------------ fund votes
def _proposal_building_ids(proposal: FundProposal) -> list[int]:
    scope = proposal.scope or {}
    if scope.get("buildings"):
        return list(db.session.scalars(select(Building.id).where(
            Building.community_id == proposal.community_id,
            Building.name.in_(scope["buildings"]))))
    if scope.get("room_ids"):
        # rooms chosen one by one: their buildings (the notice board has no finer scope)
        return sorted(set(db.session.scalars(select(Room.building_id).where(
            Room.community_id == proposal.community_id, Room.id.in_(scope["room_ids"])))))
    return []


def fund_result_text(proposal: FundProposal, stage: str) -> tuple[str, str]:
    """Title and body: the outcome and each comparison the rule made, as the proposal's
    result view shows them (services/fund/results.py)."""
    from backend.services.fund.results import Tally, current_tally
    from backend.services.fund.scope import scope_label

    tally = Tally.frozen_of(proposal) if proposal.result else current_tally(proposal)
    stage_label = STAGES[stage]
    title = f"表决结果（{stage_label}）：{proposal.title}"[:100]
    lines = [f"{scope_label(proposal)}业主：“{proposal.title}”（拟使用维修资金"
             f"{_money(proposal.amount)}）表决已结束。"]
    if tally.outcome == WITHDRAWN:
        lines.append("结果：已撤回（提前终止表决，不视为通过，不会据此使用维修资金）。")
    else:
        lines.append(f"结果：{tally.outcome_label}（{tally.rule_label}）。")
        part, elig = tally.participating, tally.eligible
        if proposal.rule == FundRule.objection:
            lines.append(f"应参与：面积{elig.area}㎡，{elig.headcount}人。")
        else:
            lines.append(f"参与表决：面积{part.area}㎡（共{elig.area}㎡），"
                         f"{part.headcount}人（共{elig.headcount}人）。")
        for m in tally.measures:
            unit = "㎡" if m.basis == "area" else "人"
            lines.append(f"{m.label}：{m.part}{unit} / {m.whole}{unit}，"
                         f"要求{m.requirement}，{'已达到' if m.met else '未达到'}。")
    if proposal.chain_head:
        lines.append(f"选票日志链头：{proposal.chain_head[:16]}…，可凭投票回执在小程序中核对。")
    lines.append("业主可在小程序该事项页面下载完整的表决结果公告（PDF）。")
    query_ends = getattr(proposal, "query_ends_at", None)
    if stage == "preliminary" and query_ends is not None:
        from backend.timeutil import local_text

        lines.append(f"对初步结果如有疑问，请在{local_text(query_ends)}前在小程序该事项页面提出，"
                     "业委会答复后公布最终结果。")
    elif proposal.publicity_days:
        lines.append(f"结果公示{proposal.publicity_days}天，公示期内如有异议请联系业委会。")
    return title, "\n".join(lines)


def post_fund_result(proposal: FundProposal, *, stage: str) -> Notice:
    """Post a closed vote's result (``stage`` "preliminary" or "final") to the owners
    in the proposal's scope, once per stage."""
    if stage not in STAGES:
        raise ValueError(f"unknown stage {stage!r}")
    title, body = fund_result_text(proposal, stage)
    now = utcnow()
    notice = _post(proposal.community_id, f"fund-result-{proposal.id}-{stage}",
                   title=title, body=body, category="vote_result",
                   building_ids=_proposal_building_ids(proposal), pinned=False,
                   source="fund_result", now=now)
    if stage == "final":
        # the preliminary result stops showing (kept in the history)
        preliminary = _existing(f"fund-result-{proposal.id}-preliminary")
        if preliminary is not None and preliminary.expires_at is None:
            preliminary.expires_at = now
            db.session.flush()
    return notice


# ------------------------------------------------------------------ fee standard
def fee_standard_fingerprint(community_id: int) -> tuple[str, list[FeeStandard]]:
    standards = list(db.session.scalars(select(FeeStandard).where(
        FeeStandard.community_id == community_id).order_by(FeeStandard.kind)))
    text = "|".join(f"{s.kind.value}={s.unit_price}" for s in standards)
    return hashlib.sha256(text.encode()).hexdigest()[:16], standards


def post_fee_standard(community: Community, now: datetime | None = None) -> Notice | None:
    """Publish the fee standard as it stands now if no notice shows this standard yet
    (None if it is already published, or there is none)."""
    digest, standards = fee_standard_fingerprint(community.id)
    if not standards:
        return None
    key = _changed_key(community.id, "fee_standard", digest)
    if key is None:
        return None
    lines = [f"{community.name}全体业主、住户：现公示本小区物业服务收费标准如下："]
    lines += [f"· {ROOM_KIND_LABELS[s.kind]}：{s.unit_price}元/㎡·月" for s in standards]
    lines.append("物业费按房屋登记面积计收。如有疑问，请联系物业服务中心。")
    now = now or utcnow()
    notice = _post(community.id, key, title="收费标准公示", body="\n".join(lines),
                   category="fee", source="fee_standard", pinned=False, now=now)
    _supersede(community.id, ("fee_standard",), notice, now)
    return notice


# ------------------------------------------------------------------ fund ledger
def fund_ledger_fingerprint(community_id: int) -> str:
    row = db.session.execute(select(
        func.count(FundLedgerEntry.id), func.max(FundLedgerEntry.id),
        func.sum(FundLedgerEntry.amount)).where(FundLedgerEntry.community_id == community_id)).one()
    return hashlib.sha256(f"{row[0]}|{row[1]}|{row[2]}".encode()).hexdigest()[:16]


def post_fund_statement(community: Community, now: datetime | None = None) -> Notice | None:
    """Publish the fund's balance, totals and latest entries if the ledger changed
    since the last statement (None when unchanged or empty)."""

    has_entries = db.session.scalar(select(FundLedgerEntry.id).where(
        FundLedgerEntry.community_id == community.id).limit(1))
    if has_entries is None:
        return None
    key = _changed_key(community.id, "fund_ledger", fund_ledger_fingerprint(community.id))
    if key is None:
        return None
    return _statement(community, key, "fund_ledger", "维修资金使用情况公示", now or utcnow())


def post_monthly_statement(community: Community, now: datetime | None = None) -> Notice | None:
    """定期公布: a statement at the start of each month (local time) unless one was
    already posted this month (a ledger change posts its own)."""
    from backend.timeutil import local

    now = now or utcnow()
    has_entries = db.session.scalar(select(FundLedgerEntry.id).where(
        FundLedgerEntry.community_id == community.id).limit(1))
    if has_entries is None:
        return None
    month_start = local(now).replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    recent = db.session.scalar(select(Notice.id).where(
        Notice.community_id == community.id,
        Notice.source.in_(("fund_ledger", "fund_statement")),
        Notice.created_at >= month_start).limit(1))
    if recent is not None:
        return None
    month = local(now)
    return _statement(community, f"fund-statement-{community.id}-{month:%Y-%m}", "fund_statement",
                      f"{month.year}年{month.month}月维修资金使用情况公示", now)


def _statement(community: Community, key: str, source: str, title: str, now: datetime) -> Notice:
    from backend.services.fund_ledger import fund_balance

    fund = fund_balance(community.id, recent=10)
    as_of = fund.as_of.isoformat() if fund.as_of else ""
    lines = [f"{community.name}全体业主：截至{as_of}，本小区专项维修资金情况如下：",
             f"· 累计收入：{_money(fund.total_in)}",
             f"· 累计支出：{_money(fund.total_out)}",
             f"· 结余：{_money(fund.balance)}"]
    if fund.recent:
        lines.append("最近收支：")
        for line in fund.recent:
            sign = "收入" if line.amount > 0 else "支出"
            where = f"（{line.building}栋）" if line.building else ""
            lines.append(f"· {line.date.isoformat()} {line.description}{where} "
                         f"{sign}{_money(abs(line.amount))}")
    lines.append("明细可在小程序“维修资金”中查看。")
    notice = _post(community.id, key, title=title, body="\n".join(lines),
                   category="fund", source=source, now=now)
    _supersede(community.id, ("fund_ledger", "fund_statement"), notice, now)
    return notice


def post_changed(now: datetime | None = None) -> int:
    """Post the fee standard and the fund statement of every community where they
    changed since they were last posted. The caller (a job) commits."""
    posted = 0
    for community in db.session.scalars(select(Community).order_by(Community.id)):
        for post in (post_fee_standard, post_fund_statement, post_monthly_statement):
            if post(community, now) is not None:
                posted += 1
    return posted
