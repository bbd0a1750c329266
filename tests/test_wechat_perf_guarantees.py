"""What the push path (routes/wechat_callback.py: recorded in the request through the
app chat's service; wechatpy's crypto and parser) must keep: an answer within
WeChat's deadline whatever holds the database, without losing the push; WeChat's
retries, with the same nonce or a new one, answered alike and stored once; the nonce
guard on every path; readable XML both ways."""
from __future__ import annotations

import socket
import time

import pytest
import xmltodict
from sqlalchemy import create_engine, text
from werkzeug.test import EnvironBuilder

from backend import wechat
from backend.extensions import db
from backend.models import Conversation, Message, User
from tests.conftest import TEST_DB
from tests.test_wechat_callback import (
    AES_KEY,
    OPENID,
    WeChat,
    bind_wechat_resident,
    resident_messages,
    text_xml,
)


@pytest.fixture
def wx(client, community):
    return WeChat(client)


# WECHAT_REPLY_BUDGET_SECONDS in the deadline tests: short, yet room enough for a fresh
# app's first push (rules loaded, statements compiled, connections opened) on a busy
# CI machine; 1 s was not
BUDGET = 2.0
# how long WeChat waits for an answer before it gives up on the request and retries
WECHAT_DEADLINE = 5.0
# What another connection holds while the push comes in (it wrote and has not
# committed). SQLite has one lock, the database's write lock; on PostgreSQL: the
# resident's conversation row (the push updates it), every write to chat_message,
# and any access to the nonce table (the push reads it first).
LOCKS = {
    "sqlite": {"write lock": ["UPDATE community SET name = name"]},
    "postgresql": {
        "conversation row": ["SELECT 1 FROM conversation FOR UPDATE"],
        "chat_message writes": ["LOCK TABLE chat_message IN EXCLUSIVE MODE"],
        "nonce table": ["LOCK TABLE wechat_nonce IN ACCESS EXCLUSIVE MODE"],
    },
}[TEST_DB]


def _hold(database_url: str, statements: list[str]):
    engine = create_engine(database_url)
    holder = engine.connect()
    holder.begin()
    for statement in statements:
        holder.execute(text(statement))
    return engine, holder


def first_push(sender, body, aes: bool = False):
    """A fresh app's first push, answered. On a busy machine it may run out of its
    budget (a new engine compiles its statements) and get 503: WeChat then retries the
    same request, and so does this."""
    response = sender.post(body, aes=aes)
    if response.status_code == 503:
        response = sender.resend(response)
    assert response.status_code == 200
    return response


@pytest.mark.parametrize("lock", list(LOCKS))
def test_a_push_blocked_by_a_lock_answers_in_time_and_wechats_retry_is_recorded_once(
        make_app, community, database_url, lock):
    app = make_app(WECHAT_REPLY_BUDGET_SECONDS=BUDGET, WECHAT_AES_KEY=AES_KEY)
    sender = WeChat(app.test_client())
    assert "服务电话" in sender.answer(
        first_push(sender, text_xml("物业电话是多少", msg_id=1), aes=True), aes=True)
    engine, holder = _hold(database_url, LOCKS[lock])
    try:
        started = time.monotonic()
        refused = sender.post(text_xml("怎么交物业费", msg_id=2), aes=True)
        elapsed = time.monotonic() - started
    finally:
        holder.rollback()
        holder.close()
        engine.dispose()
    # no valid answer (WeChat retries), inside WeChat's 5 s (without the budget it would
    # wait on the lock until the holder lets go, after this request)
    assert refused.status_code == 503 and refused.json["error"]["code"] == "unavailable"
    assert elapsed < WECHAT_DEADLINE
    assert [m.text for m in resident_messages(app)] == ["物业电话是多少"]
    # WeChat's retries: the same request again (same nonce), then with a fresh nonce
    retry = sender.resend(refused)
    assert retry.status_code == 200 and "缴费方式" in sender.answer(retry, aes=True)
    again = sender.post(text_xml("怎么交物业费", msg_id=2), aes=True)
    assert sender.answer(again, aes=True) == sender.answer(retry, aes=True)
    assert [m.text for m in resident_messages(app)] == ["物业电话是多少", "怎么交物业费"]


