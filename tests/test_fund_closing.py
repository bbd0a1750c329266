"""Closing a fund vote: the outcome by each rule at the deadline, closing at the
deadline without anyone acting (reads show it, the periodic sweep and the rq job on
real workers freeze it), exactly once, with the result frozen and published. Votes
that must be past their deadline were opened days ago (tests/fund_helpers.py).

Building 1: O-1 98.50 m², O-2 120.30, O-3 218.80 (two rooms): 437.60 m², 3 people."""
from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone

import pytest

from backend.extensions import db
from backend.jobs.queue import relay_pending, tick_inline
from backend.models import FundEligibleRoom, FundProposal, Notification, OutboxJob, User
from backend.services import fund as fund_service
from tests.conftest import wait_for
from tests.fund_helpers import cast_ballot, closing_in, utc_now, vote_at


@pytest.fixture
def app(make_app):
    return make_app(WECHAT_APPID="")


def close(client, headers, proposal_id):
    response = client.post(f"/api/v1/fund-proposals/{proposal_id}/close", headers=headers)
    assert response.status_code == 200, response.json
    return response.json


def closes_at(app, proposal_id: int) -> datetime:
    with app.app_context():
        return db.session.get(FundProposal, proposal_id).closes_at


def wait_past(deadline: datetime) -> None:
    while datetime.now(timezone.utc) <= deadline + timedelta(milliseconds=50):
        time.sleep(0.1)


@pytest.fixture
def voters(owner, committee):
    return {"O-1": committee("O-1"), "O-2": owner("O-2"), "O-3": owner("O-3")}


@pytest.mark.parametrize("rule,choices,outcome", [
    # O-3 objects: area 218.80/437.60 = 1/2 > 1/3 → rejected
    ("objection", {"O-3": "object"}, "rejected"),
    # O-1 objects: headcount exactly 1/3, area 98.50/437.60 < 1/3 → passed
    ("objection", {"O-1": "object"}, "passed"),
    # all take part; approving area 98.50 + 120.30 = 218.80 = exactly 1/2 → rejected
    ("civil_code_use", {"O-1": "approve", "O-2": "approve", "O-3": "oppose"}, "rejected"),
    # approving area 339.10 > 1/2, people 2/3 > 1/2 → passed
    ("civil_code_use", {"O-2": "approve", "O-3": "approve", "O-1": "oppose"}, "passed"),
    # only O-3 votes: area 1/2 < 2/3 → no quorum
    ("civil_code_use", {"O-3": "approve"}, "no_quorum"),
    # O-2 and O-3 approve, O-1 abstains: area 339.10/437.60 = 0.775 ≥ 3/4, but
    # people 2/3 < 3/4 → rejected
    ("civil_code_major", {"O-2": "approve", "O-3": "approve", "O-1": "abstain"}, "rejected"),
    # everyone approves → passed
    ("civil_code_major", {"O-1": "approve", "O-2": "approve", "O-3": "approve"}, "passed"),
])
def test_the_outcome_follows_the_rule(app, client, voters, rooms_by_label, rule, choices, outcome):
    rooms = {"O-1": "1-1-101", "O-2": "1-1-102", "O-3": "1-1-201"}
    ballots = tuple((f"openid-{ref}", rooms_by_label[rooms[ref]], choice)
                    for ref, choice in choices.items())
    proposal_id = vote_at(app, opened=utc_now() - timedelta(days=9), rule=rule, ballots=ballots,
                          close=True)
    closed = client.get(f"/api/v1/fund-proposals/{proposal_id}", headers=voters["O-2"]).json
    assert closed["status"] == "closed" and closed["outcome"] == outcome
    assert closed["tally"]["outcome"] == outcome and closed["tally"]["closed_early"] is False
    assert closed["closed_at"] == closed["closes_at"]


def test_an_early_close_is_dated_now_and_withdraws(client, voters, rooms_by_label, fund_proposal):
    proposal = fund_proposal()
    cast_ballot(client, voters["O-3"], proposal["id"], rooms_by_label["1-1-201"], "object")
    closed = close(client, voters["O-1"], proposal["id"])
    assert (closed["status"], closed["outcome"], closed["status_label"]) == (
        "closed", "withdrawn", "已结束")
    assert closed["tally"]["closed_early"] is True and closed["closed_at"] < closed["closes_at"]
    assert closed["tally"]["counts"]["object"]["rooms"] == 2  # the figures are published too


