"""A room changes hands when a ledger re-import names another owner of record: from
then on the seller gets nothing of it (bills, the rooms /me lists, the bot's answers,
the flat's repairs), the buyer binds it as today, and each keeps only the repairs of
their own household (a ticket stays with its reporter)."""
from __future__ import annotations

from datetime import timedelta

import pytest

from backend.extensions import db
from backend.timeutil import local_today
from tests.conftest import DEMO_LEDGER, import_into as _import

SOLD = DEMO_LEDGER.replace("O-1,张三,13900000001", "O-9,孙九,13900000009")  # 1-1-101




def _bill(days_ago: int, paid: str = "0") -> str:
    due = local_today() - timedelta(days=days_ago)
    return f"1,1,101,{due:%Y-%m},275.80,{paid},{due.isoformat()}"


def _ask(client, headers, text: str) -> str:
    response = client.post("/api/v1/bot/ask", json={"text": text}, headers=headers)
    assert response.status_code == 200, response.json
    return response.json["answer"]


def _rooms(client, headers) -> list[str]:
    me = client.get("/api/v1/me", headers=headers).json
    return [f"{r['building']}-{r['unit']}-{r['number']}" for r in me["rooms"]]


@pytest.fixture
def seller(app, community, owner, room_id):
    """张三 bound to 1-1-101, with an unpaid bill past due: (headers, room id)."""
    headers = owner("O-1")
    _import(app, community, bills=[_bill(70)])
    return headers, room_id(headers, "1-1-101")


def test_the_seller_gets_no_bill_of_the_sold_room_old_or_new(client, app, community, seller):
    headers, room = seller
    before = client.get("/api/v1/fees/bills", headers=headers).json
    assert [b["room_id"] for b in before["items"]] == [room] and before["arrears_yuan"] == "275.80"
    _import(app, community, ledger=SOLD)
    _import(app, community, bills=[_bill(40), _bill(-10)])  # billed after the sale
    after = client.get("/api/v1/fees/bills", headers=headers).json
    assert after["items"] == [] and after["arrears_yuan"] == "0.00"
    assert after["outstanding_yuan"] == "0.00"
    response = client.get(f"/api/v1/fees/bills?room_id={room}", headers=headers)
    assert response.status_code == 404 and response.json["error"]["code"] == "room_not_found"


def test_me_lists_the_room_for_the_buyer_who_binds_it_not_for_the_seller(client, app, community,
                                                                         seller, owner):
    headers, room = seller
    _import(app, community, ledger=SOLD)
    assert _rooms(client, headers) == []
    assert "owner" not in client.get("/api/v1/me", headers=headers).json["roles"]
    buyer = owner("O-9")  # binds 1-1-101 as today: name and phone as the ledger has them
    assert _rooms(client, buyer) == ["1-1-101"]
    bills = client.get("/api/v1/fees/bills", headers=buyer).json["items"]
    assert [b["room_id"] for b in bills] == [room]  # the room's bills go with the room
    # the seller's details no longer match the ledger: no way back in
    again = client.post("/api/v1/me/rooms", headers=headers, json={
        "building": "1", "unit": "1", "number": "101", "owner_name": "张三",
        "phone": "13900000001"})
    assert again.status_code == 403 and again.json["error"]["code"] == "ledger_mismatch"


def test_the_bot_answers_the_seller_as_someone_without_the_room(client, app, community, seller):
    headers, _ = seller
    assert "275.80" in _ask(client, headers, "我欠费了吗")
    _import(app, community, ledger=SOLD)
    for question in ("我欠费了吗", "我一个月要交多少物业费"):
        answer = _ask(client, headers, question)
        assert "绑定房屋" in answer and "1栋1单元101" not in answer and "275.80" not in answer
    standard = _ask(client, headers, "收费标准是多少")
    assert "电梯住宅：¥2.80/㎡·月" in standard and "您的房屋" not in standard