def test_with_redis_a_push_not_recorded_is_recorded_on_wechats_retry_with_the_same_nonce(
        make_app, community, database_url, redis_url):
    app = make_app(WECHAT_REPLY_BUDGET_SECONDS=BUDGET, REDIS_URL=redis_url)
    sender = WeChat(app.test_client())
    assert sender.answer(first_push(sender, text_xml("你好", msg_id=1)))
    engine, holder = _hold(database_url, next(iter(LOCKS.values())))
    try:
        refused = sender.post(text_xml("物业电话是多少", msg_id=2))
    finally:
        holder.rollback()
        holder.close()
        engine.dispose()
    assert refused.status_code == 503
    retry = sender.resend(refused)
    assert retry.status_code == 200 and "服务电话" in sender.answer(retry)
    replay = sender.resend(refused)  # byte for byte once more: the stored answer
    assert replay.status_code == 200 and sender.answer(replay) == sender.answer(retry)
    params = refused.params
    other = sender.post(text_xml("转人工", msg_id=3), timestamp=params["timestamp"],
                        nonce=params["nonce"])
    assert other.status_code == 403 and other.json["error"]["code"] == "replayed_nonce"
    assert [m.text for m in resident_messages(app)] == ["你好", "物业电话是多少"]


def test_a_redis_that_hangs_does_not_hold_the_answer_up(make_app, community, caplog):
    """Redis accepts connections and never answers. The nonce guard waits once for the
    app's Redis client to time out, then the database takes over and Redis is skipped
    for a while; the reply's job goes to Redis only after the response, when the
    server closes it, as a WSGI server does (before it, it would wait once more).
    Counted, not timed: each contact with this Redis is a connection in its backlog
    (the client drops a connection that timed out) and a warning in the log."""
    from backend.models import OutboxJob

    accepted: list[socket.socket] = []

    def contacts(hole) -> int:
        """Connections the app opened to the silent Redis since the last call."""
        before = len(accepted)
        while True:
            try:
                accepted.append(hole.accept()[0])
            except BlockingIOError:
                return len(accepted) - before

    def warnings() -> list[str]:
        lines = [r.getMessage().split(":")[0] for r in caplog.records
                 if r.levelname == "WARNING"]
        caplog.clear()
        return lines

    def push(app, hole, msg_id):
        environ = EnvironBuilder(method="POST", path="/wechat/callback",
                                 query_string=WeChat(None).params(),
                                 data=text_xml("物业电话是多少", msg_id=msg_id),
                                 content_type="text/xml").get_environ()
        response = app(environ, lambda status, headers, exc_info=None: None)
        body = b"".join(response)
        answered = (contacts(hole), warnings())
        response.close()
        return body, answered, (contacts(hole), warnings())

    caplog.set_level("WARNING")
    with socket.socket() as hole:
        hole.bind(("127.0.0.1", 0))
        hole.listen(64)
        hole.setblocking(False)
        app = make_app(REDIS_URL=f"redis://127.0.0.1:{hole.getsockname()[1]}/0",
                       WECHAT_PASSIVE_REPLY=False)
        contacts(hole), warnings()  # start from nothing: forget what building the app did
        try:
            first, first_answered, first_closed = push(app, hole, 1)
            second, second_answered, second_closed = push(app, hole, 2)
        finally:
            for connection in accepted:
                connection.close()
    outbox_down = "redis unavailable, 1 job(s) stay in the outbox"
    assert first == second == b"success"
    # the first answer waited for Redis once, in the nonce guard, not for the job
    assert first_answered == (1, ["nonce guard"])
    assert first_closed == (1, [outbox_down])
    # the second answer did not wait for Redis at all
    assert second_answered == (0, [])
    assert second_closed == (1, [outbox_down])
    with app.app_context():
        jobs = db.session.scalars(db.select(OutboxJob).filter_by(name="chat.send_wechat")).all()
        assert len(jobs) == 2  # relayed when Redis is back
        assert all(job.done_at is None and job.enqueued_at is None for job in jobs)


