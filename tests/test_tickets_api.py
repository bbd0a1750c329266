"""Tickets through the API: reporting, lists, detail with the timeline, who sees what,
and the actions of each role."""
from __future__ import annotations

import pytest

from backend.extensions import db
from backend.models import Ticket, TicketEvent, User

pytestmark = pytest.mark.usefixtures("wechat_api")


def _create(post_ticket, headers, **fields):
    response = post_ticket(headers, **fields)
    assert response.status_code == 201, response.json
    return response.json


def _act(client, headers, ticket_id, action, **body):
    return client.post(f"/api/v1/tickets/{ticket_id}/actions", headers=headers,
                       json={"action": action, **body})


def _user_id(app, username):
    with app.app_context():
        return db.session.scalar(db.select(User.id).filter_by(username=username))


# ----------------------------------------------------------------- reporting
def test_owner_reports_an_in_home_repair_and_sees_it_in_detail(client, owner, post_ticket,
                                                                room_id):
    headers = owner("O-1")
    room = room_id(headers, "1-1-101")
    ticket = _create(post_ticket, headers, kind="home_repair", room_id=room, urgent=True,
                     description="卫生间水管漏水，地面积水", location="卫生间",
                     contact_phone="13900000001")
    assert ticket["status"] == "submitted" and ticket["status_label"] == "待受理"
    assert ticket["kind_label"] == "室内报修"
    assert ticket["room"] == "1栋1单元101" and ticket["room_id"] == room
    assert ticket["urgent"] is True and ticket["overdue"] is False
    assert ticket["photos"] == []
    assert [e["type"] for e in ticket["events"]] == ["created"]
    assert ticket["events"][0]["actor"]["name"] == "张三"
    assert ticket["events"][0]["to"] == "submitted" and ticket["events"][0]["from"] is None
    assert ticket["created_at"].endswith("+08:00")
    assert ticket["actions"] == ["cancel"]

    detail = client.get(f"/api/v1/tickets/{ticket['id']}", headers=headers)
    assert detail.status_code == 200
    assert detail.json["description"] == "卫生间水管漏水，地面积水"
    assert detail.json["contact_phone"] == "13900000001"


def test_home_repair_needs_a_room_and_only_one_of_my_rooms(client, owner, post_ticket, app):
    headers = owner("O-1")
    response = post_ticket(headers, kind="home_repair")
    assert response.status_code == 400
    assert "room_id" in response.json["error"]["details"]["fields"]
    # someone else's room: as if it did not exist
    with app.app_context():
        from backend.models import Room

        other = db.session.scalar(db.select(Room.id).filter_by(number="102"))
    response = post_ticket(headers, kind="home_repair", room_id=other)
    assert response.status_code == 404
    assert response.json["error"]["code"] == "room_not_found"
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count()).select_from(Ticket)) == 0


@pytest.mark.parametrize("fields, field", [
    ({"kind": "party"}, "kind"),
    ({"description": ""}, "description"),
    ({"description": "x" * 2001}, "description"),
    ({"contact_phone": "call me"}, "contact_phone"),
    ({"urgent": "maybe"}, "urgent"),
    ({"room_id": "abc"}, "room_id"),
])
def test_invalid_fields_are_400_with_the_field_named(owner, post_ticket, fields, field):
    response = post_ticket(owner("O-1"), **fields)
    assert response.status_code == 400
    assert field in response.json["error"]["details"]["fields"]


def test_whitespace_description_is_refused(owner, post_ticket):
    response = post_ticket(owner("O-1"), description="   ")
    assert response.status_code == 400


def test_an_unbound_resident_is_asked_to_bind_a_room_first(login, post_ticket, community):
    response = post_ticket(login("stranger"))
    assert response.status_code == 403
    assert response.json["error"]["code"] == "no_room_bound"


def test_reporting_needs_a_login(client, community):
    response = client.post("/api/v1/tickets", data={"kind": "inquiry", "description": "?"})
    assert response.status_code == 401


def test_desk_reports_for_a_caller_on_the_phone(client, staff, post_ticket, community):
    desk = staff("desk")
    ticket = _create(post_ticket, desk, kind="common_repair", description="业主来电：2栋电梯异响")
    assert ticket["status"] == "submitted"
    assert ticket["reporter"]["name"] == "desk员工"