def test_the_result_is_frozen_with_its_figures_and_published_to_the_owners(
        app, client, voters, rooms_by_label):
    proposal = {"id": vote_at(app, opened=utc_now() - timedelta(days=9), close=True, ballots=(
        ("openid-O-3", rooms_by_label["1-1-201"], "object"),))}
    with app.app_context():
        tick_inline()  # the owners' notices the close recorded
    closed = client.get(f"/api/v1/fund-proposals/{proposal['id']}", headers=voters["O-2"]).json
    frozen = client.get(f"/api/v1/fund-proposals/{proposal['id']}/tally", headers=voters["O-2"]).json
    assert frozen["outcome"] == "rejected" and frozen["status"] == "closed"
    assert frozen["counts"]["object"] == {"rooms": 2, "area_m2": "218.80", "headcount": 1}
    assert frozen["chain_head"] == closed["chain_head"] and frozen["ballots"] == 1
    # later changes to the rows underneath do not move the published figures
    with app.app_context():
        db.session.execute(db.update(FundEligibleRoom).values(area_m2=1))
        db.session.commit()
    again = client.get(f"/api/v1/fund-proposals/{proposal['id']}/tally", headers=voters["O-2"]).json
    assert again == frozen
    for ref in ("O-1", "O-2", "O-3"):
        notes = [n for n in client.get("/api/v1/notifications", headers=voters[ref]).json["items"]
                 if n["kind"] == "fund_result"]
        assert len(notes) == 1, ref
        assert "未通过" in notes[0]["body"] and "218.80" in notes[0]["body"]
    refused = client.post(f"/api/v1/fund-proposals/{proposal['id']}/ballots", headers=voters["O-2"],
                          json={"room_id": rooms_by_label["1-1-102"], "choice": "object"})
    assert refused.status_code == 409 and refused.json["error"]["code"] == "voting_closed"


def test_only_the_committee_closes_early_and_only_once(client, voters, staff, fund_proposal):
    proposal = fund_proposal()
    url = f"/api/v1/fund-proposals/{proposal['id']}/close"
    for headers in (voters["O-2"], staff("manager")):
        response = client.post(url, headers=headers)
        assert response.status_code == 403 and response.json["error"]["code"] == "not_committee"
    assert client.post(url, headers=voters["O-1"]).status_code == 200
    twice = client.post(url, headers=voters["O-1"])
    assert twice.status_code == 409 and twice.json["error"]["code"] == "not_voting"
    draft = fund_proposal(open=False)
    response = client.post(f"/api/v1/fund-proposals/{draft['id']}/close", headers=voters["O-1"])
    assert response.status_code == 409


def test_past_its_deadline_a_read_shows_the_outcome_the_job_then_freezes(app, client, voters,
                                                                         rooms_by_label):
    proposal = {"id": closing_in(app, 5, rule="civil_code_use")}  # time to vote on a busy machine
    deadline = closes_at(app, proposal["id"])
    url = f"/api/v1/fund-proposals/{proposal['id']}"
    for ref, room in (("O-2", "1-1-102"), ("O-3", "1-1-201")):
        cast_ballot(client, voters[ref], proposal["id"], rooms_by_label[room], "approve")
    wait_past(deadline)
    # reads show it closed with the outcome as it will be frozen...
    listed = client.get("/api/v1/fund-proposals", headers=voters["O-2"]).json["items"]
    assert [(p["status"], p["outcome"]) for p in listed] == [("closed", "passed")]
    shown = client.get(url, headers=voters["O-2"]).json
    assert shown["tally"]["frozen"] is False and shown["tally"]["closed_early"] is False
    # the result's publicity runs from the final result (after the query window)
    assert shown["closed_at"] == shown["closes_at"] and shown["stage"] == "query"
    # ...and change nothing: the vote is still open in the database, nobody told
    with app.app_context():
        stored = db.session.get(FundProposal, proposal["id"])
        assert stored.status.value == "voting" and stored.closed_at is None
        assert db.session.scalar(db.select(db.func.count()).select_from(Notification)
                                 .where(Notification.kind == "fund_result")) == 0
    # the close job (due since the deadline) freezes exactly what was shown
    with app.app_context():
        tick_inline()
    frozen = client.get(url, headers=voters["O-2"]).json
    assert frozen["tally"]["frozen"] is True
    assert {k: v for k, v in frozen.items() if k != "tally"} == {
        k: v for k, v in shown.items() if k != "tally"}
    assert {k: v for k, v in frozen["tally"].items() if k != "frozen"} == {
        k: v for k, v in shown["tally"].items() if k != "frozen"}
    with app.app_context():
        stored = db.session.get(FundProposal, proposal["id"])
        assert stored.status.value == "closed" and stored.outcome.value == "passed"


