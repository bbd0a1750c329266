"""Documents of a fund decision for the notice board and the committee (#15 item 7):

- access.py   who may download which document (the proposal's own rules reused)
- result.py   the result as a PDF: every figure of the tally, the chain head, the
              rooms that took part and how (never anyone's choice)
- sheets.py   printable ballot sheets (表决票), one page per room that can vote,
              with a QR code to the proposal in the mini-program
- exports.py  Excel workbooks: the ballot log (each chain entry) and room-by-room
              participation

Figures come from services/fund (``current_tally``), never recomputed here; labels
from backend/rules/fund_rules.py. Nothing here writes.
"""
from __future__ import annotations

from backend.services.fund_documents.access import (  # noqa: F401
    proposal_for_ballot_log,
    proposal_for_result,
    proposal_for_staff,
)
from backend.services.fund_documents.exports import ballots_workbook, participation_workbook  # noqa: F401
from backend.services.fund_documents.result import result_pdf  # noqa: F401
from backend.services.fund_documents.sheets import ballot_sheets_pdf, proposal_url  # noqa: F401