# ----------------------------------------------------------------- who sees what
def test_another_owner_gets_404_for_every_ticket_route(client, owner, post_ticket, staff):
    mine = owner("O-1")
    other = owner("O-2")
    ticket = _create(post_ticket, mine, kind="complaint", description="邻居噪音")
    tid = ticket["id"]
    assert client.get(f"/api/v1/tickets/{tid}", headers=other).status_code == 404
    for response in (
        _act(client, other, tid, "cancel"),
        client.post(f"/api/v1/tickets/{tid}/rating", headers=other, json={"score": 1}),
        client.get(f"/api/v1/tickets/{tid}/photos/1/thumb", headers=other),
    ):
        assert response.status_code == 404
        assert response.json["error"]["code"] == "ticket_not_found"
    # a ticket that does not exist looks exactly the same
    missing = client.get("/api/v1/tickets/999999", headers=other)
    assert missing.status_code == 404 and missing.json == client.get(
        f"/api/v1/tickets/{tid}", headers=other).json
    assert client.get("/api/v1/tickets", headers=other).json["items"] == []
    # staff of the community see it
    assert client.get(f"/api/v1/tickets/{tid}", headers=staff("desk")).status_code == 200
    assert client.get(f"/api/v1/tickets/{tid}", headers=staff("engineer")).status_code == 200


def test_staff_of_another_community_get_404(client, owner, post_ticket, app):
    from backend.models import Role
    from backend.services.auth import hash_password
    from backend.services.community import get_or_create_community
    from backend.services.permissions import grant_staff_role

    ticket = _create(post_ticket, owner("O-1"))
    with app.app_context():
        other, _ = get_or_create_community("别的小区")
        user = User(username="far-desk", name="外小区前台", password_hash=hash_password("pw-far"))
        db.session.add(user)
        db.session.flush()
        grant_staff_role(user, other.id, Role.desk)
        db.session.commit()
    token = client.post("/api/v1/auth/staff-login",
                        json={"username": "far-desk", "password": "pw-far"}).json["token"]
    headers = {"Authorization": f"Bearer {token}"}
    assert client.get(f"/api/v1/tickets/{ticket['id']}", headers=headers).status_code == 404
    assert _act(client, headers, ticket["id"], "accept").status_code == 404


def test_household_shares_in_home_repairs_but_not_complaints(client, owner, login, post_ticket,
                                                             room_id, app):
    """A family member bound to the flat sees its in-home repairs reported since they
    joined the household (whoever reported them), not the owner's complaints; they
    cannot act as the reporter."""
    from backend.models import Role, RoomBinding

    owner_headers = owner("O-3")  # 王五: 1-1-201 and 1-1-202
    room = room_id(owner_headers, "1-1-201")
    before = _create(post_ticket, owner_headers, kind="home_repair", room_id=room,
                     description="入住前的报修")
    family = login("wang-family")
    with app.app_context():
        uid = db.session.scalar(db.select(User.id).filter_by(openid="wang-family"))
        db.session.add(RoomBinding(user_id=uid, room_id=room, relation=Role.family))
        db.session.commit()
    repair = _create(post_ticket, owner_headers, kind="home_repair", room_id=room)
    complaint = _create(post_ticket, owner_headers, kind="complaint", description="停车位被占")
    other_flat = _create(post_ticket, owner_headers, kind="home_repair",
                         room_id=room_id(owner_headers, "1-1-202"))
    listed = [t["id"] for t in client.get("/api/v1/tickets", headers=family).json["items"]]
    assert listed == [repair["id"]]
    detail = client.get(f"/api/v1/tickets/{repair['id']}", headers=family)
    assert detail.status_code == 200 and detail.json["actions"] == []
    for hidden in (before, complaint, other_flat):
        assert client.get(f"/api/v1/tickets/{hidden['id']}", headers=family).status_code == 404
    assert _act(client, family, repair["id"], "cancel").status_code == 403
    # the family member may report a repair of that flat too
    theirs = _create(post_ticket, family, kind="home_repair", room_id=room)
    owner_list = [t["id"] for t in client.get("/api/v1/tickets", headers=owner_headers).json["items"]]
    assert theirs["id"] in owner_list


