"""Maintenance-fund decisions (维修资金): proposals, ballots, tally, audit log, and the
fund ledger. Thin: schemas validate, services decide, and every response is dumped
by the schema its route declares (a list row and the detail share one). The
request's one commit is App.dispatch_request's; GETs change nothing."""
from __future__ import annotations

from marshmallow import Schema, ValidationError, fields, validate, validates, validates_schema

from backend.auth import current_user
from backend.errors import NotFound, ValidationFailed
from backend.extensions import db
from backend.models import (
    BallotChoice,
    Building,
    Community,
    FundBallot,
    FundProposal,
    FundRule,
    ObjectionBasis,
    ProposalStatus,
    SignerRole,
    User,
    utcnow,
)
from backend.models.fund import BallotAction, BallotKind, CommentStage
from backend.routes.common import (
    AttachmentOut,
    MoneyIn,
    Blueprint,
    LocalDateTime,
    Money,
    PageArgs,
    RowId,
    decode_cursor,
    encode_cursor,
    paginate,
)
from backend.routes.labels import Label
from backend.rules.fund_rules import (
    BASIS_LABELS,
    CHOICE_LABELS,
    EMERGENCY_CASES,
    HEADCOUNT_NOTE,
    OUTCOME_LABELS,
    RULE_LABELS,
    STATUS_LABELS,
    STAGE_LABELS,
    BALLOT_KIND_LABELS,
    BALLOT_ACTION_LABELS,
    explain_rule,
)
from backend.rules.tally import ALL_CHOICES, BASES, RULES, parse_threshold
from backend.services import fund as fund_service
from backend.services import fund_ballots, fund_ledger
from backend.services.fund import comments as fund_comments
from backend.services.fund import proxies as fund_proxies
from backend.timeutil import LOCAL_TZ

blp = Blueprint("fund", __name__, url_prefix="/api/v1", description="维修资金表决与账目")

# ------------------------------------------------------------------ schemas
class FundScopeIn(Schema):
    buildings = fields.List(fields.String(validate=validate.Length(min=1, max=32)),
                            validate=validate.Length(min=1, max=200))
    room_ids = fields.List(RowId(strict=True),
                           validate=validate.Length(min=1, max=50000))
    community = fields.Boolean(metadata={"description": "true: the whole community"})

    @validates_schema
    def exactly_one(self, data, **kwargs):
        given = [k for k in ("buildings", "room_ids") if data.get(k)]
        if data.get("community"):
            given.append("community")
        if len(given) != 1:
            raise ValidationError("范围须为以下之一：buildings（楼栋）、room_ids（房屋）或 community: true（全小区）")


class FundProposalIn(Schema):
    community = fields.String(validate=validate.Length(min=1, max=100), load_default=None,
                              metadata={"description": "community name (only if you manage several)"})
    title = fields.String(required=True, validate=validate.Length(min=1, max=100))
    description = fields.String(load_default="", validate=validate.Length(max=5000))
    amount_yuan = MoneyIn(required=True)
    scope = fields.Nested(FundScopeIn, required=True)
    rule = fields.String(required=True, validate=validate.OneOf(list(RULES)))
    opens_at = fields.AwareDateTime(default_timezone=LOCAL_TZ, load_default=None, metadata={
        "description": "when voting starts (default: when the committee opens it); a time "
                       "in the past counts as now"})
    closes_at = fields.AwareDateTime(default_timezone=LOCAL_TZ, load_default=None, metadata={
        "description": "required except for emergency use; at least the rule's shortest "
                       "window after the start (GET /fund/rules `min_voting_days`, never "
                       "under 3 days), else 400 `voting_window_too_short` with `min_days` "
                       "and `earliest_closes_at`; checked again when the vote is opened"})
    objection_threshold = fields.String(load_default=None, validate=validate.Length(max=16), metadata={
        "description": "the community's setting applies to every proposal (GET /fund/rules); "
                       "omit it. A different value is 400 `objection_setting_fixed`"})
    objection_basis = fields.String(load_default=None, validate=validate.OneOf(BASES), metadata={
        "description": "as `objection_threshold`: the community's, omit it"})
    publicity_days = fields.Integer(load_default=None, validate=validate.Range(min=0, max=90), metadata={
        "description": "days the result (or emergency use) is publicised before money is "
                       "paid; default and minimum: the community's (GET /fund/rules "
                       "`publicity_days`); shorter is 400 `publicity_too_short`"})
    emergency_case = fields.String(load_default=None, validate=validate.OneOf(list(EMERGENCY_CASES)))
    attachment_ids = fields.List(RowId(strict=True), load_default=list,
                                 validate=validate.Length(max=20), metadata={
        "description": "the plan's files (维修方案, budget, quotations), uploaded first with "
                       "POST /api/v1/attachments"})

    @validates("objection_threshold")
    def _threshold(self, value, **kwargs):
        if value is not None:
            try:
                parse_threshold(value)
            except ValueError as exc:
                raise ValidationError("异议比例应为0到1之间的分数，如 1/3") from exc


