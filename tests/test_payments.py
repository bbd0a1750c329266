"""Paying bills with WeChat Pay (issue #16): orders from the database, the signed
notification settling once, replays and forgeries changing nothing, reconciliation,
refunds, who may pay, the production refusal, receipts and invoices. WeChat Pay is
stood in for at the HTTP boundary (tests/payments_helpers.py)."""
from __future__ import annotations

import base64
import re
from datetime import date, timedelta
from decimal import Decimal
from urllib.parse import quote

import pytest
import responses
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from sqlalchemy import select

from backend.extensions import db
from tests.conftest import WX_SUBSCRIBE_URL, WX_TOKEN_URL, subscribe_messages
from tests.payments_helpers import APPID, WeChatPayStub


@pytest.fixture
def stub(tmp_path):
    return WeChatPayStub(tmp_path / "keys")


@pytest.fixture
def app(make_app, stub):
    return make_app(**stub.config())


@pytest.fixture
def wxpay(stub):
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        stub.install(mock)
        yield mock


@pytest.fixture
def bills(app, community, rooms_by_label):
    """Three bills of 1-1-101 (张三, O-1): two overdue, one due later."""
    from backend.models import Bill

    room = rooms_by_label["1-1-101"]
    today = date.today()
    with app.app_context():
        rows = [Bill(room_id=room, period=p, amount=Decimal(a), paid=Decimal("0"), due_date=d)
                for p, a, d in (("2026-09", "275.80", today - timedelta(days=60)),
                                ("2026-10", "275.80", today - timedelta(days=30)),
                                ("2026-11", "300.00", today + timedelta(days=10)))]
        db.session.add_all(rows)
        db.session.commit()
        return {"room": room, "ids": [b.id for b in rows]}


def bill_paid(app, bill_id) -> Decimal:
    from backend.models import Bill

    with app.app_context():
        return db.session.get(Bill, bill_id).paid


def order_row(app, order_id):
    from backend.models.payment import PaymentOrder

    with app.app_context():
        order = db.session.get(PaymentOrder, order_id)
        db.session.expunge(order)
        return order


def make_order(client, headers, bills, ids=None):
    ids = bills["ids"][:2] if ids is None else ids
    return client.post("/api/v1/payments/orders", headers=headers,
                       json={"room_id": bills["room"], "bill_ids": ids})


def post_notice(client, headers, body):
    return client.post("/api/v1/payments/notify", headers=headers, data=body)


def test_pay_two_bills(client, owner, bills, stub, wxpay):
    headers = owner("O-1")
    created = make_order(client, headers, bills)
    assert created.status_code == 201, created.json
    order = created.json
    assert order["amount_yuan"] == "551.60" and order["status"] == "pending"
    # the amount WeChat Pay was asked for is the database's, in fen
    assert stub.prepaid[-1]["amount"] == {"total": 55160, "currency": "CNY"}
    assert stub.prepaid[-1]["payer"] == {"openid": "openid-O-1"}
    # wx.requestPayment parameters signed with the merchant key
    pay = order["payment"]
    message = f"{APPID}\n{pay['timeStamp']}\n{pay['nonceStr']}\n{pay['package']}\n".encode()
    stub.merchant.public_key().verify(base64.b64decode(pay["paySign"]), message,
                                      padding.PKCS1v15(), hashes.SHA256())
    notice = post_notice(client, *stub.notification(stub.pay(order["out_trade_no"])))
    assert notice.status_code == 204
    assert [bill_paid(client.application, i) for i in bills["ids"]] == [
        Decimal("275.80"), Decimal("275.80"), Decimal("0.00")]
    listed = client.get("/api/v1/fees/bills", headers=headers).json
    assert listed["arrears_yuan"] == "0.00" and listed["outstanding_yuan"] == "300.00"
    receipt = client.get(f"/api/v1/payments/orders/{order['id']}", headers=headers).json
    assert receipt["status"] == "paid" and receipt["transaction_id"]
    assert [line["period"] for line in receipt["lines"]] == ["2026-09", "2026-10"]
    assert receipt["payment"] is None


def test_same_selection_same_order_and_a_new_selection_replaces_it(client, owner, bills, stub,
                                                                    wxpay):
    headers = owner("O-1")
    first = make_order(client, headers, bills).json
    again = make_order(client, headers, bills, ids=list(reversed(bills["ids"][:2]))).json
    assert again["id"] == first["id"] and len(stub.prepaid) == 1
    wider = make_order(client, headers, bills, ids=bills["ids"])
    assert wider.status_code == 201 and wider.json["amount_yuan"] == "851.60"
    assert stub.closed == [first["out_trade_no"]]
    assert order_row(client.application, first["id"]).status.value == "closed"


