"""Fund decisions as cities practise them (issue #15): publicity before voting with
questions, paper ballots, proxies, withdrawing an objection, one change where the
community allows it, the preliminary result, the query window and the final
result; ``verify-ballots`` over all kinds of entry."""
from __future__ import annotations

from datetime import timedelta

import pytest

from backend.extensions import db
from tests.fund_helpers import close_at_deadline, grant_proxy_wang_to_zhao, upload_photo, user


def _url(proposal) -> str:
    return f"/api/v1/fund-proposals/{proposal['id']}"


def test_a_paper_ballot_counts_once_and_the_owner_sees_it(client, owner, staff, committee,
                                                          rooms_by_label, fund_proposal, images):
    proposal = fund_proposal(rule="civil_code_use")
    desk = staff("desk")
    photo = upload_photo(client, desk, images)
    paper = client.post(f"{_url(proposal)}/paper-ballots", headers=desk, json={
        "room_id": rooms_by_label["1-1-102"], "choice": "approve", "photo_id": photo["id"]})
    assert paper.status_code == 201, paper.json
    assert paper.json["kind"] == "paper" and paper.json["photo_sha256"] == photo["sha256"]
    assert paper.json["entered_by"]
    # the owner cannot also vote online, nor be entered twice
    li = owner("O-2")
    again = client.post(f"{_url(proposal)}/ballots", headers=li,
                        json={"room_id": rooms_by_label["1-1-102"], "choice": "oppose"})
    assert again.status_code == 409 and "线下" in again.json["error"]["message"]
    twice = client.post(f"{_url(proposal)}/paper-ballots", headers=desk, json={
        "room_id": rooms_by_label["1-1-102"], "choice": "oppose", "photo_id": photo["id"]})
    assert twice.status_code == 409
    detail = client.get(_url(proposal), headers=li).json
    assert [b["kind_label"] for b in detail["my_ballots"]] == ["线下已投"]
    assert detail["can_vote"] is False
    assert detail["tally"]["counts"]["approve"]["area_m2"] == "120.30"
    # the reverse: an owner who voted online cannot be entered on paper
    online = client.post(f"{_url(proposal)}/ballots", headers=owner("O-1"),
                         json={"room_id": rooms_by_label["1-1-101"], "choice": "oppose"})
    assert online.status_code == 201
    entered = client.post(f"{_url(proposal)}/paper-ballots", headers=desk, json={
        "room_id": rooms_by_label["1-1-101"], "choice": "approve", "photo_id": photo["id"]})
    assert entered.status_code == 409 and entered.json["error"]["code"] == "already_voted"
    # an owner may not enter paper ballots
    refused = client.post(f"{_url(proposal)}/paper-ballots", headers=owner("O-3"), json={
        "room_id": rooms_by_label["1-1-201"], "choice": "approve", "photo_id": photo["id"]})
    assert refused.status_code in (403, 400)


@pytest.fixture
def proxy_setup(app, client, owner, rooms_by_label, fund_proposal, images):
    proposal = fund_proposal(rule="civil_code_use")
    # 赵六 lives in building 2: outside the scope
    wang, zhao = grant_proxy_wang_to_zhao(app, client, owner, rooms_by_label, images, proposal)
    return proposal, wang, zhao


def test_a_proxy_votes_for_the_owners_rooms_once(client, rooms_by_label, proxy_setup):
    proposal, wang, zhao = proxy_setup
    seen = client.get(_url(proposal), headers=zhao).json
    assert [r["label"] for r in seen["proxy_rooms"]] and seen["can_vote"] is True
    voted = client.post(f"{_url(proposal)}/ballots", headers=zhao,
                        json={"room_id": rooms_by_label["1-1-201"], "choice": "approve"})
    assert voted.status_code == 201 and voted.json["kind"] == "proxy"
    assert [r["label"] for r in voted.json["rooms"]] == ["1栋1单元201", "1栋1单元202"] or len(
        voted.json["rooms"]) == 2
    # the owner can neither vote nor revoke any more
    own = client.post(f"{_url(proposal)}/ballots", headers=wang,
                      json={"room_id": rooms_by_label["1-1-202"], "choice": "oppose"})
    assert own.status_code == 409
    revoke = client.post(f"{_url(proposal)}/proxy/revoke", headers=wang,
                         json={"room_id": rooms_by_label["1-1-201"]})
    assert revoke.status_code == 409


