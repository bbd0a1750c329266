"""Households (#14 items 1-2): an owner invites a family member or a tenant with a
one-time code; members report, chat and follow their room's tickets but never vote
and see bills only when the owner allows; the owner removes them, a member leaves,
a tenancy ends on its date, a new owner in the ledger ends the former household,
and any resident unbinds a room."""
from __future__ import annotations

from datetime import timedelta

import pytest

from backend.extensions import db
from backend.timeutil import local_today, utcnow
from tests.conftest import DEMO_LEDGER, import_into as _import




@pytest.fixture
def home(owner, room_id):
    """张三, owner of 1-1-101: (headers, room id)."""
    headers = owner("O-1")
    return headers, room_id(headers, "1-1-101")


@pytest.fixture
def invite(client):
    def _invite(headers, room, relation="tenant", **extra):
        response = client.post(f"/api/v1/households/{room}/invitations", headers=headers,
                               json={"relation": relation, **extra})
        assert response.status_code == 201, response.json
        return response.json
    return _invite


def join(client, headers, code):
    return client.post("/api/v1/households/join", headers=headers, json={"code": code})


def my_rooms(client, headers):
    return [r["id"] for r in client.get("/api/v1/me", headers=headers).json["rooms"]]


def bills_visible(client, headers) -> list[bool]:
    """What /me tells the phone app of each bound room: may its bills be shown."""
    return [room["bills_visible"] for room in client.get("/api/v1/me", headers=headers).json["rooms"]]


def household(client, headers, room):
    items = client.get("/api/v1/households", headers=headers).json["items"]
    return next(i for i in items if i["room_id"] == room)


def test_a_tenant_joins_once_with_the_code_and_reports_for_the_room(
        client, home, invite, login, post_ticket):
    headers, room = home
    made = invite(headers, room, "tenant")
    assert made["link"] == f"/join?code={made['code']}" and "join" in made["wechat_path"]
    tenant = login("tenant-a")
    joined = join(client, tenant, made["code"].lower())  # typed in lower case
    assert joined.status_code == 201 and joined.json["relation"] == "tenant"
    assert my_rooms(client, tenant) == [room]
    assert "tenant" in client.get("/api/v1/me", headers=tenant).json["roles"]
    # single use: a second person, or the same one again, cannot use it
    again = join(client, login("tenant-b"), made["code"])
    assert again.status_code == 409 and again.json["error"]["code"] == "invitation_used"
    assert my_rooms(client, login("tenant-b")) == []
    ticket = post_ticket(tenant, kind="home_repair", room_id=room, description="卫生间漏水")
    assert ticket.status_code == 201
    # the owner follows it as their household's
    assert client.get(f"/api/v1/tickets/{ticket.json['id']}", headers=headers).status_code == 200
    members = household(client, headers, room)["members"]
    assert [(m["relation"], m["bills_allowed"]) for m in members] == [("tenant", False)]
    assert household(client, headers, room)["invitations"] == []


def test_a_wrong_or_expired_code_binds_nothing(client, app, home, invite, login):
    headers, room = home
    made = invite(headers, room, "family")
    stranger = login("stranger")
    wrong = join(client, stranger, "ABCDEFGH")
    assert wrong.status_code == 400 and wrong.json["error"]["code"] == "invitation_invalid"
    from backend.models.household import HouseholdInvitation

    with app.app_context():
        inv = db.session.get(HouseholdInvitation, made["id"])
        inv.expires_at = utcnow() - timedelta(seconds=1)
        db.session.commit()
        assert inv.code_hash != made["code"]  # only the hash is stored
    late = join(client, stranger, made["code"])
    assert late.status_code == 400 and late.json["error"]["code"] == "invitation_expired"
    assert my_rooms(client, stranger) == []


def test_the_invitation_lives_for_the_configured_hours(make_app, community):
    app = make_app(HOUSEHOLD_INVITE_TTL_HOURS=2)
    client = app.test_client()
    # this app's database is the same: bind and invite through its client
    token = client.post("/api/v1/auth/wx-login", json={"code": "dev:openid-ttl"}).json["token"]
    headers = {"Authorization": f"Bearer {token}"}
    bound = client.post("/api/v1/me/rooms", headers=headers, json={
        "building": "1", "unit": "1", "number": "102", "owner_name": "李四", "phone": "13900000002"})
    made = client.post(f"/api/v1/households/{bound.json['id']}/invitations", headers=headers,
                       json={"relation": "family"}).json
    from datetime import datetime

    left = datetime.fromisoformat(made["expires_at"]) - utcnow()
    assert timedelta(hours=1, minutes=59) < left <= timedelta(hours=2)


