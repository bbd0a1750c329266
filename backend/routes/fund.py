"""Maintenance-fund decisions (维修资金): proposals, ballots, tally, audit log, and the
fund ledger. Thin: schemas validate, services decide, one commit per change."""
from __future__ import annotations

from decimal import Decimal

from marshmallow import Schema, ValidationError, fields, validate, validates, validates_schema

from backend.auth import current_user
from backend.errors import NotFound, ValidationFailed
from backend.extensions import db
from backend.models import Building, Community, FundBallot, FundProposal, FundRule, ProposalStatus, User
from backend.routes.common import (
    Blueprint,
    LocalDateTime,
    Money,
    PageArgs,
    RowId,
    decode_cursor,
    encode_cursor,
    paginate,
)
from backend.rules.fund_rules import (
    BASIS_LABELS,
    CHOICE_LABELS,
    EMERGENCY_CASES,
    HEADCOUNT_NOTE,
    OUTCOME_LABELS,
    RULE_LABELS,
    STATUS_LABELS,
    explain_rule,
)
from backend.rules.tally import ALL_CHOICES, BASES, RULES, parse_threshold
from backend.services import fund as fund_service
from backend.services import fund_ballots, fund_ledger
from backend.services.community import setting
from backend.timeutil import LOCAL_TZ

blp = Blueprint("fund", __name__, url_prefix="/api/v1", description="维修资金表决与账目")

MAX_AMOUNT = Decimal("10000000000")


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


def _two_places(value: Decimal) -> None:
    if not value.is_finite() or value.normalize().as_tuple().exponent < -2:
        raise ValidationError("金额最多两位小数")


class FundProposalIn(Schema):
    community = fields.String(validate=validate.Length(min=1, max=100), load_default=None,
                              metadata={"description": "community name (only if you manage several)"})
    title = fields.String(required=True, validate=validate.Length(min=1, max=100))
    description = fields.String(load_default="", validate=validate.Length(max=5000))
    amount_yuan = fields.Decimal(required=True, as_string=True, validate=[
        validate.Range(min=Decimal("0.01"), max=MAX_AMOUNT), _two_places])
    scope = fields.Nested(FundScopeIn, required=True)
    rule = fields.String(required=True, validate=validate.OneOf(list(RULES)))
    opens_at = fields.AwareDateTime(default_timezone=LOCAL_TZ, load_default=None)
    closes_at = fields.AwareDateTime(default_timezone=LOCAL_TZ, load_default=None,
                                     metadata={"description": "required except for emergency use"})
    objection_threshold = fields.String(load_default=None, validate=validate.Length(max=16),
                                        metadata={"description": 'e.g. "1/3" (default: the '
                                                                 "community's setting)"})
    objection_basis = fields.String(load_default=None, validate=validate.OneOf(BASES))
    publicity_days = fields.Integer(load_default=None, validate=validate.Range(min=0, max=90))
    emergency_case = fields.String(load_default=None, validate=validate.OneOf(list(EMERGENCY_CASES)))

    @validates("objection_threshold")
    def _threshold(self, value, **kwargs):
        if value is not None:
            try:
                parse_threshold(value)
            except ValueError as exc:
                raise ValidationError("异议比例应为0到1之间的分数，如 1/3") from exc


class FundFiguresOut(Schema):
    rooms = fields.Integer(required=True)
    area_m2 = fields.Decimal(as_string=True, places=2, required=True, attribute="area")
    headcount = fields.Integer(required=True)


class FundTallyOut(Schema):
    proposal_id = fields.Integer(required=True)
    rule = fields.String(required=True)
    rule_label = fields.String()
    status = fields.String(required=True)
    eligible = fields.Nested(FundFiguresOut, required=True)
    counts = fields.Dict(keys=fields.String(), values=fields.Nested(FundFiguresOut), required=True)
    participating = fields.Nested(FundFiguresOut, required=True)
    outcome = fields.String(required=True,
                            metadata={"description": "pending|passed|rejected|no_quorum"})
    outcome_label = fields.String()
    objection_threshold = fields.String()
    objection_basis = fields.String()
    closes_at = LocalDateTime(allow_none=True)
    closed_at = LocalDateTime(allow_none=True)
    closed_early = fields.Boolean()
    chain_head = fields.String(allow_none=True)
    ballots = fields.Integer(allow_none=True)