def test_the_bounds_end_with_the_push(make_app, community):
    """The short timeouts of the push's transaction do not stay on the pooled
    connection (one here): the next request's statements may wait as long as usual."""
    app = make_app(SQLALCHEMY_ENGINE_OPTIONS={"pool_size": 1, "max_overflow": 0})
    wx = WeChat(app.test_client())
    assert wx.answer(wx.post(text_xml("物业电话是多少")))
    with app.app_context():
        if TEST_DB == "postgresql":
            assert db.session.execute(text("SHOW statement_timeout")).scalar() == "0"
            assert db.session.execute(text("SHOW lock_timeout")).scalar() == "0"
        else:
            assert db.session.execute(text("PRAGMA busy_timeout")).scalar() == 30000


@pytest.fixture(params=["database", "redis"])
def guarded(request, make_app, community):
    """A WeChat sender to an app whose nonce guard is the database (no Redis) or Redis."""
    overrides = {}
    if request.param == "redis":
        overrides["REDIS_URL"] = request.getfixturevalue("redis_url")
    app = make_app(**overrides)
    return app, WeChat(app.test_client())


EVENT = (f"<xml><ToUserName>gh</ToUserName><FromUserName>{OPENID}</FromUserName>"
         "<CreateTime>1700000000</CreateTime><MsgType>event</MsgType>"
         "<Event>user_enter_tempsession</Event></xml>")


@pytest.mark.parametrize("body, status", [("<xml><MsgType>text", 400), ("", 400),
                                          ("投诉" * 40000, 413), (EVENT, 200)])
def test_the_nonce_of_a_refused_or_event_push_is_kept_too(guarded, body, status):
    """A request that records nothing else still holds its nonce: the same request
    again is handled the same way, another one with that nonce is refused."""
    app, wx = guarded
    params = wx.params()
    first = wx.client.post("/wechat/callback", query_string=params, data=body)
    assert first.status_code == status
    again = wx.client.post("/wechat/callback", query_string=params, data=body)
    assert again.status_code == status
    other = wx.client.post("/wechat/callback", query_string=params,
                           data=text_xml("物业电话是多少", msg_id=5))
    assert other.status_code == 403 and other.json["error"]["code"] == "replayed_nonce"
    assert resident_messages(app) == []


def test_a_server_check_nonce_is_not_accepted_for_another_request(guarded):
    app, wx = guarded
    params = dict(wx.params(), echostr="e-1")
    first = wx.client.get("/wechat/callback", query_string=params)
    assert first.status_code == 200 and first.get_data(as_text=True) == "e-1"
    assert wx.client.get("/wechat/callback", query_string=params).status_code == 200
    other = wx.client.get("/wechat/callback", query_string=dict(params, echostr="e-2"))
    assert other.status_code == 403 and other.json["error"]["code"] == "replayed_nonce"
    push = wx.client.post("/wechat/callback", query_string=params, data=text_xml("你好"))
    assert push.status_code == 403


def test_a_byte_identical_replay_gets_the_stored_answer_and_another_body_is_refused(guarded):
    app, wx = guarded
    first = wx.post(text_xml("物业电话是多少", msg_id=41, created=1700000000))
    assert first.status_code == 200 and "服务电话" in wx.answer(first)
    replay = wx.resend(first)
    assert replay.status_code == 200 and wx.answer(replay) == wx.answer(first)
    fresh_nonce = wx.post(text_xml("物业电话是多少", msg_id=41, created=1700000000))
    assert wx.answer(fresh_nonce) == wx.answer(first)
    params = first.params
    other = wx.post(text_xml("转人工", msg_id=42), timestamp=params["timestamp"],
                    nonce=params["nonce"])
    assert other.status_code == 403 and other.json["error"]["code"] == "replayed_nonce"
    assert [m.text for m in resident_messages(app)] == ["物业电话是多少"]
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count()).select_from(Message)
                                 .filter_by(sender="bot")) == 1