def test_a_seller_stops_seeing_the_flats_repairs_after_the_ledger_changes(
        client, owner, login, post_ticket, room_id, app):
    from backend.models import OwnerOfRecord, Room

    seller = owner("O-1")
    room = room_id(seller, "1-1-101")
    tenant_ticket_headers = login("someone-else")
    with app.app_context():
        from backend.models import Role, RoomBinding

        uid = db.session.scalar(db.select(User.id).filter_by(openid="someone-else"))
        db.session.add(RoomBinding(user_id=uid, room_id=room, relation=Role.tenant))
        db.session.commit()
    ticket = _create(post_ticket, tenant_ticket_headers, kind="home_repair", room_id=room)
    assert client.get(f"/api/v1/tickets/{ticket['id']}", headers=seller).status_code == 200
    with app.app_context():  # the flat is sold: the ledger names another owner
        buyer = db.session.scalar(db.select(OwnerOfRecord).filter_by(owner_ref="O-2"))
        db.session.get(Room, room).owner_id = buyer.id
        db.session.commit()
    assert client.get(f"/api/v1/tickets/{ticket['id']}", headers=seller).status_code == 404


# ----------------------------------------------------------------- lists
def test_list_filters_and_cursor(client, owner, staff, post_ticket, room_id):
    headers = owner("O-3")
    room = room_id(headers, "1-1-201")
    created = []
    for index in range(5):
        created.append(_create(post_ticket, headers, kind="home_repair", room_id=room,
                               description=f"报修 {index}")["id"])
    complaint = _create(post_ticket, headers, kind="complaint", description="投诉")["id"]
    desk = staff("desk")
    assert _act(client, desk, created[0], "accept").status_code == 200

    page1 = client.get("/api/v1/tickets?limit=4", headers=headers).json
    assert [t["id"] for t in page1["items"]] == [complaint] + created[::-1][:3]
    page2 = client.get(f"/api/v1/tickets?limit=4&cursor={page1['next_cursor']}",
                       headers=headers).json
    assert [t["id"] for t in page2["items"]] == created[::-1][3:]
    assert page2["next_cursor"] is None

    kinds = client.get("/api/v1/tickets?kind=complaint", headers=headers).json["items"]
    assert [t["id"] for t in kinds] == [complaint]
    accepted = client.get("/api/v1/tickets?status=accepted", headers=headers).json["items"]
    assert [t["id"] for t in accepted] == [created[0]]
    several = client.get("/api/v1/tickets?status=accepted,submitted&kind=home_repair",
                         headers=headers).json["items"]
    assert len(several) == 5
    item = page1["items"][1]
    assert set(item) >= {"id", "kind", "status", "status_label", "due_at", "overdue", "room",
                         "created_at", "reporter", "assignee"}
    assert "events" not in item

    staff_view = client.get("/api/v1/tickets?status=submitted", headers=desk).json["items"]
    assert len(staff_view) == 5


@pytest.mark.parametrize("query", ["status=open", "kind=x", "limit=0", "limit=101", "cursor=@@",
                                   "overdue=perhaps"])
def test_bad_list_arguments_are_400(client, owner, query):
    headers = owner("O-1")
    for _ in range(2):  # refused again: query strings are remembered only when valid
        response = client.get(f"/api/v1/tickets?{query}", headers=headers)
        assert response.status_code == 400
        assert set(response.json["error"]) == {"code", "message", "details"}


def test_the_same_filters_asked_again_give_the_same_page(client, owner, staff, post_ticket):
    """Parsed query strings are remembered per process (routes/common.py); each request
    must still see its own arguments and the data as it is now."""
    headers = owner("O-1")
    query = "/api/v1/tickets?status=submitted,accepted&kind=complaint,suggestion&limit=5"
    assert client.get(query, headers=headers).json["items"] == []
    first = _create(post_ticket, headers, kind="complaint", description="噪音扰民")["id"]
    second = _create(post_ticket, headers, kind="suggestion", description="增加绿化")["id"]
    _create(post_ticket, headers, kind="inquiry", description="停车费多少")
    for _ in range(3):
        assert [t["id"] for t in client.get(query, headers=headers).json["items"]] == [
            second, first]
    assert _act(client, staff("desk"), first, "reject", note="不属实").status_code == 200
    assert [t["id"] for t in client.get(query, headers=headers).json["items"]] == [second]
    other = client.get(query.replace("kind=complaint,suggestion", "kind=inquiry"),
                       headers=headers).json["items"]
    assert [t["kind"] for t in other] == ["inquiry"]


