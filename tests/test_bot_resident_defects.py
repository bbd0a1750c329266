"""What a new resident asked the bot (issue #14's defects): a broken common facility
is filed as 公共报修, an emergency leads with the community's 24-hour phone, an
objection to a vote is a vote question, a fee relief gets the relief rule (not the
fee), and a renovation question gets the part asked with the rest one tap away."""
from __future__ import annotations

import pytest

from backend.extensions import db
from backend.models import Community, PolicyText


def ask(client, headers, text):
    response = client.post("/api/v1/bot/ask", json={"text": text}, headers=headers)
    assert response.status_code == 200, response.json
    return response.json


@pytest.mark.parametrize("text", ["快递柜坏了打不开", "楼道灯不亮了", "单元门禁刷不开", "小区南门道闸坏了"])
def test_a_broken_common_facility_is_offered_as_a_common_repair(client, owner, text):
    reply = ask(client, owner("O-1"), text)
    assert reply["intent"] == "repair.report"
    assert reply["action"]["kind"] == "common_repair"
    assert "“公共报修”" in reply["answer"]


@pytest.mark.parametrize("text", ["马桶堵了", "我家卫生间水龙头坏了"])
def test_a_fault_at_home_is_offered_as_a_home_repair(client, owner, text):
    reply = ask(client, owner("O-1"), text)
    assert reply["action"]["kind"] == "home_repair"
    assert "“室内报修”" in reply["answer"]


def test_an_emergency_leads_with_the_communitys_24_hour_phone(client, owner, app, community):
    with app.app_context():
        c = db.session.get(Community, community["id"])
        c.settings = dict(c.settings, emergency_phone="0571-86001234（24小时）")
        db.session.commit()
    reply = ask(client, owner("O-1"), "电梯坏了困人了！")
    first, *rest = reply["answer"].split("\n")
    assert "0571-86001234" in first and "24小时值班电话" in first
    assert "报事报修" not in first and any("报事报修" in line for line in rest)
    assert any("119" in line for line in rest)  # someone trapped: what to do right now
    assert reply["action"] == {"type": "create_ticket", "kind": "common_repair", "urgent": True,
                               "description": "电梯坏了困人了！", "call": "057186001234"}
    ordinary = ask(client, owner("O-1"), "马桶堵了")
    assert ordinary["answer"].startswith("您可以在小程序“报事报修”中提交报修")
    assert "call" not in ordinary["action"]


def test_objecting_to_a_vote_is_answered_as_how_to_vote(client, owner):
    reply = ask(client, owner("O-1"), "电梯那个表决我不同意怎么办")
    assert reply["intent"] == "fund.vote"


def test_a_fee_relief_question_gets_the_relief_rule_and_a_person_not_the_fee(client, owner, app, community):
    headers = owner("O-1")
    reply = ask(client, headers, "物业费能不能减免")
    assert reply["intent"] == "fee.relief"
    assert "减免" in reply["answer"] and "¥" not in reply["answer"]
    assert reply["action"] == {"type": "ask", "label": "转人工客服", "text": "转人工"}
    with app.app_context():
        db.session.add(PolicyText(community_id=community["id"], topic="fee_relief",
                                  title="物业费减免办法", body="空置满六个月的房屋，物业费按七折收取。"))
        db.session.commit()
    assert "空置满六个月" in ask(client, headers, "空置房物业费能少交吗")["answer"]


def test_a_renovation_question_gets_the_part_asked_and_the_whole_one_tap_away(client, owner):
    headers = owner("O-1")
    reply = ask(client, headers, "装修能周末施工吗")
    assert reply["intent"] == "policy.decoration"
    assert "周六、周日及法定节假日不得进行电钻" in reply["answer"]
    assert "押金" not in reply["answer"] and "承重墙" not in reply["answer"]
    action = reply["action"]
    assert action["type"] == "ask" and action["label"] == "查看完整规定"
    whole = ask(client, headers, action["text"])
    assert whole["intent"] == "policy.decoration"
    assert "押金" in whole["answer"] and "承重墙" in whole["answer"] and "周六" in whole["answer"]
    deposit = ask(client, headers, "装修押金多少钱")["answer"]
    assert "2000元" in deposit and "周六" not in deposit
    # nothing in particular asked: the whole text, as before
    assert "承重墙" in ask(client, headers, "装修有什么规定")["answer"]


def test_a_part_missing_from_a_communitys_own_text_gives_the_whole_text(client, owner, app, community):
    with app.app_context():
        text = db.session.scalar(db.select(PolicyText).filter_by(community_id=community["id"], topic="decoration"))
        text.body = "装修请先到物业登记。装修期间注意安全。"
        db.session.commit()
    reply = ask(client, owner("O-1"), "装修能周末施工吗")
    assert "先到物业登记" in reply["answer"] and "注意安全" in reply["answer"]
    assert reply["action"] is None
