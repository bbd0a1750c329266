"""Tamper evidence: the ballots' hash chain, its head published with the result, the
audit log (owners find their receipt; only the committee sees choices), and
``flask verify-ballots`` catching edits, deletions and insertions after the fact."""
from __future__ import annotations

import pytest

from backend.extensions import db
from backend.models import FundBallot, FundBallotRoom, FundEligibleRoom, FundProposal
from backend.rules import fund_chain


@pytest.fixture
def app(make_app):
    return make_app(WECHAT_APPID="")


@pytest.fixture
def closed_vote(client, owner, committee, rooms_by_label, fund_proposal):
    """A civil-code vote in building 1: O-2 opposes, O-3 approves; closed early by O-1
    (O-1 has not voted: withdrawn)."""
    voters = {"O-1": committee("O-1"), "O-2": owner("O-2"), "O-3": owner("O-3")}
    proposal = fund_proposal(rule="civil_code_use")
    url = f"/api/v1/fund-proposals/{proposal['id']}"
    receipts = {}
    for ref, room, choice in (("O-2", "1-1-102", "oppose"), ("O-3", "1-1-201", "approve")):
        response = client.post(f"{url}/ballots", headers=voters[ref],
                               json={"room_id": rooms_by_label[room], "choice": choice})
        assert response.status_code == 201
        receipts[ref] = response.json
    closed = client.post(f"{url}/close", headers=voters["O-1"])
    assert closed.status_code == 200 and closed.json["outcome"] == "withdrawn"
    return {"id": proposal["id"], "url": url, "voters": voters, "receipts": receipts,
            "closed": closed.json}


def verify(app, proposal_id):
    result = app.test_cli_runner().invoke(args=["verify-ballots", str(proposal_id)])
    return result.exit_code, result.output


def test_the_chain_head_is_published_and_anyone_can_check_the_links(client, closed_vote):
    log = client.get(f"{closed_vote['url']}/audit?verify=true",
                     headers=closed_vote["voters"]["O-2"]).json
    assert log["algorithm"] == "sha256" and log["ballots"] == 2 and log["intact"] is True
    assert log["head"] == log["published_head"] == closed_vote["closed"]["chain_head"]
    # the public entries are enough to recompute every link up to the published head
    prev = log["genesis_hash"]
    for entry in log["entries"]:
        assert entry["prev_hash"] == prev
        prev = fund_chain.link_hash(prev, closed_vote["id"], entry["seq"], entry["digest"])
        assert prev == entry["entry_hash"]
    assert prev == log["published_head"]


def test_an_owner_finds_their_receipt_and_can_recompute_their_entry(client, closed_vote):
    mine = closed_vote["receipts"]["O-2"]
    found = client.get(f"{closed_vote['url']}/audit", query_string={"receipt": mine["receipt"]},
                       headers=closed_vote["voters"]["O-2"]).json
    assert found["receipt_found"] is True
    [entry] = found["entries"]
    assert entry["mine"] and entry["receipt"] == mine["receipt"] and entry["choice"] == "oppose"
    # what the owner was given when voting reproduces the digest in the public log
    from datetime import datetime

    digest = fund_chain.ballot_digest(closed_vote["id"], mine["seq"], mine["voter_key"],
                                      [r["room_id"] for r in mine["rooms"]], mine["choice"],
                                      datetime.fromisoformat(mine["cast_at"]), mine["receipt"])
    assert digest == entry["digest"] == mine["digest"]
    missing = client.get(f"{closed_vote['url']}/audit", query_string={"receipt": "not-a-receipt"},
                         headers=closed_vote["voters"]["O-2"]).json
    assert missing["receipt_found"] is False and missing["entries"] == []


def test_the_log_shows_choices_only_to_the_committee(client, staff, closed_vote):
    public = client.get(f"{closed_vote['url']}/audit", headers=staff("manager")).json
    assert all(set(e) == {"seq", "cast_at", "digest", "prev_hash", "entry_hash", "mine"}
               for e in public["entries"])
    board = client.get(f"{closed_vote['url']}/audit", headers=closed_vote["voters"]["O-1"]).json
    assert [(e["voter"], e["choice"]) for e in board["entries"]] == [("李四", "oppose"),
                                                                     ("王五", "approve")]
    assert all("receipt" not in e for e in board["entries"])  # receipts stay with their owners