def test_reads_never_write_even_past_the_deadline(app, client, voters):
    """The app refuses a GET that would flush a change (appclass); every fund read of
    an overdue vote goes through without tripping it."""
    proposal = {"id": closing_in(app, 1)}
    wait_past(closes_at(app, proposal["id"]))
    url = f"/api/v1/fund-proposals/{proposal['id']}"
    for path in ("/api/v1/fund-proposals", url, f"{url}/tally", f"{url}/ballots", f"{url}/audit"):
        response = client.get(path, headers=voters["O-1"])
        assert response.status_code == 200, (path, response.json)


def test_the_periodic_sweep_closes_an_overdue_vote_nobody_looks_at(app, client, voters):
    proposal = {"id": closing_in(app, 1)}
    wait_past(closes_at(app, proposal["id"]))
    with app.app_context():
        tick_inline()  # what the worker's tick (or `flask tick`) runs
    with app.app_context():
        stored = db.session.get(FundProposal, proposal["id"])
        assert stored.status.value == "closed" and stored.outcome.value == "passed"
        assert stored.closed_by_id is None
        results = db.session.scalar(db.select(db.func.count()).select_from(Notification)
                                    .where(Notification.kind == "fund_result"))
        assert results == 3


def test_closing_happens_once_when_many_try_at_the_same_time(app, voters, fund_proposal):
    proposal = fund_proposal()
    with app.app_context():
        after = db.session.get(FundProposal, proposal["id"]).closes_at + timedelta(seconds=1)

    def attempt(_):
        with app.app_context():
            closed = fund_service.close_voting(proposal["id"], now=after)
            db.session.commit()
            return closed

    with ThreadPoolExecutor(max_workers=8) as pool:
        outcomes = list(pool.map(attempt, range(8)))
    assert outcomes.count(True) == 1
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count()).select_from(Notification)
                                 .where(Notification.kind == "fund_result")) == 3
        assert db.session.scalar(db.select(db.func.count()).select_from(OutboxJob)
                                 .where(OutboxJob.dedupe_key == f"fund-result-{proposal['id']}")) == 1


def test_two_rq_workers_close_the_vote_at_its_deadline_exactly_once(
        make_app, redis_url, rq_worker, voters, rooms_by_label):
    app = make_app(REDIS_URL=redis_url, WECHAT_APPID="")
    client = app.test_client()  # same database and secret: the voters' tokens work
    rq_worker(WECHAT_APPID="")
    rq_worker(WECHAT_APPID="")
    created = {"id": closing_in(app, 4)}  # opened 8 days ago, closing in 4 s
    deadline = closes_at(app, created["id"])
    with app.app_context():
        relay_pending()  # what a request's commit does: the close job goes to rq
    cast_ballot(client, voters["O-3"], created["id"], rooms_by_label["1-1-201"], "object")

    def state():
        with app.app_context():
            return db.session.get(FundProposal, created["id"]).status.value

    # well inside the sweep's 60 s: the job scheduled at the deadline closes it
    wait_for(lambda: state() == "closed", timeout=30, interval=0.3)

    def result_notes():
        with app.app_context():
            return db.session.scalar(db.select(db.func.count()).select_from(Notification)
                                     .where(Notification.kind == "fund_result"))

    wait_for(lambda: result_notes() == 3, timeout=30)

    def close_job_done():
        # the job commits the close inside its function, then marks its outbox row
        with app.app_context():
            return db.session.scalar(db.select(OutboxJob.done_at).where(
                OutboxJob.dedupe_key == f"fund-close-{created['id']}"))

    wait_for(close_job_done, timeout=30)
    with app.app_context():
        stored = db.session.get(FundProposal, created["id"])
        assert stored.outcome.value == "rejected"  # O-3: 218.80/437.60 > 1/3
        assert stored.closed_at >= deadline and stored.closed_by_id is None
        job = db.session.scalar(db.select(OutboxJob).where(
            OutboxJob.dedupe_key == f"fund-close-{created['id']}"))
        assert job.done_at is not None
        user = db.session.scalar(db.select(User).filter_by(openid="openid-O-2"))
        assert db.session.scalar(db.select(db.func.count()).select_from(Notification).where(
            Notification.user_id == user.id, Notification.kind == "fund_result")) == 1
    time.sleep(1)  # a late duplicate would have had time to land
    assert result_notes() == 3
