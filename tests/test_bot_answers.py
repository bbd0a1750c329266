"""The bot's answers through POST /api/v1/bot/ask: built from the asker's own data
and the community's settings and rules, never invented."""
from __future__ import annotations

import re
from datetime import timedelta

import pytest

from backend.extensions import db
from backend.models import BotMiss, Community, Conversation, Notification, PolicyText
from backend.timeutil import local_today


def ask(client, headers, text):
    response = client.post("/api/v1/bot/ask", json={"text": text}, headers=headers)
    assert response.status_code == 200, response.json
    return response.json


def import_bills(app, community, rows):
    from backend.services.ledger import import_bills as do_import

    lines = ["building,unit,number,period,amount_yuan,paid_yuan,due_date"] + rows
    with app.app_context():
        do_import(db.session.get(Community, community["id"]), "\n".join(lines) + "\n")
        db.session.commit()


def test_fee_amount_is_area_times_unit_price_for_the_askers_room(client, owner):
    headers = owner("O-1")
    reply = ask(client, headers, "我一个月要交多少物业费")
    assert reply["intent"] == "fee.amount"
    assert "1栋1单元101：98.50 ㎡ × ¥2.80/㎡·月 = ¥275.80/月" in reply["answer"]
    assert reply["handoff"] is False
    quarter = ask(client, headers, "这个季度物业费多少")["answer"]
    assert "每季度 ¥827.40" in quarter
    year = ask(client, headers, "一年物业费多少钱")["answer"]
    assert "每年 ¥3,309.60" in year and "每季度" not in year


def test_fee_amount_covers_every_room_of_the_owner_with_a_total(client, owner):
    answer = ask(client, owner("O-3"), "物业费多少钱")["answer"]
    assert "1栋1单元201：98.50 ㎡ × ¥2.80/㎡·月 = ¥275.80/月" in answer
    assert "1栋1单元202：120.30 ㎡ × ¥2.80/㎡·月 = ¥336.84/月" in answer
    assert "合计 ¥612.64/月" in answer


def test_fee_amount_never_shows_another_owners_room(client, owner):
    answer = ask(client, owner("O-1"), "1单元102物业费多少")["answer"]
    assert "120.30" not in answer  # 1-1-102 belongs to 李四
    assert "只能查询您本人已绑定的房屋" in answer
    assert "98.50 ㎡ × ¥2.80/㎡·月" in answer


def test_a_resident_without_a_room_is_told_how_to_bind_one(client, login, community):
    headers = login("o-unbound")
    for text in ("物业费多少钱", "我欠费了吗"):
        reply = ask(client, headers, text)
        assert "绑定房屋" in reply["answer"]
        assert not re.search(r"\d+\.\d\d", reply["answer"])  # no figure is invented


def test_no_published_standard_means_no_figure(client, owner, app, community):
    from backend.models import FeeStandard

    with app.app_context():
        db.session.execute(db.delete(FeeStandard).where(FeeStandard.kind == "residential_lift"))
        db.session.commit()
    answer = ask(client, owner("O-1"), "物业费多少钱")["answer"]
    assert "尚未公布" in answer and "m² ×" not in answer


def test_arrears_list_unpaid_periods_past_due_and_the_total(client, owner, app, community):
    today = local_today()
    past, older, future = today - timedelta(days=40), today - timedelta(days=70), today + timedelta(days=10)
    import_bills(app, community, [
        f"1,1,201,{older:%Y-%m},275.80,0,{older.isoformat()}",
        f"1,1,202,{past:%Y-%m},336.84,100.00,{past.isoformat()}",
        f"1,1,201,{past:%Y-%m},275.80,275.80,{past.isoformat()}",
        f"1,1,201,{future:%Y-%m},275.80,0,{future.isoformat()}",
        f"1,1,101,{older:%Y-%m},275.80,0,{older.isoformat()}",  # someone else's debt
    ])
    reply = ask(client, owner("O-3"), "我欠费了吗")
    assert reply["intent"] == "fee.arrears"
    answer = reply["answer"]
    assert f"1栋1单元201 {older:%Y-%m}：未缴 ¥275.80" in answer
    assert f"1栋1单元202 {past:%Y-%m}：未缴 ¥236.84" in answer
    assert "合计欠缴 ¥512.64" in answer
    assert "1栋1单元101" not in answer
    assert f"另有 ¥275.80 尚未到缴费截止日（{future:%Y-%m}）" in answer


def test_no_arrears_is_said_plainly(client, owner, app, community):
    past = local_today() - timedelta(days=40)
    import_bills(app, community, [f"1,1,101,{past:%Y-%m},275.80,275.80,{past.isoformat()}"])
    answer = ask(client, owner("O-1"), "还有多少物业费没交")["answer"]
    assert "没有逾期未缴" in answer


def test_fee_standard_lists_the_published_prices_and_the_askers_kind(client, owner):
    answer = ask(client, owner("O-4"), "收费标准是多少")["answer"]
    assert "电梯住宅：¥2.80/㎡·月" in answer
    assert "非电梯住宅：¥1.50/㎡·月" in answer
    assert "商铺：¥3.00/㎡·月" in answer
    assert "您的房屋 2栋1单元101 属于非电梯住宅，按 ¥1.50/㎡·月 计算" in answer