# ----------------------------------------------------------------- the lifecycle
def test_full_lifecycle_through_the_api(client, app, owner, staff, post_ticket, room_id):
    resident = owner("O-1")
    desk, engineer = staff("desk"), staff("engineer")
    tid = _create(post_ticket, resident, kind="home_repair",
                  room_id=room_id(resident, "1-1-101"))["id"]
    engineer_id = _user_id(app, "engineer-user")

    # the engineer cannot take a ticket nobody assigned to them
    assert _act(client, engineer, tid, "start").status_code == 403
    response = _act(client, desk, tid, "accept")
    assert response.status_code == 200 and response.json["status"] == "accepted"
    assert response.json["actions"] == ["assign", "reject"]
    assert _act(client, desk, tid, "assign").status_code == 400  # who?
    response = _act(client, desk, tid, "assign", assignee_id=engineer_id)
    assert response.json["status"] == "assigned"
    assert response.json["assignee"] == {"id": engineer_id, "name": "engineer员工"}
    assert _act(client, desk, tid, "start").status_code == 403  # desk does not repair
    engineer_view = client.get(f"/api/v1/tickets/{tid}", headers=engineer).json
    assert engineer_view["actions"] == ["start"]
    assert _act(client, engineer, tid, "resolve").status_code == 409  # not started yet
    assert _act(client, engineer, tid, "start", note="已上门").json["status"] == "in_progress"
    assert _act(client, resident, tid, "cancel").status_code == 409  # work started
    done = _act(client, engineer, tid, "resolve", note="更换了水管接头")
    assert done.json["status"] == "resolved" and done.json["resolved_at"]
    # not fixed: the reporter reopens
    reopened = _act(client, resident, tid, "reopen", note="还是漏水")
    assert reopened.json["status"] == "in_progress" and reopened.json["resolved_at"] is None
    _act(client, engineer, tid, "resolve", note="重新密封")
    rated = client.post(f"/api/v1/tickets/{tid}/rating", headers=resident,
                        json={"score": 5, "comment": "很及时"})
    assert rated.status_code == 201
    assert rated.json["status"] == "closed" and rated.json["rating"] == 5
    assert rated.json["rating_comment"] == "很及时"
    again = client.post(f"/api/v1/tickets/{tid}/rating", headers=resident, json={"score": 1})
    assert again.status_code == 409

    events = client.get(f"/api/v1/tickets/{tid}", headers=resident).json["events"]
    assert [(e["type"], e["from"], e["to"]) for e in events] == [
        ("created", None, "submitted"),
        ("accepted", "submitted", "accepted"),
        ("assigned", "accepted", "assigned"),
        ("started", "assigned", "in_progress"),
        ("resolved", "in_progress", "resolved"),
        ("reopened", "resolved", "in_progress"),
        ("resolved", "in_progress", "resolved"),
        ("rated", "resolved", "closed"),
    ]
    assert events[5]["note"] == "还是漏水" and events[5]["actor"]["name"] == "张三"
    assert events[3]["actor"]["name"] == "engineer员工"
    assert all(e["at"].endswith("+08:00") for e in events)
    with app.app_context():  # the timeline is stored, one row per change
        assert db.session.scalar(db.select(db.func.count()).select_from(TicketEvent)) == 8


def test_reject_needs_a_reason_and_ends_the_ticket(client, owner, staff, post_ticket):
    resident = owner("O-1")
    desk = staff("desk")
    tid = _create(post_ticket, resident, kind="suggestion", description="建议增加快递柜")["id"]
    response = _act(client, desk, tid, "reject")
    assert response.status_code == 400
    assert response.json["error"]["code"] == "note_required"
    response = _act(client, desk, tid, "reject", note="快递柜属于快递公司经营，已转交")
    assert response.status_code == 200 and response.json["status"] == "rejected"
    assert _act(client, desk, tid, "accept").status_code == 409
    assert _act(client, resident, tid, "cancel").status_code == 409


