"""What a reader of a fund proposal is shown: one serialiser, so a list row and the
detail carry the same fields and labels (for every rule and status); the tally's
comparisons, shares and verdicts as the rules make them; the OpenAPI schemas the
responses are dumped through.

Building 1: O-1 98.50 m², O-2 120.30, O-3 218.80 (two rooms): 437.60 m², 3 people."""
from __future__ import annotations

import pytest

from backend.rules.fund_rules import OUTCOME_LABELS, RULE_LABELS, STATUS_LABELS
from tests.fund_helpers import cast_ballot, close_at_deadline


@pytest.fixture
def app(make_app):
    return make_app(WECHAT_APPID="")


def test_a_list_row_and_the_detail_read_the_same_for_every_rule_and_status(
        app, client, committee, staff, fund_proposal):
    chair, manager = committee("O-1"), staff("manager")
    made = [
        fund_proposal(),                                             # objection, voting
        fund_proposal(rule="civil_code_use", title="外墙维修"),      # civil_code_use, voting
        fund_proposal(rule="civil_code_major", open=False, title="续筹"),  # draft
        fund_proposal(rule="civil_code_use", title="监控升级"),      # closed below
        fund_proposal(headers=manager, open=False, rule="emergency", closes_at=None,
                      emergency_case="lift_failure", title="电梯抢修"),  # approved below
    ]
    close_at_deadline(app, made[3]["id"])
    for headers in (chair, manager):
        assert client.post(f"/api/v1/fund-proposals/{made[4]['id']}/sign", headers=headers,
                           json={}).status_code == 200
    listed = client.get("/api/v1/fund-proposals", headers=chair).json["items"]
    assert {(p["rule"], p["status"]) for p in listed} == {
        ("objection", "voting"), ("civil_code_use", "voting"), ("civil_code_major", "draft"),
        ("civil_code_use", "closed"), ("emergency", "approved")}
    for row in listed:
        detail = client.get(f"/api/v1/fund-proposals/{row['id']}", headers=chair).json
        assert {k: detail[k] for k in row} == row, row["title"]
        assert row["rule_label"] == RULE_LABELS[row["rule"]]
        assert row["status_label"] == STATUS_LABELS[row["status"]]
        assert row["outcome_label"] == (OUTCOME_LABELS[row["outcome"]] if row["outcome"] else None)
    closed = next(p for p in listed if p["status"] == "closed")
    assert (closed["outcome"], closed["outcome_label"]) == ("no_quorum", "参与未达法定比例")


def test_the_tally_sends_each_comparison_with_its_share_and_verdict(app, client, owner, committee,
                                                                    rooms_by_label, fund_proposal):
    chair = committee("O-1")
    proposal = fund_proposal(rule="civil_code_use")
    cast_ballot(client, owner("O-2"), proposal["id"], rooms_by_label["1-1-102"], "approve")
    cast_ballot(client, owner("O-3"), proposal["id"], rooms_by_label["1-1-201"], "approve")
    tally = client.get(f"/api/v1/fund-proposals/{proposal['id']}/tally", headers=chair).json
    measures = {m["name"]: m for m in tally["measures"]}
    assert list(measures) == ["participating_area", "participating_headcount",
                              "approving_area", "approving_headcount"]
    # 339.10 of 437.60 m² take part (0.7749 ≥ 2/3); 2 of 3 people (exactly 2/3: enough)
    area = measures["participating_area"]
    assert (area["part"], area["whole"], area["share"], area["threshold"], area["met"]) == (
        "339.10", "437.60", "0.7749", "2/3", True)
    assert area["threshold_share"] == "0.6667" and area["requirement"] == "不少于三分之二"
    heads = measures["participating_headcount"]
    assert (heads["part"], heads["whole"], heads["met"]) == ("2", "3", True)
    # everyone taking part approved: more than half of both
    assert measures["approving_area"]["share"] == "1.0000" and measures["approving_area"]["met"]
    assert measures["approving_headcount"]["requirement"] == "超过二分之一"
    assert tally["outcome"] == "pending" and tally["frozen"] is False
    close_at_deadline(app, proposal["id"])
    closed = client.get(f"/api/v1/fund-proposals/{proposal['id']}", headers=chair).json
    assert closed["outcome"] == "passed" and closed["tally"]["frozen"] is True
    assert closed["tally"]["measures"] == tally["measures"]


def test_objection_measures_compare_objections_with_the_whole_scope(client, owner, committee,
                                                                    rooms_by_label, fund_proposal):
    proposal = fund_proposal()
    cast_ballot(client, owner("O-3"), proposal["id"], rooms_by_label["1-1-201"], "object")
    tally = client.get(f"/api/v1/fund-proposals/{proposal['id']}/tally",
                       headers=committee("O-1")).json
    area, heads = tally["measures"]
    # 218.80 of 437.60 m² (1/2) exceeds 1/3; one person of three does not
    assert (area["name"], area["share"], area["comparison"], area["met"]) == (
        "objecting_area", "0.5000", "more_than", True)
    assert (heads["name"], heads["share"], heads["met"]) == ("objecting_headcount", "0.3333", False)
    assert area["requirement"] == "超过三分之一即否决"
    assert tally["objection_basis"] == "either"


def test_the_list_and_the_detail_are_dumped_through_their_declared_schemas(client):
    schemas = client.get("/api/openapi.json").json["components"]["schemas"]
    row, detail = schemas["FundProposalOut"]["properties"], schemas["FundProposalDetailOut"]["properties"]
    assert set(row) < set(detail)
    assert {"tally", "my_rooms", "my_ballots", "can_vote", "choices", "explanation"} <= (
        set(detail) - set(row))
    assert {"rule_label", "status_label", "outcome_label"} <= set(row)
