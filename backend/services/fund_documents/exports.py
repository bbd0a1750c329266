"""The committee's Excel workbooks of a vote (openpyxl):

- the ballot log: every chain entry in order (seq, time, rooms, how it came in and
  what it did, who entered it, the photo's digest, its hash, the choice) — the same
  entries the audit log shows the committee
- participation: each room of the snapshot with its area, whether it takes part in
  the tally and how it voted (no choice)

Times are written as Beijing time (the header says so: Excel has no time zones),
areas as numbers with two decimals, straight from the Decimal columns.
"""
from __future__ import annotations

import io

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from sqlalchemy import select

from backend.extensions import db
from backend.models import FundBallot, FundProposal
from backend.rules.fund_rules import BALLOT_ACTION_LABELS, BALLOT_KIND_LABELS, CHOICE_LABELS
from backend.services.fund_documents.rooms import rooms_by_voter, rooms_taking_part
from backend.timeutil import local

XLSX_MIMETYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
TIME_FORMAT = "yyyy-mm-dd hh:mm:ss"
AREA_FORMAT = "#,##0.00"
BALLOT_HEADER = ["序号", "时间（北京时间 +08:00）", "房屋", "方式", "操作", "选择", "业主",
                 "录入人", "照片摘要（SHA-256）", "条目哈希", "前一条哈希"]
PARTICIPATION_HEADER = ["房屋", "专有部分面积（m²）", "业主", "是否参与表决", "表决方式"]


def _sheet(workbook: Workbook, title: str, header: list[str], widths: list[int]):
    sheet = workbook.active if workbook.active.title == "Sheet" else workbook.create_sheet()
    sheet.title = title
    sheet.append(header)
    for cell in sheet[1]:
        cell.font = Font(bold=True)
        cell.fill = PatternFill("solid", fgColor="EEEEEE")
        cell.alignment = Alignment(vertical="center", wrap_text=True)
    for i, width in enumerate(widths, start=1):
        sheet.column_dimensions[get_column_letter(i)].width = width
    sheet.freeze_panes = "A2"
    return sheet


def _bytes(workbook: Workbook) -> bytes:
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _local_naive(value):
    # Excel cells hold no offset: the local wall time, labelled +08:00 in the header
    return local(value).replace(tzinfo=None)


def ballots_workbook(proposal: FundProposal) -> bytes:
    entries = db.session.scalars(select(FundBallot).where(FundBallot.proposal_id == proposal.id)
                                 .order_by(FundBallot.seq))
    rooms = rooms_by_voter(proposal)
    workbook = Workbook()
    sheet = _sheet(workbook, "选票记录", BALLOT_HEADER, [6, 20, 28, 10, 10, 10, 12, 12, 66, 66, 66])
    for entry in entries:
        owned = rooms.get(entry.voter_key, [])
        sheet.append([
            entry.seq, _local_naive(entry.cast_at), "、".join(r.label for r in owned),
            BALLOT_KIND_LABELS[entry.kind.value], BALLOT_ACTION_LABELS[entry.action.value],
            CHOICE_LABELS[entry.choice.value], owned[0].owner_name if owned else "",
            entry.entered_by_name or "", entry.photo_sha256 or "", entry.entry_hash,
            entry.prev_hash,
        ])
        sheet.cell(row=sheet.max_row, column=2).number_format = TIME_FORMAT
    return _bytes(workbook)


def participation_workbook(proposal: FundProposal) -> bytes:
    workbook = Workbook()
    sheet = _sheet(workbook, "参与情况", PARTICIPATION_HEADER, [28, 18, 14, 14, 14])
    for taking in rooms_taking_part(proposal):
        room = taking.room
        sheet.append([room.label, room.area_m2, room.owner_name or "",
                      "是" if taking.voted else "否", taking.channel_label])
        sheet.cell(row=sheet.max_row, column=2).number_format = AREA_FORMAT
    return _bytes(workbook)