def test_amount_from_the_client_is_refused(client, owner, bills, wxpay):
    response = client.post("/api/v1/payments/orders", headers=owner("O-1"), json={
        "room_id": bills["room"], "bill_ids": bills["ids"][:1], "amount_yuan": "0.01"})
    assert response.status_code == 400


def logged(caplog, name="backend"):
    return [r.getMessage() for r in caplog.records if r.name.startswith(name)]


def test_replayed_notification_changes_nothing(client, owner, bills, stub, wxpay, caplog):
    order = make_order(client, owner("O-1"), bills).json
    headers, body = stub.notification(stub.pay(order["out_trade_no"]))
    assert post_notice(client, headers, body).status_code == 204
    caplog.clear()
    caplog.set_level("INFO", logger="backend")
    assert post_notice(client, headers, body).status_code == 204
    assert bill_paid(client.application, bills["ids"][0]) == Decimal("275.80")
    assert bill_paid(client.application, bills["ids"][1]) == Decimal("275.80")
    assert any(order["out_trade_no"] in m and "already paid" in m for m in logged(caplog)), caplog.records


BAD_NOTICE_LOGS = {"forged": "notification refused", "tampered": "notification refused",
                   "wrong_amount": "refused: the order is 55160 fen",
                   "unknown_order": "unknown order 'WY20261203000000DEADBEEF' refused"}


@pytest.mark.parametrize("case", ["forged", "wrong_amount", "unknown_order", "tampered"])
def test_bad_notifications_change_nothing(client, owner, bills, stub, wxpay, case, caplog):
    order = make_order(client, owner("O-1"), bills).json
    trade = stub.transaction(order["out_trade_no"], 55160)
    key = None
    if case == "forged":
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    elif case == "wrong_amount":
        trade["amount"]["total"] = 1
    elif case == "unknown_order":
        trade["out_trade_no"] = "WY20261203000000DEADBEEF"
    headers, body = stub.notification(trade, key=key)
    if case == "tampered":
        body = body.replace(b'"summary": "', b'"summary": "x')
    caplog.set_level("WARNING", logger="backend")
    response = post_notice(client, headers, body)
    assert response.status_code in (400, 401, 404)
    assert response.json["code"] == "FAIL"
    assert bill_paid(client.application, bills["ids"][0]) == Decimal("0.00")
    assert order_row(client.application, order["id"]).status.value == "pending"
    assert any(BAD_NOTICE_LOGS[case] in m for m in logged(caplog)), logged(caplog)


def backdate(app, order_id, minutes=30):
    from backend.models.payment import PaymentOrder

    with app.app_context():
        order = db.session.get(PaymentOrder, order_id)
        order.created_at -= timedelta(minutes=minutes)
        db.session.commit()


def reconcile(app):
    from backend.jobs.payments import reconcile_pending

    with app.app_context():
        return reconcile_pending()


def test_reconciliation_settles_a_lost_notification_and_the_late_one_changes_nothing(
        client, owner, bills, stub, wxpay):
    app = client.application
    order = make_order(client, owner("O-1"), bills).json
    trade = stub.pay(order["out_trade_no"])
    reconcile(app)
    assert order_row(app, order["id"]).status.value == "pending"  # not yet N minutes
    backdate(app, order["id"])
    reconcile(app)
    assert order_row(app, order["id"]).status.value == "paid"
    assert bill_paid(app, bills["ids"][1]) == Decimal("275.80")
    # the notification arrives after the query: answered, nothing changes
    assert post_notice(client, *stub.notification(trade)).status_code == 204
    assert bill_paid(app, bills["ids"][1]) == Decimal("275.80")


def test_reconciliation_closes_an_expired_order(client, owner, bills, stub, wxpay):
    app = client.application
    headers = owner("O-1")
    order = make_order(client, headers, bills).json
    backdate(app, order["id"])
    reconcile(app)
    assert order_row(app, order["id"]).status.value == "closed"
    assert stub.closed == [order["out_trade_no"]]
    assert bill_paid(app, bills["ids"][0]) == Decimal("0.00")
    again = make_order(client, headers, bills)  # the bills are free again
    assert again.status_code == 201 and again.json["id"] != order["id"]


