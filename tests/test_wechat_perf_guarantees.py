"""What the leaner WeChat push path (routes/wechat_callback.py, Core writes in
services/chat.py, expat and a per-process cipher in wechat.py) must still keep:
the deadline when the database is busy, the nonce guard on every path, and
readable XML both ways."""
from __future__ import annotations

import time

import pytest
import xmltodict
from sqlalchemy import create_engine

from backend import wechat
from backend.extensions import db
from backend.models import Conversation, Message, User
from tests.conftest import TEST_DB, wait_for
from tests.test_wechat_callback import CS_URL, OPENID, WeChat, cs_calls, resident_messages, text_xml


@pytest.fixture
def wx(client, community):
    return WeChat(client)


def test_a_push_blocked_by_a_database_lock_gets_success_in_time_and_is_recorded_later(
        make_app, community, database_url, wechat_api):
    wechat_api.post(CS_URL, json={"errcode": 0, "errmsg": "ok"})
    budget = 0.5
    app = make_app(WECHAT_REPLY_BUDGET_SECONDS=budget)
    sender = WeChat(app.test_client())
    engine = create_engine(database_url)
    holder = engine.connect()
    try:
        holder.begin()  # SQLite: BEGIN IMMEDIATE (outside a request), the write lock
        if TEST_DB == "postgresql":
            holder.exec_driver_sql("LOCK TABLE chat_message IN EXCLUSIVE MODE")
        started = time.monotonic()
        response = sender.post(text_xml("物业电话是多少", msg_id=4242))
        elapsed = time.monotonic() - started
        assert response.status_code == 200 and response.get_data(as_text=True) == "success"
        assert elapsed < budget + 1.0
        time.sleep(0.2)
    finally:
        holder.rollback()
        holder.close()
        engine.dispose()
    # the worker thread records it once the lock is gone; the answer follows as a
    # customer-service message
    calls = wait_for(lambda: cs_calls(wechat_api))
    assert calls[0]["touser"] == OPENID and "服务电话" in calls[0]["text"]["content"]
    assert [m.text for m in resident_messages(app)] == ["物业电话是多少"]

    def sent():
        with app.app_context():
            delivery = db.session.scalar(db.select(Message.delivery).filter_by(sender="bot"))
            return delivery is not None and delivery.value == "sent"

    wait_for(sent)
    # WeChat's retry of the same MsgId adds nothing and gets "success"
    again = sender.post(text_xml("物业电话是多少", msg_id=4242))
    assert again.status_code == 200 and again.get_data(as_text=True) == "success"
    assert len(resident_messages(app)) == 1


def test_the_nonce_of_a_refused_or_event_push_is_kept_too(wx):
    """With the database guard the nonce is recorded with the push's writes; pushes
    that write nothing else still record it."""
    for body, status in (("<xml><MsgType>text", 400),
                         (f"<xml><ToUserName>gh</ToUserName><FromUserName>{OPENID}</FromUserName>"
                          f"<CreateTime>{int(time.time())}</CreateTime><MsgType>event</MsgType>"
                          f"<Event>user_enter_tempsession</Event></xml>", 200)):
        params = wx.params()
        first = wx.client.post("/wechat/callback", query_string=params, data=body)
        assert first.status_code == status
        replay = wx.client.post("/wechat/callback", query_string=params, data=body)
        assert replay.status_code == 403 and replay.json["error"]["code"] == "replayed_nonce"


def test_a_server_check_nonce_is_not_accepted_twice(wx):
    params = dict(wx.params(), echostr="e-1")
    assert wx.client.get("/wechat/callback", query_string=params).status_code == 200
    assert wx.client.get("/wechat/callback", query_string=params).status_code == 403


def test_the_first_message_makes_one_user_and_one_conversation_in_the_community(wx, app, community):
    for n in range(3):
        assert wx.answer(wx.post(text_xml("物业电话是多少", msg_id=900 + n)))
    with app.app_context():
        users = db.session.scalars(db.select(User).filter_by(openid=OPENID)).all()
        assert len(users) == 1 and users[0].last_message_at is not None
        convs = db.session.scalars(db.select(Conversation).filter_by(resident_id=users[0].id)).all()
        assert len(convs) == 1 and convs[0].community_id == community["id"]
        assert convs[0].channel.value == "wechat" and convs[0].last_activity_at is not None
        replies = db.session.scalars(db.select(Message).filter_by(sender="bot")).all()
        assert len(replies) == 3 and {r.delivery.value for r in replies} == {"passive"}


def test_unanswerable_questions_twice_hand_the_wechat_conversation_to_the_desk(wx, app):
    wx.post(text_xml("阿巴阿巴阿巴", msg_id=1))
    wx.post(text_xml("嘟嘟嘟嘟嘟", msg_id=2))
    with app.app_context():
        conv = db.session.scalar(db.select(Conversation))
        assert conv.state.value == "waiting" and conv.bot_failures == 0
        assert conv.waiting_since is not None
    held = wx.post(text_xml("还有人吗", msg_id=3))
    assert held.status_code == 200


def test_a_bad_create_time_is_a_malformed_push_not_a_500(wx):
    body = (f"<xml><ToUserName>gh</ToUserName><FromUserName>{OPENID}</FromUserName>"
            "<CreateTime>yesterday</CreateTime><MsgType>text</MsgType><Content>你好</Content>"
            "<MsgId>77</MsgId></xml>")
    response = wx.post(body)
    assert response.status_code == 400 and response.json["error"]["code"] == "malformed_push"


def test_passive_reply_xml_survives_any_text():
    push = wechat.Push(msg_type="text", openid="o-1]]>", to_user="gh_x", create_time=1,
                       msg_id="1", text="hi", event=None)
    text = "答复 ]]> <b>&amp; 结束"
    reply = xmltodict.parse(wechat.text_reply_xml(push, text, create_time=5))["xml"]
    assert reply == {"ToUserName": "o-1]]>", "FromUserName": "gh_x", "CreateTime": "5",
                     "MsgType": "text", "Content": text}


def test_pushes_read_as_wechatpy_reads_them():
    from wechatpy import parse_message

    xml = ("<xml><ToUserName><![CDATA[gh]]></ToUserName><FromUserName><![CDATA[o-9]]>"
           "</FromUserName><CreateTime>1700000000</CreateTime><MsgType><![CDATA[voice]]>"
           "</MsgType><MediaId>m</MediaId><Format>amr</Format>"
           "<Recognition><![CDATA[ 物业电话 ]]></Recognition><MsgId>0123</MsgId></xml>")
    push, theirs = wechat.parse_push(xml.encode()), parse_message(xml)
    assert (push.msg_type, push.openid, push.to_user, push.msg_id, push.text) == (
        theirs.type, theirs.source, theirs.target, str(theirs.id), theirs.recognition)
    assert push.create_time == int(theirs.create_time.timestamp())
