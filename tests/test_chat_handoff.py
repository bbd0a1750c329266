"""Chat and hand-off: bot → waiting → open (a desk member) → back to the bot."""
from __future__ import annotations

from datetime import timedelta

from backend.extensions import db
from backend.models import Conversation, Message, Notification, User, utcnow


def say(client, headers, text):
    response = client.post("/api/v1/chat/messages", json={"text": text}, headers=headers)
    assert response.status_code == 201, response.json
    return response.json


def test_the_bot_answers_in_the_conversation_with_the_askers_data(client, owner):
    headers = owner("O-1")
    out = say(client, headers, "物业费多少钱")
    assert out["state"] == "bot"
    mine, reply = out["messages"]
    assert (mine["sender"], mine["text"]) == ("resident", "物业费多少钱")
    assert reply["sender"] == "bot" and reply["intent"] == "fee.amount"
    assert "¥275.80/月" in reply["text"]
    assert mine["created_at"].endswith("+08:00")
    history = client.get("/api/v1/chat/messages", headers=headers).json
    assert [m["id"] for m in history["items"]] == [mine["id"], reply["id"]]
    assert client.get(f"/api/v1/chat/messages?after={mine['id']}", headers=headers).json["items"] \
        == [reply]


def test_two_failures_in_a_row_hand_over_and_the_desk_is_notified(client, owner, staff, app):
    staff("desk")  # a desk member, who is to be notified
    headers = owner("O-1")
    first = say(client, headers, "今天下雨吗")
    assert first["state"] == "bot" and first["messages"][1]["intent"] == "unknown"
    second = say(client, headers, "推荐个餐馆")
    assert second["state"] == "waiting"
    assert "转接人工客服" in second["messages"][1]["text"]
    with app.app_context():
        desk_user = db.session.scalar(db.select(User).filter_by(username="desk-user"))
        notes = db.session.scalars(db.select(Notification).filter_by(kind="chat_waiting")).all()
        assert [n.user_id for n in notes] == [desk_user.id]
        assert "张三" in notes[0].body and "1栋1单元101" in notes[0].body


def test_an_answered_question_resets_the_failure_count(client, owner):
    headers = owner("O-1")
    say(client, headers, "今天下雨吗")
    say(client, headers, "物业电话是多少")
    assert say(client, headers, "推荐个餐馆")["state"] == "bot"


def test_the_desk_queue_shows_context_claim_silences_the_bot_release_restores_it(
        client, owner, staff, post_ticket):
    desk = staff("desk")
    headers = owner("O-1")
    ticket = post_ticket(headers, description="楼道灯不亮")
    assert ticket.status_code == 201
    say(client, headers, "物业费多少钱")
    say(client, headers, "我要找物业的人")

    queue = client.get("/api/v1/desk/conversations?state=waiting", headers=desk)
    assert queue.status_code == 200
    [item] = queue.json["items"]
    assert item["resident"]["name"] == "张三"
    assert item["rooms"] == ["1栋1单元101"]
    assert [t["id"] for t in item["open_tickets"]] == [ticket.json["id"]]
    assert item["open_tickets"][0]["status_label"] == "待受理"
    assert [m["text"] for m in item["last_messages"]][-2] == "我要找物业的人"
    assert item["waiting_since"] is not None

    claimed = client.post(f"/api/v1/desk/conversations/{item['id']}/claim", headers=desk)
    assert claimed.status_code == 200 and claimed.json["state"] == "open"
    assert claimed.json["assignee"]["name"] == "desk员工"
    assert client.get("/api/v1/desk/conversations?state=waiting", headers=desk).json["items"] == []

    silent = say(client, headers, "物业费多少钱")  # the bot is silent while a person holds it
    assert silent["state"] == "open" and len(silent["messages"]) == 1

    answer = client.post(f"/api/v1/desk/conversations/{item['id']}/messages", headers=desk,
                         json={"text": "您好，您的物业费是275.80元/月。"})
    assert answer.status_code == 201 and answer.json["sender"] == "staff"
    assert answer.json["author"] == "desk员工"
    texts = [m["text"] for m in client.get("/api/v1/chat/messages", headers=headers).json["items"]]
    assert texts[-1] == "您好，您的物业费是275.80元/月。"

    released = client.post(f"/api/v1/desk/conversations/{item['id']}/release", headers=desk)
    assert released.status_code == 200 and released.json["state"] == "bot"
    back = say(client, headers, "物业费多少钱")
    assert back["messages"][1]["sender"] == "bot"


