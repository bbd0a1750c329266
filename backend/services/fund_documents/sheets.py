"""Printable ballot sheets (表决票): one A4 page per room that can vote, for owners
who vote on paper. Each names the room and its owner of record, the question, the
amount and deadline, the rule's choices as boxes to tick, a signature line, and a
QR code (with its URL printed under it) that opens the proposal in the mini-program.

The rooms are the vote's snapshot once voting has started; during publicity (公示),
before the snapshot exists, the rooms in scope with their owner of record now.
Unsold rooms (the developer's) get no sheet: nobody can vote for them.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from flask import current_app
from sqlalchemy import select, true
from sqlalchemy.orm import contains_eager, joinedload

from backend.errors import Conflict, NotFound
from backend.extensions import db
from backend.models import Building, FundEligibleRoom, FundProposal, ProposalStatus, Room
from backend.pdf import Document
from backend.rules.fund_rules import CHOICE_LABELS, explain_rule
from backend.rules.money import format_yuan
from backend.rules.tally import RULES
from backend.services.fund import scope_label
from backend.services.fund.scope import scope_filter
from backend.timeutil import local_text, utcnow

# The mini-program's route of a proposal (miniapp_mock/miniapp/app.js "/fund/:id").
MINIAPP_PROPOSAL_PATH = "/miniapp/#/fund/{id}"


def proposal_url(proposal_id: int) -> str:
    return current_app.config["PUBLIC_BASE_URL"] + MINIAPP_PROPOSAL_PATH.format(id=proposal_id)


@dataclass(frozen=True)
class SheetRoom:
    label: str
    area_m2: Decimal
    owner_name: str | None


def sheet_rooms(proposal: FundProposal, building: str | None = None) -> list[SheetRoom]:
    """The rooms that get a sheet, in room order; ``building``: only that building's
    (a large community prints building by building)."""
    in_building = Building.name == building if building else true()
    if proposal.genesis_hash is not None:
        rows = db.session.scalars(
            select(FundEligibleRoom).join(Room, Room.id == FundEligibleRoom.room_id)
            .join(Building, Building.id == Room.building_id)
            .where(FundEligibleRoom.proposal_id == proposal.id, FundEligibleRoom.owner_key > 0,
                   in_building)
            .order_by(FundEligibleRoom.room_id))
        return [SheetRoom(r.label, r.area_m2, r.owner_name) for r in rows]
    rooms = db.session.scalars(
        select(Room).join(Room.building)
        .where(scope_filter(proposal), Room.owner_id.isnot(None), in_building)
        .options(contains_eager(Room.building), joinedload(Room.unit), joinedload(Room.owner))
        .order_by(Room.id))
    return [SheetRoom(r.label, r.area_m2, r.owner.name if r.owner else None) for r in rooms]


def _question(proposal: FundProposal) -> str:
    if proposal.rule.value == "objection":
        return f"您对“{proposal.title}”的使用方案是否有异议？如有异议，请勾选“{CHOICE_LABELS['object']}”。"
    return f"您是否同意“{proposal.title}”使用专项维修资金？请在一个选项前的方框内打“√”。"


def ballot_sheets_pdf(proposal: FundProposal, building: str | None = None,
                      now: datetime | None = None) -> bytes:
    now = now or utcnow()
    if proposal.status in (ProposalStatus.draft, ProposalStatus.closed) or proposal.closing_due(now):
        raise Conflict("只有公示中或表决中的事项可以打印表决票", code="sheets_not_available")
    rooms = sheet_rooms(proposal, building)
    if not rooms:
        if building:
            raise NotFound(f"表决范围内没有{building}栋可以表决的房屋", code="building_not_in_scope")
        raise Conflict("表决范围内没有可以表决的房屋", code="scope_empty")
    url = proposal_url(proposal.id)
    choices = [CHOICE_LABELS[c] for c in RULES[proposal.rule.value].choices]
    explanation = explain_rule(proposal.rule.value, proposal.objection_threshold,
                               proposal.objection_basis.value, proposal.publicity_days)
    doc = Document(f"{proposal.title} 表决票", author=proposal.community.name, generated_at=now)
    for i, room in enumerate(rooms):
        if i:
            doc.page_break()
        doc.title_block("专项维修资金使用表决票", f"{proposal.community.name}　{proposal.title}")
        doc.key_values([
            ("房屋", room.label), ("业主（产权人）", room.owner_name or ""),
            ("专有部分面积", f"{room.area_m2:.2f}㎡"),
            ("表决事项", proposal.title), ("申请金额", format_yuan(proposal.amount)),
            ("表决范围", scope_label(proposal)),
            ("截止时间", local_text(proposal.closes_at) if proposal.closes_at else ""),
        ])
        doc.paragraph(_question(proposal))
        doc.boxes(choices)
        doc.paragraph(explanation, "small")
        doc.spacer(6)
        doc.paragraph("业主签名：＿＿＿＿＿＿＿＿＿＿　　日期：＿＿＿＿年＿＿月＿＿日")
        doc.paragraph("请于截止时间前将签名的表决票交物业服务中心或业委会，录入时将拍照存档并记入选票记录。",
                      "small")
        doc.spacer(4)
        doc.qr(url, size_mm=30, caption=url)
        doc.paragraph("扫码在小程序中查看事项详情、方案附件，或在线投票。", "small")
    return doc.render()