def test_settings_answers_follow_what_staff_configured(client, owner, app, community):
    with app.app_context():
        c = db.session.get(Community, community["id"])
        c.settings = dict(c.settings, office_phone="0571-88886666", office_hours="周一至周五 9:00-17:00",
                          payment_methods=["小程序在线缴费", "前台扫码"],
                          invoice_procedure="请到前台开具电子发票。")
        db.session.commit()
    headers = owner("O-1")
    hours = ask(client, headers, "物业电话是多少")
    assert hours["intent"] == "service.hours"
    assert "0571-88886666" in hours["answer"] and "周一至周五 9:00-17:00" in hours["answer"]
    assert "· 前台扫码" in ask(client, headers, "怎么交物业费")["answer"]
    assert ask(client, headers, "怎么开发票")["answer"] == "请到前台开具电子发票。"


def test_policy_answers_quote_the_communitys_own_text(client, owner, app, community):
    with app.app_context():
        text = db.session.scalar(db.select(PolicyText).filter_by(community_id=community["id"], topic="pet"))
        text.body = "本小区每户限养一只犬，须办理犬证。"
        db.session.commit()
    reply = ask(client, owner("O-1"), "养宠物有什么规定")
    assert reply["intent"] == "policy.pet"
    assert "本小区每户限养一只犬，须办理犬证。" in reply["answer"]
    decoration = ask(client, owner("O-1"), "周日可以装修吗")
    assert decoration["intent"] == "policy.decoration" and "装修" in decoration["answer"]


def test_fund_rule_uses_the_configured_objection_threshold(client, owner, app, community):
    with app.app_context():
        c = db.session.get(Community, community["id"])
        c.settings = dict(c.settings, objection_threshold="1/4", objection_basis="area")
        db.session.commit()
    answer = ask(client, owner("O-1"), "反对的人超过多少维修资金就不能用")["answer"]
    assert "四分之一" in answer and "面积" in answer
    emergency = ask(client, owner("O-1"), "紧急情况用维修资金要表决吗")["answer"]
    assert "无需业主表决" in emergency and "电梯" in emergency


def test_fund_vote_lists_open_proposals_deadlines_and_whether_the_asker_voted(
        client, owner, fund_proposal, room_id):
    proposal = fund_proposal()
    headers = owner("O-3")
    answer = ask(client, headers, "最近有什么需要表决的")["answer"]
    assert "《1栋电梯更换》" in answer and "您还未投票" in answer
    ballot = client.post(f"/api/v1/fund-proposals/{proposal['id']}/ballots", headers=headers,
                         json={"room_id": room_id(headers, "1-1-201"), "choice": "object"})
    assert ballot.status_code == 201, ballot.json
    assert "您已投票" in ask(client, headers, "我投票了没有")["answer"]
    # 赵六's building 2 is out of the lift's scope
    assert "没有正在进行的维修资金表决" in ask(client, owner("O-4"), "在哪里投票")["answer"]


def test_fund_vote_names_each_decisions_stage(app, client, owner, committee, fund_proposal):
    """公示中, 表决中, 询异期, 已公布: the stage each decision is at, as its page shows it."""
    from datetime import datetime, timezone

    from tests.fund_helpers import close_at_deadline

    chair = committee("O-1")
    far = (datetime.now(timezone.utc) + timedelta(days=20)).isoformat()
    published = fund_proposal(open=False, title="外墙清洗", closes_at=far)
    assert client.post(f"/api/v1/fund-proposals/{published['id']}/open", headers=chair).status_code == 200
    fund_proposal(title="电梯更换")
    close_at_deadline(app, fund_proposal(title="水泵更换")["id"], final=False)
    close_at_deadline(app, fund_proposal(title="屋面防水")["id"], final=True)
    answer = ask(client, owner("O-2"), "最近有什么需要表决的")["answer"]
    for stage, title in (("公示中", "外墙清洗"), ("表决中", "电梯更换"), ("询异期", "水泵更换"),
                         ("已公布", "屋面防水")):
        assert re.search(rf"【{stage}】《{title}》", answer), (stage, answer)


def test_fund_balance_comes_from_the_fund_ledger(client, owner, app, community):
    from backend.services.fund_ledger import import_fund_ledger

    with app.app_context():
        import_fund_ledger(db.session.get(Community, community["id"]),
                           "ref,date,building,direction,amount_yuan,description\n"
                           "F1,2026-01-05,1,in,50000.00,首期归集\n"
                           "F2,2026-03-01,1,out,12000.50,屋面防水维修\n"
                           "F3,2026-02-01,2,in,8000.00,首期归集\n")
        db.session.commit()
    answer = ask(client, owner("O-1"), "我们楼的维修基金还有多少")["answer"]
    assert "1栋专项维修资金：结余 ¥37,999.50" in answer
    assert "屋面防水维修 -¥12,000.50" in answer
    everything = ask(client, owner("O-1"), "维修资金余额多少")["answer"]
    assert "结余 ¥45,999.50" in everything