class FundCodeLabel(Schema):
    code = fields.String(required=True)
    label = fields.String(required=True)
    explanation = fields.String()


class FundFiguresOut(Schema):
    rooms = fields.Integer(required=True)
    area_m2 = fields.Decimal(as_string=True, places=2, required=True, attribute="area")
    headcount = fields.Integer(required=True)


class FundMeasureOut(Schema):
    """One comparison the rule makes, with its verdict: the pages draw it as a bar."""

    name = fields.String(required=True, metadata={"description": "e.g. participating_area"})
    label = fields.String(required=True)
    group = fields.String(required=True, metadata={"description": "quorum | approval | objection"})
    group_label = fields.String(required=True)
    basis = fields.String(required=True, metadata={"description": "area | headcount"})
    part = fields.String(required=True, metadata={"description": "m² (decimal string) or people"})
    whole = fields.String(required=True)
    share = fields.Decimal(as_string=True, required=True, metadata={
        "description": "part / whole, 4 places"})
    threshold = fields.String(required=True, metadata={"description": 'e.g. "2/3"'})
    threshold_share = fields.Decimal(as_string=True, required=True)
    comparison = fields.String(required=True, metadata={"description": "more_than | at_least"})
    requirement = fields.String(required=True, metadata={"description": "e.g. 不少于三分之二"})
    met = fields.Boolean(required=True)


class FundTallyOut(Schema):
    proposal_id = fields.Integer(required=True)
    rule = fields.String(required=True)
    rule_label = Label(RULE_LABELS, "rule", required=True)
    status = fields.String(required=True, metadata={
        "description": "closed once the deadline has passed, even before the close job "
                       "has frozen the result (frozen: false)"})
    status_label = Label(STATUS_LABELS, "status", required=True)
    eligible = fields.Nested(FundFiguresOut, required=True)
    counts = fields.Dict(keys=fields.String(), values=fields.Nested(FundFiguresOut), required=True)
    participating = fields.Nested(FundFiguresOut, required=True)
    outcome = fields.String(required=True, metadata={
        "description": "pending|passed|rejected|no_quorum|withdrawn (closed early without "
                       "a result)"})
    outcome_label = Label(OUTCOME_LABELS, "outcome", required=True)
    measures = fields.List(fields.Nested(FundMeasureOut), required=True)
    frozen = fields.Boolean(required=True, metadata={"description": "stored and published"})
    objection_threshold = fields.String(allow_none=True, metadata={
        "description": "objection rule: the community's threshold fixed when voting opened"})
    objection_basis = fields.String(allow_none=True)
    closes_at = LocalDateTime(allow_none=True)
    closed_at = LocalDateTime(allow_none=True)
    closed_early = fields.Boolean(allow_none=True)
    chain_head = fields.String(allow_none=True)
    ballots = fields.Integer(allow_none=True)


class FundSignatureOut(Schema):
    role = fields.Enum(SignerRole, by_value=True, required=True)
    name = fields.String(required=True)
    signed_at = LocalDateTime(required=True)


class FundRoomRef(Schema):
    room_id = fields.Integer(required=True)
    label = fields.String(required=True)
    area_m2 = fields.Decimal(as_string=True, places=2)


class FundMyRoomOut(FundRoomRef):
    voted = fields.Boolean(required=True)


class FundBallotOut(Schema):
    proposal_id = fields.Integer(required=True)
    seq = fields.Integer(required=True)
    receipt = fields.String(required=True, metadata={"description": "keep it to check the audit log"})
    voter_key = fields.Integer(required=True, metadata={
        "description": "the owner of record's key, hashed into the ballot's digest"})
    choice = fields.Enum(BallotChoice, by_value=True, required=True)
    choice_label = Label(CHOICE_LABELS, "choice", required=True)
    rooms = fields.List(fields.Nested(FundRoomRef), required=True, attribute="snapshot_rooms")
    cast_at = LocalDateTime(required=True)
    digest = fields.String(required=True)
    entry_hash = fields.String(required=True)
    kind = fields.Enum(BallotKind, by_value=True, required=True, metadata={
        "description": "online | paper (entered from a paper ballot) | proxy"})
    kind_label = Label(BALLOT_KIND_LABELS, "kind", required=True)
    action = fields.Enum(BallotAction, by_value=True, required=True, metadata={
        "description": "cast | withdraw (an objection withdrawn) | change (the one change)"})
    action_label = Label(BALLOT_ACTION_LABELS, "action", required=True)
    entered_by = fields.String(allow_none=True, attribute="entered_by_name")
    photo_sha256 = fields.String(allow_none=True)


class FundProxyOut(Schema):
    id = fields.Integer(required=True)
    proposal_id = fields.Integer(required=True)
    proxy_name = fields.String(required=True, attribute="proxy_user.shown_name")
    document_sha256 = fields.String(required=True)
    created_at = LocalDateTime(required=True)
    revoked_at = LocalDateTime(allow_none=True)


