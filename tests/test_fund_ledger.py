"""The fund ledger (import, balance, payments for decided uses), what the bot is given
(open proposals with whether the owner voted; the balance), and the demo data."""
from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from backend.extensions import db
from backend.jobs.queue import tick_inline
from backend.models import Community, FundLedgerEntry, FundProposal, Notification, User
from backend.services import fund as fund_service
from backend.services import fund_ledger
from tests.fund_helpers import utc_now, vote_at

LEDGER = """ref,date,building,direction,amount_yuan,description
WX-1,2019-06-30,1,in,100000.00,首期归集（1栋）
WX-2,2019-06-30,2栋,in,50000.00,首期归集（2栋）
WX-3,2024-12-31,,in,1234.56,2024年度利息
WX-4,2025-03-01,2,out,8000.00,2栋水泵维修
"""


@pytest.fixture
def app(make_app):
    return make_app(WECHAT_APPID="")


def import_file(app, tmp_path, text, name="fund.csv"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    result = app.test_cli_runner().invoke(args=["import-fund-ledger", str(path)])
    return result.exit_code, result.output


def test_importing_the_fund_ledger_and_the_balance(app, tmp_path, community):
    code, output = import_file(app, tmp_path, LEDGER)
    assert code == 0, output
    assert "created 4" in output
    with app.app_context():
        whole = fund_service.fund_balance(community["id"])
        assert (whole.total_in, whole.total_out, whole.balance) == (
            Decimal("151234.56"), Decimal("8000.00"), Decimal("143234.56"))
        assert [(line.date.isoformat(), line.amount) for line in whole.recent] == [
            ("2025-03-01", Decimal("-8000.00")), ("2024-12-31", Decimal("1234.56")),
            ("2019-06-30", Decimal("50000.00")), ("2019-06-30", Decimal("100000.00"))]
        assert whole.recent[0].description == "2栋水泵维修"
        two = fund_service.fund_balance(community["id"], "2栋")
        assert (two.building, two.balance, two.total_out) == ("2", Decimal("42000.00"), Decimal("8000.00"))
    code, output = import_file(app, tmp_path, LEDGER)  # the same file again
    assert code == 0 and "created 0" in output and "unchanged 4" in output


def test_a_bad_fund_ledger_imports_nothing_and_names_every_bad_line(app, tmp_path, community):
    bad = LEDGER + ("WX-1,2025-01-01,1,in,1.00,重复凭证号\n"
                    "WX-9,2025-13-01,9,sideways,-3,\n")
    code, output = import_file(app, tmp_path, bad)
    assert code == 1
    assert "line 6:" in output and "凭证号重复" in output
    assert "line 7:" in output and "日期" in output and "楼栋" in output and "方向" in output
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count()).select_from(FundLedgerEntry)) == 0


def test_owners_read_the_ledger_of_their_community(app, tmp_path, client, owner, login):
    import_file(app, tmp_path, LEDGER)
    body = client.get("/api/v1/fund/ledger?building=2", headers=owner("O-4")).json
    assert body["balance_yuan"] == "42000.00" and body["building"] == "2"
    assert [i["amount_yuan"] for i in body["items"]] == ["-8000.00", "50000.00"]
    page = client.get("/api/v1/fund/ledger?limit=3", headers=owner("O-4")).json
    assert len(page["items"]) == 3 and page["next_cursor"] and page["balance_yuan"] == "143234.56"
    assert client.get("/api/v1/fund/ledger?building=9", headers=owner("O-4")).status_code == 404
    assert client.get("/api/v1/fund/ledger", headers=login("nobody")).status_code == 404


