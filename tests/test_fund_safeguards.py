"""A use of the fund cannot pass without a real chance to object (issue #13, item 2):
minimum voting/objection windows and result publicity (community settings above a
hard floor), early closes that only withdraw, the objection threshold and basis
fixed by the community (within legal bounds) and snapshotted when voting opens,
only the committee opens a vote, and no payment before the result's publicity ends.

Building 1: 1-1-101 (O-1, 98.50 m²), 1-1-102 (O-2, 120.30), 1-1-201 + 1-1-202 (O-3,
218.80): 437.60 m², 3 people."""
from __future__ import annotations

from datetime import timedelta

import pytest

from backend.extensions import db
from backend.jobs.queue import tick_inline
from backend.models import Community, FundProposal
from tests.fund_helpers import closing_in, start_published, utc_now, vote_at


@pytest.fixture
def app(make_app):
    return make_app(WECHAT_APPID="")


def later(**delta) -> str:
    return (utc_now() + timedelta(**delta)).isoformat()


def draft(client, headers, **fields):
    body = {"title": "1栋电梯更换", "amount_yuan": "300000.00", "scope": {"buildings": ["1"]},
            "rule": "objection", "closes_at": later(days=8), **fields}
    return client.post("/api/v1/fund-proposals", headers=headers, json=body)


def set_settings(app, community, **settings):
    with app.app_context():
        c = db.session.get(Community, community["id"])
        c.settings = {**c.settings, **settings}
        db.session.commit()


# ------------------------------------------------------------------ the reported attack
def test_the_manager_alone_cannot_rush_a_use_through_and_pay_for_it(client, staff, committee):
    """Reported: the manager created an objection vote closing 20 s later with
    publicity_days 0, it passed with 0 ballots, and 300,000 yuan was booked."""
    committee("O-1")
    manager = staff("manager")
    rushed = draft(client, manager, closes_at=later(seconds=20), publicity_days=0)
    assert rushed.status_code == 400, rushed.json
    error = rushed.json["error"]
    assert error["code"] == "voting_window_too_short" and "7天" in error["message"]
    assert error["details"]["min_days"] == 7 and error["details"]["fields"]["closes_at"]
    no_publicity = draft(client, manager, publicity_days=0)
    assert no_publicity.status_code == 400
    assert no_publicity.json["error"]["code"] == "publicity_too_short"
    assert no_publicity.json["error"]["details"]["min_days"] == 7
    # a proper draft: the manager may propose, but only the committee opens the vote
    created = draft(client, manager)
    assert created.status_code == 201, created.json
    opened = client.post(f"/api/v1/fund-proposals/{created.json['id']}/open", headers=manager)
    assert opened.status_code == 403 and opened.json["error"]["code"] == "not_committee"
    payment = client.post(f"/api/v1/fund-proposals/{created.json['id']}/payments", headers=manager,
                          json={"amount_yuan": "300000.00"})
    assert payment.status_code == 409


def test_a_start_in_the_past_does_not_shorten_the_window(client, committee):
    response = draft(client, committee("O-1"), opens_at=later(days=-10), closes_at=later(hours=1))
    assert response.status_code == 400 and response.json["error"]["code"] == "voting_window_too_short"


def test_a_scheduled_vote_counts_its_window_from_its_start(client, committee):
    chair = committee("O-1")
    short = draft(client, chair, opens_at=later(days=5), closes_at=later(days=11))
    assert short.status_code == 400 and short.json["error"]["code"] == "voting_window_too_short"
    assert draft(client, chair, opens_at=later(days=5), closes_at=later(days=12, hours=1)
                 ).status_code == 201