def test_only_one_desk_member_holds_a_conversation(client, owner, staff):
    first, second = staff("desk", "desk-a"), staff("desk", "desk-b")
    say(client, owner("O-1"), "人工")
    conv_id = client.get("/api/v1/desk/conversations?state=waiting", headers=first).json["items"][0]["id"]
    assert client.post(f"/api/v1/desk/conversations/{conv_id}/claim", headers=first).status_code == 200
    taken = client.post(f"/api/v1/desk/conversations/{conv_id}/claim", headers=second)
    assert taken.status_code == 409 and taken.json["error"]["code"] == "conversation_claimed"
    reply = client.post(f"/api/v1/desk/conversations/{conv_id}/messages", headers=second,
                        json={"text": "我来"})
    assert reply.status_code == 409 and reply.json["error"]["code"] == "conversation_not_claimed"
    assert client.post(f"/api/v1/desk/conversations/{conv_id}/release",
                       headers=second).status_code == 403
    # claiming again is harmless for the holder
    assert client.post(f"/api/v1/desk/conversations/{conv_id}/claim", headers=first).status_code == 200


def test_residents_cannot_use_the_desk_and_desks_see_only_their_community(
        client, owner, staff, app, login):
    from backend.models import Role, StaffRole
    from backend.services.community import get_or_create_community

    headers = owner("O-1")
    say(client, headers, "人工")
    assert client.get("/api/v1/desk/conversations", headers=headers).status_code == 403
    other_desk = staff("desk", "other-desk")
    with app.app_context():
        other, _ = get_or_create_community("别的小区")
        user = db.session.scalar(db.select(User).filter_by(username="other-desk"))
        db.session.execute(db.delete(StaffRole).where(StaffRole.user_id == user.id))
        db.session.add(StaffRole(user_id=user.id, community_id=other.id, role=Role.desk))
        conv_id = db.session.scalar(db.select(Conversation.id))
        db.session.commit()
    assert client.get("/api/v1/desk/conversations", headers=other_desk).json["items"] == []
    assert client.post(f"/api/v1/desk/conversations/{conv_id}/claim",
                       headers=other_desk).status_code == 404
    assert client.get("/api/v1/desk/conversations/999999", headers=staff("desk")).status_code == 404


def test_a_held_conversation_goes_back_to_the_bot_after_inactivity(client, owner, staff, app):
    from backend.jobs.queue import tick_inline

    desk = staff("desk")
    say(client, owner("O-1"), "人工")
    conv_id = client.get("/api/v1/desk/conversations?state=waiting", headers=desk).json["items"][0]["id"]
    client.post(f"/api/v1/desk/conversations/{conv_id}/claim", headers=desk)
    with app.app_context():
        tick_inline()  # recent activity: nothing happens
        assert db.session.get(Conversation, conv_id).state.value == "open"
        conv = db.session.get(Conversation, conv_id)
        conv.last_activity_at = utcnow() - timedelta(minutes=31)
        db.session.commit()
        tick_inline()
        conv = db.session.get(Conversation, conv_id)
        assert conv.state.value == "bot" and conv.assignee_id is None
        last = db.session.scalar(db.select(Message).order_by(Message.id.desc()).limit(1))
        assert last.sender.value == "system" and "人工服务已结束" in last.text


def test_while_waiting_the_bot_still_answers_what_it_can(client, owner):
    headers = owner("O-1")
    say(client, headers, "人工")
    out = say(client, headers, "物业电话是多少")
    assert out["state"] == "waiting" and out["messages"][1]["intent"] == "service.hours"
    again = say(client, headers, "人工")
    assert again["messages"][1]["sender"] == "system" and "队列" in again["messages"][1]["text"]


def test_one_conversation_per_resident_and_none_is_shown_before_the_first_message(
        client, owner, app):
    headers = owner("O-1")
    empty = client.get("/api/v1/chat/messages", headers=headers).json
    assert empty == {"conversation": {"id": None, "state": "bot", "assignee": None}, "items": []}
    say(client, headers, "你好")
    say(client, headers, "物业费多少钱")
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count()).select_from(Conversation)) == 1


def test_chat_input_is_validated(client, owner):
    headers = owner("O-1")
    for body in ({}, {"text": " "}, {"text": "x" * 1001}):
        assert client.post("/api/v1/chat/messages", json=body, headers=headers).status_code == 400
    assert client.get("/api/v1/chat/messages?after=-1", headers=headers).status_code == 400
    assert client.get("/api/v1/desk/conversations?state=nope").status_code in (400, 401)


def test_looking_at_conversations_changes_nothing(client, owner, staff, login, app):
    """GETs never write: the desk opening the queue or a conversation does not take
    it, and a resident opening the chat page before writing starts none."""
    desk = staff("desk")
    say(client, owner("O-1"), "人工")
    looker = login("o-only-looks")
    assert client.get("/api/v1/chat/messages", headers=looker).json["items"] == []
    queue = client.get("/api/v1/desk/conversations?state=waiting", headers=desk).json["items"]
    detail = client.get(f"/api/v1/desk/conversations/{queue[0]['id']}", headers=desk).json
    assert detail["state"] == "waiting" and detail["assignee"] is None
    assert client.get("/api/v1/desk/bot-misses", headers=desk).status_code == 200
    again = client.get(f"/api/v1/desk/conversations/{queue[0]['id']}", headers=desk).json
    assert again == detail
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count()).select_from(Conversation)) == 1
