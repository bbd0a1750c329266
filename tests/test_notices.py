"""The notice board (公告): who sees a notice (scope by current binding), unread marks
and the read receipt (a POST; reading writes nothing), withdrawal and the publish and
expiry times, what staff see (read counts, who has not read), who may publish, the
subscribe message through the outbox (WeChat stood in for with ``responses``), and
the notices the system posts itself."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import responses

from backend.extensions import db
from backend.jobs.queue import tick_inline
from backend.models import Building, Notification, OutboxJob
from backend.models.notice import Notice, NoticeRead
from tests.conftest import WX_SUBSCRIBE_URL, subscribe_messages


def _building_id(app, community, name):
    with app.app_context():
        return db.session.scalar(db.select(Building.id).filter_by(
            community_id=community["id"], name=name))


def _publish(client, headers, expect=201, **fields):
    body = {"title": "1栋停水通知", "body": "12月5日9:00-12:00 1栋停水，请提前储水。",
            "category": "outage"}
    body.update(fields)
    response = client.post("/api/v1/desk/notices", headers=headers, json=body)
    assert response.status_code == expect, response.json
    return response.json


def _titles(client, headers, category=None):
    query = f"?category={category}" if category else ""
    return [n["title"] for n in client.get(f"/api/v1/notices{query}", headers=headers).json["items"]]


def _tick(app):
    with app.app_context():
        tick_inline()


def test_a_building_notice_reaches_its_residents_who_read_it_and_staff_see_who_has_not(
        app, client, community, owner, staff, wechat_api):
    desk = staff("desk")
    zhang, li, zhao = owner("O-1"), owner("O-2"), owner("O-4")  # 1栋, 1栋, 2栋
    notice = _publish(client, desk, building_ids=[_building_id(app, community, "1")])
    assert notice["scope_label"] == "1栋" and notice["category_label"] == "停水停电"
    assert notice["audience"] == 2 and notice["read_count"] == 0

    page = client.get("/api/v1/notices", headers=zhang).json
    assert page["unread"] == 1 and [n["read"] for n in page["items"]] == [False]
    assert _titles(client, zhao) == []  # 2栋 is outside the scope
    assert client.get(f"/api/v1/notices/{notice['id']}", headers=zhao).status_code == 404

    # opening the page (GET) records nothing; the read receipt is a POST
    assert client.get(f"/api/v1/notices/{notice['id']}", headers=zhang).json["read"] is False
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count(NoticeRead.id))) == 0
    read = client.post(f"/api/v1/notices/{notice['id']}/read", headers=zhang)
    assert read.status_code == 200 and read.json["read"] is True
    client.post(f"/api/v1/notices/{notice['id']}/read", headers=zhang)  # twice counts once
    assert client.get("/api/v1/notices", headers=zhang).json["unread"] == 0

    seen = client.get(f"/api/v1/desk/notices/{notice['id']}", headers=desk).json
    assert (seen["audience"], seen["read_count"]) == (2, 1)
    unread = client.get(f"/api/v1/desk/notices/{notice['id']}/unread", headers=desk).json["items"]
    assert [(u["name"], u["room"], u["phone"]) for u in unread] == [
        ("李四", "1栋1单元102", "13900000002")]
    assert li  # 李四 is bound, so counted in the audience

    # the subscribe message went out through the outbox to the two residents in scope
    sent = subscribe_messages(wechat_api)
    assert sorted(m["touser"] for m in sent) == ["openid-O-1", "openid-O-2"]
    assert {m["template_id"] for m in sent} == {"tmpl-notice"}
    assert sent[0]["page"] == f"pages/index/index?link=%2Fnotices%2F{notice['id']}"


def test_a_whole_community_notice_pinned_first_and_withdrawn_kept_in_history(
        app, client, community, owner, staff):
    desk, zhao = staff("desk"), owner("O-4")
    first = _publish(client, desk, title="小区停电检修", body="全小区停电")
    _publish(client, desk, title="缴费公示", category="fee", body="见附表")
    pinned = _publish(client, desk, title="重要：消防演练", category="event", body="周六", pinned=True)
    assert _titles(client, zhao) == ["重要：消防演练", "缴费公示", "小区停电检修"]
    first_page = client.get("/api/v1/notices?limit=2", headers=zhao).json
    rest = client.get(f"/api/v1/notices?limit=2&cursor={first_page['next_cursor']}", headers=zhao).json
    assert [n["title"] for n in first_page["items"] + rest["items"]] == _titles(client, zhao)
    assert rest["next_cursor"] is None and first_page["unread"] == 3

    response = client.post(f"/api/v1/desk/notices/{first['id']}/withdraw", headers=desk)
    assert response.status_code == 200 and response.json["state"] == "withdrawn"
    assert _titles(client, zhao) == ["重要：消防演练", "缴费公示"]
    assert client.get(f"/api/v1/notices/{first['id']}", headers=zhao).status_code == 404
    again = client.post(f"/api/v1/desk/notices/{first['id']}/withdraw", headers=desk)
    assert again.status_code == 409
    history = client.get("/api/v1/desk/notices", headers=desk).json["items"]
    assert [(n["title"], n["state_label"]) for n in history][-1] == ("小区停电检修", "已撤回")
    assert pinned["pinned"] is True


def test_a_scheduled_notice_shows_and_is_announced_from_its_publish_time_until_expiry(
        app, client, community, owner, staff, wechat_api):
    desk, zhang = staff("desk"), owner("O-1")
    later = datetime.now(timezone.utc) + timedelta(hours=2)
    notice = _publish(client, desk, publish_at=later.isoformat(),
                      expires_at=(later + timedelta(days=1)).isoformat())
    assert notice["state"] == "scheduled"
    assert _titles(client, zhang) == []
    _tick(app)
    assert subscribe_messages(wechat_api) == []  # not before its time

    with app.app_context():  # two hours pass
        row = db.session.get(Notice, notice["id"])
        row.publish_at -= timedelta(hours=3)
        row.expires_at -= timedelta(hours=3)
        job = db.session.scalar(db.select(OutboxJob).filter_by(name="notices.announce"))
        job.run_after -= timedelta(hours=3)
        db.session.commit()
    assert _titles(client, zhang, "outage") == ["1栋停水通知"]
    _tick(app)
    assert [m["touser"] for m in subscribe_messages(wechat_api)] == ["openid-O-1"]

    with app.app_context():  # a day later it has expired
        row = db.session.get(Notice, notice["id"])
        row.expires_at = datetime.now(timezone.utc) - timedelta(minutes=1)
        db.session.commit()
    assert _titles(client, zhang, "outage") == []
    assert client.get(f"/api/v1/desk/notices/{notice['id']}", headers=desk).json["state"] == "expired"


def test_a_notice_withdrawn_before_its_time_is_never_announced(app, client, community, owner,
                                                               staff, wechat_api):
    desk = staff("desk")
    owner("O-1")
    later = datetime.now(timezone.utc) + timedelta(hours=1)
    notice = _publish(client, desk, publish_at=later.isoformat())
    client.post(f"/api/v1/desk/notices/{notice['id']}/withdraw", headers=desk)
    with app.app_context():
        job = db.session.scalar(db.select(OutboxJob).filter_by(name="notices.announce"))
        job.run_after -= timedelta(hours=2)
        db.session.commit()
    _tick(app)
    assert subscribe_messages(wechat_api) == []


def test_a_refusal_43101_is_recorded_and_the_notice_stays_on_the_board(app, client, community,
                                                                       owner, staff, wechat_api):
    wechat_api.replace(responses.POST, WX_SUBSCRIBE_URL,
                       json={"errcode": 43101, "errmsg": "user refuse to accept the msg"})
    desk, zhang = staff("desk"), owner("O-1")
    _publish(client, desk)
    assert len(subscribe_messages(wechat_api)) == 1
    with app.app_context():
        note = db.session.scalar(db.select(Notification).filter_by(kind="notice_published"))
        assert note.wechat_state == "refused"
    assert _titles(client, zhang) == ["1栋停水通知"]


def test_who_may_publish_and_see_the_staff_view(app, client, community, owner, staff, committee,
                                                login):
    resident = owner("O-2")
    engineer = staff("engineer")
    _publish(client, resident, expect=403)
    _publish(client, engineer, expect=403)
    assert client.get("/api/v1/desk/notices", headers=resident).status_code == 403
    by_committee = _publish(client, committee("O-1"), title="业委会换届公告", category="other")
    assert by_committee["source_label"] == "业委会发布"
    manager = staff("manager")
    notice = _publish(client, manager)
    # staff of another community neither see nor withdraw it
    from backend.services.community import get_or_create_community

    with app.app_context():
        other, _ = get_or_create_community("别的小区")
        db.session.commit()
        other_id = other.id
    outsider = staff("desk", username="other-desk", community_of={"id": other_id})
    assert client.get(f"/api/v1/desk/notices/{notice['id']}", headers=outsider).status_code == 404
    assert client.post(f"/api/v1/desk/notices/{notice['id']}/withdraw",
                       headers=outsider).status_code == 404
    assert client.get("/api/v1/desk/notices", headers=outsider).json["items"] == []
    # a signed-in user with no room sees no notices
    assert _titles(client, login("stranger")) == []


def test_bad_input_is_refused_in_chinese_and_nothing_is_stored(app, client, community, staff):
    desk = staff("desk")
    bad = _publish(client, desk, expect=400, category="party")
    assert bad["error"]["details"]["fields"]["category"] == ["请选择公告类别"]
    _publish(client, desk, expect=400, building_ids=[999999])
    _publish(client, desk, expect=400, title="")
    past = (datetime.now(timezone.utc) - timedelta(hours=1)).isoformat()
    expired = _publish(client, desk, expect=400, expires_at=past)
    assert "失效时间" in expired["error"]["message"]
    _publish(client, desk, expect=400, attachment_ids=[123456])
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count(Notice.id))) == 0


def test_a_notice_carries_a_pdf_attachment_its_residents_can_open(app, client, community, owner,
                                                                  staff):
    from pypdf import PdfWriter
    import io

    writer = PdfWriter()
    writer.add_blank_page(200, 200)
    buffer = io.BytesIO()
    writer.write(buffer)
    desk, zhang, zhao = staff("desk"), owner("O-1"), owner("O-4")
    upload = client.post("/api/v1/attachments", headers=desk, content_type="multipart/form-data",
                         data={"files": [(io.BytesIO(buffer.getvalue()), "停水范围.pdf")]})
    assert upload.status_code == 201, upload.json
    att_id = upload.json["items"][0]["id"]
    notice = _publish(client, desk, attachment_ids=[att_id],
                      building_ids=[_building_id(app, community, "1")])
    shown = client.get(f"/api/v1/notices/{notice['id']}", headers=zhang).json
    [att] = shown["attachments"]
    assert att["name"] == "停水范围.pdf" and att["pages"] == 1
    served = client.get(att["url"], headers=zhang)
    assert served.status_code == 200 and served.data.startswith(b"%PDF-")
    assert client.get(att["url"], headers=zhao).status_code == 404


def test_the_fee_standard_and_the_fund_statement_are_posted_when_they_change(
        app, client, community, owner, staff):
    from backend.models import Community
    from backend.services.community import set_fee
    from backend.services.fund_ledger import import_fund_ledger
    from backend.services.notices.system import post_changed

    zhao = owner("O-4")
    with app.app_context():
        assert post_changed() == 1  # the fee standard (no fund ledger yet)
        db.session.commit()
        assert post_changed() == 0  # nothing changed
        c = db.session.get(Community, community["id"])
        set_fee(c, "residential", "1.80")
        import_fund_ledger(c, "ref,date,building,direction,amount_yuan,description\n"
                              "R1,2026-01-05,,in,2843567.94,首期归集\n"
                              "R2,2026-03-01,1,out,12000.00,1栋水泵维修\n")
        db.session.commit()
        assert post_changed() == 2
        db.session.commit()
    items = client.get("/api/v1/notices", headers=zhao).json["items"]
    # residents see the standard that holds now; the earlier one is kept as expired
    [fee] = [n for n in items if n["category"] == "fee"]
    assert "非电梯住宅：1.80元/㎡·月" in fee["body"]
    history = client.get("/api/v1/desk/notices", headers=staff("desk")).json["items"]
    assert [n["state"] for n in history if n["category"] == "fee"] == ["shown", "expired"]
    [fund] = [n for n in items if n["category"] == "fund"]
    assert "结余：¥2,831,567.94" in fund["body"] and "1栋水泵维修" in fund["body"]
    assert fund["source_label"].startswith("维修资金收支")

    # 定期公布: a statement at the start of each month (none while this month has one)
    from backend.services.notices.system import post_monthly_statement

    with app.app_context():
        c = db.session.get(Community, community["id"])
        assert post_monthly_statement(c) is None
        next_month = datetime.now(timezone.utc) + timedelta(days=32)
        monthly = post_monthly_statement(c, next_month)
        assert monthly.title == f"{next_month.astimezone(timezone(timedelta(hours=8))).year}年" \
            f"{next_month.astimezone(timezone(timedelta(hours=8))).month}月维修资金使用情况公示"
        assert post_monthly_statement(c, next_month) is None  # once a month
        db.session.commit()


def test_a_closed_vote_posts_its_result_with_figures_to_its_scope(app, client, owner,
                                                                  fund_proposal):
    closes_at = (datetime.now(timezone.utc) + timedelta(days=20)).isoformat()
    proposal = fund_proposal(closes_at=closes_at)  # 1栋, objection rule
    zhang, zhao = owner("O-1"), owner("O-4")
    if proposal["status"] == "scheduled":  # a publicity period before voting: let it pass
        from backend.services.fund.proposals import start_scheduled

        with app.app_context():
            start_scheduled(proposal["id"], datetime.now(timezone.utc) + timedelta(days=10))
            db.session.commit()
    closed = client.post(f"/api/v1/fund-proposals/{proposal['id']}/close", headers=zhang)
    assert closed.status_code == 200, closed.json
    [result] = client.get("/api/v1/notices", headers=zhang).json["items"]
    assert result["category_label"] == "表决结果" and result["scope_label"] == "1栋"
    assert "1栋电梯更换" in result["title"] and "已撤回" in result["body"]
    assert _titles(client, zhao) == []
    with app.app_context():
        from backend.models import FundProposal
        from backend.services.notices.system import post_fund_result

        again = post_fund_result(db.session.get(FundProposal, proposal["id"]), stage="final")
        assert again.id == result["id"]  # once per stage


def test_the_bot_answers_outage_and_notice_questions_from_the_askers_notices(
        app, client, community, owner, staff):
    desk, zhang, zhao = staff("desk"), owner("O-1"), owner("O-4")

    def ask(headers, text):
        response = client.post("/api/v1/bot/ask", json={"text": text}, headers=headers)
        assert response.status_code == 200, response.json
        return response.json

    none = ask(zhang, "明天停水吗")
    assert none["intent"] == "notice.recent" and "目前没有停水停电的通知" in none["answer"]
    _publish(client, desk, building_ids=[_building_id(app, community, "1")])
    _publish(client, desk, title="中秋游园会", category="event", body="9月17日晚在中心广场")
    answer = ask(zhang, "明天停水吗")["answer"]
    assert "1栋停水通知" in answer and "9:00-12:00" in answer and "游园会" not in answer
    assert "1栋停水通知" not in ask(zhao, "什么时候停水")["answer"]  # not their building
    recent = ask(zhao, "最近有什么通知")["answer"]
    assert "中秋游园会" in recent and "1栋停水通知" not in recent
