"""The WeChat message push at /wechat/callback, played the way WeChat plays it:
signed (and, in safe mode, AES-encrypted) with wechatpy's own crypto."""
from __future__ import annotations

import json
import time
import uuid
from datetime import timedelta

import pytest
import xmltodict
from wechatpy.crypto import WeChatCrypto
from wechatpy.utils import WeChatSigner

from backend.extensions import db
from backend.models import Conversation, Message, OutboxJob, User, utcnow
from tests.conftest import wait_for

TOKEN = "test-push-token"
APPID = "wx0123456789abcdef"
AES_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
OPENID = "o-wechat-resident"
CS_URL = "https://api.weixin.qq.com/cgi-bin/message/custom/send"


def signature(*parts: str) -> str:
    signer = WeChatSigner()
    signer.add_data(TOKEN, *parts)
    return signer.signature


def text_xml(content: str, msg_id: str | int = 1001, openid: str = OPENID,
             created: int | None = None) -> str:
    return (f"<xml><ToUserName><![CDATA[gh_property]]></ToUserName>"
            f"<FromUserName><![CDATA[{openid}]]></FromUserName>"
            f"<CreateTime>{created or int(time.time())}</CreateTime>"
            f"<MsgType><![CDATA[text]]></MsgType><Content><![CDATA[{content}]]></Content>"
            f"<MsgId>{msg_id}</MsgId></xml>")


class WeChat:
    """Sends pushes to the app as WeChat's servers do."""

    def __init__(self, client):
        self.client = client
        self.crypto = WeChatCrypto(TOKEN, AES_KEY, APPID)

    def params(self, timestamp=None, nonce=None, sign=True):
        timestamp = str(timestamp or int(time.time()))
        nonce = nonce or uuid.uuid4().hex[:10]
        return {"timestamp": timestamp, "nonce": nonce,
                "signature": signature(timestamp, nonce) if sign else "0" * 40,
                "openid": OPENID}

    def post(self, body: str | bytes, aes: bool = False, **kw):
        params = self.params(**kw)
        if aes:
            envelope = self.crypto.encrypt_message(body, params["nonce"], params["timestamp"])
            params.update(encrypt_type="aes",
                          msg_signature=xmltodict.parse(envelope)["xml"]["MsgSignature"])
            body = envelope
        response = self.client.post("/wechat/callback", query_string=params, data=body,
                                    content_type="text/xml")
        response.params, response.body = params, body
        return response

    def resend(self, response):
        """The same request again, byte for byte (WeChat's retry with the same nonce)."""
        again = self.client.post("/wechat/callback", query_string=response.params,
                                 data=response.body, content_type="text/xml")
        again.params, again.body = response.params, response.body
        return again

    def answer(self, response, aes: bool = False) -> str | None:
        """The passive reply's text (None for "success")."""
        body = response.get_data(as_text=True)
        if body == "success":
            return None
        if aes:
            envelope = xmltodict.parse(body)["xml"]
            body = self.crypto.decrypt_message(body, envelope["MsgSignature"],
                                               envelope["TimeStamp"], envelope["Nonce"])
        reply = xmltodict.parse(body)["xml"]
        assert reply["ToUserName"] == OPENID and reply["MsgType"] == "text"
        return reply["Content"]


@pytest.fixture
def wx(client, community):
    return WeChat(client)


@pytest.fixture
def wx_aes(make_app, community):
    return WeChat(make_app(WECHAT_AES_KEY=AES_KEY).test_client())


def resident_messages(app) -> list[Message]:
    with app.app_context():
        return list(db.session.scalars(db.select(Message).filter_by(sender="resident")
                                       .order_by(Message.id)))


def cs_calls(mock) -> list[dict]:
    return [json.loads(c.request.body) for c in mock.calls if c.request.url.startswith(CS_URL)]


# ------------------------------------------------------------------ verification
def test_server_verification_echoes_echostr_only_for_a_good_signature(wx):
    params = wx.params()
    ok = wx.client.get("/wechat/callback", query_string=dict(params, echostr="hello-123"))
    assert ok.status_code == 200 and ok.get_data(as_text=True) == "hello-123"
    bad = wx.client.get("/wechat/callback", query_string=dict(wx.params(sign=False), echostr="x"))
    assert bad.status_code == 403 and bad.json["error"]["code"] == "bad_signature"