def test_a_draft_whose_window_has_shrunk_below_the_minimum_cannot_be_opened(app, client, committee):
    chair = committee("O-1")
    with app.app_context():  # drafted three days ago, closing 7 days 1 hour after that
        from backend.services import fund as fund_service
        from tests.fund_helpers import user

        then = utc_now() - timedelta(days=3)
        proposal = fund_service.create_proposal(user("openid-O-1"), {
            "title": "路灯更换", "amount_yuan": "1000.00", "scope": {"buildings": ["1"]},
            "rule": "objection", "closes_at": then + timedelta(days=7, hours=1)}, now=then)
        db.session.commit()
        proposal_id = proposal.id
    response = client.post(f"/api/v1/fund-proposals/{proposal_id}/open", headers=chair)
    assert response.status_code == 400 and response.json["error"]["code"] == "voting_window_too_short"


def test_no_setting_goes_below_the_hard_floor(app, client, committee, community):
    set_settings(app, community, fund_objection_days=0, fund_vote_days=1, fund_publicity_days=0)
    chair = committee("O-1")
    for rule in ("objection", "civil_code_use", "civil_code_major"):
        response = draft(client, chair, rule=rule, closes_at=later(days=2, hours=23))
        assert response.status_code == 400, rule
        assert response.json["error"]["details"]["min_days"] == 3
        assert draft(client, chair, rule=rule, closes_at=later(days=3, hours=1)).status_code == 201
    assert draft(client, chair, closes_at=later(days=4), publicity_days=2).status_code == 400
    shown = client.get("/api/v1/fund/rules", headers=chair).json
    assert shown["min_voting_days"] == {"objection": 3, "civil_code_use": 3, "civil_code_major": 3}
    assert shown["publicity_days"] == 3


def test_publicity_may_be_lengthened_but_not_shortened(client, committee):
    chair = committee("O-1")
    assert draft(client, chair, publicity_days=14).json["publicity_days"] == 14
    assert draft(client, chair, publicity_days=6).json["error"]["code"] == "publicity_too_short"


# ------------------------------------------------------------------ early close
def test_closing_an_objection_vote_early_withdraws_it_and_nothing_can_be_paid(
        client, committee, owner, staff, fund_proposal):
    """Reported: a committee member opened and at once closed early: objection → passed."""
    chair, li = committee("O-1"), owner("O-2")
    proposal = fund_proposal(headers=chair)
    closed = client.post(f"/api/v1/fund-proposals/{proposal['id']}/close", headers=chair)
    assert closed.status_code == 200, closed.json
    body = closed.json
    assert (body["status"], body["outcome"], body["outcome_label"]) == ("closed", "withdrawn", "已撤回")
    assert body["tally"]["outcome"] == "withdrawn" and body["tally"]["closed_early"] is True
    payment = client.post(f"/api/v1/fund-proposals/{proposal['id']}/payments",
                          headers=staff("manager"), json={"amount_yuan": "1.00"})
    assert payment.status_code == 409 and payment.json["error"]["code"] == "not_approved"
    notes = [n for n in client.get("/api/v1/notifications", headers=li).json["items"]
             if n["kind"] == "fund_result"]
    assert len(notes) == 1 and "撤回" in notes[0]["body"] and "通过" not in notes[0]["title"]
    labels = client.get("/api/v1/labels").json
    assert labels["fund_outcome"]["withdrawn"] == "已撤回"


def test_an_early_close_of_a_civil_code_vote_decides_only_when_every_owner_has_voted(
        client, committee, owner, rooms_by_label, fund_proposal):
    chair, li, wang = committee("O-1"), owner("O-2"), owner("O-3")
    for everyone in (False, True):
        proposal = fund_proposal(headers=chair, rule="civil_code_use")
        url = f"/api/v1/fund-proposals/{proposal['id']}"
        voters = [(li, "1-1-102"), (wang, "1-1-201")] + ([(chair, "1-1-101")] if everyone else [])
        for headers, room in voters:
            assert client.post(f"{url}/ballots", headers=headers, json={
                "room_id": rooms_by_label[room], "choice": "approve"}).status_code == 201
        shown = client.get(url, headers=chair).json
        assert shown["early_close_withdraws"] is (not everyone)
        closed = client.post(f"{url}/close", headers=chair).json
        # two of three approving would pass at the deadline; early it only withdraws
        assert closed["outcome"] == ("passed" if everyone else "withdrawn"), everyone


