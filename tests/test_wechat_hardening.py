"""The WeChat push hardened (issue #13 items 6 and 9): with safe mode configured a
push must come encrypted and signed, and a MsgId counts once per sender, not once
for everyone."""
from __future__ import annotations

import xmltodict

from backend.extensions import db
from backend.models import Message
from tests.test_wechat_callback import resident_messages, text_xml
from tests.test_wechat_callback import wx, wx_aes  # noqa: F401 - fixtures


# ------------------------------------------------------------------ item 6: safe mode only
def test_with_aes_configured_a_plaintext_push_is_refused_and_nothing_is_stored(wx_aes):
    response = wx_aes.post(text_xml("物业费多少钱"))  # signed, but in clear
    assert response.status_code == 403
    assert response.json["error"]["code"] == "encryption_required"
    assert "物业费" not in response.get_data(as_text=True)
    app = wx_aes.client.application
    assert resident_messages(app) == []
    # saying "aes" without the message signature is no better
    params = wx_aes.params()
    envelope = wx_aes.crypto.encrypt_message(text_xml("你好", 2), params["nonce"],
                                             params["timestamp"])
    unsigned = wx_aes.client.post("/wechat/callback", data=envelope,
                                  query_string=dict(params, encrypt_type="aes"))
    assert unsigned.status_code == 403 and unsigned.json["error"]["code"] == "bad_signature"
    assert resident_messages(app) == []


def test_with_aes_configured_the_server_check_and_encrypted_pushes_still_work(wx_aes):
    check = wx_aes.client.get("/wechat/callback",
                              query_string=dict(wx_aes.params(), echostr="echo-1"))
    assert check.status_code == 200 and check.get_data(as_text=True) == "echo-1"
    response = wx_aes.post(text_xml("物业电话是多少", 3), aes=True)
    assert response.status_code == 200
    assert "Encrypt" in xmltodict.parse(response.get_data(as_text=True))["xml"]
    assert "服务电话" in wx_aes.answer(response, aes=True)


# ------------------------------------------------------------------ item 9: MsgId per sender
def test_two_residents_messages_with_the_same_msgid_are_both_recorded_and_answered(wx, app):
    mine = wx.post(text_xml("物业电话是多少", msg_id=4242))
    theirs = wx.post(text_xml("怎么交物业费", msg_id=4242, openid="o-another-resident"))
    assert mine.status_code == theirs.status_code == 200
    assert "服务电话" in wx.answer(mine)
    body = xmltodict.parse(theirs.get_data(as_text=True))["xml"]
    assert body["ToUserName"] == "o-another-resident" and "缴费方式" in body["Content"]
    assert sorted(m.text for m in resident_messages(app)) == ["怎么交物业费", "物业电话是多少"]
    # each one's retry still gets that one's own answer, and stores nothing
    again = wx.post(text_xml("物业电话是多少", msg_id=4242))
    assert wx.answer(again) == wx.answer(mine)
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count()).select_from(Message)) == 4
    assert {m.wechat_msg_id for m in resident_messages(app)} == {"4242"}