class FundSignatureOut(Schema):
    role = fields.String(required=True)
    name = fields.String(required=True)
    signed_at = LocalDateTime(required=True)


class FundRoomRef(Schema):
    room_id = fields.Integer(required=True)
    label = fields.String(required=True)
    area_m2 = fields.Decimal(as_string=True, places=2)
    voted = fields.Boolean()


class FundBallotOut(Schema):
    proposal_id = fields.Integer(required=True)
    seq = fields.Integer(required=True)
    receipt = fields.String(required=True, metadata={"description": "keep it to check the audit log"})
    voter_key = fields.Integer(required=True, metadata={
        "description": "the owner of record's key, hashed into the ballot's digest"})
    choice = fields.String(required=True)
    choice_label = fields.String(required=True)
    rooms = fields.List(fields.Nested(FundRoomRef), required=True)
    cast_at = LocalDateTime(required=True)
    digest = fields.String(required=True)
    entry_hash = fields.String(required=True)


class FundProposalOut(Schema):
    id = fields.Integer(required=True)
    community = fields.String(required=True)
    title = fields.String(required=True)
    description = fields.String(required=True)
    amount_yuan = Money(required=True)
    scope = fields.Dict(required=True)
    scope_label = fields.String(required=True)
    rule = fields.String(required=True)
    rule_label = fields.String(required=True)
    status = fields.String(required=True)
    status_label = fields.String(required=True)
    outcome = fields.String(allow_none=True)
    outcome_label = fields.String(allow_none=True)
    objection_threshold = fields.String(required=True)
    objection_basis = fields.String(required=True)
    objection_basis_label = fields.String()
    publicity_days = fields.Integer(required=True)
    publicity_ends_at = LocalDateTime(allow_none=True)
    emergency_case = fields.String(allow_none=True)
    emergency_case_label = fields.String(allow_none=True)
    opens_at = LocalDateTime(allow_none=True)
    closes_at = LocalDateTime(allow_none=True)
    opened_at = LocalDateTime(allow_none=True)
    closed_at = LocalDateTime(allow_none=True)
    approved_at = LocalDateTime(allow_none=True)
    created_at = LocalDateTime(required=True)
    created_by = fields.String(allow_none=True)
    chain_head = fields.String(allow_none=True)
    ballot_count = fields.Integer(allow_none=True)
    explanation = fields.String()
    signatures = fields.List(fields.Nested(FundSignatureOut))
    # detail only
    tally = fields.Nested(FundTallyOut, allow_none=True)
    my_rooms = fields.List(fields.Nested(FundRoomRef), metadata={
        "description": "rooms the caller votes for as owner of record, with whether voted"})
    my_ballots = fields.List(fields.Nested(FundBallotOut))
    can_vote = fields.Boolean()
    can_manage = fields.Boolean()
    paid_yuan = Money(allow_none=True)


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
    voter = fields.String(allow_none=True)
    rooms = fields.List(fields.Nested(FundRoomRef), required=True)
    choice = fields.String(required=True)
    choice_label = fields.String(required=True)
    cast_at = LocalDateTime(required=True)


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
    choice = fields.String(metadata={"description": "committee, or your own entry"})
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
    amount_yuan = fields.Decimal(required=True, as_string=True, validate=[
        validate.Range(min=Decimal("0.01"), max=MAX_AMOUNT), _two_places])
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


class FundCodeLabel(Schema):
    code = fields.String(required=True)
    label = fields.String(required=True)
    explanation = fields.String()


class FundRulesOut(Schema):
    rules = fields.List(fields.Nested(FundCodeLabel), required=True)
    emergency_cases = fields.List(fields.Nested(FundCodeLabel), required=True)
    choices = fields.Dict(keys=fields.String(), values=fields.List(fields.Nested(FundCodeLabel)))
    objection_threshold = fields.String(required=True)
    objection_basis = fields.String(required=True)
    publicity_days = fields.Integer(required=True)
    headcount_note = fields.String(required=True)


