"""Fund proposals: drafting with the community's defaults, validation, who may do what,
opening (snapshot, owners told), scheduled opening, emergency use with two signatures.

Test community: building 1 has 1-1-101 (O-1, 98.50 m²), 1-1-102 (O-2, 120.30) and
1-1-201 + 1-1-202 (both O-3: 98.50 + 120.30); building 2 has 2-1-101 (O-4, 76.40) and
two unsold rooms of 76.40; S-1-S01 is O-5's shop (65.00)."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
import responses

from backend.extensions import db
from backend.models import Community, FundEligibleRoom, FundProposal, Notification, User
from backend.services import fund as fund_service
from tests.fund_helpers import start_published

TOKEN_URL = "https://api.weixin.qq.com/cgi-bin/token"
SUBSCRIBE_URL = "https://api.weixin.qq.com/cgi-bin/message/subscribe/send"


@pytest.fixture
def app(make_app):
    return make_app(WECHAT_APPID="")  # WeChat is exercised in its own test below


def later(**delta) -> str:
    return (datetime.now(timezone.utc) + timedelta(**delta)).isoformat()


def notifications(client, headers, kind=None):
    items = client.get("/api/v1/notifications", headers=headers).json["items"]
    return [n for n in items if kind is None or n["kind"] == kind]


# ------------------------------------------------------------------ drafting
def test_a_committee_member_drafts_with_the_community_defaults(client, committee):
    headers = committee("O-1")
    response = client.post("/api/v1/fund-proposals", headers=headers, json={
        "title": "1栋电梯更换", "amount_yuan": "120000.00", "scope": {"buildings": ["1栋"]},
        "rule": "objection", "closes_at": later(days=8)})
    assert response.status_code == 201, response.json
    body = response.json
    assert body["status"] == "draft" and body["outcome"] is None
    assert body["scope"] == {"buildings": ["1"]} and body["scope_label"] == "1栋"
    assert (body["objection_threshold"], body["objection_basis"], body["publicity_days"]) == (
        "1/3", "either", 7)
    assert body["amount_yuan"] == "120000.00"
    assert body["closes_at"].endswith("+08:00")
    assert "三分之一" in body["explanation"]


def test_the_community_settings_apply_and_a_proposal_may_only_lengthen_its_publicity(
        app, client, committee, community):
    with app.app_context():
        c = db.session.get(Community, community["id"])
        c.settings = {**c.settings, "objection_threshold": "1/2", "objection_basis": "area",
                      "fund_publicity_days": 10}
        db.session.commit()
    headers = committee("O-1")
    base = {"title": "外墙维修", "amount_yuan": "5000.00", "scope": {"community": True},
            "rule": "objection", "closes_at": later(days=8)}
    body = client.post("/api/v1/fund-proposals", headers=headers, json=base).json
    assert (body["objection_threshold"], body["objection_basis"], body["publicity_days"]) == (
        "1/2", "area", 10)
    assert "二分之一" in body["explanation"] and "10天" in body["explanation"]
    body = client.post("/api/v1/fund-proposals", headers=headers, json={
        **base, "publicity_days": 14}).json
    assert body["publicity_days"] == 14
    other = client.post("/api/v1/fund-proposals", headers=headers, json={
        **base, "objection_threshold": "2/5", "objection_basis": "both"})
    assert other.status_code == 400 and other.json["error"]["code"] == "objection_setting_fixed"


@pytest.mark.parametrize("change,code", [
    ({"closes_at": "2020-01-01T00:00:00+08:00"}, "closes_at_in_past"),
    ({"closes_at": None}, "closes_at_required"),
    ({"scope": {"buildings": ["9"]}}, "unknown_building"),
    ({"scope": {"room_ids": [999999]}}, "unknown_room"),
    ({"scope": {"buildings": ["1"], "community": True}}, "validation_error"),
    ({"scope": {}}, "validation_error"),
    ({"rule": "majority"}, "validation_error"),
    ({"objection_threshold": "3/2"}, "validation_error"),
    ({"objection_basis": "rooms"}, "validation_error"),
    ({"amount_yuan": "12.345"}, "validation_error"),
    ({"amount_yuan": "-5.00"}, "validation_error"),
    ({"title": ""}, "validation_error"),
    ({"emergency_case": "lift_failure"}, "emergency_case_not_allowed"),
    ({"rule": "emergency"}, "emergency_case_required"),
    ({"rule": "emergency", "emergency_case": "broken_window"}, "validation_error"),
    ({"opens_at": later(days=9)}, "opens_after_closes"),
    ({"closes_at": "next week"}, "validation_error"),
])
def test_bad_proposals_are_400_with_a_reason(client, committee, change, code):
    headers = committee("O-1")
    body = {"title": "1栋电梯更换", "amount_yuan": "120000.00", "scope": {"buildings": ["1"]},
            "rule": "objection", "closes_at": later(days=8), **change}
    response = client.post("/api/v1/fund-proposals", headers=headers, json=body)
    assert response.status_code == 400, response.json
    assert response.json["error"]["code"] == code
    assert response.json["error"]["message"]


def test_only_committee_members_and_the_manager_draft(client, owner, staff, login, fund_proposal):
    body = {"title": "x", "amount_yuan": "1.00", "scope": {"community": True}, "rule": "objection",
            "closes_at": later(days=3)}
    for headers in (owner("O-2"), staff("desk"), staff("engineer"), login("stranger")):
        response = client.post("/api/v1/fund-proposals", headers=headers, json=body)
        assert response.status_code == 403
        assert response.json["error"]["code"] == "not_committee_or_manager"
    assert fund_proposal(headers=staff("manager"), open=False)["status"] == "draft"
    assert client.post("/api/v1/fund-proposals", json=body).status_code == 401


# ------------------------------------------------------------------ opening
def test_opening_snapshots_the_scope_and_tells_its_owners(app, client, owner, committee,
                                                          fund_proposal):
    voters = {ref: owner(ref) for ref in ("O-2", "O-3", "O-4")}
    proposal = fund_proposal()
    assert proposal["status"] == "voting" and proposal["opened_at"]
    assert proposal["tally"]["eligible"] == {"rooms": 4, "area_m2": "437.60", "headcount": 3}
    for ref in ("O-2", "O-3"):
        notes = notifications(client, voters[ref], "fund_opened")
        assert len(notes) == 1, ref
        assert "1栋电梯更换" in notes[0]["title"] and "异议" in notes[0]["body"]
        assert notes[0]["link"] == f"/fund/{proposal['id']}"
    assert notifications(client, voters["O-4"], "fund_opened") == []  # building 2: not in scope
    assert len(notifications(client, committee("O-1"), "fund_opened")) == 1  # O-1 owns 1-1-101
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count()).select_from(FundEligibleRoom)) == 4


def test_drafts_are_hidden_from_owners_until_opened(client, owner, committee, fund_proposal):
    draft = fund_proposal(open=False)
    viewer = owner("O-2")
    assert client.get(f"/api/v1/fund-proposals/{draft['id']}", headers=viewer).status_code == 404
    assert client.get("/api/v1/fund-proposals", headers=viewer).json["items"] == []
    published = client.post(f"/api/v1/fund-proposals/{draft['id']}/open", headers=committee("O-1"))
    assert published.status_code == 400  # 8 days: too short for 7 days' publicity + window
    start_published(client.application, draft["id"])
    shown = client.get(f"/api/v1/fund-proposals/{draft['id']}", headers=viewer).json
    assert shown["status"] == "voting"
    assert [r["label"] for r in shown["my_rooms"]] == ["1栋1单元102"] and shown["can_vote"]


def test_opening_twice_by_the_manager_or_by_an_owner_is_refused(client, owner, committee, staff,
                                                                 fund_proposal):
    proposal = fund_proposal()
    again = client.post(f"/api/v1/fund-proposals/{proposal['id']}/open", headers=committee("O-1"))
    assert again.status_code == 409 and again.json["error"]["code"] == "not_draft"
    draft = fund_proposal(open=False)
    response = client.post(f"/api/v1/fund-proposals/{draft['id']}/open", headers=owner("O-2"))
    assert response.status_code == 404  # an owner cannot even see a draft
    response = client.post(f"/api/v1/fund-proposals/{draft['id']}/open", headers=staff("manager"))
    assert response.status_code == 403 and response.json["error"]["code"] == "not_committee"
    assert client.post("/api/v1/fund-proposals/99999/open", headers=staff("manager")).status_code == 404


def test_people_outside_the_community_never_see_proposals(client, login, fund_proposal):
    proposal = fund_proposal()
    stranger = login("someone-else")
    assert client.get(f"/api/v1/fund-proposals/{proposal['id']}", headers=stranger).status_code == 404
    assert client.get(f"/api/v1/fund-proposals/{proposal['id']}/tally",
                      headers=stranger).status_code == 404
    assert client.get("/api/v1/fund-proposals", headers=stranger).json["items"] == []


def test_the_list_is_newest_first_paginated_and_filterable(client, staff, fund_proposal):
    first = fund_proposal()
    second = fund_proposal(open=False, title="路灯更换")
    third = fund_proposal(title="外墙维修")
    manager = staff("manager")
    page = client.get("/api/v1/fund-proposals?limit=2", headers=manager).json
    assert [p["id"] for p in page["items"]] == [third["id"], second["id"]]
    rest = client.get(f"/api/v1/fund-proposals?limit=2&cursor={page['next_cursor']}",
                      headers=manager).json
    assert [p["id"] for p in rest["items"]] == [first["id"]] and rest["next_cursor"] is None
    drafts = client.get("/api/v1/fund-proposals?status=draft", headers=manager).json["items"]
    assert [p["id"] for p in drafts] == [second["id"]]
    assert client.get("/api/v1/fund-proposals?status=nope", headers=manager).status_code == 400
    assert client.get("/api/v1/fund-proposals?cursor=%%%", headers=manager).status_code == 400


def test_a_scheduled_vote_starts_at_opens_at(app, client, owner, committee, rooms_by_label,
                                            fund_proposal):
    voter = owner("O-2")
    draft = fund_proposal(open=False, opens_at=later(days=8), closes_at=later(days=16))
    proposal = client.post(f"/api/v1/fund-proposals/{draft['id']}/open",
                           headers=committee("O-1")).json
    assert proposal["status"] == "scheduled" and proposal["tally"] is None
    assert proposal["stage_label"] == "公示中"
    early = client.post(f"/api/v1/fund-proposals/{proposal['id']}/ballots", headers=voter,
                        json={"room_id": rooms_by_label["1-1-102"], "choice": "object"})
    assert early.status_code == 409 and early.json["error"]["code"] == "voting_not_open"
    with app.app_context():  # the job / sweep runs once opens_at has come
        opens_at = db.session.get(FundProposal, proposal["id"]).opens_at
        assert fund_service.start_scheduled(proposal["id"], now=opens_at + timedelta(seconds=1))
        db.session.commit()
        assert not fund_service.start_scheduled(proposal["id"], now=opens_at + timedelta(seconds=2))
    shown = client.get(f"/api/v1/fund-proposals/{proposal['id']}", headers=voter).json
    assert shown["status"] == "voting" and shown["tally"]["eligible"]["rooms"] == 4
    assert len(notifications(client, voter, "fund_opened")) == 1


# ------------------------------------------------------------------ emergency use
def test_emergency_use_needs_a_committee_member_and_the_manager(client, owner, committee, staff,
                                                                rooms_by_label, fund_proposal):
    voter = owner("O-2")
    manager = staff("manager")
    proposal = fund_proposal(headers=manager, open=False, rule="emergency",
                             emergency_case="lift_failure", closes_at=None, title="1栋电梯困人抢修")
    assert proposal["emergency_case_label"].startswith("电梯故障")
    url = f"/api/v1/fund-proposals/{proposal['id']}"
    opened = client.post(f"{url}/open", headers=manager)
    assert opened.status_code == 409 and opened.json["error"]["code"] == "emergency_needs_signatures"
    assert client.post(f"{url}/sign", headers=voter, json={}).status_code == 404  # draft: unseen
    first = client.post(f"{url}/sign", headers=manager, json={})
    assert first.status_code == 200 and first.json["status"] == "draft"
    again = client.post(f"{url}/sign", headers=manager, json={})
    assert again.status_code == 409 and again.json["error"]["code"] == "already_signed"
    second = client.post(f"{url}/sign", headers=committee("O-1"), json={})
    assert second.status_code == 200, second.json
    body = second.json
    assert body["status"] == "approved" and body["approved_at"] and body["publicity_ends_at"]
    assert {s["role"] for s in body["signatures"]} == {"committee", "manager"}
    assert "张三" in [s["name"] for s in body["signatures"]]
    notes = notifications(client, voter, "fund_approved")
    assert len(notes) == 1 and "应急" in notes[0]["title"] and "120,000.00" in notes[0]["body"]
    ballot = client.post(f"{url}/ballots", headers=voter,
                         json={"room_id": rooms_by_label["1-1-102"], "choice": "object"})
    assert ballot.status_code == 409
    tally = client.get(f"{url}/tally", headers=voter)
    assert tally.status_code == 409 and tally.json["error"]["code"] == "no_vote_for_emergency"


def test_only_emergencies_are_signed(client, committee, fund_proposal):
    proposal = fund_proposal(open=False)
    response = client.post(f"/api/v1/fund-proposals/{proposal['id']}/sign", headers=committee("O-1"),
                           json={})
    assert response.status_code == 409 and response.json["error"]["code"] == "not_emergency"


def test_someone_both_committee_and_manager_signs_once_and_says_as_what(app, client, committee,
                                                                         fund_proposal):
    from backend.models import Role
    from backend.services.permissions import grant_staff_role

    headers = committee("O-1")
    with app.app_context():
        user = db.session.scalar(db.select(User).filter_by(openid="openid-O-1"))
        grant_staff_role(user, user.bindings[0].room.community_id, Role.manager)
        db.session.commit()
    proposal = fund_proposal(headers=headers, open=False, rule="emergency",
                             emergency_case="drain_failure", closes_at=None)
    url = f"/api/v1/fund-proposals/{proposal['id']}/sign"
    unclear = client.post(url, headers=headers, json={})
    assert unclear.status_code == 400 and unclear.json["error"]["code"] == "signer_role_required"
    assert client.post(url, headers=headers, json={"as": "manager"}).status_code == 200
    twice = client.post(url, headers=headers, json={"as": "committee"})
    assert twice.status_code == 409 and twice.json["error"]["code"] == "already_signed"


# ------------------------------------------------------------------ WeChat and docs
@responses.activate
def test_owners_get_a_wechat_subscribe_message_with_the_fund_template(make_app):
    responses.get(TOKEN_URL, json={"access_token": "ACCESS", "expires_in": 7200})
    responses.post(SUBSCRIBE_URL, json={"errcode": 0, "errmsg": "ok"})
    app = make_app()  # WeChat configured (tmpl-fund)
    client = app.test_client()
    from backend.services.community import get_or_create_community
    from backend.services.ledger import import_ledger
    from tests.conftest import DEMO_LEDGER

    with app.app_context():
        c, _ = get_or_create_community("测试小区")
        import_ledger(c, DEMO_LEDGER)
        from backend.models import OwnerOfRecord

        db.session.scalar(db.select(OwnerOfRecord).filter_by(owner_ref="O-1")).is_committee = True
        db.session.commit()
    tokens = {}
    for ref, room, name, phone in (("O-1", "101", "张三", "13900000001"),
                                   ("O-2", "102", "李四", "13900000002")):
        token = client.post("/api/v1/auth/wx-login", json={"code": f"dev:wx-{ref}"}).json["token"]
        tokens[ref] = {"Authorization": f"Bearer {token}"}
        assert client.post("/api/v1/me/rooms", headers=tokens[ref], json={
            "building": "1", "unit": "1", "number": room, "owner_name": name,
            "phone": phone}).status_code == 201
    created = client.post("/api/v1/fund-proposals", headers=tokens["O-1"], json={
        "title": "1栋电梯更换", "amount_yuan": "1000.00", "scope": {"buildings": ["1"]},
        "rule": "civil_code_use", "closes_at": later(days=8)}).json
    start_published(client.application, created["id"], token=tokens["O-1"]["Authorization"])
    sent = [c for c in responses.calls if c.request.url.startswith(SUBSCRIBE_URL)]
    assert len(sent) == 4  # published (公示) and voting opened, to each owner
    import json

    payloads = [json.loads(c.request.body) for c in sent]
    assert {p["touser"] for p in payloads} == {"wx-O-1", "wx-O-2"}
    assert all(p["template_id"] == "tmpl-fund" for p in payloads)
    assert all(len(p["data"]["thing1"]["value"]) <= 20 for p in payloads)
    with app.app_context():
        states = db.session.scalars(db.select(Notification.wechat_state)).all()
        assert states == ["sent"] * 4


def test_rules_and_emergency_cases_are_published_for_the_forms(client, owner):
    body = client.get("/api/v1/fund/rules", headers=owner("O-2")).json
    assert [r["code"] for r in body["rules"]] == ["objection", "civil_code_use", "civil_code_major",
                                                  "emergency"]
    assert len(body["emergency_cases"]) == 6
    assert body["choices"]["objection"] == [{"code": "object", "label": "提出异议"}]
    assert body["objection_threshold"] == "1/3" and body["publicity_days"] == 7
    assert body["min_voting_days"] == {"objection": 7, "civil_code_use": 7, "civil_code_major": 7}


def test_the_openapi_document_describes_the_fund_api(client):
    spec = client.get("/api/openapi.json").json
    for path in ("/api/v1/fund-proposals", "/api/v1/fund-proposals/{proposal_id}/ballots",
                 "/api/v1/fund-proposals/{proposal_id}/tally", "/api/v1/fund-proposals/{proposal_id}/audit"):
        assert path in spec["paths"]
    body = spec["paths"]["/api/v1/fund-proposals/{proposal_id}/ballots"]["post"]["requestBody"]
    name = body["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[-1]
    assert set(spec["components"]["schemas"][name]["required"]) == {"room_id", "choice"}


def test_bad_input_anywhere_in_the_fund_api_is_never_a_500(client, committee, staff, owner,
                                                           fund_proposal):
    from backend.routes.common import encode_cursor

    headers = committee("O-1")
    proposal = fund_proposal()
    url = f"/api/v1/fund-proposals/{proposal['id']}"
    huge = encode_cursor(2**70)
    checks = [
        ("get", "/api/v1/fund-proposals/99999999999999999999", None, 404),
        ("get", f"/api/v1/fund-proposals?cursor={huge}", None, 400),
        ("get", f"{url}/audit?cursor={huge}", None, 400),
        ("get", f"{url}/ballots?cursor={huge}", None, 400),
        ("get", f"{url}/audit?limit=0", None, 400),
        ("get", f"/api/v1/fund/ledger?cursor={huge}", None, 400),
        ("get", "/api/v1/fund/ledger?cursor=@@@", None, 400),
        ("get", f"/api/v1/fund/ledger?building={'x' * 40}", None, 400),
        ("post", f"{url}/ballots", {"room_id": 2**40, "choice": "object"}, 400),
        ("post", f"{url}/ballots", {"room_id": True, "choice": "object"}, 400),
        ("post", f"{url}/sign", {"as": "king"}, 400),
        ("post", f"{url}/payments", {"amount_yuan": "abc"}, 400),
        ("post", f"{url}/payments", {"amount_yuan": "NaN"}, 400),
        ("post", "/api/v1/fund-proposals", ["not", "an", "object"], 400),
        ("post", "/api/v1/fund-proposals", {"title": "x", "amount_yuan": "1.00", "rule": "objection",
                                            "scope": {"room_ids": [2**40]},
                                            "closes_at": later(days=1)}, 400),
        ("post", "/api/v1/fund-proposals", {"title": "x", "amount_yuan": "1e400", "rule": "objection",
                                            "scope": {"community": True},
                                            "closes_at": later(days=1)}, 400),
        ("post", "/api/v1/fund-proposals", {"title": "x", "amount_yuan": "1.00", "rule": "objection",
                                            "scope": {"community": True},
                                            "closes_at": "9999-12-31T23:59:59+08:00"}, 400),
        ("post", "/api/v1/fund-proposals", {"title": "x", "amount_yuan": "1.00", "rule": "objection",
                                            "scope": {"community": "yes please"},
                                            "closes_at": later(days=1)}, 400),
    ]
    for method, path, body, status in checks:
        response = getattr(client, method)(path, headers=headers, json=body)
        assert response.status_code == status, (path, body, response.json)
        assert set(response.json["error"]) == {"code", "message", "details"}
    malformed = client.post("/api/v1/fund-proposals", headers=headers, data=b"{nope",
                            content_type="application/json")
    assert malformed.status_code == 400