def test_buyer_and_seller_each_see_only_their_own_households_repairs(client, app, community,
                                                                     seller, owner, post_ticket):
    headers, room = seller
    body = {"kind": "home_repair", "room_id": room, "location": "卫生间"}
    sellers = post_ticket(headers, description="卫生间下水管漏水", **body).json
    complaint = post_ticket(headers, kind="complaint", description="楼上装修噪音").json
    _import(app, community, ledger=SOLD)
    buyer = owner("O-9")
    listed = [t["id"] for t in client.get("/api/v1/tickets", headers=buyer).json["items"]]
    assert listed == []
    for ticket in (sellers, complaint):
        assert client.get(f"/api/v1/tickets/{ticket['id']}", headers=buyer).status_code == 404
    buyers = post_ticket(buyer, description="入户门锁坏了", **body)
    assert buyers.status_code == 201, buyers.json
    buyers = buyers.json
    assert [t["id"] for t in client.get("/api/v1/tickets", headers=buyer).json["items"]] == \
        [buyers["id"]]
    # the seller keeps what they reported, and nothing of the buyer's
    seen = [t["id"] for t in client.get("/api/v1/tickets", headers=headers).json["items"]]
    assert seen == [complaint["id"], sellers["id"]]
    assert client.get(f"/api/v1/tickets/{sellers['id']}", headers=headers).status_code == 200
    assert client.get(f"/api/v1/tickets/{buyers['id']}", headers=headers).status_code == 404
    answer = _ask(client, headers, "我的报修进度怎么样了")
    assert "入户门锁" not in answer
    # nor may the seller report a repair of the flat any more
    refused = post_ticket(headers, description="又漏水了", **body)
    assert refused.status_code == 404 and refused.json["error"]["code"] == "room_not_found"


def test_a_seller_who_buys_the_room_back_does_not_see_the_repairs_in_between(
        client, app, community, seller, owner, post_ticket):
    headers, room = seller
    _import(app, community, ledger=SOLD)
    buyer = owner("O-9")
    between = post_ticket(buyer, kind="home_repair", room_id=room, description="入户门锁坏了").json
    _import(app, community, ledger=DEMO_LEDGER)  # 张三 is the owner of record again
    assert _rooms(client, headers) == ["1-1-101"] and _rooms(client, buyer) == []
    assert client.get(f"/api/v1/tickets/{between['id']}", headers=headers).status_code == 404
    again = post_ticket(headers, kind="home_repair", room_id=room, description="又漏水了")
    assert again.status_code == 201
    listed = [t["id"] for t in client.get("/api/v1/tickets", headers=headers).json["items"]]
    assert listed == [again.json["id"]]


def test_binding_against_a_new_owner_of_record_starts_a_new_household(
        client, app, community, seller, login, post_ticket):
    """The register names another owner of record (here: the same person under a new
    ref); binding again is as today, and the flat's earlier repairs stay behind."""
    from backend.models import Role, RoomBinding, User

    headers, room = seller
    tenant = login("tenant-of-101")
    with app.app_context():
        uid = db.session.scalar(db.select(User.id).filter_by(openid="tenant-of-101"))
        db.session.add(RoomBinding(user_id=uid, room_id=room, relation=Role.tenant))
        db.session.commit()
    earlier = post_ticket(tenant, kind="home_repair", room_id=room, description="空调不制冷").json
    assert client.get(f"/api/v1/tickets/{earlier['id']}", headers=headers).status_code == 200
    _import(app, community, ledger=DEMO_LEDGER.replace("O-1,张三", "O-1N,张三"))
    assert _rooms(client, headers) == []
    rebound = client.post("/api/v1/me/rooms", headers=headers, json={
        "building": "1", "unit": "1", "number": "101", "owner_name": "张三",
        "phone": "13900000001"})
    assert rebound.status_code == 201 and _rooms(client, headers) == ["1-1-101"]
    assert client.get(f"/api/v1/tickets/{earlier['id']}", headers=headers).status_code == 404
    later = post_ticket(tenant, kind="home_repair", room_id=room, description="热水器不出热水").json
    assert client.get(f"/api/v1/tickets/{later['id']}", headers=headers).status_code == 200