# ------------------------------------------------------------------ payloads
def _proposal_payload(user: User, proposal: FundProposal, detail: bool = False) -> dict:
    creator = db.session.get(User, proposal.created_by_id) if proposal.created_by_id else None
    payload = {
        "id": proposal.id, "community": db.session.get(Community, proposal.community_id).name,
        "title": proposal.title, "description": proposal.description,
        "amount_yuan": proposal.amount, "scope": proposal.scope,
        "scope_label": fund_service.scope_label(proposal), "rule": proposal.rule.value,
        "rule_label": RULE_LABELS[proposal.rule.value], "status": proposal.status.value,
        "status_label": STATUS_LABELS[proposal.status.value],
        "outcome": proposal.outcome.value if proposal.outcome else None,
        "outcome_label": OUTCOME_LABELS[proposal.outcome.value] if proposal.outcome else None,
        "objection_threshold": proposal.objection_threshold,
        "objection_basis": proposal.objection_basis.value,
        "objection_basis_label": BASIS_LABELS[proposal.objection_basis.value],
        "publicity_days": proposal.publicity_days,
        "publicity_ends_at": fund_service.publicity_ends_at(proposal),
        "emergency_case": proposal.emergency_case,
        "emergency_case_label": EMERGENCY_CASES.get(proposal.emergency_case or ""),
        "opens_at": proposal.opens_at, "closes_at": proposal.closes_at,
        "opened_at": proposal.opened_at, "closed_at": proposal.closed_at,
        "approved_at": proposal.approved_at, "created_at": proposal.created_at,
        "created_by": (creator.name or creator.username) if creator else None,
        "chain_head": proposal.chain_head, "ballot_count": proposal.ballot_count,
        "signatures": [{"role": s.role.value, "name": s.name, "signed_at": s.signed_at}
                       for s in proposal.signatures],
    }
    if not detail:
        return payload
    payload["explanation"] = explain_rule(proposal.rule.value, proposal.objection_threshold,
                                          proposal.objection_basis.value, proposal.publicity_days)
    rooms = fund_ballots.my_rooms(user, proposal)
    payload["my_rooms"] = [{"room_id": r.room_id, "label": r.label, "area_m2": r.area_m2,
                            "voted": voted} for r, voted in rooms]
    payload["my_ballots"] = [_ballot_payload(b) for b in fund_ballots.my_ballots(user, proposal)]
    payload["can_vote"] = proposal.status == ProposalStatus.voting and any(not v for _, v in rooms)
    payload["can_manage"] = proposal.community_id in fund_service.managing_community_ids(user)
    payload["tally"] = (_tally_payload(proposal) if proposal.rule != FundRule.emergency
                        and proposal.status not in (ProposalStatus.draft, ProposalStatus.scheduled)
                        else None)
    decided = proposal.status == ProposalStatus.approved or proposal.outcome is not None
    payload["paid_yuan"] = fund_ledger.paid_for(proposal.id) if decided else None
    return payload


def _ballot_payload(ballot, rooms=None) -> dict:
    if rooms is None:
        rooms = fund_ballots.ballot_rooms([ballot.id]).get(ballot.id, [])
    return {
        "proposal_id": ballot.proposal_id, "seq": ballot.seq, "receipt": ballot.receipt,
        "voter_key": ballot.voter_key,
        "choice": ballot.choice.value, "choice_label": CHOICE_LABELS[ballot.choice.value],
        "rooms": [{"room_id": r.room_id, "label": r.label, "area_m2": r.area_m2} for r in rooms],
        "cast_at": ballot.cast_at, "digest": ballot.digest, "entry_hash": ballot.entry_hash,
    }


def _tally_payload(proposal: FundProposal) -> dict:
    tally = fund_service.compute_tally(proposal)
    return {
        "proposal_id": proposal.id, "rule": tally.rule,
        "rule_label": tally.extra.get("rule_label"), "status": proposal.status.value,
        "eligible": tally.eligible, "counts": tally.counts, "participating": tally.participating,
        "outcome": tally.outcome, "outcome_label": OUTCOME_LABELS[tally.outcome],
        **{k: tally.extra[k] for k in ("objection_threshold", "objection_basis", "closed_early")
           if k in tally.extra},
        "closes_at": proposal.closes_at, "closed_at": proposal.closed_at,
        "chain_head": proposal.chain_head, "ballots": proposal.ballot_count,
    }