def test_only_the_current_owner_invites(client, home, invite, login, owner, room_id):
    headers, room = home
    member = login("family-a")
    assert join(client, member, invite(headers, room, "family")["code"]).status_code == 201
    by_member = client.post(f"/api/v1/households/{room}/invitations", headers=member,
                            json={"relation": "tenant"})
    assert by_member.status_code == 403 and by_member.json["error"]["code"] == "not_room_owner"
    other = owner("O-2")
    by_neighbour = client.post(f"/api/v1/households/{room}/invitations", headers=other,
                               json={"relation": "tenant"})
    assert by_neighbour.status_code == 404
    bad = client.post(f"/api/v1/households/{room}/invitations", headers=headers,
                      json={"relation": "owner"})
    assert bad.status_code == 400
    family_end = client.post(f"/api/v1/households/{room}/invitations", headers=headers,
                             json={"relation": "family", "ends_on": local_today().isoformat()})
    assert family_end.status_code == 400 and family_end.json["error"]["code"] == "end_date_for_tenant_only"


def test_a_member_sees_bills_only_when_the_owner_allows(client, app, community, home, invite, login):
    headers, room = home
    due = local_today() - timedelta(days=40)
    _import(app, community, bills=[f"1,1,101,{due:%Y-%m},275.80,0,{due.isoformat()}"])
    member = login("family-b")
    join(client, member, invite(headers, room, "family")["code"])
    assert client.get("/api/v1/fees/bills", headers=member).json["items"] == []
    assert client.get("/api/v1/fees/bills", headers=headers).json["arrears_yuan"] == "275.80"
    assert bills_visible(client, member) == [False] and bills_visible(client, headers) == [True]
    mid = household(client, headers, room)["members"][0]["id"]
    allowed = client.patch(f"/api/v1/households/{room}/members/{mid}", headers=headers,
                           json={"bills_allowed": True})
    assert allowed.status_code == 200 and allowed.json["bills_allowed"] is True
    seen = client.get("/api/v1/fees/bills", headers=member).json
    assert [b["room_id"] for b in seen["items"]] == [room] and seen["arrears_yuan"] == "275.80"
    assert household(client, member, room)["bills"] is True
    assert bills_visible(client, member) == [True]
    # the member cannot give themselves the permission
    self_grant = client.patch(f"/api/v1/households/{room}/members/{mid}", headers=member,
                              json={"bills_allowed": True})
    assert self_grant.status_code == 403


def test_members_never_vote(client, home, invite, login, fund_proposal):
    headers, room = home
    member = login("family-c")
    join(client, member, invite(headers, room, "family")["code"])
    proposal = fund_proposal()
    seen = client.get(f"/api/v1/fund-proposals/{proposal['id']}", headers=member)
    assert seen.status_code == 200  # decisions are publicised to the household too
    vote = client.post(f"/api/v1/fund-proposals/{proposal['id']}/ballots", headers=member,
                       json={"room_id": room, "choice": "object"})
    assert vote.status_code == 403
    assert client.post(f"/api/v1/fund-proposals/{proposal['id']}/ballots", headers=headers,
                       json={"room_id": room, "choice": "object"}).status_code == 201


def test_the_owner_removes_a_member_and_a_member_leaves(client, home, invite, login):
    headers, room = home
    first, second = login("family-d"), login("family-e")
    join(client, first, invite(headers, room, "family")["code"])
    join(client, second, invite(headers, room, "family")["code"])
    members = household(client, headers, room)["members"]
    removed = client.delete(f"/api/v1/households/{room}/members/{members[0]['id']}", headers=headers)
    assert removed.status_code == 204 and my_rooms(client, first) == []
    left = client.delete(f"/api/v1/households/{room}", headers=second)
    assert left.status_code == 204 and my_rooms(client, second) == []
    assert household(client, headers, room)["members"] == []
    # invited again later: a member again
    assert join(client, first, invite(headers, room, "family")["code"]).status_code == 201
    assert my_rooms(client, first) == [room]