class FundCommentOut(Schema):
    id = fields.Integer(required=True)
    stage = fields.Enum(CommentStage, by_value=True, required=True, metadata={
        "description": "publicity (a question on the plan) | query (询异 on the result)"})
    author = fields.String(required=True, attribute="author_name")
    body = fields.String(required=True)
    created_at = LocalDateTime(required=True)
    answer = fields.String(allow_none=True)
    answered_at = LocalDateTime(allow_none=True)


class FundCommentPage(Schema):
    items = fields.List(fields.Nested(FundCommentOut), required=True)


class FundCommentIn(Schema):
    body = fields.String(required=True, validate=[validate.Length(min=1, max=2000),
                                                  validate.Regexp(r"\S")])


class FundAnswerIn(Schema):
    answer = fields.String(required=True, validate=[validate.Length(min=1, max=2000),
                                                    validate.Regexp(r"\S")])


class FundPaperBallotIn(Schema):
    room_id = RowId(required=True, strict=True)
    choice = fields.String(required=True, validate=validate.OneOf(ALL_CHOICES))
    photo_id = RowId(required=True, strict=True, metadata={
        "description": "the photo of the signed ballot, uploaded with POST /api/v1/attachments"})


class FundRoomIn(Schema):
    room_id = RowId(required=True, strict=True)


class FundProxyIn(Schema):
    room_id = RowId(required=True, strict=True)
    phone = fields.String(required=True, validate=validate.Regexp(r"^\+?\d{5,20}$"), metadata={
        "description": "the phone number of the proxy's account"})
    document_id = RowId(required=True, strict=True, metadata={
        "description": "the signed 授权委托书, uploaded with POST /api/v1/attachments"})


class FundFileOut(AttachmentOut):
    pass


class FundProposalOut(Schema):
    """A proposal as it stands now (``services.fund.views.ProposalView``): the same
    fields and labels in a list row and on the detail."""

    id = fields.Integer(required=True, attribute="proposal.id")
    community = fields.String(required=True)
    title = fields.String(required=True, attribute="proposal.title")
    description = fields.String(required=True, attribute="proposal.description")
    amount_yuan = Money(required=True, attribute="proposal.amount")
    scope = fields.Dict(required=True, attribute="proposal.scope")
    scope_label = fields.String(required=True)
    rule = fields.Enum(FundRule, by_value=True, required=True, attribute="proposal.rule")
    rule_label = Label(RULE_LABELS, "proposal.rule", required=True)
    status = fields.Enum(ProposalStatus, by_value=True, required=True, metadata={
        "description": "closed once the deadline has passed (the result as it will be "
                       "frozen), even before the close job has run"})
    status_label = Label(STATUS_LABELS, "status", required=True)
    outcome = fields.String(allow_none=True, required=True, metadata={
        "description": "passed | rejected | no_quorum | withdrawn (closed early: never a pass)"})
    outcome_label = Label(OUTCOME_LABELS, "outcome", allow_none=True, required=True)
    objection_threshold = fields.String(required=True, attribute="proposal.objection_threshold",
                                        metadata={"description": "the community's setting "
                                                  "(fixed on the proposal when voting opens)"})
    objection_basis = fields.Enum(ObjectionBasis, by_value=True, required=True,
                                  attribute="proposal.objection_basis")
    objection_basis_label = Label(BASIS_LABELS, "proposal.objection_basis", required=True)
    publicity_days = fields.Integer(required=True, attribute="proposal.publicity_days")
    publicity_ends_at = LocalDateTime(allow_none=True, required=True, metadata={
        "description": "end of the result's publicity: a passed vote is paid only after it"})
    emergency_case = fields.String(allow_none=True, required=True, attribute="proposal.emergency_case")
    emergency_case_label = Label(EMERGENCY_CASES, "proposal.emergency_case", allow_none=True,
                                 required=True)
    opens_at = LocalDateTime(allow_none=True, required=True, attribute="proposal.opens_at")
    closes_at = LocalDateTime(allow_none=True, required=True, attribute="proposal.closes_at")
    opened_at = LocalDateTime(allow_none=True, required=True, attribute="proposal.opened_at")
    closed_at = LocalDateTime(allow_none=True, required=True)
    approved_at = LocalDateTime(allow_none=True, required=True, attribute="proposal.approved_at")
    created_at = LocalDateTime(required=True, attribute="proposal.created_at")
    created_by = fields.String(allow_none=True, required=True)
    chain_head = fields.String(allow_none=True, required=True)
    ballot_count = fields.Integer(allow_none=True, required=True)
    signatures = fields.List(fields.Nested(FundSignatureOut), required=True,
                             attribute="proposal.signatures")
    stage = fields.String(required=True, metadata={
        "description": "draft | publicity (公示中) | voting | query (询异期) | published | approved"})
    stage_label = Label(STAGE_LABELS, "stage", required=True)
    published_at = LocalDateTime(allow_none=True, required=True, attribute="proposal.published_at")
    notice_days = fields.Integer(allow_none=True, required=True, attribute="proposal.notice_days")
    query_ends_at = LocalDateTime(allow_none=True, required=True, metadata={
        "description": "end of the query window (询异期) after the preliminary result"})
    finalised_at = LocalDateTime(allow_none=True, required=True, attribute="proposal.finalised_at")
    allow_change = fields.Boolean(required=True, attribute="proposal.allow_change")


