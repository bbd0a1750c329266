"""Fund ballots: who may vote, one choice per owner covering all their rooms, final
once cast, the snapshot against later ledger imports, privacy, and 50 racing ballots.

Building 1: 1-1-101 (O-1, 98.50 m²), 1-1-102 (O-2, 120.30), 1-1-201 + 1-1-202 (O-3,
98.50 + 120.30). Building 2: 2-1-101 (O-4, 76.40) and two unsold rooms of 76.40."""
from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy.exc import IntegrityError

from backend.extensions import db
from backend.models import FundBallot, FundBallotRoom, FundProposal
from backend.services.community import get_or_create_community
from backend.services.ledger import import_ledger
from tests.conftest import DEMO_LEDGER
from tests.fund_helpers import closing_in


@pytest.fixture
def app(make_app):
    return make_app(WECHAT_APPID="")


def vote(client, headers, proposal_id, room_id, choice="object"):
    return client.post(f"/api/v1/fund-proposals/{proposal_id}/ballots", headers=headers,
                       json={"room_id": room_id, "choice": choice})


def tally(client, headers, proposal_id):
    response = client.get(f"/api/v1/fund-proposals/{proposal_id}/tally", headers=headers)
    assert response.status_code == 200, response.json
    return response.json


def test_an_owner_objects_gets_a_receipt_and_the_choice_is_final(client, owner, rooms_by_label,
                                                                 fund_proposal):
    voter = owner("O-2")
    proposal = fund_proposal()
    response = vote(client, voter, proposal["id"], rooms_by_label["1-1-102"])
    assert response.status_code == 201, response.json
    receipt = response.json["receipt"]
    assert len(receipt) >= 20 and response.json["seq"] == 1
    assert [r["label"] for r in response.json["rooms"]] == ["1栋1单元102"]
    again = vote(client, voter, proposal["id"], rooms_by_label["1-1-102"])
    assert again.status_code == 409 and again.json["error"]["code"] == "already_voted"
    figures = tally(client, voter, proposal["id"])
    assert figures["counts"]["object"] == {"rooms": 1, "area_m2": "120.30", "headcount": 1}
    assert figures["participating"] == figures["counts"]["object"]
    assert figures["outcome"] == "pending"
    mine = client.get(f"/api/v1/fund-proposals/{proposal['id']}", headers=voter).json
    assert [b["receipt"] for b in mine["my_ballots"]] == [receipt]
    assert mine["my_rooms"] == [{"room_id": rooms_by_label["1-1-102"], "label": "1栋1单元102",
                                 "area_m2": "120.30", "voted": True}]
    assert mine["can_vote"] is False


def test_one_choice_covers_all_of_an_owners_rooms_in_scope(client, owner, rooms_by_label, fund_proposal):
    voter = owner("O-3")
    proposal = fund_proposal(rule="civil_code_use")
    response = vote(client, voter, proposal["id"], rooms_by_label["1-1-201"], "approve")
    assert response.status_code == 201
    assert [r["label"] for r in response.json["rooms"]] == ["1栋1单元201", "1栋1单元202"]
    other_room = vote(client, voter, proposal["id"], rooms_by_label["1-1-202"], "oppose")
    assert other_room.status_code == 409 and other_room.json["error"]["code"] == "already_voted"
    figures = tally(client, voter, proposal["id"])
    assert figures["counts"]["approve"] == {"rooms": 2, "area_m2": "218.80", "headcount": 1}
    assert figures["counts"]["oppose"] == {"rooms": 0, "area_m2": "0.00", "headcount": 0}
    assert figures["eligible"] == {"rooms": 4, "area_m2": "437.60", "headcount": 3}


def test_choices_must_fit_the_rule(client, owner, rooms_by_label, fund_proposal):
    voter = owner("O-2")
    objection = fund_proposal()
    wrong = vote(client, voter, objection["id"], rooms_by_label["1-1-102"], "approve")
    assert wrong.status_code == 400 and wrong.json["error"]["code"] == "invalid_choice"
    civil = fund_proposal(rule="civil_code_major")
    wrong = vote(client, voter, civil["id"], rooms_by_label["1-1-102"], "object")
    assert wrong.status_code == 400 and wrong.json["error"]["code"] == "invalid_choice"
    unknown = vote(client, voter, civil["id"], rooms_by_label["1-1-102"], "maybe")
    assert unknown.status_code == 400 and unknown.json["error"]["code"] == "validation_error"
    for body in ({"room_id": "abc", "choice": "approve"}, {"choice": "approve"}, [1, 2]):
        response = client.post(f"/api/v1/fund-proposals/{civil['id']}/ballots", headers=voter, json=body)
        assert response.status_code == 400
    assert vote(client, voter, civil["id"], rooms_by_label["1-1-102"], "abstain").status_code == 201