def test_reporter_cancels_before_work_starts(client, owner, staff, post_ticket):
    resident = owner("O-1")
    tid = _create(post_ticket, resident)["id"]
    assert _act(client, staff("desk"), tid, "cancel").status_code == 403  # staff reject instead
    response = _act(client, resident, tid, "cancel", note="自己修好了")
    assert response.status_code == 200 and response.json["status"] == "cancelled"
    assert response.json["actions"] == []


def test_manager_may_take_every_staff_action(client, app, owner, staff, post_ticket):
    resident = owner("O-1")
    manager = staff("manager")
    staff("engineer")
    tid = _create(post_ticket, resident)["id"]
    engineer_id = _user_id(app, "engineer-user")
    for action, extra, status in [("accept", {}, "accepted"),
                                  ("assign", {"assignee_id": engineer_id}, "assigned"),
                                  ("start", {}, "in_progress"), ("resolve", {}, "resolved"),
                                  ("close", {}, "closed"),
                                  ("follow_up", {"note": "电话回访，业主满意"}, "closed")]:
        response = _act(client, manager, tid, action, **extra)
        assert response.status_code == 200, (action, response.json)
        assert response.json["status"] == status
    assert _act(client, manager, tid, "follow_up", note="again").status_code == 409
    # the manager does not speak for the reporter
    tid2 = _create(post_ticket, resident)["id"]
    assert _act(client, manager, tid2, "cancel").status_code == 403


def test_admin_counts_as_manager(client, owner, staff, post_ticket):
    tid = _create(post_ticket, owner("O-1"))["id"]
    assert _act(client, staff("admin"), tid, "accept").json["status"] == "accepted"


def test_reassigning_hands_over_and_rejects_a_non_staff_assignee(client, app, owner, staff,
                                                                 post_ticket, login):
    resident = owner("O-1")
    desk = staff("desk")
    staff("engineer")
    second = staff("engineer", username="engineer-2")
    tid = _create(post_ticket, resident)["id"]
    _act(client, desk, tid, "accept")
    first_id, second_id = _user_id(app, "engineer-user"), _user_id(app, "engineer-2")
    _act(client, desk, tid, "assign", assignee_id=first_id)
    assert _act(client, desk, tid, "assign", assignee_id=first_id).status_code == 409
    login("just-a-resident")
    with app.app_context():
        resident_id = db.session.scalar(db.select(User.id).filter_by(openid="just-a-resident"))
    bad = _act(client, desk, tid, "assign", assignee_id=resident_id)
    assert bad.status_code == 400 and bad.json["error"]["code"] == "invalid_assignee"
    assert _act(client, desk, tid, "assign", assignee_id=999999).status_code == 400
    moved = _act(client, desk, tid, "assign", assignee_id=second_id)
    assert moved.json["assignee"]["id"] == second_id
    # the first engineer no longer holds it; the second one does
    assert _act(client, staff("engineer"), tid, "start").status_code == 403
    assert _act(client, second, tid, "start").status_code == 200


def test_unknown_action_and_bad_body_are_400(client, owner, staff, post_ticket):
    resident = owner("O-1")
    tid = _create(post_ticket, resident)["id"]
    assert _act(client, resident, tid, "explode").status_code == 400
    response = client.post(f"/api/v1/tickets/{tid}/actions", headers=resident,
                           data=b"{not json", content_type="application/json")
    assert response.status_code == 400
    for score in (0, 6, "5", None):
        response = client.post(f"/api/v1/tickets/{tid}/rating", headers=resident,
                               json={"score": score})
        assert response.status_code == 400


def test_rating_rules(client, app, owner, staff, post_ticket):
    resident = owner("O-1")
    manager = staff("manager")
    tid = _create(post_ticket, resident)["id"]
    early = client.post(f"/api/v1/tickets/{tid}/rating", headers=resident, json={"score": 5})
    assert early.status_code == 409  # not resolved yet
    for action in ("accept",):
        _act(client, manager, tid, action)
    _act(client, manager, tid, "assign", assignee_id=_user_id(app, "manager-user"))
    _act(client, manager, tid, "start")
    _act(client, manager, tid, "resolve")
    by_staff = client.post(f"/api/v1/tickets/{tid}/rating", headers=manager, json={"score": 5})
    assert by_staff.status_code == 403  # only the reporter rates
    poor = client.post(f"/api/v1/tickets/{tid}/rating", headers=resident,
                       json={"score": 2, "comment": "态度不好"})
    assert poor.status_code == 201 and poor.json["needs_follow_up"] is True
    follow_ups = client.get("/api/v1/tickets/follow-ups", headers=manager).json["items"]
    assert [t["id"] for t in follow_ups] == [tid]