class FundProposalDetailOut(FundProposalOut):
    explanation = fields.String(required=True)
    choices = fields.List(fields.Nested(FundCodeLabel), required=True, metadata={
        "description": "what a ballot may say under the rule (none for emergency use)"})
    tally = fields.Nested(FundTallyOut, allow_none=True, required=True)
    my_rooms = fields.List(fields.Nested(FundMyRoomOut), required=True, metadata={
        "description": "rooms the caller votes for as owner of record, with whether voted"})
    my_ballots = fields.List(fields.Nested(FundBallotOut), required=True)
    can_vote = fields.Boolean(required=True)
    can_manage = fields.Boolean(required=True, metadata={
        "description": "committee or manager: sees drafts, signs emergency uses"})
    can_open = fields.Boolean(required=True, metadata={
        "description": "the caller may open this draft's vote (committee members only)"})
    can_close = fields.Boolean(required=True, metadata={
        "description": "the caller may close this vote early (committee members only)"})
    early_close_withdraws = fields.Boolean(required=True, metadata={
        "description": "with can_close: closing now would withdraw the proposal (always "
                       "under objection; civil-code rules unless every owner has voted)"})
    paid_yuan = Money(allow_none=True, required=True)
    can_withdraw = fields.Boolean(required=True)
    can_change = fields.Boolean(required=True)
    can_enter_paper = fields.Boolean(required=True)
    can_ask = fields.Boolean(required=True)
    can_finalise = fields.Boolean(required=True)
    can_read_plan = fields.Boolean(required=True)
    my_proxy = fields.Nested(FundProxyOut, allow_none=True, required=True)
    proxy_rooms = fields.List(fields.Nested(FundMyRoomOut), required=True, metadata={
        "description": "rooms the caller votes for as someone's proxy"})
    files = fields.Method("_files", required=True, metadata={
        "type": "array", "items": {"type": "object"},
        "description": "the plan's files (only for owners in scope, staff, committee)"})
    scope_area_m2 = fields.Decimal(as_string=True, places=2, allow_none=True, required=True)
    cost_per_m2 = Money(allow_none=True, required=True, metadata={
        "description": "amount / scope_area_m2, yuan per m²"})

    def _files(self, view):
        return [AttachmentOut().dump({
            "id": a.id, "name": a.name, "content_type": a.content_type, "byte_size": a.byte_size,
            "pages": a.pages, "sha256": a.sha256,
            "url": f"/api/v1/fund-proposals/{view.proposal.id}/files/{a.id}"}) for a in view.files]


class FundProposalPage(Schema):
    items = fields.List(fields.Nested(FundProposalOut), required=True)
    next_cursor = fields.String(allow_none=True, required=True)


class FundProposalListArgs(PageArgs):
    status = fields.String(load_default=None,
                           validate=validate.OneOf([s.value for s in ProposalStatus]))


class FundSignIn(Schema):
    as_ = fields.String(data_key="as", load_default=None,
                        validate=validate.OneOf(["committee", "manager"]),
                        metadata={"description": "needed only if you are both"})


class FundBallotIn(Schema):
    room_id = RowId(required=True, strict=True)
    choice = fields.String(required=True, validate=validate.OneOf(ALL_CHOICES))


class FundCommitteeBallotOut(Schema):
    seq = fields.Integer(required=True)
    voter = fields.String(allow_none=True, attribute="voter_name")
    rooms = fields.List(fields.Nested(FundRoomRef), required=True, attribute="snapshot_rooms")
    choice = fields.Enum(BallotChoice, by_value=True, required=True)
    choice_label = Label(CHOICE_LABELS, "choice", required=True)
    cast_at = LocalDateTime(required=True)
    kind = fields.Enum(BallotKind, by_value=True, required=True)
    kind_label = Label(BALLOT_KIND_LABELS, "kind", required=True)
    action = fields.Enum(BallotAction, by_value=True, required=True)
    action_label = Label(BALLOT_ACTION_LABELS, "action", required=True)
    entered_by = fields.String(allow_none=True, attribute="entered_by_name")


class FundBallotPage(Schema):
    items = fields.List(fields.Nested(FundCommitteeBallotOut), required=True)
    next_cursor = fields.String(allow_none=True, required=True)
    all_visible = fields.Boolean(required=True, metadata={
        "description": "true for committee members (every ballot), false: your own only"})


class FundAuditArgs(PageArgs):
    receipt = fields.String(load_default=None, validate=validate.Length(min=1, max=64))
    verify = fields.Boolean(load_default=True, metadata={
        "description": "recheck the whole chain on the server (reads every ballot; "
                       "false skips it)"})