def paid_order(client, headers, bills, stub):
    order = make_order(client, headers, bills).json
    assert post_notice(client, *stub.notification(stub.pay(order["out_trade_no"]))).status_code == 204
    return order


def refund_notice(stub, refund_no, order, fen, status="SUCCESS"):
    return stub.notification({
        "mchid": "1900000109", "out_trade_no": order["out_trade_no"], "transaction_id": "x",
        "out_refund_no": refund_no, "refund_id": "5030" + refund_no[-8:], "refund_status": status,
        "amount": {"total": 55160, "refund": fen, "payer_total": 55160, "payer_refund": fen}},
        event_type=f"REFUND.{status}", original_type="refund")


def test_refund_partial_then_the_rest(client, owner, staff, bills, stub, wxpay):
    from backend.models.payment import PaymentRefund

    app = client.application
    order = paid_order(client, owner("O-1"), bills, stub)
    manager = staff("manager")
    url = f"/api/v1/payments/desk/orders/{order['id']}/refunds"
    assert client.post(url, headers=staff("desk"), json={}).status_code == 403
    too_much = client.post(url, headers=manager, json={"amount_yuan": "600.00"})
    assert too_much.status_code == 400
    part = client.post(url, headers=manager, json={"amount_yuan": "100.00", "reason": "多缴"})
    assert part.status_code == 201 and part.json["status"] == "processing"
    with app.app_context():
        number = db.session.scalar(select(PaymentRefund.out_refund_no))
    assert post_notice(client, *refund_notice(stub, number, order, 10000)).status_code == 204
    assert post_notice(client, *refund_notice(stub, number, order, 10000)).status_code == 204
    # the latest period gives the money back first
    assert bill_paid(app, bills["ids"][1]) == Decimal("175.80")
    assert bill_paid(app, bills["ids"][0]) == Decimal("275.80")
    # the payer is told once, however often WeChat Pay repeats the refund's notice
    told = [n for n in client.get("/api/v1/notifications", headers=owner("O-1")).json["items"]
            if n["title"].startswith("退款")]
    assert [n["title"] for n in told] == ["退款 ¥100.00 已原路退回"]
    assert told[0]["link"] == f"#/receipt?id={order['id']}"
    rest = client.post(url, headers=manager, json={})
    assert rest.status_code == 201 and rest.json["amount_yuan"] == "451.60"
    assert client.post(url, headers=manager, json={"amount_yuan": "0.01"}).status_code == 400
    desk = client.get("/api/v1/payments/desk/orders", headers=staff("desk")).json["items"]
    assert desk[0]["refunded_yuan"] == "551.60"


def test_the_payer_gets_the_refund_as_a_payment_subscribe_message(
        client, owner, staff, bills, stub, wxpay):
    from backend.models.payment import PaymentRefund

    app = client.application
    app.config["WECHAT_TEMPLATE_PAYMENT"] = "tmpl-payment"
    wxpay.get(WX_TOKEN_URL, json={"access_token": "ACCESS", "expires_in": 7200})
    wxpay.post(WX_SUBSCRIBE_URL, json={"errcode": 0, "errmsg": "ok"})
    order = paid_order(client, owner("O-1"), bills, stub)
    url = f"/api/v1/payments/desk/orders/{order['id']}/refunds"
    assert client.post(url, headers=staff("manager"), json={"amount_yuan": "100.00"}).status_code == 201
    with app.app_context():
        number = db.session.scalar(select(PaymentRefund.out_refund_no))
    assert post_notice(client, *refund_notice(stub, number, order, 10000)).status_code == 204
    sent = subscribe_messages(wxpay)
    assert [m["template_id"] for m in sent] == ["tmpl-payment"]
    data = {key: value["value"] for key, value in sent[0]["data"].items()}
    assert data["amount1"] == "100.00元"
    assert data["character_string2"] == order["out_trade_no"]
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}", data["time3"])
    assert data["thing4"].startswith("1栋")
    assert sent[0]["page"].endswith(quote(f"#/receipt?id={order['id']}", safe=""))


def add_family(app, room_id, openid, bills_allowed):
    from backend.models import Role, RoomBinding, User
    from backend.models.community import Room

    with app.app_context():
        user = db.session.scalar(select(User).where(User.openid == openid))
        room = db.session.get(Room, room_id)
        db.session.add(RoomBinding(user_id=user.id, room_id=room_id, relation=Role.family,
                                   owner_id=room.owner_id, bills_allowed=bills_allowed))
        db.session.commit()