def test_only_the_owner_of_record_of_a_room_in_scope_votes(client, owner, staff, login, rooms_by_label,
                                                           fund_proposal):
    proposal = fund_proposal()
    someone_elses = vote(client, owner("O-2"), proposal["id"], rooms_by_label["1-1-101"])
    assert someone_elses.status_code == 403
    assert someone_elses.json["error"]["code"] == "not_owner_of_record"
    out_of_scope = vote(client, owner("O-4"), proposal["id"], rooms_by_label["2-1-101"])
    assert out_of_scope.status_code == 403
    assert out_of_scope.json["error"]["code"] == "room_not_in_scope"
    desk = vote(client, staff("desk"), proposal["id"], rooms_by_label["1-1-102"])
    assert desk.status_code == 403
    assert vote(client, login("stranger"), proposal["id"], rooms_by_label["1-1-102"]).status_code == 404
    assert vote(client, owner("O-2"), 99999, rooms_by_label["1-1-102"]).status_code == 404
    assert client.post(f"/api/v1/fund-proposals/{proposal['id']}/ballots",
                       json={"room_id": 1, "choice": "object"}).status_code == 401


def test_unsold_rooms_count_in_the_totals_as_one_person(client, owner, committee, rooms_by_label,
                                                        fund_proposal):
    proposal = fund_proposal(scope={"buildings": ["2"]}, rule="civil_code_use")
    figures = tally(client, committee("O-1"), proposal["id"])
    # 2-1-101 (O-4) and the developer's two unsold rooms: 3 rooms, 229.20 m², 2 people
    assert figures["eligible"] == {"rooms": 3, "area_m2": "229.20", "headcount": 2}
    assert vote(client, owner("O-4"), proposal["id"], rooms_by_label["2-1-101"], "approve").status_code == 201
    figures = tally(client, committee("O-1"), proposal["id"])
    assert figures["participating"] == {"rooms": 1, "area_m2": "76.40", "headcount": 1}


def test_a_later_ledger_import_changes_nothing_about_an_open_vote(app, client, owner, committee,
                                                                  login, rooms_by_label, fund_proposal):
    seller = owner("O-2")
    proposal = fund_proposal()
    before = tally(client, committee("O-1"), proposal["id"])
    # 1-1-102 is sold to a new owner O-9 and 1-1-101's area is corrected in the ledger
    changed = (DEMO_LEDGER.replace("1,1,102,120.30,O-2,李四,13900000002", "1,1,102,120.30,O-9,孙九,13900000009")
               .replace("1,1,101,98.50", "1,1,101,99.00"))
    with app.app_context():
        community, _ = get_or_create_community("测试小区")
        import_ledger(community, changed)
        db.session.commit()
    assert tally(client, committee("O-1"), proposal["id"]) == before
    buyer = login("buyer")
    assert client.post("/api/v1/me/rooms", headers=buyer, json={
        "building": "1", "unit": "1", "number": "102", "owner_name": "孙九",
        "phone": "13900000009"}).status_code == 201
    refused = vote(client, buyer, proposal["id"], rooms_by_label["1-1-102"])
    assert refused.status_code == 403  # not the owner of record when voting opened
    assert vote(client, seller, proposal["id"], rooms_by_label["1-1-102"]).status_code == 201


def test_only_the_committee_sees_who_chose_what(client, owner, committee, staff, rooms_by_label,
                                                fund_proposal):
    proposal = fund_proposal(rule="civil_code_use")
    url = f"/api/v1/fund-proposals/{proposal['id']}"
    li, wang = owner("O-2"), owner("O-3")
    assert vote(client, li, proposal["id"], rooms_by_label["1-1-102"], "oppose").status_code == 201
    assert vote(client, wang, proposal["id"], rooms_by_label["1-1-201"], "approve").status_code == 201
    # an owner sees their own ballot and the aggregate figures, never another's choice
    own = client.get(f"{url}/ballots", headers=li).json
    assert own["all_visible"] is False
    assert [(b["voter"], b["choice"]) for b in own["items"]] == [("李四", "oppose")]
    detail = client.get(url, headers=li).json
    assert [b["choice"] for b in detail["my_ballots"]] == ["oppose"]
    assert "王五" not in str(detail)
    log = client.get(f"{url}/audit", headers=li).json["entries"]
    assert [("choice" in e, "receipt" in e, "voter" in e, e["mine"]) for e in log] == [
        (True, True, False, True), (False, False, False, False)]
    # the manager sees figures but not choices
    manager = client.get(f"{url}/ballots", headers=staff("manager")).json
    assert manager["items"] == [] and manager["all_visible"] is False
    assert tally(client, staff("manager"), proposal["id"])["counts"]["approve"]["headcount"] == 1
    # the committee (here O-5, who owns a shop outside the scope) sees every ballot
    board = client.get(f"{url}/ballots", headers=committee("O-5")).json
    assert board["all_visible"] is True
    assert [(b["voter"], b["choice"], [r["label"] for r in b["rooms"]]) for b in board["items"]] == [
        ("李四", "oppose", ["1栋1单元102"]),
        ("王五", "approve", ["1栋1单元201", "1栋1单元202"])]