class FundAuditEntryOut(Schema):
    seq = fields.Integer(required=True)
    cast_at = LocalDateTime(required=True)
    digest = fields.String(required=True)
    prev_hash = fields.String(required=True)
    entry_hash = fields.String(required=True)
    mine = fields.Boolean(required=True)
    receipt = fields.String(metadata={"description": "only on your own entries"})
    choice = fields.Enum(BallotChoice, by_value=True,
                         metadata={"description": "committee, or your own entry"})
    voter = fields.String(metadata={"description": "committee only"})
    rooms = fields.List(fields.Nested(FundRoomRef), metadata={"description": "committee, or your own"})


class FundAuditOut(Schema):
    proposal_id = fields.Integer(required=True)
    algorithm = fields.String(required=True)
    genesis_hash = fields.String(required=True)
    head = fields.String(required=True)
    published_head = fields.String(allow_none=True)
    ballots = fields.Integer(required=True)
    intact = fields.Boolean(allow_none=True, metadata={"description": "null with ?verify=false"})
    problems = fields.List(fields.String(), metadata={"description": "committee only"})
    receipt_found = fields.Boolean(allow_none=True)
    entries = fields.List(fields.Nested(FundAuditEntryOut), required=True)
    next_cursor = fields.String(allow_none=True, required=True)


class FundPaymentIn(Schema):
    amount_yuan = MoneyIn(required=True)
    paid_on = fields.Date(load_default=None)
    description = fields.String(load_default=None, validate=validate.Length(min=1, max=200))
    ref = fields.String(load_default=None, validate=validate.Length(min=1, max=64),
                        metadata={"description": "voucher number (凭证号); generated if absent"})


class FundLedgerLineOut(Schema):
    ref = fields.String(required=True)
    date = fields.Date(required=True)
    building = fields.String(allow_none=True)
    direction = fields.String(required=True, metadata={"description": "in | out"})
    amount_yuan = Money(required=True, attribute="amount",
                        metadata={"description": "signed: negative for spending"})
    description = fields.String(required=True)
    proposal_id = fields.Integer(allow_none=True)


class FundLedgerArgs(PageArgs):
    community = fields.String(load_default=None)
    building = fields.String(load_default=None, validate=validate.Length(min=1, max=32))


class FundLedgerOut(Schema):
    community = fields.String(required=True)
    building = fields.String(allow_none=True)
    balance_yuan = Money(required=True)
    total_in_yuan = Money(required=True)
    total_out_yuan = Money(required=True)
    as_of = fields.Date(allow_none=True)
    items = fields.List(fields.Nested(FundLedgerLineOut), required=True)
    next_cursor = fields.String(allow_none=True, required=True)


class FundRulesArgs(Schema):
    community = fields.String(load_default=None)


class FundRulesOut(Schema):
    rules = fields.List(fields.Nested(FundCodeLabel), required=True)
    emergency_cases = fields.List(fields.Nested(FundCodeLabel), required=True)
    choices = fields.Dict(keys=fields.String(), values=fields.List(fields.Nested(FundCodeLabel)))
    objection_threshold = fields.String(required=True, metadata={
        "description": "the community's, for every objection vote (an administrator sets it, "
                       "> 0 and ≤ 1/2)"})
    objection_basis = fields.String(required=True)
    publicity_days = fields.Integer(required=True, metadata={
        "description": "shortest publicity of a result, days (a proposal may lengthen it)"})
    min_voting_days = fields.Dict(keys=fields.String(), values=fields.Integer(), required=True,
                                  metadata={"description": "voted rule → shortest window in days "
                                                           "from the start of voting to closes_at"})
    notice_days = fields.Integer(required=True, metadata={
        "description": "publicity (公示) of a proposal before voting opens, days: a deadline "
                       "must leave this plus the voting window"})
    headcount_note = fields.String(required=True)


# ------------------------------------------------------------------ proposals
@blp.route("/fund-proposals", methods=["POST"])
@blp.arguments(FundProposalIn)
@blp.response(201, FundProposalDetailOut)
def create_proposal(data):
    """Draft a use of the maintenance fund (committee or manager)."""
    user = current_user()
    proposal = fund_service.create_proposal(user, data)
    return fund_service.detail_of(user, proposal, utcnow())


@blp.route("/fund-proposals", methods=["GET"])
@blp.arguments(FundProposalListArgs, location="query")
@blp.response(200, FundProposalPage)
def list_proposals(args):
    """Proposals the caller may see, newest first (drafts: committee and manager)."""
    user = current_user()
    items, cursor = paginate(db.session, fund_service.list_proposals(user, args["status"]),
                             FundProposal.id, args["limit"], args["cursor"])
    now = utcnow()
    return {"items": [fund_service.view_of(p, now) for p in items], "next_cursor": cursor}


@blp.route("/fund-proposals/<id:proposal_id>", methods=["GET"])
@blp.response(200, FundProposalDetailOut)
def get_proposal(proposal_id):
    """One proposal with its tally, the caller's rooms in scope and own ballots. Past
    its deadline a vote shows as closed with the outcome the close will freeze (the
    scheduled job or the sweep freezes it; a read changes nothing)."""
    user = current_user()
    proposal = fund_service.get_proposal(user, proposal_id)
    return fund_service.detail_of(user, proposal, utcnow())


