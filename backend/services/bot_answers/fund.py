"""Answerers about the maintenance fund (维修资金): the voting rules as the community
has set them, the balance of the community or a building, and the asker's open votes."""
from __future__ import annotations

import re

from backend.errors import NotFound
from backend.rules.fund_rules import HEADCOUNT_NOTE, explain_rule
from backend.services.bot_answers.base import Context, answerer, money, no_room
from backend.models import utcnow
from backend.rules.fund_rules import STAGE_LABELS
from backend.services.fund import open_proposals_for
from backend.services.fund_ledger import fund_balance as balance_of
from backend.services.permissions import owned_rooms
from backend.timeutil import local_text


def fund_topics(text: str) -> list[str]:
    """Which rules the question is about; all of them when it does not say."""
    topics = []
    if re.search(r"紧急|应急|危险|困人", text):
        topics.append("emergency")
    if re.search(r"反对|异议|否定|三分之一|不投票|没投票|公示", text):
        topics.append("objection")
    if re.search(r"同意|过半|半数|三分之二|多少人|几成|多少业主|比例|通过", text):
        topics.append("civil_code_use")
    if re.search(r"重建|改建|筹集|续筹|改变用途|四分之三", text):
        topics.append("civil_code_major")
    return topics or ["civil_code_use", "objection", "emergency"]


@answerer("fund.rule")
def fund_rule(ctx: Context) -> str:
    days = ctx.setting("fund_publicity_days")
    lines = [ctx.t("fund_rule_intro", community=ctx.community_name)]
    for topic in fund_topics(ctx.match.text):
        lines.append("· " + explain_rule(topic, threshold=str(ctx.setting("objection_threshold")),
                                         basis=str(ctx.setting("objection_basis")),
                                         publicity_days=int(days)))
    lines.append(HEADCOUNT_NOTE)
    return "\n".join(lines)


_BUILDING = re.compile(r"([0-9a-z]{1,4})(?:号楼|栋|幢|座)")
_MY_BUILDING = re.compile(r"我们楼|我家楼|我们这栋|我们栋|本楼|我们这幢|我住的楼|我们单元")


@answerer("fund.balance")
def fund_balance(ctx: Context) -> str:
    community = ctx.asker.community
    if community is None:
        return no_room(ctx, "维修资金")
    text = ctx.match.text
    building = None
    found = _BUILDING.search(text)
    if found:
        building = found.group(1).upper()
    elif _MY_BUILDING.search(text) and ctx.asker.rooms:
        building = ctx.asker.rooms[0].building.name
    scope = f"{building}栋" if building else community.name
    try:
        balance = balance_of(community.id, building)
    except NotFound:
        return ctx.t("fund_balance_no_building", building=building)
    if not balance.recent and balance.total_in == 0 and balance.total_out == 0:
        return ctx.t("fund_balance_none", scope=scope, phone=ctx.setting("office_phone"))
    lines = [ctx.t("fund_balance_head", scope=scope, balance=money(balance.balance),
                   total_in=money(balance.total_in), total_out=money(balance.total_out))]
    if balance.recent:
        lines.append(ctx.t("fund_balance_recent"))
        for line in balance.recent:
            amount = money(line.amount)
            lines.append(ctx.t("fund_balance_line", date=line.date.isoformat(),
                               description=line.description,
                               amount=("+" + amount) if line.amount > 0 else amount))
    return "\n".join(lines)


@answerer("fund.vote")
def fund_vote(ctx: Context) -> str:
    if not ctx.asker.rooms or ctx.asker.user is None:
        return no_room(ctx, "表决") + "\n" + ctx.t("fund_vote_how")
    proposals = open_proposals_for(ctx.asker.user)
    staged = _staged_lines(ctx.asker.user)
    if not proposals:
        return "\n".join([ctx.t("fund_vote_none"), *staged, ctx.t("fund_vote_how")])
    lines = [ctx.t("fund_vote_head")]
    for proposal, voted in proposals:
        lines.append(f"【{STAGE_LABELS['voting']}】" + ctx.t(
            "fund_vote_line", title=proposal.title, closes=local_text(proposal.closes_at),
            status=ctx.t("fund_vote_voted" if voted else "fund_vote_not_voted")))
    lines += staged
    if not owned_rooms(ctx.asker.user):
        lines.append(ctx.t("fund_vote_no_room"))
    lines.append(ctx.t("fund_vote_how"))
    return "\n".join(lines)


def _staged_lines(user) -> list[str]:
    """Decisions at another step (公示中, 询异期, 已公布), each named by its stage label."""
    from backend.services.fund.comments import query_ends_at
    from backend.services.fund.queries import staged_proposals_for

    lines = []
    for proposal, stage in staged_proposals_for(user):
        label = STAGE_LABELS[stage]
        if stage == "publicity":
            lines.append(f"【{label}】《{proposal.title}》{local_text(proposal.opens_at)}开始表决，"
                         f"公示期内可在小程序查看方案并提问")
        elif stage == "query":
            ends = query_ends_at(proposal, utcnow())
            lines.append(f"【{label}】《{proposal.title}》初步结果已公示，"
                         f"{local_text(ends) + '前' if ends else ''}可在小程序提出询异")
        else:
            lines.append(f"【{label}】《{proposal.title}》最终结果已公布，可在小程序查看")
    return lines