def test_the_manager_books_payments_for_a_passed_use_within_its_amount(app, client, committee,
                                                                       staff, owner, fund_proposal):
    manager = staff("manager")
    voting = fund_proposal(amount_yuan="10000.00")
    early = client.post(f"/api/v1/fund-proposals/{voting['id']}/payments", headers=manager,
                        json={"amount_yuan": "100.00"})
    assert early.status_code == 409 and early.json["error"]["code"] == "not_approved"
    # passed at its deadline 12 days ago: the 7 days of publicity are over
    proposal = {"id": vote_at(app, opened=utc_now() - timedelta(days=20), close=True,
                              amount_yuan=Decimal("10000.00"))}
    url = f"/api/v1/fund-proposals/{proposal['id']}/payments"
    assert client.post(url, headers=owner("O-2"), json={"amount_yuan": "1.00"}).status_code == 403
    paid = client.post(url, headers=manager, json={"amount_yuan": "6000.00", "paid_on": "2025-05-01",
                                                   "description": "电梯更换首付款"})
    assert paid.status_code == 201, paid.json
    assert paid.json == {"ref": f"FP{proposal['id']}-1", "date": "2025-05-01", "building": "1",
                         "direction": "out", "amount_yuan": "-6000.00",
                         "description": "电梯更换首付款", "proposal_id": proposal["id"]}
    over = client.post(url, headers=manager, json={"amount_yuan": "4000.01"})
    assert over.status_code == 409 and over.json["error"]["code"] == "exceeds_approved_amount"
    assert client.post(url, headers=manager, json={"amount_yuan": "4000.00"}).status_code == 201
    shown = client.get(f"/api/v1/fund-proposals/{proposal['id']}", headers=manager).json
    assert shown["paid_yuan"] == "10000.00"
    ledger = client.get("/api/v1/fund/ledger?building=1", headers=manager).json
    assert ledger["total_out_yuan"] == "10000.00"


def test_open_proposals_for_the_bot_say_whether_the_owner_voted(app, client, owner, rooms_by_label,
                                                                fund_proposal):
    li = owner("O-2")
    first = fund_proposal()
    second = fund_proposal(title="1栋外墙维修", rule="civil_code_use")
    fund_proposal(title="2栋水泵", scope={"buildings": ["2"]})  # not li's building
    fund_proposal(title="草稿", open=False)
    client.post(f"/api/v1/fund-proposals/{first['id']}/ballots", headers=li,
                json={"room_id": rooms_by_label["1-1-102"], "choice": "object"})
    with app.app_context():
        user = db.session.scalar(db.select(User).filter_by(openid="openid-O-2"))
        listed = fund_service.open_proposals_for(user)
        assert [(p.id, voted) for p, voted in listed] == [(second["id"], False), (first["id"], True)]
        stranger = User(openid="nobody", name="")
        db.session.add(stranger)
        db.session.flush()
        assert fund_service.open_proposals_for(stranger) == []


def test_the_demo_has_one_open_vote_past_decisions_and_a_fund_ledger_and_reseeding_changes_nothing(app):
    from backend.seed import seed_demo

    with app.app_context():
        seed_demo()
        db.session.commit()
    with app.app_context():
        seed_demo()
        db.session.commit()
        tick_inline()  # the notices and close jobs the seeding recorded
    with app.app_context():
        community = db.session.scalar(db.select(Community).filter_by(name="阳光花园"))
        proposals = db.session.scalars(db.select(FundProposal).order_by(FundProposal.id)).all()
        assert [(p.status.value, p.outcome and p.outcome.value, p.rule.value, p.scope)
                for p in proposals] == [
            ("voting", None, "objection", {"buildings": ["1"]}),
            ("approved", None, "emergency", {"buildings": ["2"]}),
            ("closed", "passed", "objection", {"buildings": ["3"]}),
            ("closed", "no_quorum", "civil_code_use", {"community": True}),
            ("draft", None, "civil_code_major", {"buildings": ["1"]})]
        # decided in the past: closed at their deadlines, the owners told back then
        for p in proposals[2:4]:
            assert p.closed_at == p.closes_at and p.result_notified_at is not None
        kinds = set(db.session.scalars(db.select(Notification.kind).distinct()))
        assert "fund_opened" in kinds and not kinds & {"fund_result", "fund_approved"}
        assert fund_ledger.paid_for(proposals[1].id) == Decimal("36500.00")
        balance = fund_service.fund_balance(community.id)
        assert balance.balance > 0 and len(balance.recent) == 5
        assert db.session.scalar(db.select(db.func.count()).select_from(FundLedgerEntry)) == 8
        zhang = db.session.scalar(db.select(User).filter_by(openid="demo-zhang"))
        [(proposal, voted)] = fund_service.open_proposals_for(zhang)
        assert proposal.title == "1栋电梯整体更换" and voted is False