@blp.route("/fund-proposals/<id:proposal_id>/open", methods=["POST"])
@blp.response(200, FundProposalDetailOut)
def open_proposal(proposal_id):
    """Start voting (committee members only; the manager drafts): rooms, areas and owners
    are snapshotted, the community's threshold, basis and publicity fixed on the
    proposal, owners in scope told. 400 `voting_window_too_short` if the window has
    become shorter than the rule's minimum."""
    user = current_user()
    proposal = fund_service.open_proposal(user, proposal_id)
    return fund_service.detail_of(user, proposal, utcnow())


@blp.route("/fund-proposals/<id:proposal_id>/sign", methods=["POST"])
@blp.arguments(FundSignIn)
@blp.response(200, FundProposalDetailOut)
def sign_proposal(data, proposal_id):
    """Sign an emergency use (a committee member and the manager); approved with both."""
    user = current_user()
    proposal = fund_service.sign_proposal(user, proposal_id, data["as_"])
    return fund_service.detail_of(user, proposal, utcnow())


@blp.route("/fund-proposals/<id:proposal_id>/close", methods=["POST"])
@blp.response(200, FundProposalDetailOut)
def close_proposal(proposal_id):
    """Close voting now (committee) and publish it. Before the deadline an objection
    vote is withdrawn (outcome `withdrawn`, never passed); a civil-code vote is decided
    only if every owner who can vote has voted, else withdrawn. Voting closes by
    itself at ``closes_at`` with the rule's outcome."""
    user = current_user()
    proposal = fund_service.close_by_committee(user, proposal_id)
    return fund_service.detail_of(user, proposal, utcnow())


@blp.route("/fund-proposals/<id:proposal_id>/tally", methods=["GET"])
@blp.response(200, FundTallyOut)
def tally(proposal_id):
    """Aggregate figures and the rule's comparisons (live while voting; past the
    deadline, as the close will freeze them; frozen once closed)."""
    proposal = fund_service.get_proposal(current_user(), proposal_id)
    return fund_service.current_tally(proposal, utcnow())


# ------------------------------------------------------------------ ballots
@blp.route("/fund-proposals/<id:proposal_id>/ballots", methods=["POST"])
@blp.arguments(FundBallotIn)
@blp.response(201, FundBallotOut)
def cast_ballot(data, proposal_id):
    """Vote (owner of record of a room in scope). The choice covers all the owner's
    rooms in scope and is final. Keep the receipt to check the audit log. After the
    deadline: 409 ``voting_closed``."""
    return fund_ballots.cast_ballot(current_user(), proposal_id, data["room_id"], data["choice"])


@blp.route("/fund-proposals/<id:proposal_id>/ballots", methods=["GET"])
@blp.arguments(PageArgs, location="query")
@blp.response(200, FundBallotPage)
def list_ballots(args, proposal_id):
    """Who chose what: committee members see every ballot, anyone else their own."""
    user = current_user()
    proposal = fund_service.get_proposal(user, proposal_id)
    items, cursor = paginate(db.session, fund_ballots.ballots_query(user, proposal), FundBallot.id,
                             args["limit"], args["cursor"], descending=False)
    return {"items": items, "next_cursor": cursor,
            "all_visible": fund_service.is_committee_of(user, proposal)}


def _audit_entry(ballot: FundBallot, view: fund_ballots.AuditView) -> dict:
    """What the caller may see of one log entry: digests and hashes for everyone; the
    receipt and choice of their own; choices, voters and rooms for the committee."""
    mine = ballot.id in view.mine
    entry = {"seq": ballot.seq, "cast_at": ballot.cast_at, "digest": ballot.digest,
             "prev_hash": ballot.prev_hash, "entry_hash": ballot.entry_hash, "mine": mine}
    if mine:
        entry["receipt"] = ballot.receipt
    if mine or view.full:
        entry["choice"] = ballot.choice
    if view.full:
        entry["voter"] = ballot.voter_name
        entry["rooms"] = ballot.snapshot_rooms
    return entry


@blp.route("/fund-proposals/<id:proposal_id>/audit", methods=["GET"])
@blp.arguments(FundAuditArgs, location="query")
@blp.response(200, FundAuditOut)
def audit(args, proposal_id):
    """The hash-chained ballot log. Everyone who may see the proposal gets digests and
    hashes (and can check the chain links up to the published head); ``?receipt=``
    finds the entry of a receipt; choices and voters are shown to the committee."""
    user = current_user()
    proposal = fund_service.get_proposal(user, proposal_id)
    view, next_seq = fund_ballots.audit(user, proposal, receipt=args["receipt"],
                                        limit=args["limit"], after_seq=decode_cursor(args["cursor"]),
                                        check=args["verify"])
    return {
        "proposal_id": proposal.id, "algorithm": "sha256", "genesis_hash": view.genesis_hash,
        "head": view.head, "published_head": view.published_head, "ballots": view.ballots,
        "intact": view.intact, "problems": view.problems, "receipt_found": view.receipt_found,
        "entries": [_audit_entry(b, view) for b in view.entries],
        "next_cursor": encode_cursor(next_seq) if next_seq else None,
    }


