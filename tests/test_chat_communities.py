"""A conversation belongs to the resident's community (issue #13 item 1): a desk sees,
takes and answers only its own community's residents, and the bot's misses stay
with the community they were asked in. A resident with no room yet is told to bind
one: their hand-off goes to no community's desk."""
from __future__ import annotations

import pytest

from backend.extensions import db
from backend.models import Conversation, Notification

OTHER_LEDGER = """building,unit,number,area_m2,owner_ref,owner_name,phone,kind
8,1,801,88.00,B-1,孙八,13900000081,residential_lift
"""


def say(client, headers, text):
    response = client.post("/api/v1/chat/messages", json={"text": text}, headers=headers)
    assert response.status_code == 201, response.json
    return response.json


def bind(client, headers, community, building, unit, number, name, phone):
    response = client.post("/api/v1/me/rooms", headers=headers, json={
        "community": community, "building": building, "unit": unit, "number": number,
        "owner_name": name, "phone": phone})
    assert response.status_code == 201, response.json


@pytest.fixture
def other_community(app, community):
    """A second community (from its own ledger), next to the ``community`` fixture."""
    from backend.services.community import get_or_create_community
    from backend.services.ledger import import_ledger

    with app.app_context():
        other, _ = get_or_create_community("第二小区")
        import_ledger(other, OTHER_LEDGER)
        db.session.commit()
        return {"id": other.id, "name": other.name}


@pytest.fixture
def staff_of(staff):
    """``staff_of(community, "desk", "name")`` → headers of staff of that community only."""

    def _staff(community, role, username):
        return staff(role, username, community_of=community)

    return _staff


def misses(client, headers) -> list[str]:
    response = client.get("/api/v1/desk/bot-misses", headers=headers)
    assert response.status_code == 200
    return [m["question"] for m in response.json["items"]]


def test_a_conversation_begun_before_binding_is_only_its_communitys(
        client, login, community, other_community, staff_of, app):
    desk_a = staff_of(community, "desk", "desk-a")
    desk_b, manager_b = (staff_of(other_community, "desk", "desk-b"),
                         staff_of(other_community, "manager", "manager-b"))
    resident = login("o-new-resident")
    say(client, resident, "今天下雨吗")  # before binding: a miss under no community
    bind(client, resident, "测试小区", "1", "1", "101", "张三", "13900000001")
    say(client, resident, "推荐个餐馆")  # a miss in community A
    assert say(client, resident, "人工")["state"] == "waiting"

    [item] = client.get("/api/v1/desk/conversations?state=waiting", headers=desk_a).json["items"]
    assert item["resident"]["phone"] == "13900000001"
    conv_id = item["id"]
    for headers in (desk_b, manager_b):
        for state in ("", "?state=waiting", "?state=bot"):
            listed = client.get(f"/api/v1/desk/conversations{state}", headers=headers)
            assert listed.status_code == 200 and listed.json["items"] == []
        assert client.get(f"/api/v1/desk/conversations/{conv_id}", headers=headers).status_code == 404
        for action in ("claim", "release"):
            response = client.post(f"/api/v1/desk/conversations/{conv_id}/{action}", headers=headers)
            assert response.status_code == 404 and "error" in response.json
        reply = client.post(f"/api/v1/desk/conversations/{conv_id}/messages", headers=headers,
                            json={"text": "我是B小区客服"})
        assert reply.status_code == 404
        assert misses(client, headers) == []
    assert misses(client, desk_a) == ["推荐个餐馆"]  # not the question asked before binding
    with app.app_context():
        conv = db.session.get(Conversation, conv_id)
        assert conv.community_id == community["id"] and conv.assignee_id is None
    assert client.post(f"/api/v1/desk/conversations/{conv_id}/claim", headers=desk_a).status_code == 200


def test_an_unbound_residents_hand_off_goes_to_no_desk_and_they_are_told_to_bind(
        client, login, community, other_community, staff_of, app):
    desk_a, desk_b = staff_of(community, "desk", "desk-a"), staff_of(other_community, "desk", "desk-b")
    resident = login("o-unbound")
    out = say(client, resident, "人工")
    assert out["state"] == "bot"
    answer = out["messages"][1]["text"]
    assert "绑定房屋" in answer and "物业客服才能接入" in answer
    say(client, resident, "今天下雨吗")
    assert say(client, resident, "推荐个餐馆")["state"] == "bot"  # two misses: no hand-off either
    asked = client.post("/api/v1/bot/ask", json={"text": "转人工"}, headers=resident)
    assert asked.status_code == 200 and asked.json["handoff"] is False
    assert "绑定房屋" in asked.json["answer"]
    for desk in (desk_a, desk_b):
        assert client.get("/api/v1/desk/conversations", headers=desk).json["items"] == []
        assert misses(client, desk) == []
    with app.app_context():
        assert db.session.scalars(db.select(Notification).filter_by(kind="chat_waiting")).all() == []

    # once bound, the resident reaches their community's desk only
    bind(client, resident, "第二小区", "8", "1", "801", "孙八", "13900000081")
    assert say(client, resident, "人工")["state"] == "waiting"
    assert client.get("/api/v1/desk/conversations", headers=desk_a).json["items"] == []
    [item] = client.get("/api/v1/desk/conversations?state=waiting", headers=desk_b).json["items"]
    assert item["rooms"] == ["8栋1单元801"]


def test_with_one_community_the_unbound_resident_gets_its_emergency_phone(client, login, community):
    out = say(client, login("o-unbound"), "我要找物业的人")
    assert out["state"] == "bot"
    assert "绑定房屋" in out["messages"][1]["text"]
    assert "0571-00000001" in out["messages"][1]["text"]


def test_the_conversation_follows_a_new_binding(client, login, community, other_community,
                                                staff_of):
    desk_a, desk_b = staff_of(community, "desk", "desk-a"), staff_of(other_community, "desk", "desk-b")
    resident = login("o-mover")
    bind(client, resident, "测试小区", "1", "1", "101", "张三", "13900000001")
    say(client, resident, "人工")
    [item] = client.get("/api/v1/desk/conversations?state=waiting", headers=desk_a).json["items"]
    assert client.post(f"/api/v1/desk/conversations/{item['id']}/claim", headers=desk_a).status_code == 200
    # the resident moves: bound to a room of the other community, the newer binding counts
    bind(client, resident, "第二小区", "8", "1", "801", "孙八", "13900000081")
    out = say(client, resident, "物业电话是多少")
    assert out["state"] == "bot" and out["messages"][1]["sender"] == "bot"  # A's desk let go
    assert client.get(f"/api/v1/desk/conversations/{item['id']}", headers=desk_a).status_code == 404
    assert client.post(f"/api/v1/desk/conversations/{item['id']}/messages", headers=desk_a,
                       json={"text": "还在吗"}).status_code == 404
    assert [c["id"] for c in client.get("/api/v1/desk/conversations",
                                        headers=desk_b).json["items"]] == [item["id"]]
