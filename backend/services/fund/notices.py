"""Telling the owners in scope about a fund decision, once per event: voting opened,
the result is published, an emergency use is approved. In-app notifications plus
WeChat subscribe messages (sent by their own jobs). Run by the ``fund.notify`` job,
which commits."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import update

from backend.extensions import db
from backend.models import FundProposal, FundRule, utcnow
from backend.rules.fund_rules import EMERGENCY_CASES, OUTCOME_LABELS, RULE_LABELS
from backend.rules.tally import WITHDRAWN, Figures
from backend.services.fund.results import Tally
from backend.services.fund.scope import owner_user_ids, scope_label
from backend.services.notifications import notify
from backend.timeutil import local_text


# each event's notified-at flag: a notice goes out once per event
EVENT_FLAGS = {"published": FundProposal.publish_notified_at,
               "opened": FundProposal.open_notified_at,
               "result": FundProposal.result_notified_at,
               "approved": FundProposal.result_notified_at}


def notify_owners(proposal_id: int, event: str, now: datetime | None = None) -> int:
    """Tell every owner in scope, once per event ("opened", "result", "approved")."""
    now = now or utcnow()
    if event not in EVENT_FLAGS:
        # never fall through to the result notice: that would claim its flag (the
        # real result notice would then never go out) and read a result not yet frozen
        raise ValueError(f"unknown fund notice event {event!r}")
    flag = EVENT_FLAGS[event]
    condition = [FundProposal.id == proposal_id, flag.is_(None)]
    if event == "result":
        condition.append(FundProposal.closed_at.is_not(None))  # frozen at close, with it
    claimed = db.session.execute(
        update(FundProposal).where(*condition)
        .values({flag.key: now}).execution_options(synchronize_session=False)
    ).rowcount
    if claimed != 1:
        return 0
    proposal = db.session.get(FundProposal, proposal_id)
    title, body, short = _message(proposal, event)
    link = f"/fund/{proposal.id}"
    when = proposal.closes_at if event == "opened" else (
        proposal.opens_at if event == "published" else (proposal.closed_at or proposal.approved_at))
    data = {"thing1": proposal.title, "time2": local_text(when) if when else "", "thing3": short}
    users = owner_user_ids(proposal_id) if event != "published" else scope_owner_user_ids(proposal)
    for user_id in users:
        notify(user_id, f"fund_{event}", title, body, link, wechat_data=data)
    return len(users)


def _message(proposal: FundProposal, event: str) -> tuple[str, str, str]:
    amount = f"{proposal.amount:,.2f}"
    scope = scope_label(proposal)
    if event == "published":
        return (f"维修资金使用公示：{proposal.title}",
                f"{scope}业主：拟使用维修资金{amount}元用于“{proposal.title}”，现公示"
                f"{proposal.notice_days}天，{local_text(proposal.opens_at)}开始表决。"
                f"公示期内可在小程序中查看方案并提问。", "公示期内可查看方案并提问")
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
                f"采用{RULE_LABELS[proposal.rule.value]}。{ask}。", short)
    if event == "approved":
        case_label = EMERGENCY_CASES.get(proposal.emergency_case or "", "")
        return (f"维修资金应急使用公示：{proposal.title}",
                f"{scope}业主：因{case_label}，经业委会委员和物业项目经理签字确认，应急使用维修资金"
                f"{amount}元用于“{proposal.title}”，公示{proposal.publicity_days}天。", "应急使用公示")
    tally = Tally.frozen_of(proposal)
    if tally.outcome == WITHDRAWN:
        return (f"表决已撤回：{proposal.title}",
                f"{scope}业主：“{proposal.title}”（拟使用维修资金{amount}元）已由业委会于"
                f"{local_text(proposal.closed_at)}提前终止表决并撤回，不视为通过，不会据此使用维修资金。"
                f"选票日志链头：{(proposal.chain_head or '')[:16]}…。", "表决已撤回")
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


def scope_owner_user_ids(proposal: FundProposal) -> list[int]:
    """Before the snapshot: users bound now as owner of a room in scope."""
    from sqlalchemy import select

    from backend.models import Room, RoomBinding
    from backend.services.fund.scope import scope_filter

    return list(db.session.scalars(
        select(RoomBinding.user_id).distinct().join(RoomBinding.room).join(Room.building)
        .where(scope_filter(proposal), RoomBinding.is_current_owner)
        .order_by(RoomBinding.user_id)))
