"""Documents of a fund decision (#15 item 7): the result PDF for the notice board,
printable ballot sheets, and the committee's Excel exports of the ballot log and of
room-by-room participation. Thin: services/fund_documents decides who may have
which and builds them; every answer is a download (Content-Disposition with an
ASCII name and the Chinese one, ``no-store``, ``nosniff``)."""
from __future__ import annotations

from marshmallow import Schema, fields, validate

from backend.auth import current_user
from backend.pdf import PDF_MIMETYPE, file_response
from backend.routes.common import Blueprint
from backend.services import fund_documents as documents
from backend.services.fund_documents.exports import XLSX_MIMETYPE

blp = Blueprint("fund_documents", __name__, url_prefix="/api/v1",
                description="维修资金表决文件（结果公告、表决票、导出）")


def _binary(mimetype: str, description: str) -> dict:
    return {"description": description,
            "content": {mimetype: {"schema": {"type": "string", "format": "binary"}}},
            "headers": {"Content-Disposition": {
                "description": "attachment; filename=\"…\"; filename*=UTF-8''…",
                "schema": {"type": "string"}}}}


def _errors(*codes: int) -> dict:
    texts = {403: "not allowed for this role (Chinese message, `code`)",
             404: "no such proposal, or not visible to the caller",
             409: "not available at this stage, or an emergency use (no vote)"}
    return {str(c): {"description": texts[c]} for c in codes}


PDF_DOC = lambda text, *codes: {"responses": {"200": _binary(PDF_MIMETYPE, text), **_errors(*codes)}}  # noqa: E731
XLSX_DOC = lambda text, *codes: {"responses": {"200": _binary(XLSX_MIMETYPE, text), **_errors(*codes)}}  # noqa: E731


@blp.route("/fund-proposals/<id:proposal_id>/result.pdf", methods=["GET"])
@blp.doc(**PDF_DOC("the result (表决结果公告) as a PDF", 404, 409))
def result_pdf(proposal_id):
    """The result of a closed vote as a PDF for the notice board: every figure of the
    tally (as `GET …/tally` gives them), the stage, the chain head and its length, and
    the rooms that took part with how they voted (online, paper, proxy) but never a
    choice; an objection vote lists no rooms (taking part is objecting). Owners in
    scope, the community's staff and committee; 404 for anyone else; 409
    `result_not_ready` while voting."""
    proposal = documents.proposal_for_result(current_user(), proposal_id)
    return file_response(documents.result_pdf(proposal), PDF_MIMETYPE,
                         f"表决结果-{proposal.id}.pdf", f"fund-result-{proposal.id}.pdf")


class SheetArgs(Schema):
    building = fields.String(load_default=None, validate=validate.Length(min=1, max=32), metadata={
        "description": "only this building's rooms (a large community prints by building)"})


@blp.route("/fund-proposals/<id:proposal_id>/ballot-sheets.pdf", methods=["GET"])
@blp.arguments(SheetArgs, location="query")
@blp.doc(**PDF_DOC("the ballot sheets, one page per room that can vote", 403, 404, 409))
def ballot_sheets(args, proposal_id):
    """Printable ballot sheets (表决票), one page per room that can vote (not unsold
    rooms): room, owner of record, question, amount, deadline, the choices as boxes
    and a QR code to the proposal in the mini-program (`PUBLIC_BASE_URL`), its URL
    printed under it. Staff and committee of the community; during publicity and
    voting (409 `sheets_not_available` otherwise). `?building=` prints one building's
    (404 `building_not_in_scope` if it has none)."""
    proposal = documents.proposal_for_staff(current_user(), proposal_id)
    return file_response(documents.ballot_sheets_pdf(proposal, args["building"]), PDF_MIMETYPE,
                         f"表决票-{proposal.id}.pdf", f"fund-ballot-sheets-{proposal.id}.pdf")


@blp.route("/fund-proposals/<id:proposal_id>/ballots.xlsx", methods=["GET"])
@blp.doc(**XLSX_DOC("the ballot log as an Excel workbook", 403, 404, 409))
def ballots_xlsx(proposal_id):
    """The ballot log as Excel: each chain entry (seq, Beijing time, rooms, online /
    paper / proxy, cast / withdrawal / change, choice, owner, who entered it, the
    photo's digest, its hash and the previous one). Committee members only (they see
    choices in the audit log too)."""
    proposal = documents.proposal_for_ballot_log(current_user(), proposal_id)
    return file_response(documents.ballots_workbook(proposal), XLSX_MIMETYPE,
                         f"选票记录-{proposal.id}.xlsx", f"fund-ballots-{proposal.id}.xlsx")


@blp.route("/fund-proposals/<id:proposal_id>/participation.xlsx", methods=["GET"])
@blp.doc(**XLSX_DOC("room-by-room participation as an Excel workbook", 403, 404, 409))
def participation_xlsx(proposal_id):
    """Room-by-room participation as Excel: each room of the snapshot, its area (a
    number), owner, whether it takes part in the tally and how (no choice). Staff and
    committee of the community."""
    proposal = documents.proposal_for_staff(current_user(), proposal_id)
    return file_response(documents.participation_workbook(proposal), XLSX_MIMETYPE,
                         f"参与情况-{proposal.id}.xlsx", f"fund-participation-{proposal.id}.xlsx")