def test_follow_up_list_is_for_desk_and_manager(client, owner, staff):
    assert client.get("/api/v1/tickets/follow-ups", headers=owner("O-1")).status_code == 403
    assert client.get("/api/v1/tickets/follow-ups", headers=staff("engineer")).status_code == 403
    assert client.get("/api/v1/tickets/follow-ups", headers=staff("desk")).status_code == 200


def test_assignee_picker_lists_the_engineers_only(client, staff, owner):
    desk = staff("desk")
    assert client.get("/api/v1/tickets/assignees", headers=desk).json["items"] == []
    staff("engineer")
    staff("manager")
    staff("admin")
    items = client.get("/api/v1/tickets/assignees", headers=desk).json["items"]
    assert [i["roles"] for i in items] == [["engineer"]]
    assert client.get("/api/v1/tickets/assignees", headers=owner("O-1")).status_code == 403


def test_engineer_filters_their_own_work(client, app, owner, staff, post_ticket):
    resident = owner("O-1")
    desk = staff("desk")
    engineer = staff("engineer")
    first = _create(post_ticket, resident)["id"]
    _create(post_ticket, resident)
    _act(client, desk, first, "accept")
    _act(client, desk, first, "assign", assignee_id=_user_id(app, "engineer-user"))
    mine = client.get("/api/v1/tickets?assigned_to_me=true", headers=engineer).json["items"]
    assert [t["id"] for t in mine] == [first]
    assert len(client.get("/api/v1/tickets", headers=engineer).json["items"]) == 2


def test_openapi_documents_the_ticket_endpoints(client):
    spec = client.get("/api/openapi.json").json
    create = spec["paths"]["/api/v1/tickets"]["post"]
    body = create["requestBody"]["content"]["multipart/form-data"]["schema"]
    schema = spec["components"]["schemas"][body["$ref"].rsplit("/", 1)[-1]]
    assert schema["properties"]["photos"]["items"]["format"] == "binary"
    assert {"kind", "description"} <= set(schema["required"])
    assert "parameters" not in create or all(p["in"] != "files" for p in create["parameters"])
    paths = spec["paths"]
    assert "/api/v1/tickets/{ticket_id}/actions" in paths
    assert "/api/v1/tickets/{ticket_id}/rating" in paths
    assert "/api/v1/reports/service" in paths
    action = paths["/api/v1/tickets/{ticket_id}/actions"]["post"]
    assert {"200", "403", "404", "409"} <= set(action["responses"])
    photo = paths["/api/v1/tickets/{ticket_id}/photos/{photo_id}/{variant}"]["get"]
    assert "image/jpeg" in photo["responses"]["200"]["content"]


def test_resident_helper_for_the_bot(app, client, owner, staff, post_ticket):
    from backend.rules.ticket_states import KIND_LABELS, STATUS_LABELS
    from backend.services.tickets import tickets_for_resident

    resident = owner("O-1")
    first = _create(post_ticket, resident, description="第一张")["id"]
    second = _create(post_ticket, resident, description="第二张")["id"]
    _act(client, resident, first, "cancel")
    _act(client, staff("desk"), second, "accept")
    with app.app_context():
        user = db.session.scalar(db.select(User).filter_by(openid="openid-O-1"))
        open_ones = tickets_for_resident(user)
        assert [t.id for t in open_ones] == [second]
        assert [e.type for e in open_ones[0].events] == ["created", "accepted"]
        everything = tickets_for_resident(user, open_only=False, limit=5)
        assert [t.id for t in everything] == [second, first]
        ticket = everything[0]
        assert STATUS_LABELS[ticket.status] == "已受理" and KIND_LABELS[ticket.kind] == "公共报修"
        assert ticket.due_at > ticket.created_at and ticket.location