# ------------------------------------------------------------------ answering
def test_plain_push_gets_the_bots_passive_reply(wx, app):
    response = wx.post(text_xml("物业电话是多少"))
    assert response.status_code == 200
    assert "24小时值班电话" in wx.answer(response)
    with app.app_context():
        user = db.session.scalar(db.select(User).filter_by(openid=OPENID))
        conv = db.session.scalar(db.select(Conversation).filter_by(resident_id=user.id))
        assert conv.channel.value == "wechat"
        assert user.last_message_at is not None
        reply = db.session.scalar(db.select(Message).filter_by(sender="bot"))
        assert reply.delivery.value == "passive"


def test_safe_mode_push_is_decrypted_and_the_reply_encrypted(wx_aes):
    response = wx_aes.post(text_xml("怎么交物业费"), aes=True)
    assert response.status_code == 200
    body = response.get_data(as_text=True)
    assert "<Encrypt>" in body and "交" not in body  # nothing readable on the wire
    assert "缴费方式" in wx_aes.answer(response, aes=True)


def test_safe_mode_with_a_bad_message_signature_is_refused(wx_aes):
    params = wx_aes.params()
    envelope = wx_aes.crypto.encrypt_message(text_xml("你好"), params["nonce"], params["timestamp"])
    params.update(encrypt_type="aes", msg_signature="0" * 40)
    response = wx_aes.client.post("/wechat/callback", query_string=params, data=envelope)
    assert response.status_code == 403


def test_a_retried_msgid_is_handled_once_and_answered_the_same(wx, app):
    first = wx.post(text_xml("物业费多少钱", msg_id=555))
    again = wx.post(text_xml("物业费多少钱", msg_id=555))  # WeChat's retry: new nonce
    assert again.status_code == 200
    assert wx.answer(again) == wx.answer(first)
    assert len(resident_messages(app)) == 1
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count()).select_from(Message)
                                 .filter_by(sender="bot")) == 1


def test_a_voice_message_uses_its_recognised_text_and_a_picture_asks_for_words(wx, app):
    voice = (f"<xml><ToUserName>gh_property</ToUserName><FromUserName>{OPENID}</FromUserName>"
             f"<CreateTime>{int(time.time())}</CreateTime><MsgType>voice</MsgType>"
             f"<MediaId>m1</MediaId><Format>amr</Format><Recognition>物业电话是多少</Recognition>"
             f"<MsgId>7001</MsgId></xml>")
    assert "服务电话" in wx.answer(wx.post(voice))
    image = voice.replace("voice", "image").replace("<Recognition>物业电话是多少</Recognition>", "") \
        .replace("7001", "7002")
    assert "只能识别文字" in wx.answer(wx.post(image))
    assert [m.text for m in resident_messages(app)] == ["物业电话是多少", "[图片]"]


def test_events_get_success(wx):
    event = (f"<xml><ToUserName>gh_property</ToUserName><FromUserName>{OPENID}</FromUserName>"
             f"<CreateTime>{int(time.time())}</CreateTime><MsgType>event</MsgType>"
             f"<Event>user_enter_tempsession</Event><SessionFrom>miniapp</SessionFrom></xml>")
    response = wx.post(event)
    assert response.status_code == 200 and response.get_data(as_text=True) == "success"


# ------------------------------------------------------------------ refusals
def test_a_replayed_nonce_is_refused(wx, app):
    params = wx.params()
    first = wx.client.post("/wechat/callback", query_string=params, data=text_xml("你好", 1))
    assert first.status_code == 200
    replay = wx.client.post("/wechat/callback", query_string=params, data=text_xml("人工", 2))
    assert replay.status_code == 403 and replay.json["error"]["code"] == "replayed_nonce"
    assert [m.text for m in resident_messages(app)] == ["你好"]


