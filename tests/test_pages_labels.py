"""The labels the pages show come from the server: ``GET /api/v1/labels`` (public,
documented) has a label for every code of every enum the pages can meet, the vote
thresholds as the rules apply them, and the pages keep no dictionary of their own."""
from __future__ import annotations

import re
from pathlib import Path

import yaml

from backend.models import (
    BallotChoice,
    ConversationState,
    FundRule,
    ObjectionBasis,
    Outcome,
    ProposalStatus,
    Role,
    RoomKind,
)
from backend.rules import ticket_states
from backend.rules.fund_rules import EMERGENCY_CASES
from backend.rules.tally import PENDING, RULES, Counts, Figures

ROOT = Path(__file__).resolve().parent.parent
LABELS_JS = ROOT / "miniapp_mock" / "shared" / "labels.js"


def labels(client) -> dict:
    response = client.get("/api/v1/labels")  # no token: the login page needs them too
    assert response.status_code == 200, response.json
    assert "max-age" in response.headers["Cache-Control"]
    return response.json


def test_every_code_the_pages_can_meet_has_a_label(client):
    body = labels(client)
    expected = {
        "ticket_status": {s.value for s in ticket_states.TicketStatus},
        "ticket_kind": {k.value for k in ticket_states.TicketKind},
        "ticket_action": set(ticket_states.API_ACTIONS) | {"rate"},
        "ticket_event": set(ticket_states.ACTION_EVENTS.values()) | {"created", "photos_added"},
        "role": {r.value for r in Role},
        "room_kind": {k.value for k in RoomKind},
        "fund_rule": {r.value for r in FundRule},
        "fund_status": {s.value for s in ProposalStatus},
        "fund_outcome": {o.value for o in Outcome} | {PENDING},
        "fund_choice": {c.value for c in BallotChoice},
        "fund_basis": {b.value for b in ObjectionBasis},
        "emergency_case": set(EMERGENCY_CASES),
        "fund_measure": {m.name for rule in RULES.values()
                         for m in rule.measures(Counts(Figures(), Figures()))},
        "conversation_state": {s.value for s in ConversationState},
        "bot_intent": set(yaml.safe_load((ROOT / "backend" / "bot" / "rules.yaml")
                                         .read_text(encoding="utf-8"))["intents"]),
    }
    for table, codes in expected.items():
        missing = codes - set(body[table])
        assert not missing, f"{table} lacks labels for {sorted(missing)}"
        assert all(isinstance(v, str) and v.strip() for v in body[table].values()), table
    assert body["ticket_open_statuses"] == ["submitted", "accepted", "assigned", "in_progress"]


def test_the_civil_code_rules_are_named_by_what_they_require(client):
    rules = labels(client)["fund_rule"]
    # DOMAIN.md: 2/3 take part; more than half (use) / at least 3/4 (major) of them approve
    assert "过半" in rules["civil_code_use"] and "三分之二" not in rules["civil_code_use"]
    assert "四分之三" in rules["civil_code_major"]
    assert len(set(rules.values())) == len(rules)


def test_the_thresholds_are_the_ones_the_rules_apply(client):
    thresholds = labels(client)["thresholds"]
    assert thresholds["quorum"] == {"share": "2/3", "comparison": "at_least", "label": "不少于三分之二"}
    assert thresholds["civil_code_use"] == {"share": "1/2", "comparison": "more_than",
                                            "label": "超过二分之一"}
    assert thresholds["civil_code_major"] == {"share": "3/4", "comparison": "at_least",
                                              "label": "不少于四分之三"}
    assert thresholds["objection"]["share"] == "1/3" and thresholds["objection_basis"] == "either"


def test_the_labels_are_documented_in_the_openapi_document(client):
    spec = client.get("/api/openapi.json").json
    get = spec["paths"]["/api/v1/labels"]["get"]
    assert get.get("security") == []
    ref = get["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
    schema = spec["components"]["schemas"][ref.rsplit("/", 1)[-1]]
    assert {"ticket_status", "fund_rule", "fund_status", "thresholds"} <= set(schema["required"])


def test_the_pages_name_only_tables_the_server_sends_and_keep_no_labels_of_their_own(client):
    text = LABELS_JS.read_text(encoding="utf-8")
    tables = re.findall(r'^export const [A-Z_]+ = "(\w+)";', text, re.M)
    assert tables and set(tables) <= set(labels(client))
    # no dictionary of Chinese names left in the pages' label module
    assert not re.search(r"[\u4e00-\u9fff]", text)
    # and no threshold of a vote rule in the tally's drawing (the server's measures)
    tally = (LABELS_JS.parent / "tally.js").read_text(encoding="utf-8")
    assert not re.search(r"\b[1-3]\s*/\s*[2-4]\b|civil_code|objection\b\s*\?", tally)