def test_family_without_bills_may_not_pay(client, login, owner, bills, stub, wxpay):
    app = client.application
    owner("O-1")
    family = login("openid-family")
    add_family(app, bills["room"], "openid-family", bills_allowed=False)
    refused = make_order(client, family, bills)
    assert refused.status_code == 403 and refused.json["error"]["code"] == "bills_not_allowed"
    assert not stub.prepaid
    other = login("openid-allowed")
    add_family(app, bills["room"], "openid-allowed", bills_allowed=True)
    assert make_order(client, other, bills).status_code == 201
    stranger = login("openid-stranger")
    assert make_order(client, stranger, bills).status_code == 404


PAYMENT_SETTINGS = ("WECHATPAY_MCHID", "WECHATPAY_SERIAL_NO", "WECHATPAY_PRIVATE_KEY_PATH",
                    "WECHATPAY_APIV3_KEY", "WECHATPAY_PUBLIC_KEY_PATH", "WECHATPAY_PUBLIC_KEY_ID",
                    "WECHATPAY_NOTIFY_URL", "WECHAT_APPID")


def production(tmp_path) -> dict:
    return {"APP_ENV": "production", "SECRET_KEY": "k" * 8 + "abcdefghijklmnopqrstuvwxyz0123456789",
            "DEV_LOGIN": False, "DATABASE_URL": f"sqlite:///{tmp_path / 'p.db'}",
            "INSTANCE_DIR": str(tmp_path)}


def test_production_starts_with_every_payment_setting_and_refuses_the_standin(tmp_path, stub):
    from backend import create_app
    from backend.config import ConfigError

    base = production(tmp_path)
    create_app({**base, **stub.config(), "PAYMENT_DEV_STANDIN": False})  # complete: starts
    with pytest.raises(ConfigError, match="PAYMENT_DEV_STANDIN"):
        create_app({**base, "PAYMENT_DEV_STANDIN": True})


@pytest.mark.parametrize("name", PAYMENT_SETTINGS)
def test_production_refuses_payment_with_a_setting_missing(tmp_path, stub, name):
    from backend import create_app
    from backend.config import ConfigError

    with pytest.raises(ConfigError, match=name):
        create_app({**production(tmp_path), **stub.config(), name: ""})


def test_dev_standin_is_404_with_real_payment(client, owner, bills, wxpay):
    headers = owner("O-1")
    order = make_order(client, headers, bills).json
    assert client.post(f"/api/v1/payments/orders/{order['id']}/dev-confirm",
                       headers=headers).status_code == 404


def test_dev_standin_pays_through_a_signed_notice(make_app, client, tmp_path):
    """Without WeChat Pay settings (development), the stand-in's confirmation settles
    the order through the same verification."""
    from tests.conftest import bind_owner

    app = make_app(PAYMENT_DEV_STANDIN=True)
    client = app.test_client()
    headers = bind_owner(app, client)
    from backend.models import Bill

    with app.app_context():
        room = client.get("/api/v1/me", headers=headers).json["rooms"][0]["id"]
        bill = Bill(room_id=room, period="2026-10", amount=Decimal("88.00"), due_date=date.today())
        db.session.add(bill)
        db.session.commit()
        bill_id = bill.id
    order = client.post("/api/v1/payments/orders", headers=headers,
                        json={"room_id": room, "bill_ids": [bill_id]}).json
    assert order["standin"] is True
    paid = client.post(f"/api/v1/payments/orders/{order['id']}/dev-confirm", headers=headers)
    assert paid.status_code == 200 and paid.json["status"] == "paid"
    assert bill_paid(app, bill_id) == Decimal("88.00")
    # the manager's refund: the stand-in's signed refund notice finishes it at once
    manager = manager_of(app, client, paid.json["community"])
    refund = client.post(f"/api/v1/payments/desk/orders/{order['id']}/refunds", headers=manager,
                         json={"amount_yuan": "8.00", "reason": "多缴"})
    assert refund.status_code == 201 and refund.json["status_label"] == "已退款"
    assert bill_paid(app, bill_id) == Decimal("80.00")