def test_the_owner_revokes_or_votes_first_and_the_proxy_cannot(client, rooms_by_label, proxy_setup):
    proposal, wang, zhao = proxy_setup
    own = client.post(f"{_url(proposal)}/ballots", headers=wang,
                      json={"room_id": rooms_by_label["1-1-201"], "choice": "oppose"})
    assert own.status_code == 201 and own.json["kind"] == "online"
    late = client.post(f"{_url(proposal)}/ballots", headers=zhao,
                       json={"room_id": rooms_by_label["1-1-201"], "choice": "approve"})
    assert late.status_code == 409


def test_a_revoked_proxy_cannot_vote(client, rooms_by_label, proxy_setup):
    proposal, wang, zhao = proxy_setup
    revoked = client.post(f"{_url(proposal)}/proxy/revoke", headers=wang,
                          json={"room_id": rooms_by_label["1-1-201"]})
    assert revoked.status_code == 200 and revoked.json["revoked_at"]
    late = client.post(f"{_url(proposal)}/ballots", headers=zhao,
                       json={"room_id": rooms_by_label["1-1-201"], "choice": "approve"})
    assert late.status_code == 403 and late.json["error"]["code"] == "not_owner_of_record"


def test_an_objection_is_withdrawn_by_a_new_entry_and_the_tally_follows(client, owner,
                                                                        rooms_by_label, fund_proposal):
    proposal = fund_proposal()  # objection
    li = owner("O-2")
    room = rooms_by_label["1-1-102"]
    assert client.post(f"{_url(proposal)}/ballots", headers=li,
                       json={"room_id": room, "choice": "object"}).status_code == 201
    assert client.get(f"{_url(proposal)}/tally", headers=li).json["counts"]["object"]["headcount"] == 1
    withdrawn = client.post(f"{_url(proposal)}/ballots/withdraw", headers=li, json={"room_id": room})
    assert withdrawn.status_code == 201 and withdrawn.json["action"] == "withdraw"
    assert withdrawn.json["seq"] == 2
    assert client.get(f"{_url(proposal)}/tally", headers=li).json["counts"]["object"]["headcount"] == 0
    again = client.post(f"{_url(proposal)}/ballots/withdraw", headers=li, json={"room_id": room})
    assert again.status_code == 409
    detail = client.get(_url(proposal), headers=li).json
    assert detail["can_vote"] is False and detail["can_withdraw"] is False


def test_a_civil_code_ballot_is_final_unless_the_community_allows_one_change(
        app, client, owner, community, rooms_by_label, fund_proposal):
    proposal = fund_proposal(rule="civil_code_use")
    li, room = owner("O-2"), rooms_by_label["1-1-102"]
    client.post(f"{_url(proposal)}/ballots", headers=li, json={"room_id": room, "choice": "approve"})
    refused = client.post(f"{_url(proposal)}/ballots/change", headers=li,
                          json={"room_id": room, "choice": "oppose"})
    assert refused.status_code == 409 and refused.json["error"]["code"] == "ballot_final"
    with app.app_context():
        from backend.models import Community
        from backend.services.fund.settings import set_fund_rule

        set_fund_rule(db.session.get(Community, community["id"]), allow_change=True)
        db.session.commit()
    allowed = fund_proposal(rule="civil_code_use", title="外墙修缮")
    assert allowed["allow_change"] is True
    client.post(f"{_url(allowed)}/ballots", headers=li, json={"room_id": room, "choice": "approve"})
    changed = client.post(f"{_url(allowed)}/ballots/change", headers=li,
                          json={"room_id": room, "choice": "oppose"})
    assert changed.status_code == 201 and changed.json["action"] == "change"
    tally = client.get(f"{_url(allowed)}/tally", headers=li).json
    assert tally["counts"]["approve"]["headcount"] == 0 and tally["counts"]["oppose"]["headcount"] == 1
    twice = client.post(f"{_url(allowed)}/ballots/change", headers=li,
                        json={"room_id": room, "choice": "abstain"})
    assert twice.status_code == 409


def test_publishing_starts_the_publicity_period_with_questions_and_answers(
        client, owner, committee, fund_proposal):
    chair = committee("O-1")
    draft = fund_proposal(open=False, closes_at=None) if False else fund_proposal(
        open=False, closes_at=(__import__("datetime").datetime.now(
            __import__("datetime").timezone.utc) + timedelta(days=20)).isoformat())
    published = client.post(f"{_url(draft)}/open", headers=chair)
    assert published.status_code == 200, published.json
    assert published.json["stage"] == "publicity" and published.json["stage_label"] == "公示中"
    assert published.json["notice_days"] == 7
    li = owner("O-2")
    early = client.post(f"{_url(draft)}/ballots", headers=li, json={"room_id": 1, "choice": "object"})
    assert early.status_code in (403, 409)
    asked = client.post(f"{_url(draft)}/comments", headers=li, json={"body": "报价有几家？"})
    assert asked.status_code == 201 and asked.json["stage"] == "publicity"
    outsider = client.post(f"{_url(draft)}/comments", headers=owner("O-4"), json={"body": "?"})
    assert outsider.status_code == 403
    answered = client.post(f"{_url(draft)}/comments/{asked.json['id']}/answer", headers=chair,
                           json={"answer": "三家，报价单已附。"})
    assert answered.status_code == 200
    [item] = client.get(f"{_url(draft)}/comments", headers=owner("O-3")).json["items"]
    assert item["answer"] == "三家，报价单已附。"
    # too short a publicity: a deadline within notice + window is refused on publishing
    short = fund_proposal(open=False, title="短期")
    refused = client.post(f"{_url(short)}/open", headers=chair)
    assert refused.status_code == 400 and refused.json["error"]["code"] == "voting_window_too_short"