def test_a_tenancy_ends_on_its_date(client, app, home, invite, login, post_ticket):
    headers, room = home
    tenant = login("tenant-c")
    last = local_today() + timedelta(days=30)
    made = invite(headers, room, "tenant", ends_on=last.isoformat())
    assert join(client, tenant, made["code"]).json["ends_on"] == last.isoformat()
    assert household(client, headers, room)["members"][0]["ends_on"] == last.isoformat()
    past = client.post(f"/api/v1/households/{room}/invitations", headers=headers,
                       json={"relation": "tenant", "ends_on": (local_today() - timedelta(days=1)).isoformat()})
    assert past.status_code == 400
    from backend.models import RoomBinding

    with app.app_context():  # the date passes
        binding = db.session.scalar(db.select(RoomBinding).where(
            RoomBinding.room_id == room, RoomBinding.relation == "tenant"))
        binding.ends_at = utcnow() - timedelta(minutes=1)
        db.session.commit()
    assert my_rooms(client, tenant) == []
    refused = post_ticket(tenant, kind="home_repair", room_id=room, description="门锁坏了")
    assert refused.status_code in (403, 404)
    assert household(client, headers, room)["members"] == []


def test_a_new_owner_in_the_ledger_ends_the_former_household(client, app, community, home, invite, login):
    headers, room = home
    tenant = login("tenant-d")
    join(client, tenant, invite(headers, room, "tenant")["code"])
    pending = invite(headers, room, "family")
    _import(app, community, ledger=DEMO_LEDGER.replace("O-1,张三,13900000001", "O-9,孙九,13900000009"))
    assert my_rooms(client, tenant) == []
    late = join(client, login("family-f"), pending["code"])
    assert late.status_code == 409 or late.status_code == 400
    # the buyer's household starts empty
    buyer = login("buyer")
    client.post("/api/v1/me/rooms", headers=buyer, json={
        "building": "1", "unit": "1", "number": "101", "owner_name": "孙九", "phone": "13900000009"})
    assert household(client, buyer, room)["members"] == []


def test_an_owner_unbinds_and_the_members_stay(client, home, invite, login):
    headers, room = home
    member = login("family-g")
    join(client, member, invite(headers, room, "family")["code"])
    pending = invite(headers, room, "tenant")
    unbound = client.delete(f"/api/v1/households/{room}", headers=headers)
    assert unbound.status_code == 204 and my_rooms(client, headers) == []
    assert my_rooms(client, member) == [room]  # the ownership did not change
    assert join(client, login("tenant-e"), pending["code"]).status_code in (400, 409)
    assert client.delete(f"/api/v1/households/{room}", headers=headers).status_code == 404
    rebound = client.post("/api/v1/me/rooms", headers=headers, json={
        "building": "1", "unit": "1", "number": "101", "owner_name": "张三", "phone": "13900000001"})
    assert rebound.status_code == 201 and my_rooms(client, headers) == [room]
    assert len(household(client, headers, room)["members"]) == 1


def test_the_bot_tells_a_member_nothing_of_the_bills_until_allowed(client, app, community, home, invite, login):
    headers, room = home
    due = local_today() - timedelta(days=40)
    _import(app, community, bills=[f"1,1,101,{due:%Y-%m},275.80,0,{due.isoformat()}"])
    member = login("family-h")
    join(client, member, invite(headers, room, "family")["code"])

    def ask():
        reply = client.post("/api/v1/bot/ask", headers=member, json={"text": "我欠费了吗"})
        assert reply.status_code == 200
        return reply.json["answer"]

    assert "275.80" not in ask() and "业主" in ask()
    mid = household(client, headers, room)["members"][0]["id"]
    client.patch(f"/api/v1/households/{room}/members/{mid}", headers=headers, json={"bills_allowed": True})
    assert "275.80" in ask()


def test_a_member_follows_the_flats_repairs_from_the_day_they_joined(
        client, home, invite, login, post_ticket):
    headers, room = home
    earlier = post_ticket(headers, kind="home_repair", room_id=room, description="入住前的厨房漏水")
    assert earlier.status_code == 201
    family = login("family-follow")
    assert join(client, family, invite(headers, room, "family")["code"]).status_code == 201
    later = post_ticket(headers, kind="home_repair", room_id=room, description="主卧空调不制冷")
    common = post_ticket(headers, kind="common_repair", room_id=room)
    listed = {t["id"] for t in client.get("/api/v1/tickets", headers=family).json["items"]}
    assert later.json["id"] in listed
    assert client.get(f"/api/v1/tickets/{later.json['id']}", headers=family).status_code == 200
    # what the household did before they joined, and the owner's common reports, stay the owner's
    assert earlier.json["id"] not in listed and common.json["id"] not in listed
    assert client.get(f"/api/v1/tickets/{earlier.json['id']}", headers=family).status_code == 404