# ------------------------------------------------------------------ threshold and basis
def test_the_proposer_cannot_choose_the_threshold_or_basis(app, client, committee, community):
    """Reported: the proposer set threshold 0.999 with basis both."""
    chair = committee("O-1")
    response = draft(client, chair, objection_threshold="0.999", objection_basis="both")
    assert response.status_code == 400, response.json
    error = response.json["error"]
    assert error["code"] == "objection_setting_fixed"
    assert set(error["details"]["fields"]) == {"objection_threshold", "objection_basis"}
    assert error["details"]["objection_threshold"] == "1/3"
    # the community's own values (in any spelling) are accepted
    same = draft(client, chair, objection_threshold="2/6", objection_basis="either")
    assert same.status_code == 201 and same.json["objection_threshold"] == "1/3"


def test_the_setting_in_force_when_voting_opens_is_the_votes(app, client, committee, owner,
                                                             community, rooms_by_label):
    chair, li = committee("O-1"), owner("O-2")
    runner = app.test_cli_runner()
    early = draft(client, chair).json  # drafted under 1/3 either
    result = runner.invoke(args=["set-fund-rule", "--objection-threshold", "1/4",
                                 "--objection-basis", "area"])
    assert result.exit_code == 0, result.output
    start_published(app, early["id"])
    opened = client.get(f"/api/v1/fund-proposals/{early['id']}", headers=chair).json
    assert (opened["objection_threshold"], opened["objection_basis"]) == ("1/4", "area")
    # O-2 objects: 120.30 of 437.60 m² = 0.275 > 1/4 → would be rejected under 1/4 area
    assert client.post(f"/api/v1/fund-proposals/{early['id']}/ballots", headers=li, json={
        "room_id": rooms_by_label["1-1-102"], "choice": "object"}).status_code == 201
    result = runner.invoke(args=["set-fund-rule", "--objection-threshold", "1/2",
                                 "--objection-basis", "both"])
    assert result.exit_code == 0, result.output
    tally = client.get(f"/api/v1/fund-proposals/{early['id']}/tally", headers=li).json
    assert (tally["objection_threshold"], tally["objection_basis"]) == ("1/4", "area")
    assert all(m["threshold"] == "1/4" for m in tally["measures"])
    with app.app_context():
        from backend.services import fund as fund_service

        closes_at = db.session.get(FundProposal, early["id"]).closes_at
        fund_service.close_voting(early["id"], now=closes_at + timedelta(seconds=1))
        db.session.commit()
    assert client.get(f"/api/v1/fund-proposals/{early['id']}", headers=li).json["outcome"] == "rejected"


@pytest.mark.parametrize("args,problem", [
    (["--objection-threshold", "0.51"], "1/2"),
    (["--objection-threshold", "0"], "1/2"),
    (["--objection-threshold", "abc"], "1/3"),
    (["--objection-basis", "rooms"], "area"),
    (["--objection-days", "2"], "3"),
    (["--vote-days", "1"], "3"),
    (["--publicity-days", "0"], "3"),
    ([], "至少"),
])
def test_set_fund_rule_keeps_to_the_legal_bounds(app, community, args, problem):
    result = app.test_cli_runner().invoke(args=["set-fund-rule", *args])
    assert result.exit_code == 1 and problem in result.output, result.output
    with app.app_context():
        c = db.session.get(Community, community["id"])
        assert (c.settings["objection_threshold"], c.settings["objection_basis"]) == ("1/3", "either")