def test_list_items_match_the_documented_summary(client, app, owner, staff, post_ticket,
                                                 room_id):
    """Lists are serialised by a fast path; they must say exactly what the schema says."""
    from backend.routes.tickets import TicketSummaryOut

    resident = owner("O-1")
    desk = staff("desk")
    staff("engineer")
    tid = _create(post_ticket, resident, kind="home_repair", room_id=room_id(resident, "1-1-101"),
                  urgent=True)["id"]
    _act(client, desk, tid, "accept")
    _act(client, desk, tid, "assign", assignee_id=_user_id(app, "engineer-user"))
    plain = _create(post_ticket, resident)["id"]
    for headers in (resident, desk):
        items = {i["id"]: i for i in client.get("/api/v1/tickets", headers=headers).json["items"]}
        for ticket_id in (tid, plain):
            detail = client.get(f"/api/v1/tickets/{ticket_id}", headers=headers).json
            item = items[ticket_id]
            assert set(item) == set(TicketSummaryOut().fields)
            assert item == {key: detail[key] for key in item}


def test_people_without_a_name_are_shown_as_what_they_are(client, app, owner, staff,
                                                          post_ticket):
    """A resident who never gave a name shows as 业主, a staff member as 工作人员, in the
    list and in the detail alike."""
    resident = owner("O-1")
    desk = staff("desk")
    staff("engineer")
    tid = _create(post_ticket, resident)["id"]
    _act(client, desk, tid, "accept")
    _act(client, desk, tid, "assign", assignee_id=_user_id(app, "engineer-user"))
    with app.app_context():
        ticket = db.session.get(Ticket, tid)
        ticket.reporter.name = ""
        ticket.assignee.name = ""
        db.session.commit()
    item = next(i for i in client.get("/api/v1/tickets", headers=desk).json["items"]
                if i["id"] == tid)
    detail = client.get(f"/api/v1/tickets/{tid}", headers=desk).json
    assert item["reporter"]["name"] == detail["reporter"]["name"] == "业主"
    assert item["assignee"]["name"] == detail["assignee"]["name"] == "工作人员"


def test_reporting_is_rate_limited_per_user(make_app):
    from tests.conftest import bind_owner

    app = make_app(RATELIMIT_ENABLED=True, RATELIMIT_TICKETS="2 per minute")
    client = app.test_client()
    headers = bind_owner(app, client)
    statuses = [client.post("/api/v1/tickets", headers=headers, content_type="multipart/form-data",
                            data={"kind": "inquiry", "description": f"第{i}次"}).status_code
                for i in range(3)]
    assert statuses == [201, 201, 429]
    response = client.post("/api/v1/tickets", headers=headers, content_type="multipart/form-data",
                           data={"kind": "inquiry", "description": "again"})
    assert response.json["error"]["code"] == "rate_limited"
    # another resident is not affected
    other = bind_owner(app, client, openid="another-phone")
    assert client.post("/api/v1/tickets", headers=other, content_type="multipart/form-data",
                       data={"kind": "inquiry", "description": "我的"}).status_code == 201


def test_two_clerks_accepting_at_once_accept_it_once(app, client, owner, staff, post_ticket):
    """The ticket row is locked for the action: exactly one of two simultaneous
    accepts wins, the other gets 409, and the timeline has one entry."""
    import threading

    from backend.errors import Conflict
    from backend.services.tickets import act

    tid = _create(post_ticket, owner("O-1"))["id"]
    staff("desk")
    staff("desk", username="desk-2")
    ids = [_user_id(app, "desk-user"), _user_id(app, "desk-2")]
    barrier = threading.Barrier(2)
    outcomes = []

    def accept(user_id):
        barrier.wait(30)  # both start together (no transaction open yet)
        with app.app_context():
            try:
                user = db.session.get(User, user_id)
                act(user, tid, "accept")
                db.session.commit()
                outcomes.append("ok")
            except Conflict:
                db.session.rollback()
                outcomes.append("conflict")
            finally:
                db.session.remove()

    threads = [threading.Thread(target=accept, args=(uid,)) for uid in ids]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert sorted(outcomes) == ["conflict", "ok"]
    with app.app_context():
        accepted = db.session.scalars(db.select(TicketEvent).filter_by(
            ticket_id=tid, type="accepted")).all()
        assert len(accepted) == 1