def test_a_stale_or_future_timestamp_is_refused(wx):
    for skew in (-301, 400):
        response = wx.post(text_xml("你好"), timestamp=int(time.time()) + skew)
        assert response.status_code == 403
        assert response.json["error"]["code"] == "stale_timestamp"


def test_a_bad_signature_is_refused_before_anything_is_stored(wx, app):
    response = wx.post(text_xml("你好"), sign=False)
    assert response.status_code == 403
    assert resident_messages(app) == []


def test_xml_with_a_doctype_or_entities_is_refused(wx, wx_aes):
    bomb = ('<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
            '<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>'
            f'<xml><FromUserName>{OPENID}</FromUserName><MsgType>text</MsgType>'
            '<Content>&lol2;</Content><MsgId>9</MsgId></xml>')
    response = wx.post(bomb)
    assert response.status_code == 400
    assert response.json["error"]["code"] == "xml_entities_refused"
    inside = wx_aes.post(bomb, aes=True)  # hidden inside the encrypted envelope
    assert inside.status_code == 400
    assert inside.json["error"]["code"] == "xml_entities_refused"


def test_an_oversized_push_is_refused_before_parsing(wx):
    response = wx.post(text_xml("投诉" * 40000))
    assert response.status_code == 413
    assert response.json["error"]["code"] == "push_too_large"


def test_malformed_xml_is_400_not_500(wx):
    for body in ("<xml><MsgType>text", "not xml at all", "<xml></xml>"):
        response = wx.post(body)
        assert response.status_code == 400, body
        assert response.json["error"]["code"] == "malformed_push"


# ------------------------------------------------------------------ Redis
def test_with_redis_down_the_push_is_still_answered_and_replays_still_refused(make_app, community):
    wx = WeChat(make_app(REDIS_URL="redis://127.0.0.1:1/0").test_client())
    params = wx.params()
    response = wx.client.post("/wechat/callback", query_string=params, data=text_xml("物业电话是多少"))
    assert response.status_code == 200 and "服务电话" in wx.answer(response)
    replay = wx.client.post("/wechat/callback", query_string=params, data=text_xml("人工", 2))
    assert replay.status_code == 403  # the database guard took over


def test_with_redis_up_the_nonce_is_kept_in_redis(make_app, community, redis_url):
    from redis import Redis

    wx = WeChat(make_app(REDIS_URL=redis_url).test_client())
    response = wx.post(text_xml("你好"))
    assert response.status_code == 200
    key = f"wuye:wechat-nonce:{response.params['timestamp']}:{response.params['nonce']}"
    assert Redis.from_url(redis_url).ttl(key) > 0


# ------------------------------------------------------------------ customer-service messages
def bind_wechat_resident(client) -> None:
    """The WeChat resident binds 1-1-101 in the mini-program (the same openid): a
    desk takes only its own community's residents."""
    token = client.post("/api/v1/auth/wx-login", json={"code": f"dev:{OPENID}"}).json["token"]
    bound = client.post("/api/v1/me/rooms", headers={"Authorization": f"Bearer {token}"}, json={
        "building": "1", "unit": "1", "number": "101", "owner_name": "张三",
        "phone": "13900000001"})
    assert bound.status_code == 201, bound.json


def _hand_to_desk(wx, client, staff) -> tuple[dict, int]:
    """The bound WeChat resident asks for a person and a desk member takes it."""
    desk = staff("desk")
    bind_wechat_resident(client)
    assert "转接人工" in wx.answer(wx.post(text_xml("转人工", msg_id=1)))
    conv_id = client.get("/api/v1/desk/conversations?state=waiting", headers=desk).json["items"][0]["id"]
    assert client.post(f"/api/v1/desk/conversations/{conv_id}/claim", headers=desk).status_code == 200
    return desk, conv_id