def test_set_fund_rule_sets_every_value_for_the_named_community(app, client, committee, community):
    result = app.test_cli_runner().invoke(args=[
        "set-fund-rule", "--objection-threshold", "50%", "--objection-basis", "headcount",
        "--objection-days", "10", "--vote-days", "15", "--publicity-days", "9",
        "--community", community["name"]])
    assert result.exit_code == 0, result.output
    assert "1/2" in result.output
    shown = client.get("/api/v1/fund/rules", headers=committee("O-1")).json
    assert (shown["objection_threshold"], shown["objection_basis"], shown["publicity_days"]) == (
        "1/2", "headcount", 9)
    assert shown["min_voting_days"] == {"objection": 10, "civil_code_use": 15, "civil_code_major": 15}
    assert "10天" in next(r["explanation"] for r in shown["rules"] if r["code"] == "objection")


# ------------------------------------------------------------------ payments
def test_a_passed_vote_is_paid_only_after_its_result_publicity(app, client, committee, staff):
    committee("O-1")
    manager = staff("manager")
    # closed 2 days ago (publicity 7 days: still running), and 10 days ago (over)
    recent = vote_at(app, opened=utc_now() - timedelta(days=10), close=True)
    old = vote_at(app, opened=utc_now() - timedelta(days=18), close=True)
    refused = client.post(f"/api/v1/fund-proposals/{recent}/payments", headers=manager,
                          json={"amount_yuan": "100.00"})
    assert refused.status_code == 409 and refused.json["error"]["code"] == "publicity_not_over"
    assert "公示" in refused.json["error"]["message"] and refused.json["error"]["details"][
        "publicity_ends_at"].endswith("+08:00")
    assert client.get(f"/api/v1/fund-proposals/{recent}", headers=manager).json["outcome"] == "passed"
    paid = client.post(f"/api/v1/fund-proposals/{old}/payments", headers=manager,
                       json={"amount_yuan": "100.00"})
    assert paid.status_code == 201, paid.json


def test_an_approved_emergency_use_is_paid_at_once(client, committee, staff, fund_proposal):
    chair, manager = committee("O-1"), staff("manager")
    proposal = fund_proposal(headers=manager, open=False, rule="emergency", closes_at=None,
                             emergency_case="lift_failure")
    for headers in (manager, chair):
        assert client.post(f"/api/v1/fund-proposals/{proposal['id']}/sign", headers=headers,
                           json={}).status_code == 200
    paid = client.post(f"/api/v1/fund-proposals/{proposal['id']}/payments", headers=manager,
                       json={"amount_yuan": "100.00"})
    assert paid.status_code == 201, paid.json


def test_the_pages_are_told_what_the_committee_may_do(client, committee, staff, fund_proposal):
    chair, manager = committee("O-1"), staff("manager")
    proposal = fund_proposal(headers=manager, open=False)
    as_manager = client.get(f"/api/v1/fund-proposals/{proposal['id']}", headers=manager).json
    as_chair = client.get(f"/api/v1/fund-proposals/{proposal['id']}", headers=chair).json
    assert (as_manager["can_open"], as_chair["can_open"]) == (False, True)
    assert as_manager["can_manage"] is True


def test_a_vote_closing_at_its_deadline_still_decides(app, client, committee, owner, rooms_by_label):
    """The safeguards leave the ordinary path alone: at the deadline the result counts."""
    committee("O-1")
    wang = owner("O-3")
    proposal_id = closing_in(app, 2)
    response = client.post(f"/api/v1/fund-proposals/{proposal_id}/ballots", headers=wang,
                           json={"room_id": rooms_by_label["1-1-201"], "choice": "object"})
    assert response.status_code == 201
    import time

    while utc_now() < db_closes_at(app, proposal_id) + timedelta(milliseconds=50):
        time.sleep(0.1)
    with app.app_context():
        tick_inline()
    with app.app_context():
        stored = db.session.get(FundProposal, proposal_id)
        assert (stored.status.value, stored.outcome.value) == ("closed", "rejected")
        assert stored.result["closed_early"] is False


def db_closes_at(app, proposal_id):
    with app.app_context():
        return db.session.get(FundProposal, proposal_id).closes_at