def test_repair_status_shows_open_tickets_and_their_latest_event(
        client, owner, post_ticket, staff):
    headers = owner("O-1")
    assert "没有处理中的报修" in ask(client, headers, "我的报修处理了吗")["answer"]
    ticket = post_ticket(headers, description="厨房水管漏水", kind="home_repair", location="厨房",
                         room_id=client.get("/api/v1/me", headers=headers).json["rooms"][0]["id"])
    assert ticket.status_code == 201, ticket.json
    accepted = client.post(f"/api/v1/tickets/{ticket.json['id']}/actions", headers=staff("desk"),
                           json={"action": "accept", "note": "师傅下午上门"})
    assert accepted.status_code == 200, accepted.json
    answer = ask(client, headers, "报修进度")["answer"]
    assert f"#{ticket.json['id']} 室内报修：厨房水管漏水，状态：已受理" in answer
    assert "师傅下午上门" in answer


def test_a_described_fault_is_a_repair_report_with_an_offer_to_file_it(client, owner):
    reply = ask(client, owner("O-1"), "电梯困人了！")
    assert reply["intent"] == "repair.report"
    assert reply["action"] == {"type": "create_ticket", "kind": "common_repair", "urgent": True,
                               "description": "电梯困人了！", "call": "057100000001"}
    assert "24小时值班电话" in reply["answer"]
    home = ask(client, owner("O-1"), "马桶堵了")["action"]
    assert home["kind"] == "home_repair" and home["urgent"] is False


def test_unknown_questions_are_counted_for_the_desk_most_frequent_first(client, owner, staff):
    headers = owner("O-1")
    for text in ("附近有什么好吃的", "附近有什么好吃的？", "讲个笑话"):
        reply = ask(client, headers, text)
        assert reply["intent"] == "unknown" and "人工" in reply["answer"]
    misses = client.get("/api/v1/desk/bot-misses", headers=staff("desk"))
    assert misses.status_code == 200
    items = misses.json["items"]
    assert [(m["normalized"], m["count"]) for m in items] == [("附近有什么好吃的", 2), ("讲个笑话", 1)]
    assert client.get("/api/v1/desk/bot-misses", headers=headers).status_code == 403


def test_asking_for_a_person_hands_the_conversation_to_the_desk(client, owner, staff, app):
    desk = staff("desk")
    reply = ask(client, owner("O-1"), "转人工客服")
    assert reply["intent"] == "human" and reply["handoff"] is True
    queue = client.get("/api/v1/desk/conversations?state=waiting", headers=desk).json["items"]
    assert len(queue) == 1 and queue[0]["last_messages"][0]["text"] == "转人工客服"
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count()).select_from(Notification)
                                 .filter_by(kind="chat_waiting")) == 1
        assert db.session.scalar(db.select(Conversation)).state.value == "waiting"


@pytest.mark.parametrize("body", [{}, {"text": ""}, {"text": "   "}, {"text": "x" * 501}, {"text": 5}])
def test_bad_questions_are_400(client, owner, body):
    response = client.post("/api/v1/bot/ask", json=body, headers=owner("O-1"))
    assert response.status_code == 400
    assert response.json["error"]["code"] == "validation_error"


def test_ask_needs_a_login(client):
    assert client.post("/api/v1/bot/ask", json={"text": "你好"}).status_code == 401


def test_ask_is_rate_limited(make_app, community):
    app = make_app(RATELIMIT_ENABLED=True, RATELIMIT_ASK="3 per minute")
    client = app.test_client()
    token = client.post("/api/v1/auth/wx-login", json={"code": "dev:o-rate"}).json["token"]
    headers = {"Authorization": f"Bearer {token}"}
    codes = [client.post("/api/v1/bot/ask", json={"text": "你好"}, headers=headers).status_code
             for _ in range(4)]
    assert codes == [200, 200, 200, 429]
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count()).select_from(BotMiss)) == 0


def test_bot_eval_prints_precision_recall_and_accuracy(app, tmp_path):
    questions = tmp_path / "q.yaml"
    questions.write_text('- {text: "物业费多少钱", intent: fee.amount}\n'
                         '- {text: "我欠费了吗", intent: fee.arrears}\n'
                         '- {text: "今天下雨吗", intent: fee.invoice}\n', encoding="utf-8")
    from backend.cli import bot_eval_command

    result = app.test_cli_runner().invoke(bot_eval_command, [str(questions)])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].split() == ["intent", "precision", "recall", "support"]
    assert "fee.amount 1.00 1.00 1" in [" ".join(line.split()) for line in lines]
    assert "fee.invoice - 0.00 1" in [" ".join(line.split()) for line in lines]
    assert "accuracy 2/3 = 66.7%" in result.output
    assert "MISS '今天下雨吗': expected fee.invoice, got unknown" in result.output
    strict = app.test_cli_runner().invoke(bot_eval_command, [str(questions), "--min-accuracy", "0.95"])
    assert strict.exit_code == 1
