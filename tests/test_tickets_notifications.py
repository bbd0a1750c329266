"""The reporter hears about every status change: an in-app notification and a WeChat
subscribe message sent by a job through wechatpy (WeChat stood in for with
``responses``): values cut to WeChat's limits, 43101 stops without retrying,
transient errors are retried."""
from __future__ import annotations

import responses

from backend.extensions import db
from backend.jobs.queue import tick_inline
from backend.models import Notification, OutboxJob, User
from tests.conftest import WX_SUBSCRIBE_URL, subscribe_messages

LONG = "1栋1单元3楼楼道灯不亮，晚上回家很黑，老人孩子容易摔倒，请尽快修理"


def _act(client, headers, tid, action, **body):
    response = client.post(f"/api/v1/tickets/{tid}/actions", headers=headers,
                           json={"action": action, **body})
    assert response.status_code == 200, response.json
    return response.json


def _engineer_id(app):
    with app.app_context():
        return db.session.scalar(db.select(User.id).filter_by(username="engineer-user"))


def test_each_status_change_reaches_the_reporter_in_app_and_on_wechat(
        app, client, owner, staff, post_ticket, wechat_api):
    resident = owner("O-1")
    desk, engineer = staff("desk"), staff("engineer")
    tid = post_ticket(resident, description=LONG).json["id"]
    assert subscribe_messages(wechat_api) == []  # creating it is not news to the reporter

    _act(client, desk, tid, "accept")
    _act(client, desk, tid, "assign", assignee_id=_engineer_id(app))
    _act(client, engineer, tid, "start")
    _act(client, engineer, tid, "resolve", note="已更换灯泡")

    sent = subscribe_messages(wechat_api)
    assert [m["data"]["phrase2"]["value"] for m in sent] == ["已受理", "已派单", "处理中", "已完成"]
    first = sent[0]
    assert first["touser"] == "openid-O-1" and first["template_id"] == "tmpl-ticket"
    # the message opens the mini-program entry page, which routes by the in-app link
    assert first["page"] == f"pages/index/index?link=%2Ftickets%2F{tid}"
    thing = first["data"]["thing1"]["value"]
    assert len(thing) == 20 and thing.endswith("…") and LONG.startswith(thing[:-1])
    assert all(len(m["data"]["thing4"]["value"]) <= 20 for m in sent)
    assert "engineer员工" in sent[1]["data"]["thing4"]["value"]

    items = client.get("/api/v1/notifications", headers=resident).json["items"]
    assert [i["title"] for i in items] == ["您的公共报修已完成", "您的公共报修处理中",
                                           "您的公共报修已派单", "您的公共报修已受理"]
    assert all(i["kind"] == "ticket_status" and i["link"] == f"/tickets/{tid}" for i in items)
    with app.app_context():
        states = db.session.scalars(db.select(Notification.wechat_state).join(
            User, User.id == Notification.user_id).filter(User.openid == "openid-O-1")).all()
        assert set(states) == {"sent"}
    # the engineer was told about the new work (in-app)
    engineer_items = client.get("/api/v1/notifications", headers=engineer).json["items"]
    assert engineer_items[0]["kind"] == "ticket_assigned"

    # the reporter's own actions are not announced back to them
    before = len(subscribe_messages(wechat_api))
    _act(client, resident, tid, "reopen", note="还是不亮")
    assert len(subscribe_messages(wechat_api)) == before
    reopened = client.get("/api/v1/notifications", headers=engineer).json["items"][0]
    assert reopened["title"].startswith("业主反馈未修好")


def test_a_refusal_43101_stops_without_retrying(app, client, owner, staff, post_ticket,
                                                wechat_api):
    resident = owner("O-1")
    desk = staff("desk")
    tid = post_ticket(resident).json["id"]
    wechat_api.replace(responses.POST, WX_SUBSCRIBE_URL,
                       json={"errcode": 43101, "errmsg": "user refuse to accept the msg"})
    _act(client, desk, tid, "accept")
    assert len(subscribe_messages(wechat_api)) == 1
    with app.app_context():
        job = db.session.scalar(db.select(OutboxJob).filter_by(name="notify.wechat"))
        assert job.failed and job.attempts == 1
        note = db.session.scalar(db.select(Notification).filter_by(kind="ticket_status"))
        assert note.wechat_state == "refused"
        tick_inline()  # nothing is retried
    assert len(subscribe_messages(wechat_api)) == 1
    # later changes are not pushed to a user who refused (still shown in the app)
    _act(client, desk, tid, "assign", assignee_id=_staff_id(app, staff))
    assert len(subscribe_messages(wechat_api)) == 1
    titles = [i["title"] for i in client.get("/api/v1/notifications", headers=resident).json["items"]]
    assert titles == ["您的公共报修已派单", "您的公共报修已受理"]


def _staff_id(app, staff):
    staff("engineer")
    with app.app_context():
        return db.session.scalar(db.select(User.id).filter_by(username="engineer-user"))


def test_a_transient_error_is_retried(app, client, owner, staff, post_ticket, wechat_api):
    resident = owner("O-1")
    desk = staff("desk")
    tid = post_ticket(resident).json["id"]
    wechat_api.remove(responses.POST, WX_SUBSCRIBE_URL)
    wechat_api.add(responses.POST, WX_SUBSCRIBE_URL, json={"errcode": -1, "errmsg": "system busy"})
    wechat_api.add(responses.POST, WX_SUBSCRIBE_URL, json={"errcode": 0, "errmsg": "ok"})
    _act(client, desk, tid, "accept")
    with app.app_context():
        job = db.session.scalar(db.select(OutboxJob).filter_by(name="notify.wechat"))
        assert job.done_at is None and not job.failed and job.attempts == 1
        tick_inline()  # the retry
    with app.app_context():
        job = db.session.scalar(db.select(OutboxJob).filter_by(name="notify.wechat"))
        assert job.done_at is not None and job.attempts == 2
        assert db.session.scalar(db.select(Notification.wechat_state).filter_by(
            kind="ticket_status")) == "sent"
    assert len(subscribe_messages(wechat_api)) == 2


def test_rejection_reason_is_in_the_message(app, client, owner, staff, post_ticket, wechat_api):
    resident = owner("O-1")
    tid = post_ticket(resident, kind="suggestion", description="建议装充电桩").json["id"]
    _act(client, staff("desk"), tid, "reject", note="需业委会统一决定")
    message = subscribe_messages(wechat_api)[-1]
    assert message["data"]["phrase2"]["value"] == "已驳回"
    assert "需业委会统一决定" in message["data"]["thing4"]["value"]
    item = client.get("/api/v1/notifications", headers=resident).json["items"][0]
    assert item["title"] == "您的建议已驳回" and "需业委会统一决定" in item["body"]


def test_urgent_reports_alert_the_desk(client, owner, staff, post_ticket, room_id, wechat_api):
    desk = staff("desk")
    resident = owner("O-1")
    post_ticket(resident, kind="home_repair", room_id=room_id(resident, "1-1-101"), urgent=True,
                description="厨房有燃气味")
    items = client.get("/api/v1/notifications", headers=desk).json["items"]
    assert items[0]["kind"] == "ticket_urgent" and "燃气味" in items[0]["title"]