def manager_of(app, client, community_name) -> dict:
    from backend.models import Community, Role, User
    from backend.services.auth import hash_password
    from backend.services.permissions import grant_staff_role
    from tests.conftest import auth

    with app.app_context():
        user = User(username="standin-manager", name="经理", password_hash=hash_password("pw-m"))
        db.session.add(user)
        db.session.flush()
        community = db.session.scalar(select(Community).filter_by(name=community_name))
        grant_staff_role(user, community.id, Role.manager)
        db.session.commit()
    token = client.post("/api/v1/auth/staff-login",
                        json={"username": "standin-manager", "password": "pw-m"}).json["token"]
    return auth(token)


def test_receipt_and_invoice_request(client, owner, staff, bills, stub, wxpay):
    headers = owner("O-1")
    order = paid_order(client, headers, bills, stub)
    url = f"/api/v1/payments/orders/{order['id']}/invoice"
    bad = client.post(url, headers=headers, json={"kind": "company", "title": "某某公司",
                                                   "tax_number": "91350100M000100Y44"})
    assert bad.status_code == 400 and "tax_number" in bad.json["error"]["details"]["fields"]
    ok = client.post(url, headers=headers, json={"kind": "company", "title": "某某科技有限公司",
                                                  "tax_number": "91350100m000100y43",
                                                  "email": "a@example.com"})
    assert ok.status_code == 201 and ok.json["tax_number"] == "91350100M000100Y43"
    assert client.post(url, headers=headers, json={"kind": "personal", "title": "张三"}).status_code == 409
    desk = staff("desk")
    queue = client.get("/api/v1/payments/desk/invoices?status=requested", headers=desk).json["items"]
    assert [i["title"] for i in queue] == ["某某科技有限公司"]
    done = client.post(f"/api/v1/payments/desk/invoices/{queue[0]['id']}", headers=desk,
                       json={"status": "issued"})
    assert done.status_code == 200
    receipt = client.get(f"/api/v1/payments/orders/{order['id']}", headers=headers).json
    assert receipt["invoice"]["status_label"] == "已开票"
    # personal titles need no tax number
    order2 = make_order(client, headers, bills, ids=bills["ids"][2:]).json
    post_notice(client, *stub.notification(stub.pay(order2["out_trade_no"]), ))
    personal = client.post(f"/api/v1/payments/orders/{order2['id']}/invoice", headers=headers,
                           json={"kind": "personal", "title": "张三"})
    assert personal.status_code == 201, personal.json


def ask(client, headers, text):
    response = client.post("/api/v1/bot/ask", headers=headers, json={"text": text})
    assert response.status_code == 200, response.json
    return response.json


def test_bot_arrears_offers_the_pay_page_and_drops_to_the_rest(client, owner, login, bills,
                                                               stub, wxpay):
    headers = owner("O-1")
    before = ask(client, headers, "我欠了多少物业费")
    # the pay page for the asker's own arrears: this room, its overdue bills picked
    assert "¥551.60" in before["answer"]
    assert before["action"] == {"type": "open_page", "label": "去缴费",
                                "href": f"#/bills?room={bills['room']}"}
    order = make_order(client, headers, bills, ids=bills["ids"][:1]).json
    post_notice(client, *stub.notification(stub.pay(order["out_trade_no"])))
    after = ask(client, headers, "我欠了多少物业费")
    assert "¥275.80" in after["answer"] and "¥551.60" not in after["answer"]
    channels = ask(client, headers, "物业费怎么缴纳")["answer"]
    assert "小程序" in channels
    kid = login("openid-kid")
    add_family(client.application, bills["room"], "openid-kid", bills_allowed=False)
    # one text for the refusal (rules.yaml fee_bills_ask_owner), in both answers
    ask_owner = "业主尚未允许您查看本房屋的账单。如需查询或代缴物业费，请联系业主在“我的房屋”中为您开通账单权限。"
    refused = ask(client, kid, "我欠了多少物业费")
    assert refused["answer"] == ask_owner and refused["action"] is None
    how = ask(client, kid, "物业费怎么缴纳")
    assert how["answer"].endswith(ask_owner) and how["action"] is None


def test_bot_names_no_online_channel_while_payment_is_off(make_app):
    from tests.conftest import bind_owner

    app = make_app(PAYMENT_DEV_STANDIN=False, PAYMENT_ENABLED=False)
    client = app.test_client()
    headers = bind_owner(app, client)
    answer = ask(client, headers, "物业费怎么缴纳")
    assert "小程序" not in answer["answer"] and "前台" in answer["answer"]
    assert answer["action"] is None