def _current(proposal_id: int) -> tuple[User, FundProposal]:
    """The caller and the proposal, brought up to date with the clock first (a vote
    past its deadline closes on this read, if no job has closed it yet)."""
    user = current_user()
    proposal = fund_service.get_proposal(user, proposal_id)
    return user, proposal


# ------------------------------------------------------------------ proposals
@blp.route("/fund-proposals", methods=["POST"])
@blp.arguments(FundProposalIn)
@blp.response(201, FundProposalOut)
def create_proposal(data):
    """Draft a use of the maintenance fund (committee or manager)."""
    user = current_user()
    proposal = fund_service.create_proposal(user, data)
    return _proposal_payload(user, proposal, detail=True)


@blp.route("/fund-proposals", methods=["GET"])
@blp.arguments(FundProposalListArgs, location="query")
@blp.response(200, FundProposalPage)
def list_proposals(args):
    """Proposals the caller may see, newest first (drafts: committee and manager)."""
    user = current_user()
    items, cursor = paginate(db.session, fund_service.list_proposals(user, args["status"]),
                             FundProposal.id, args["limit"], args["cursor"])
    return {"items": [_proposal_payload(user, p) for p in items], "next_cursor": cursor}


@blp.route("/fund-proposals/<id:proposal_id>", methods=["GET"])
@blp.response(200, FundProposalOut)
def get_proposal(proposal_id):
    """One proposal with its tally, the caller's rooms in scope and own ballot."""
    user, proposal = _current(proposal_id)
    return _proposal_payload(user, proposal, detail=True)


@blp.route("/fund-proposals/<id:proposal_id>/open", methods=["POST"])
@blp.response(200, FundProposalOut)
def open_proposal(proposal_id):
    """Start voting: rooms, areas and owners are snapshotted; owners in scope are told."""
    user = current_user()
    proposal = fund_service.open_proposal(user, proposal_id)
    return _proposal_payload(user, proposal, detail=True)


@blp.route("/fund-proposals/<id:proposal_id>/sign", methods=["POST"])
@blp.arguments(FundSignIn)
@blp.response(200, FundProposalOut)
def sign_proposal(data, proposal_id):
    """Sign an emergency use (a committee member and the manager); approved with both."""
    user = current_user()
    proposal = fund_service.sign_proposal(user, proposal_id, data["as_"])
    return _proposal_payload(user, proposal, detail=True)


@blp.route("/fund-proposals/<id:proposal_id>/close", methods=["POST"])
@blp.response(200, FundProposalOut)
def close_proposal(proposal_id):
    """Close voting now, freeze and publish the result (committee). Voting also closes
    by itself at ``closes_at``."""
    user, proposal = _current(proposal_id)
    proposal = fund_service.close_by_committee(user, proposal.id)
    return _proposal_payload(user, proposal, detail=True)


@blp.route("/fund-proposals/<id:proposal_id>/tally", methods=["GET"])
@blp.response(200, FundTallyOut)
def tally(proposal_id):
    """Aggregate figures (live while voting, frozen once closed)."""
    _, proposal = _current(proposal_id)
    return _tally_payload(proposal)


# ------------------------------------------------------------------ ballots
@blp.route("/fund-proposals/<id:proposal_id>/ballots", methods=["POST"])
@blp.arguments(FundBallotIn)
@blp.response(201, FundBallotOut)
def cast_ballot(data, proposal_id):
    """Vote (owner of record of a room in scope). The choice covers all the owner's
    rooms in scope and is final. Keep the receipt to check the audit log."""
    user, proposal = _current(proposal_id)
    cast = fund_ballots.cast_ballot(user, proposal.id, data["room_id"], data["choice"])
    payload = _ballot_payload(cast.ballot, cast.rooms)
    return payload