def test_the_result_is_preliminary_through_the_query_window_then_final(
        app, client, owner, committee, rooms_by_label, fund_proposal):
    chair, li = committee("O-1"), owner("O-2")
    proposal = fund_proposal(rule="civil_code_use")
    for ref, room in (("O-1", "1-1-101"), ("O-2", "1-1-102"), ("O-3", "1-1-201")):
        client.post(f"{_url(proposal)}/ballots", headers=owner(ref) if ref != "O-1" else chair,
                    json={"room_id": rooms_by_label[room], "choice": "approve"})
    close_at_deadline(app, proposal["id"], final=False)
    detail = client.get(_url(proposal), headers=li).json
    assert detail["stage"] == "query" and detail["stage_label"] == "询异期"
    assert detail["outcome"] == "passed" and detail["query_ends_at"]
    query = client.post(f"{_url(proposal)}/comments", headers=li, json={"body": "我的票算了吗？"})
    assert query.status_code == 201 and query.json["stage"] == "query"
    early = client.post(f"{_url(proposal)}/finalise", headers=chair)
    assert early.status_code == 409 and early.json["error"]["code"] == "query_window_open"
    with app.app_context():
        from backend.models import FundProposal
        from backend.services import fund as fund_service

        stored = db.session.get(FundProposal, proposal["id"])
        with pytest.raises(Exception) as unanswered:
            fund_service.finalise(user("openid-O-1"), proposal["id"], now=stored.query_ends_at)
        assert getattr(unanswered.value, "code", "") == "queries_unanswered"
        db.session.rollback()
    client.post(f"{_url(proposal)}/comments/{query.json['id']}/answer", headers=chair,
                json={"answer": "已计入。"})
    with app.app_context():
        from backend.models import FundProposal
        from backend.services import fund as fund_service

        stored = db.session.get(FundProposal, proposal["id"])
        fund_service.finalise(user("openid-O-1"), proposal["id"], now=stored.query_ends_at)
        db.session.commit()
    final = client.get(_url(proposal), headers=li).json
    assert final["stage"] == "published" and final["stage_label"] == "已公布"
    late = client.post(f"{_url(proposal)}/comments", headers=li, json={"body": "还有问题"})
    assert late.status_code == 409


def test_the_query_window_is_the_one_set_when_voting_opened(
        app, client, owner, community, rooms_by_label, fund_proposal):
    from backend.models import Community, FundProposal
    from backend.services.fund.settings import set_fund_rule

    def set_query_days(days):
        with app.app_context():
            set_fund_rule(db.session.get(Community, community["id"]), query_days=days)
            db.session.commit()

    set_query_days(5)
    proposal = fund_proposal(rule="civil_code_use")
    client.post(f"{_url(proposal)}/ballots", headers=owner("O-2"),
                json={"room_id": rooms_by_label["1-1-102"], "choice": "approve"})
    set_query_days(10)  # a later change is for later votes
    close_at_deadline(app, proposal["id"], final=False)
    with app.app_context():
        stored = db.session.get(FundProposal, proposal["id"])
        assert stored.query_ends_at - stored.closed_at == timedelta(days=5)


