"""The result of a closed fund vote as a PDF for the notice board (表决结果公告).

Every figure is the tally's as the API shows it (``services.fund.current_tally``:
frozen once closed, or exactly what the close will freeze), printed in the API's own
spelling (areas to the cent, shares to 4 places) so anyone can compare them. The
rooms that took part are listed with how they voted (online, paper, proxy), never
with a choice; under the objection rule taking part *is* objecting, so the list is
left out there and only the figures are published.
"""
from __future__ import annotations

from datetime import datetime

from backend.errors import Conflict
from backend.models import FundProposal, FundRule, ProposalStatus
from backend.pdf import Document
from backend.rules.fund_rules import BASIS_LABELS, CHOICE_LABELS, STAGE_LABELS
from backend.rules.money import format_yuan
from backend.services.fund import current_tally, scope_label, view_of
from backend.services.fund.results import Tally
from backend.services.fund_documents.rooms import rooms_taking_part
from backend.timeutil import local_text, utcnow


def _when(value: datetime | None) -> str:
    return local_text(value) if value else "—"


def _figures_rows(tally: Tally) -> list[list[str]]:
    rows = [["范围内（可表决）", tally.eligible], ["参与表决", tally.participating]]
    rows += [[CHOICE_LABELS[choice], figures] for choice, figures in tally.counts.items()]
    return [[name, str(f.rooms), f"{f.area:.2f}", str(f.headcount)] for name, f in rows]


def _measure_rows(tally: Tally) -> list[list[str]]:
    return [[m.group_label, m.label, m.part, m.whole, f"{m.share}（{m.share * 100:.2f}%）",
             f"{m.requirement}（{m.threshold}）", "达到" if m.met else "未达到"]
            for m in tally.measures]


def result_pdf(proposal: FundProposal, now: datetime | None = None) -> bytes:
    now = now or utcnow()
    tally = current_tally(proposal, now)
    if tally.status != ProposalStatus.closed.value:
        raise Conflict("表决尚未结束，暂无表决结果文件", code="result_not_ready")
    view = view_of(proposal, now)
    doc = Document(f"{proposal.title} 表决结果", author=proposal.community.name, generated_at=now)
    doc.title_block("维修资金使用表决结果公告", f"{proposal.community.name}　{proposal.title}")
    facts = [
        ("事项", proposal.title), ("小区", proposal.community.name),
        ("表决范围", scope_label(proposal)), ("申请金额", format_yuan(proposal.amount)),
        ("表决规则", tally.rule_label), ("当前阶段", STAGE_LABELS[view.stage]),
        ("表决结果", tally.outcome_label),
        ("表决开始", _when(proposal.opened_at)), ("截止时间", _when(tally.closes_at)),
        ("表决结束", _when(tally.closed_at) + ("（提前结束）" if tally.closed_early else "")),
        ("结果确认", _when(proposal.finalised_at)),
    ]
    if tally.rule == FundRule.objection.value:
        facts += [("异议比例", tally.objection_threshold or ""),
                  ("计算方式", BASIS_LABELS.get(tally.objection_basis or "", ""))]
    if not tally.frozen:
        facts.append(("说明", "表决已截止，以上为截止时的统计结果，系统将按此结果登记"))
    doc.key_values(facts)

    doc.heading("表决统计")
    doc.table(["项目", "房屋（户）", "专有部分面积（㎡）", "业主人数"], _figures_rows(tally),
              widths_mm=[52, 36, 50, 36], align_right=(1, 2, 3))
    doc.heading("表决规则比较")
    doc.table(["分组", "比较项", "数值", "总数", "占比", "要求", "结论"], _measure_rows(tally),
              widths_mm=[32, 26, 20, 20, 30, 28, 18], align_right=(2, 3))

    doc.heading("选票记录（哈希链）")
    doc.key_values([("记录条数", str(tally.ballots or 0)), ("链头哈希", tally.chain_head or "—"),
                    ("起始哈希", tally.genesis_hash or proposal.genesis_hash or "—")],
                   mono_keys=("链头哈希", "起始哈希"))
    doc.paragraph("每张选票（含线下录入、委托投票、撤回与更改）都是记录中的一条，前后以哈希相连；"
                  "业主可凭投票回执在小程序中核对本人选票，任何人都可核对链头哈希与本公告一致。",
                  "small")

    doc.heading("参与表决的房屋")
    if tally.rule == FundRule.objection.value:
        doc.paragraph("本事项为否定表决，参与即为提出异议。为保护业主的表决隐私，不公示参与房屋名单，"
                      "仅公示以上统计数字。")
    else:
        taking = [r for r in rooms_taking_part(proposal) if r.voted]
        doc.paragraph(f"共 {len(taking)} 户参与表决（仅列房屋与表决方式，不公示各户的选择）。", "small")
        doc.table(["序号", "房屋", "面积（㎡）", "表决方式"],
                  [[str(i), r.room.label, f"{r.room.area_m2:.2f}", r.channel_label]
                   for i, r in enumerate(taking, start=1)],
                  widths_mm=[16, 84, 36, 38], align_right=(0, 2), wrap=False)
    return doc.render()