def test_a_push_whose_commit_fails_gets_503_and_wechats_retry_is_recorded(guarded):
    """The view's work succeeded, the request's COMMIT (after the view) did not: 503,
    nothing kept, and WeChat's retry with the same nonce goes through."""
    import sqlite3

    from sqlalchemy import event
    from sqlalchemy.exc import OperationalError

    app, wx = guarded
    with app.app_context():
        engine = db.engine

    def note_message(conn, cursor, statement, parameters, context, executemany):
        if statement.lstrip().upper().startswith("INSERT INTO CHAT_MESSAGE"):
            conn.info["wrote_message"] = True

    def fail_commit(conn):
        if conn.info.pop("wrote_message", False):
            raise OperationalError("COMMIT", {}, sqlite3.OperationalError("disk I/O error"))

    def forget(conn):
        conn.info.pop("wrote_message", None)

    listeners = [("before_cursor_execute", note_message), ("commit", fail_commit),
                 ("rollback", forget)]
    for name, fn in listeners:
        event.listen(engine, name, fn)
    try:
        refused = wx.post(text_xml("物业电话是多少", msg_id=51))
    finally:
        for name, fn in listeners:
            event.remove(engine, name, fn)
    assert refused.status_code == 503 and refused.json["error"]["code"] == "unavailable"
    assert resident_messages(app) == []
    retry = wx.resend(refused)
    assert retry.status_code == 200 and "服务电话" in wx.answer(retry)
    assert [m.text for m in resident_messages(app)] == ["物业电话是多少"]


def test_pushes_and_the_app_chat_are_one_conversation(guarded):
    """A resident who writes through WeChat and then opens the app's chat page (same
    openid) sees one conversation, answered the same way on both."""
    app, wx = guarded
    pushed = wx.answer(wx.post(text_xml("物业电话是多少", msg_id=61)))
    client = app.test_client()
    token = client.post("/api/v1/auth/wx-login", json={"code": f"dev:{OPENID}"}).json["token"]
    headers = {"Authorization": f"Bearer {token}"}
    history = client.get("/api/v1/chat/messages", headers=headers).json
    assert [(m["sender"], m["text"]) for m in history["items"]] == [
        ("resident", "物业电话是多少"), ("bot", pushed)]
    assert history["items"][1]["delivery"] == "passive"
    said = client.post("/api/v1/chat/messages", json={"text": "物业电话是多少"}, headers=headers)
    assert said.status_code == 201 and said.json["messages"][1]["text"] == pushed
    assert said.json["messages"][1]["delivery"] is None
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count()).select_from(Conversation)) == 1


def test_the_first_message_makes_one_user_and_one_conversation_in_the_community(wx, app, community):
    with app.app_context():
        assert db.session.scalar(db.select(User).filter_by(openid=OPENID)) is None
    wx.post(text_xml("你好", msg_id=899))
    with app.app_context():  # not bound yet: no community's
        assert db.session.scalar(db.select(Conversation.community_id)) is None
    bind_wechat_resident(wx.client)
    for n in range(3):
        assert wx.answer(wx.post(text_xml("物业电话是多少", msg_id=900 + n)))
    with app.app_context():
        users = db.session.scalars(db.select(User).filter_by(openid=OPENID)).all()
        assert len(users) == 1 and users[0].last_message_at is not None
        convs = db.session.scalars(db.select(Conversation).filter_by(resident_id=users[0].id)).all()
        assert len(convs) == 1 and convs[0].community_id == community["id"]
        assert convs[0].channel.value == "wechat" and convs[0].last_activity_at is not None
        replies = db.session.scalars(db.select(Message).filter_by(sender="bot")).all()
        assert len(replies) == 4 and {r.delivery.value for r in replies} == {"passive"}


def test_unanswerable_questions_twice_hand_the_wechat_conversation_to_the_desk(wx, app):
    bind_wechat_resident(wx.client)
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


def test_entities_the_byte_check_cannot_see_are_refused_by_the_parser(wx, app):
    """A UTF-16 body hides "<!DOCTYPE" from the check on bytes; xmltodict (under
    wechatpy) refuses the entity declaration itself: 400, nothing expanded or kept."""
    bomb = ('<?xml version="1.0" encoding="UTF-16"?><!DOCTYPE xml [<!ENTITY lol "lol">]>'
            f'<xml><FromUserName>{OPENID}</FromUserName><MsgType>text</MsgType>'
            '<Content>&lol;</Content><MsgId>9</MsgId></xml>').encode("utf-16")
    response = wx.post(bomb)
    assert response.status_code == 400 and response.json["error"]["code"] == "malformed_push"
    assert resident_messages(app) == []