def test_verify_ballots_checks_online_paper_proxy_and_withdrawn_entries_and_names_an_edited_paper_one(
        app, client, owner, staff, rooms_by_label, fund_proposal, images):
    proposal = fund_proposal()  # objection
    desk = staff("desk")
    photo = upload_photo(client, desk, images)
    wang, zhao = grant_proxy_wang_to_zhao(app, client, owner, rooms_by_label, images, proposal)
    assert client.post(f"{_url(proposal)}/ballots", headers=zhao, json={
        "room_id": rooms_by_label["1-1-201"], "choice": "object"}).status_code == 201
    assert client.post(f"{_url(proposal)}/paper-ballots", headers=desk, json={
        "room_id": rooms_by_label["1-1-102"], "choice": "object",
        "photo_id": photo["id"]}).status_code == 201
    li = owner("O-1")
    assert client.post(f"{_url(proposal)}/ballots", headers=li, json={
        "room_id": rooms_by_label["1-1-101"], "choice": "object"}).status_code == 201
    assert client.post(f"{_url(proposal)}/ballots/withdraw", headers=li, json={
        "room_id": rooms_by_label["1-1-101"]}).status_code == 201
    runner = app.test_cli_runner()
    ok = runner.invoke(args=["verify-ballots", str(proposal["id"])])
    assert ok.exit_code == 0, ok.output
    assert "4 ballot(s)" in ok.output
    with app.app_context():
        from backend.models import BallotChoice, FundBallot
        from backend.models.fund import BallotKind

        paper = db.session.scalar(db.select(FundBallot).where(FundBallot.kind == BallotKind.paper))
        db.session.execute(db.update(FundBallot).where(FundBallot.id == paper.id)
                           .values(choice=BallotChoice.approve.value))
        db.session.commit()
        seq = paper.seq
    bad = runner.invoke(args=["verify-ballots", str(proposal["id"])])
    assert bad.exit_code == 1
    assert f"seq {seq}: edited: paper ballot seq {seq} entered by" in bad.output


def test_the_amount_takes_thousands_separators_and_the_cost_per_m2_is_shown(client, committee):
    created = client.post("/api/v1/fund-proposals", headers=committee("O-1"), json={
        "title": "1栋外墙", "amount_yuan": "128,000", "scope": {"buildings": ["1"]},
        "rule": "objection", "closes_at": (__import__("datetime").datetime.now(
            __import__("datetime").timezone.utc) + timedelta(days=20)).isoformat()})
    assert created.status_code == 201, created.json
    assert created.json["amount_yuan"] == "128000.00"
    # building 1: 98.50 + 120.30 + 98.50 + 120.30 = 437.60 m²
    assert created.json["scope_area_m2"] == "437.60" and created.json["cost_per_m2"] == "292.50"
    bad = client.post("/api/v1/fund-proposals", headers=committee("O-1"), json={
        "title": "1栋外墙", "amount_yuan": "12,80,00", "scope": {"buildings": ["1"]},
        "rule": "objection"})
    assert bad.status_code == 400


def test_the_desk_finds_a_named_room_to_enter_its_paper_ballot_and_sees_how_each_was_cast(
        client, owner, staff, committee, rooms_by_label, fund_proposal, images):
    proposal = fund_proposal(rule="civil_code_use")
    desk = staff("desk")
    found = client.get(f"{_url(proposal)}/rooms", headers=desk, query_string={"q": "1单元102"})
    assert found.status_code == 200, found.json
    [room] = found.json["items"]
    assert room["room_id"] == rooms_by_label["1-1-102"] and room["area_m2"] == "120.30"
    assert room["owner_name"] and room["ballot_kind"] is None
    photo = upload_photo(client, desk, images)
    assert client.post(f"{_url(proposal)}/paper-ballots", headers=desk, json={
        "room_id": room["room_id"], "choice": "approve", "photo_id": photo["id"]}).status_code == 201
    assert client.post(f"{_url(proposal)}/ballots", headers=owner("O-3"), json={
        "room_id": rooms_by_label["1-1-201"], "choice": "oppose"}).status_code == 201
    first = client.get(f"{_url(proposal)}/rooms", headers=desk, query_string={"limit": 3}).json
    rest = client.get(f"{_url(proposal)}/rooms", headers=desk,
                      query_string={"limit": 3, "cursor": first["next_cursor"]}).json
    assert rest["next_cursor"] is None
    rooms = {r["room_id"]: r for r in first["items"] + rest["items"]}
    assert len(rooms) == 4  # building 1 of the test community
    assert rooms[rooms_by_label["1-1-102"]]["ballot_kind_label"] == "线下已投"
    # one ballot covers both of 王五's rooms
    assert rooms[rooms_by_label["1-1-202"]]["ballot_kind_label"] == "线上已投"
    assert rooms[rooms_by_label["1-1-101"]]["ballot_kind"] is None
    # the committee's ballot list says how each came in and who entered a paper one
    ballots = client.get(f"{_url(proposal)}/ballots", headers=committee("O-1")).json["items"]
    assert [(b["kind_label"], bool(b["entered_by"])) for b in ballots] == [
        ("线下已投", True), ("线上已投", False)]
    # owners see their own rooms on the proposal, not the list of everyone's
    refused = client.get(f"{_url(proposal)}/rooms", headers=owner("O-2"))
    assert refused.status_code == 403