def test_a_ballot_after_the_deadline_is_refused_and_the_vote_reads_as_closed(app, client, owner,
                                                                            committee,
                                                                            rooms_by_label):
    import time

    voter = owner("O-2")
    committee("O-1")
    proposal = {"id": closing_in(app, 2)}
    with app.app_context():
        deadline = db.session.get(FundProposal, proposal["id"]).closes_at
    while datetime.now(timezone.utc) <= deadline + timedelta(milliseconds=50):
        time.sleep(0.1)
    late = vote(client, voter, proposal["id"], rooms_by_label["1-1-102"])
    assert late.status_code == 409 and late.json["error"]["code"] == "voting_closed"
    # the refusal stored nothing and closed nothing: closing is the job's
    with app.app_context():
        stored = db.session.get(FundProposal, proposal["id"])
        assert stored.status.value == "voting" and stored.result is None
        assert db.session.scalar(db.select(db.func.count()).select_from(FundBallot)) == 0
    # ...yet nobody sees it open: it reads as closed, with the outcome it will have
    shown = client.get(f"/api/v1/fund-proposals/{proposal['id']}", headers=voter).json
    assert (shown["status"], shown["status_label"], shown["outcome"]) == ("closed", "已结束", "passed")
    assert shown["can_vote"] is False


def test_one_ballot_per_room_is_a_database_constraint(app, owner, rooms_by_label, client, fund_proposal):
    proposal = fund_proposal()
    assert vote(client, owner("O-2"), proposal["id"], rooms_by_label["1-1-102"]).status_code == 201
    with app.app_context():
        first = db.session.scalar(db.select(FundBallot))
        sneaky = FundBallot(proposal_id=proposal["id"], seq=2, voter_key=first.voter_key + 1000,
                            choice=first.choice, cast_at=first.cast_at, receipt="x" * 22,
                            digest="0" * 64, prev_hash=first.entry_hash, entry_hash="1" * 64)
        db.session.add(sneaky)
        db.session.flush()
        db.session.add(FundBallotRoom(proposal_id=proposal["id"], room_id=rooms_by_label["1-1-102"],
                                      ballot_id=sneaky.id))
        with pytest.raises(IntegrityError):
            db.session.flush()
        db.session.rollback()
        # and a ballot for a room outside the snapshot is refused by the foreign key
        db.session.add(sneaky)
        db.session.flush()
        db.session.add(FundBallotRoom(proposal_id=proposal["id"], room_id=rooms_by_label["2-1-101"],
                                      ballot_id=sneaky.id))
        with pytest.raises(IntegrityError):
            db.session.flush()
        db.session.rollback()


def _race(app, headers, proposal_id, room_list, choice="object"):
    """Send len(room_list) ballots at once from as many threads."""
    barrier = threading.Barrier(len(room_list))

    def one(room_id):
        client = app.test_client()
        barrier.wait()
        response = vote(client, headers, proposal_id, room_id, choice)
        return response.status_code, response.json

    with ThreadPoolExecutor(max_workers=len(room_list)) as pool:
        return list(pool.map(one, room_list))


def test_fifty_parallel_ballots_for_one_room_store_one(app, owner, rooms_by_label, fund_proposal):
    voter = owner("O-2")
    proposal = fund_proposal()
    results = _race(app, voter, proposal["id"], [rooms_by_label["1-1-102"]] * 50)
    statuses = sorted(status for status, _ in results)
    assert statuses == [201] + [409] * 49, statuses
    assert {body["error"]["code"] for status, body in results if status == 409} == {"already_voted"}
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count()).select_from(FundBallot)) == 1
        assert db.session.scalar(db.select(db.func.count()).select_from(FundBallotRoom)) == 1


def test_parallel_ballots_for_the_two_rooms_of_one_owner_store_one(app, owner, rooms_by_label,
                                                                   fund_proposal):
    voter = owner("O-3")
    proposal = fund_proposal()
    results = _race(app, voter, proposal["id"], [rooms_by_label["1-1-201"], rooms_by_label["1-1-202"]] * 25)
    assert sorted(s for s, _ in results) == [201] + [409] * 49
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count()).select_from(FundBallot)) == 1
        assert db.session.scalar(db.select(db.func.count()).select_from(FundBallotRoom)) == 2