@blp.route("/fund-proposals/<id:proposal_id>/ballots", methods=["GET"])
@blp.arguments(PageArgs, location="query")
@blp.response(200, FundBallotPage)
def list_ballots(args, proposal_id):
    """Who chose what: committee members see every ballot, anyone else their own."""
    user, proposal = _current(proposal_id)
    query = fund_ballots.ballots_query(user, proposal)
    items, cursor = paginate(db.session, query, FundBallot.id, args["limit"],
                             args["cursor"], descending=False)
    rooms = fund_ballots.ballot_rooms([b.id for b in items])
    voters = {r.owner_key: r.owner_name for rs in rooms.values() for r in rs}
    return {
        "items": [{
            "seq": b.seq, "voter": voters.get(b.voter_key), "choice": b.choice.value,
            "choice_label": CHOICE_LABELS[b.choice.value], "cast_at": b.cast_at,
            "rooms": [{"room_id": r.room_id, "label": r.label, "area_m2": r.area_m2}
                      for r in rooms.get(b.id, [])],
        } for b in items],
        "next_cursor": cursor, "all_visible": fund_service.is_committee_of(user, proposal),
    }


@blp.route("/fund-proposals/<id:proposal_id>/audit", methods=["GET"])
@blp.arguments(FundAuditArgs, location="query")
@blp.response(200, FundAuditOut)
def audit(args, proposal_id):
    """The hash-chained ballot log. Everyone who may see the proposal gets digests and
    hashes (and can check the chain links up to the published head); ``?receipt=``
    finds the entry of a receipt; choices and voters are shown to the committee."""
    user, proposal = _current(proposal_id)
    after = decode_cursor(args["cursor"])
    view, next_seq = fund_ballots.audit(user, proposal, receipt=args["receipt"],
                                        limit=args["limit"], after_seq=after, check=args["verify"])
    entries = []
    for ballot in view.entries:
        mine = ballot.id in view.mine
        entry = {"seq": ballot.seq, "cast_at": ballot.cast_at, "digest": ballot.digest,
                 "prev_hash": ballot.prev_hash, "entry_hash": ballot.entry_hash, "mine": mine}
        if mine:
            entry["receipt"] = ballot.receipt
        if mine or view.full:
            entry["choice"] = ballot.choice.value
        if view.full:
            rooms = view.rooms.get(ballot.id, [])
            entry["voter"] = rooms[0].owner_name if rooms else None
            entry["rooms"] = [{"room_id": r.room_id, "label": r.label, "area_m2": r.area_m2}
                              for r in rooms]
        entries.append(entry)
    return {
        "proposal_id": proposal.id, "algorithm": "sha256", "genesis_hash": view.genesis_hash,
        "head": view.head, "published_head": view.published_head, "ballots": view.ballots,
        "intact": view.intact, "problems": view.problems, "receipt_found": view.receipt_found,
        "entries": entries, "next_cursor": encode_cursor(next_seq) if next_seq else None,
    }


# ------------------------------------------------------------------ ledger
@blp.route("/fund-proposals/<id:proposal_id>/payments", methods=["POST"])
@blp.arguments(FundPaymentIn)
@blp.response(201, FundLedgerLineOut)
def record_payment(data, proposal_id):
    """Book a payment for a passed or approved use (manager); never above its amount."""
    user, proposal = _current(proposal_id)
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
    """Decision rules, emergency cases and the community's objection settings."""
    user = current_user()
    allowed = fund_service.visible_community_ids(user) | fund_service.managing_community_ids(user)
    community = None
    if args["community"]:
        community = db.session.scalar(db.select(Community).where(Community.name == args["community"]))
    elif len(allowed) == 1:
        community = db.session.get(Community, next(iter(allowed)))
    if community is not None and community.id not in allowed:
        community = None
    threshold = setting(community, "objection_threshold") if community else "1/3"
    basis = setting(community, "objection_basis") if community else "either"
    days = int(setting(community, "fund_publicity_days")) if community else 7
    return {
        "rules": [{"code": code, "label": label,
                   "explanation": explain_rule(code, threshold, basis, days)}
                  for code, label in RULE_LABELS.items()],
        "emergency_cases": [{"code": c, "label": label} for c, label in EMERGENCY_CASES.items()],
        "choices": {rule: [{"code": c, "label": CHOICE_LABELS[c]} for c in spec.choices]
                    for rule, spec in RULES.items()},
        "objection_threshold": threshold, "objection_basis": basis, "publicity_days": days,
        "headcount_note": HEADCOUNT_NOTE,
    }