# ------------------------------------------------------------------ ledger
@blp.route("/fund-proposals/<id:proposal_id>/payments", methods=["POST"])
@blp.arguments(FundPaymentIn)
@blp.response(201, FundLedgerLineOut)
def record_payment(data, proposal_id):
    """Book a payment (manager): an approved emergency use at once, a passed vote once
    its result's publicity is over (else 409 `publicity_not_over`); never above its
    amount."""
    user = current_user()
    proposal = fund_service.get_proposal(user, proposal_id)
    entry = fund_ledger.record_payment(user, proposal, data["amount_yuan"], paid_on=data["paid_on"],
                                       description=data["description"], ref=data["ref"])
    building = db.session.get(Building, entry.building_id) if entry.building_id else None
    return fund_ledger.line_of(entry, building.name if building else None)


def _ledger_community(user: User, name: str | None) -> Community:
    allowed = fund_service.visible_community_ids(user)
    if name:
        community = db.session.scalar(db.select(Community).where(Community.name == name))
        if community is None or community.id not in allowed:
            raise NotFound(f"找不到小区：{name}", code="community_not_found")
        return community
    if not allowed:
        raise NotFound("您还没有绑定小区的房屋", code="community_not_found")
    if len(allowed) > 1:
        raise ValidationFailed("请指定小区名称", code="community_required",
                               details={"fields": {"community": ["请指定小区"]}})
    return db.session.get(Community, next(iter(allowed)))


@blp.route("/fund/ledger", methods=["GET"])
@blp.arguments(FundLedgerArgs, location="query")
@blp.response(200, FundLedgerOut)
def ledger(args):
    """The fund's balance and entries (community, or one building's account)."""
    user = current_user()
    community = _ledger_community(user, args["community"])
    balance = fund_ledger.fund_balance(community.id, args["building"], recent=0)
    lines, next_id = fund_ledger.ledger_lines(community.id, args["building"], args["limit"],
                                              decode_cursor(args["cursor"]))
    return {
        "community": balance.community, "building": balance.building,
        "balance_yuan": balance.balance, "total_in_yuan": balance.total_in,
        "total_out_yuan": balance.total_out, "as_of": balance.as_of,
        "items": [line for _, line in lines],
        "next_cursor": encode_cursor(next_id) if next_id else None,
    }


@blp.route("/fund/rules", methods=["GET"])
@blp.arguments(FundRulesArgs, location="query")
@blp.response(200, FundRulesOut)
def rules(args):
    """Decision rules, emergency cases and the community's settings in force: the
    objection threshold and basis, each rule's shortest voting window and the
    shortest publicity of a result (set by an administrator: `flask set-fund-rule`)."""
    user = current_user()
    allowed = fund_service.visible_community_ids(user) | fund_service.managing_community_ids(user)
    community = None
    if args["community"]:
        community = db.session.scalar(db.select(Community).where(Community.name == args["community"]))
    elif len(allowed) == 1:
        community = db.session.get(Community, next(iter(allowed)))
    if community is not None and community.id not in allowed:
        community = None
    settings = fund_service.fund_settings(community)
    threshold, basis = settings.threshold_text, settings.objection_basis
    return {
        "rules": [{"code": code, "label": label,
                   "explanation": explain_rule(code, threshold, basis, settings.publicity_days,
                                               settings.min_window_days(code))}
                  for code, label in RULE_LABELS.items()],
        "emergency_cases": [{"code": c, "label": label} for c, label in EMERGENCY_CASES.items()],
        "choices": {rule: [{"code": c, "label": CHOICE_LABELS[c]} for c in spec.choices]
                    for rule, spec in RULES.items()},
        "objection_threshold": threshold, "objection_basis": basis,
        "publicity_days": settings.publicity_days, "min_voting_days": settings.window_days,
        "notice_days": settings.notice_days,
        "headcount_note": HEADCOUNT_NOTE,
    }


# ------------------------------------------------------------------ decision steps (#15)
@blp.route("/fund-proposals/<id:proposal_id>/finalise", methods=["POST"])
@blp.response(200, FundProposalDetailOut)
def finalise(proposal_id):
    """Publish the final result (committee), once the query window is over and every
    query is answered (else 409 `query_window_open` / `queries_unanswered`)."""
    user = current_user()
    proposal = fund_service.finalise(user, proposal_id)
    return fund_service.detail_of(user, proposal, utcnow())


@blp.route("/fund-proposals/<id:proposal_id>/paper-ballots", methods=["POST"])
@blp.arguments(FundPaperBallotIn)
@blp.response(201, FundBallotOut)
def enter_paper_ballot(data, proposal_id):
    """Enter a paper ballot (线下表决) for a named room (staff or committee), with the
    photo of the signed sheet. 409 `already_voted` if the owner has voted online."""
    return fund_ballots.enter_paper_ballot(current_user(), proposal_id, data["room_id"],
                                           data["choice"], data["photo_id"])


class FundSnapshotRoomArgs(PageArgs):
    q = fields.String(load_default=None, validate=validate.Length(max=50), metadata={
        "description": "part of the room label, e.g. 1栋1单元102 or 102"})