def test_while_a_person_holds_it_the_push_gets_success_and_desk_replies_go_by_customer_service(
        wx, client, staff, app, wechat_api):
    wechat_api.post(CS_URL, json={"errcode": 0, "errmsg": "ok"})
    desk, conv_id = _hand_to_desk(wx, client, staff)
    held = wx.post(text_xml("我家水管漏了", msg_id=2))
    assert held.status_code == 200 and held.get_data(as_text=True) == "success"
    reply = client.post(f"/api/v1/desk/conversations/{conv_id}/messages", headers=desk,
                        json={"text": "师傅马上上门"})
    assert reply.status_code == 201
    assert cs_calls(wechat_api) == [{"touser": OPENID, "msgtype": "text",
                                     "text": {"content": "师傅马上上门"}}]
    with app.app_context():
        assert db.session.get(Message, reply.json["id"]).delivery.value == "sent"


def test_outside_the_48_hour_window_nothing_is_sent_and_the_message_is_marked(
        wx, client, staff, app, wechat_api):
    wechat_api.post(CS_URL, json={"errcode": 0, "errmsg": "ok"})
    desk, conv_id = _hand_to_desk(wx, client, staff)
    with app.app_context():
        user = db.session.scalar(db.select(User).filter_by(openid=OPENID))
        user.last_message_at = utcnow() - timedelta(hours=49)
        db.session.commit()
    reply = client.post(f"/api/v1/desk/conversations/{conv_id}/messages", headers=desk,
                        json={"text": "您好"})
    assert cs_calls(wechat_api) == []
    with app.app_context():
        assert db.session.get(Message, reply.json["id"]).delivery.value == "undelivered"


def test_45015_from_wechat_is_final_and_not_retried(wx, client, staff, app, wechat_api):
    from backend.jobs.queue import tick_inline

    wechat_api.post(CS_URL, json={"errcode": 45015, "errmsg": "response out of time limit"})
    desk, conv_id = _hand_to_desk(wx, client, staff)
    reply = client.post(f"/api/v1/desk/conversations/{conv_id}/messages", headers=desk,
                        json={"text": "您好"})
    with app.app_context():
        tick_inline()  # due jobs run again: a final failure is not among them
        msg = db.session.get(Message, reply.json["id"])
        assert msg.delivery.value == "undelivered" and "45015" in msg.delivery_error
        job = db.session.scalar(db.select(OutboxJob).filter_by(name="chat.send_wechat"))
        assert job.failed is True
    assert len(cs_calls(wechat_api)) == 1


def test_at_most_five_replies_per_window(wx, client, staff, app, wechat_api):
    wechat_api.post(CS_URL, json={"errcode": 0, "errmsg": "ok"})
    desk, conv_id = _hand_to_desk(wx, client, staff)
    states = []
    for n in range(6):
        reply = client.post(f"/api/v1/desk/conversations/{conv_id}/messages", headers=desk,
                            json={"text": f"第{n + 1}条"})
        with app.app_context():
            states.append(db.session.get(Message, reply.json["id"]).delivery.value)
    assert states == ["sent"] * 5 + ["undelivered"]
    assert len(cs_calls(wechat_api)) == 5


def test_without_passive_replies_the_answer_follows_as_a_customer_service_message(
        make_app, community, wechat_api):
    """What a real mini-program needs: "success" at once, the bot's answer by 客服消息."""
    wechat_api.post(CS_URL, json={"errcode": 0, "errmsg": "ok"})
    app = make_app(WECHAT_PASSIVE_REPLY=False)
    wx = WeChat(app.test_client())
    response = wx.post(text_xml("物业电话是多少", msg_id=31))
    assert response.status_code == 200 and response.get_data(as_text=True) == "success"
    calls = wait_for(lambda: cs_calls(wechat_api))
    assert calls[0]["touser"] == OPENID and "服务电话" in calls[0]["text"]["content"]

    def delivered():
        # a fresh context per poll: one long transaction would never see the job's commit
        with app.app_context():
            delivery = db.session.scalar(db.select(Message.delivery).filter_by(sender="bot"))
            return delivery is not None and delivery.value == "sent"

    wait_for(delivered)
    again = wx.post(text_xml("物业电话是多少", msg_id=31))  # WeChat's retry: nothing new
    assert again.status_code == 200 and again.get_data(as_text=True) == "success"
    assert len(resident_messages(app)) == 1 and len(cs_calls(wechat_api)) == 1
