"""Labels: the Chinese name of every code the pages show, and the fixed vote
thresholds, from their single definitions (``GET /api/v1/labels``, public). The
pages load this once and show what it says (an unknown code shows as it is); the
payloads carry the labels of their own codes too, through ``Label`` fields."""
from __future__ import annotations

from marshmallow import Schema, fields, missing

from backend.models import ROOM_KIND_LABELS, ConversationState, Role, RoomKind
from backend.routes.common import Blueprint
from backend.rules import fund_rules, ticket_states
from backend.rules import notices as notice_rules
from backend.rules.labels import CONVERSATION_STATE_LABELS, INTENT_LABELS, ROLE_LABELS
from backend.rules.tally import (
    AT_LEAST,
    DEFAULT_BASIS,
    DEFAULT_THRESHOLD,
    MORE_THAN,
    QUORUM,
    RULES,
    threshold_text,
)

blp = Blueprint("labels", __name__, url_prefix="/api/v1", description="显示名称与表决比例")

MAX_AGE_SECONDS = 300  # labels change with a deployment only


class Label(fields.String):
    """The label of the code at ``code`` (an attribute path of the object dumped; an
    enum member or its value) from one of the label tables. An unknown code comes out
    as it is. Dump only."""

    def __init__(self, table: dict[str, str], code: str, **kwargs):
        super().__init__(dump_only=True, **kwargs)
        self.table, self.code = table, code

    def get_value(self, obj, attr, accessor=None, default=missing):
        # reads the code's own path: marshmallow allows one field per ``attribute``
        return super().get_value(obj, self.code, accessor, default)

    def _serialize(self, value, attr, obj, **kwargs):
        if value is None:
            return None
        code = getattr(value, "value", value)
        return self.table.get(code, str(code))


def _codes(description: str):
    return fields.Dict(keys=fields.String(), values=fields.String(), required=True,
                       metadata={"description": f"{description}: code → label"})


class ThresholdOut(Schema):
    share = fields.String(required=True, metadata={"description": 'a fraction, e.g. "2/3"'})
    comparison = fields.String(required=True, metadata={"description": "more_than | at_least"})
    label = fields.String(required=True, metadata={"description": "e.g. 不少于三分之二"})


class ThresholdsOut(Schema):
    quorum = fields.Nested(ThresholdOut, required=True, metadata={
        "description": "civil-code rules: share of the area AND of the headcount taking part"})
    civil_code_use = fields.Nested(ThresholdOut, required=True, metadata={
        "description": "share of the participating area AND headcount approving"})
    civil_code_major = fields.Nested(ThresholdOut, required=True)
    objection = fields.Nested(ThresholdOut, required=True, metadata={
        "description": "default share of objections that rejects (a community setting)"})
    objection_basis = fields.String(required=True, metadata={
        "description": "default basis: area | headcount | either | both"})


class LabelsOut(Schema):
    ticket_status = _codes("ticket statuses")
    ticket_kind = _codes("ticket kinds")
    ticket_action = _codes("ticket actions")
    ticket_event = _codes("ticket event types")
    ticket_open_statuses = fields.List(fields.String(), required=True, metadata={
        "description": "statuses of a ticket still being worked on"})
    role = _codes("roles and room relations")
    room_kind = _codes("kinds of room")
    fund_rule = _codes("fund decision rules")
    fund_status = _codes("fund proposal statuses")
    fund_outcome = _codes("fund vote outcomes")
    fund_stage = _codes("fund decision steps (公示中, 表决中, 询异期, 已公布)")
    fund_ballot_kind = _codes("how a ballot was cast (线上, 线下, 委托)")
    fund_choice = _codes("ballot choices")
    fund_basis = _codes("objection bases")
    emergency_case = _codes("emergency cases")
    fund_measure = _codes("what a tally's comparisons measure")
    conversation_state = _codes("chat conversation states")
    bot_intent = _codes("bot intents")
    notice_category = _codes("notice categories")
    notice_state = _codes("notice states (staff)")
    thresholds = fields.Nested(ThresholdsOut, required=True)


def _threshold(share, comparison: str) -> dict:
    return {"share": threshold_text(share), "comparison": comparison,
            "label": fund_rules.COMPARISON_LABELS[comparison] + fund_rules.fraction_label(share)}


def _civil(rule: str) -> dict:
    spec = RULES[rule]
    return _threshold(spec.share, MORE_THAN if spec.strictly_more else AT_LEAST)


def catalogue() -> dict:
    """Every label table and the thresholds, keyed as ``LabelsOut``."""
    return {
        "ticket_status": ticket_states.STATUS_LABELS,
        "ticket_kind": ticket_states.KIND_LABELS,
        "ticket_action": ticket_states.ACTION_LABELS,
        "ticket_event": ticket_states.EVENT_LABELS,
        "ticket_open_statuses": [s.value for s in ticket_states.TicketStatus
                                 if s in ticket_states.OPEN_STATUSES],
        "role": {r.value: ROLE_LABELS[r.value] for r in Role},
        "room_kind": {k.value: ROOM_KIND_LABELS[k] for k in RoomKind},
        "fund_rule": fund_rules.RULE_LABELS,
        "fund_status": fund_rules.STATUS_LABELS,
        "fund_outcome": fund_rules.OUTCOME_LABELS,
        "fund_stage": fund_rules.STAGE_LABELS,
        "fund_ballot_kind": fund_rules.BALLOT_KIND_LABELS,
        "fund_choice": fund_rules.CHOICE_LABELS,
        "fund_basis": fund_rules.BASIS_LABELS,
        "emergency_case": fund_rules.EMERGENCY_CASES,
        "fund_measure": fund_rules.MEASURE_LABELS,
        "conversation_state": {s.value: CONVERSATION_STATE_LABELS[s.value] for s in ConversationState},
        "bot_intent": INTENT_LABELS,
        "notice_category": notice_rules.CATEGORY_LABELS,
        "notice_state": notice_rules.STATE_LABELS,
        "thresholds": {
            "quorum": _threshold(QUORUM, AT_LEAST),
            "civil_code_use": _civil("civil_code_use"),
            "civil_code_major": _civil("civil_code_major"),
            "objection": _threshold(DEFAULT_THRESHOLD, MORE_THAN),
            "objection_basis": DEFAULT_BASIS,
        },
    }


@blp.route("/labels", methods=["GET"])
@blp.public
@blp.response(200, LabelsOut)
def labels():
    """What the pages show for each code, and the vote thresholds (quorum 2/3,
    majorities 1/2 and 3/4, the default objection threshold and basis). A
    community's own objection settings are in ``GET /api/v1/fund/rules`` and on each
    proposal."""
    return catalogue(), 200, {"Cache-Control": f"public, max-age={MAX_AGE_SECONDS}"}