def test_the_log_pages(client, closed_vote):
    headers = closed_vote["voters"]["O-1"]
    first = client.get(f"{closed_vote['url']}/audit?limit=1", headers=headers).json
    assert [e["seq"] for e in first["entries"]] == [1] and first["next_cursor"]
    second = client.get(f"{closed_vote['url']}/audit?limit=1&cursor={first['next_cursor']}",
                        headers=headers).json
    assert [e["seq"] for e in second["entries"]] == [2] and second["next_cursor"] is None


def test_verify_ballots_passes_an_untouched_log(app, closed_vote):
    code, output = verify(app, closed_vote["id"])
    assert code == 0, output
    assert "OK, 2 ballot(s)" in output and closed_vote["closed"]["chain_head"] in output


def test_verify_ballots_finds_an_edited_choice(app, client, closed_vote):
    with app.app_context():
        db.session.execute(db.update(FundBallot).where(FundBallot.seq == 1).values(choice="approve"))
        db.session.commit()
    code, output = verify(app, closed_vote["id"])
    assert code == 1
    assert "seq 1: edited" in output
    board = client.get(f"{closed_vote['url']}/audit?verify=true",
                       headers=closed_vote["voters"]["O-1"]).json
    assert board["intact"] is False and any("seq 1: edited" in p for p in board["problems"])
    public = client.get(f"{closed_vote['url']}/audit?verify=1", headers=closed_vote["voters"]["O-2"]).json
    assert public["intact"] is False and public["problems"] == []
    unchecked = client.get(f"{closed_vote['url']}/audit?verify=false",
                           headers=closed_vote["voters"]["O-2"]).json
    assert unchecked["intact"] is None


def test_verify_ballots_finds_a_deleted_ballot(app, closed_vote):
    with app.app_context():
        db.session.execute(db.delete(FundBallot).where(FundBallot.seq == 1))
        db.session.commit()
    code, output = verify(app, closed_vote["id"])
    assert code == 1
    assert "seq 1: deleted" in output and "seq 2: broken_link" in output


def test_verify_ballots_finds_a_ballot_inserted_after_the_result(app, rooms_by_label, closed_vote):
    """A forger with database access appends a well-formed ballot for O-1 after the close:
    only the head published with the result gives it away."""
    with app.app_context():
        last = db.session.scalar(db.select(FundBallot).order_by(FundBallot.seq.desc()))
        room = db.session.get(FundEligibleRoom, (closed_vote["id"], rooms_by_label["1-1-101"]))
        digest = fund_chain.ballot_digest(closed_vote["id"], 3, room.owner_key, [room.room_id],
                                          "approve", last.cast_at, "forged-receipt")
        forged = FundBallot(proposal_id=closed_vote["id"], seq=3, voter_key=room.owner_key,
                            choice="approve", cast_at=last.cast_at, receipt="forged-receipt",
                            digest=digest, prev_hash=last.entry_hash,
                            entry_hash=fund_chain.link_hash(last.entry_hash, closed_vote["id"], 3, digest))
        db.session.add(forged)
        db.session.flush()
        db.session.add(FundBallotRoom(proposal_id=closed_vote["id"], room_id=room.room_id,
                                      ballot_id=forged.id))
        db.session.commit()
    code, output = verify(app, closed_vote["id"])
    assert code == 1
    assert "seq 3: inserted" in output


def test_verify_ballots_finds_a_changed_snapshot(app, client, rooms_by_label, closed_vote):
    before = client.get(f"{closed_vote['url']}/tally", headers=closed_vote["voters"]["O-2"]).json
    with app.app_context():
        db.session.execute(db.update(FundEligibleRoom).where(
            FundEligibleRoom.room_id == rooms_by_label["1-1-102"]).values(area_m2=10))
        db.session.commit()
    code, output = verify(app, closed_vote["id"])
    assert code == 1 and "snapshot" in output
    # the published figures did not move
    after = client.get(f"{closed_vote['url']}/tally", headers=closed_vote["voters"]["O-2"]).json
    assert after == before


def test_verify_ballots_on_an_open_vote_and_an_unknown_proposal(app, fund_proposal):
    proposal = fund_proposal()
    code, output = verify(app, proposal["id"])
    assert code == 0 and "OK, 0 ballot(s)" in output
    code, output = verify(app, 987654)
    assert code != 0 and "找不到" in output
    with app.app_context():
        assert db.session.get(FundProposal, proposal["id"]).status.value == "voting"