class FundSnapshotRoomOut(Schema):
    room_id = fields.Integer(required=True)
    label = fields.String(required=True)
    area_m2 = fields.Decimal(as_string=True, places=2, required=True)
    owner_name = fields.String(allow_none=True, required=True)
    unsold = fields.Boolean(required=True)
    ballot_kind = fields.String(allow_none=True, required=True, metadata={
        "description": "online | paper | proxy once the owner's ballot is in"})
    ballot_kind_label = Label(BALLOT_KIND_LABELS, "ballot_kind", allow_none=True, required=True)


class FundSnapshotRoomPage(Schema):
    items = fields.List(fields.Nested(FundSnapshotRoomOut), required=True)
    next_cursor = fields.String(allow_none=True, required=True)


@blp.route("/fund-proposals/<id:proposal_id>/rooms", methods=["GET"])
@blp.arguments(FundSnapshotRoomArgs, location="query")
@blp.response(200, FundSnapshotRoomPage)
def snapshot_rooms(args, proposal_id):
    """The vote's rooms as snapshotted when it opened, with owner of record, area and
    whether (and how) each is voted: the desk looks up a named room here to enter
    its paper ballot (staff and committee)."""
    from backend.services.fund.room_lookup import snapshot_rooms as lookup

    user = current_user()
    proposal = fund_service.get_proposal(user, proposal_id)
    items, last = lookup(user, proposal, args["q"], args["limit"], decode_cursor(args["cursor"]))
    return {"items": items, "next_cursor": encode_cursor(last) if last else None}


@blp.route("/fund-proposals/<id:proposal_id>/ballots/withdraw", methods=["POST"])
@blp.arguments(FundRoomIn)
@blp.response(201, FundBallotOut)
def withdraw_objection(data, proposal_id):
    """Withdraw one's objection before the deadline (objection rule): a new log entry."""
    return fund_ballots.withdraw_objection(current_user(), proposal_id, data["room_id"])


@blp.route("/fund-proposals/<id:proposal_id>/ballots/change", methods=["POST"])
@blp.arguments(FundBallotIn)
@blp.response(201, FundBallotOut)
def change_ballot(data, proposal_id):
    """Change one's ballot once (civil-code rules, where the community allows it)."""
    return fund_ballots.change_ballot(current_user(), proposal_id, data["room_id"], data["choice"])


@blp.route("/fund-proposals/<id:proposal_id>/proxy", methods=["POST"])
@blp.arguments(FundProxyIn)
@blp.response(201, FundProxyOut)
def grant_proxy(data, proposal_id):
    """Authorise another user of the app (by phone) to vote for one's rooms in this
    proposal, with the signed 授权委托书 (replaces an earlier authority)."""
    return fund_proxies.grant_proxy(current_user(), proposal_id, data["room_id"], data["phone"],
                                    data["document_id"])


@blp.route("/fund-proposals/<id:proposal_id>/proxy/revoke", methods=["POST"])
@blp.arguments(FundRoomIn)
@blp.response(200, FundProxyOut)
def revoke_proxy(data, proposal_id):
    """Revoke the authority before the proxy has voted (else 409 `already_voted`)."""
    return fund_proxies.revoke_proxy(current_user(), proposal_id, data["room_id"])


@blp.route("/fund-proposals/<id:proposal_id>/comments", methods=["GET"])
@blp.response(200, FundCommentPage)
def list_comments(proposal_id):
    """Questions during the publicity period and queries on the preliminary result,
    with the committee's answers (owners in scope, staff, committee)."""
    _, items = fund_comments.comments_of(current_user(), proposal_id)
    return {"items": items}


@blp.route("/fund-proposals/<id:proposal_id>/comments", methods=["POST"])
@blp.arguments(FundCommentIn)
@blp.response(201, FundCommentOut)
def ask(data, proposal_id):
    """Ask a question (公示期) or lodge a query (询异期) — owners in scope."""
    return fund_comments.ask(current_user(), proposal_id, data["body"])


@blp.route("/fund-proposals/<id:proposal_id>/comments/<id:comment_id>/answer", methods=["POST"])
@blp.arguments(FundAnswerIn)
@blp.response(200, FundCommentOut)
def answer(data, proposal_id, comment_id):
    """Answer a question or query (committee)."""
    return fund_comments.answer(current_user(), proposal_id, comment_id, data["answer"])


@blp.route("/fund-proposals/<id:proposal_id>/files/<id:attachment_id>", methods=["GET"])
@blp.response(200)
def proposal_file(proposal_id, attachment_id):
    """One file of the plan (owners in scope, staff, committee)."""
    from backend.services.attachments import attachment_response

    user = current_user()
    proposal = fund_service.get_proposal(user, proposal_id)
    if not fund_comments.may_read_plan(user, proposal):
        raise NotFound("找不到该文件", code="file_not_found")
    for link in proposal.files:
        if link.attachment_id == attachment_id:
            return attachment_response(link.attachment)
    raise NotFound("找不到该文件", code="file_not_found")
