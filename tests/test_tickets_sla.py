"""Service levels: due times from settings, the overdue flag, escalation to the
manager exactly once, and auto-close of unrated resolved tickets onto the follow-up
(回访) list."""
from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from backend.extensions import db
from backend.jobs.queue import tick_inline
from backend.models import Notification, Ticket, TicketEvent, User
from backend.jobs.tickets import auto_close_resolved, escalate_overdue
from tests.conftest import bind_owner

pytestmark = pytest.mark.usefixtures("wechat_api")


def _create(post_ticket, headers, **fields) -> int:
    response = post_ticket(headers, **fields)
    assert response.status_code == 201, response.json
    return response.json["id"]


def _act(client, headers, tid, action, **body):
    response = client.post(f"/api/v1/tickets/{tid}/actions", headers=headers,
                           json={"action": action, **body})
    assert response.status_code == 200, response.json
    return response.json


def _age(app, tid, **delta):
    """Move a ticket's clock back (as if it had been created earlier)."""
    shift = timedelta(**delta)
    with app.app_context():
        ticket = db.session.get(Ticket, tid)
        ticket.created_at -= shift
        ticket.accept_due_at -= shift
        ticket.due_at -= shift
        for name in ("accepted_at", "resolved_at"):
            if getattr(ticket, name):
                setattr(ticket, name, getattr(ticket, name) - shift)
        db.session.commit()


def _events(app, tid, kind):
    with app.app_context():
        return db.session.scalars(db.select(TicketEvent).filter_by(ticket_id=tid, type=kind)).all()


def _notes(app, username=None, openid=None, kind=None):
    with app.app_context():
        user = db.session.scalar(db.select(User).filter_by(
            **({"username": username} if username else {"openid": openid})))
        query = db.select(Notification).filter_by(user_id=user.id)
        if kind:
            query = query.filter_by(kind=kind)
        return db.session.scalars(query).all()


def _hours(ticket, field):
    return (datetime.fromisoformat(ticket[field]) - datetime.fromisoformat(
        ticket["created_at"])).total_seconds() / 3600


def test_due_times_come_from_the_settings(make_app):
    app = make_app(TICKET_URGENT_REPAIR_HOURS=2, TICKET_REPAIR_HOURS=8, TICKET_ACCEPT_MINUTES=15)
    client = app.test_client()
    headers = bind_owner(app, client)
    me = client.get("/api/v1/me", headers=headers).json
    room = me["rooms"][0]["id"]

    def post(**fields):
        data = {"kind": "home_repair", "description": "漏水", "room_id": str(room), **fields}
        response = client.post("/api/v1/tickets", headers=headers, data=data,
                               content_type="multipart/form-data")
        assert response.status_code == 201, response.json
        return response.json

    urgent = post(urgent="true")
    assert _hours(urgent, "due_at") == pytest.approx(2)
    assert _hours(urgent, "accept_due_at") == pytest.approx(0.25)
    assert _hours(post(urgent="false"), "due_at") == pytest.approx(8)
    assert _hours(post(kind="complaint"), "due_at") == pytest.approx(24)  # default


def test_defaults_are_domain_md(client, owner, post_ticket, room_id):
    headers = owner("O-1")
    room = room_id(headers, "1-1-101")
    urgent = post_ticket(headers, kind="home_repair", room_id=room, urgent=True).json
    assert _hours(urgent, "due_at") == pytest.approx(4)
    assert _hours(urgent, "accept_due_at") == pytest.approx(0.5)
    assert _hours(post_ticket(headers, kind="common_repair").json, "due_at") == pytest.approx(24)
    assert _hours(post_ticket(headers, kind="complaint").json, "due_at") == pytest.approx(24)


def test_overdue_ticket_is_flagged_and_escalated_to_the_manager_once(
        app, client, owner, staff, post_ticket):
    resident = owner("O-1")
    manager, desk = staff("manager"), staff("desk")
    late = _create(post_ticket, resident, description="楼道灯不亮")
    fresh = _create(post_ticket, resident, description="刚报的")
    _age(app, late, minutes=45)  # not accepted within 30 minutes

    detail = client.get(f"/api/v1/tickets/{late}", headers=resident).json
    assert detail["overdue"] is True and detail["escalated"] is False
    assert client.get(f"/api/v1/tickets/{fresh}", headers=resident).json["overdue"] is False
    overdue_list = client.get("/api/v1/tickets?overdue=true", headers=desk).json["items"]
    assert [t["id"] for t in overdue_list] == [late]
    on_time_list = client.get("/api/v1/tickets?overdue=false", headers=desk).json["items"]
    assert [t["id"] for t in on_time_list] == [fresh]

    with app.app_context():
        tick_inline()  # the periodic task, as the scheduler runs it
    escalated = _events(app, late, "escalated")
    assert len(escalated) == 1
    assert escalated[0].actor_id is None and "30分钟未受理" in escalated[0].note
    assert _events(app, fresh, "escalated") == []
    notes = _notes(app, username="manager-user", kind="ticket_overdue")
    assert len(notes) == 1 and notes[0].link == f"/tickets/{late}"
    listed = client.get("/api/v1/notifications", headers=manager).json["items"]
    assert listed[0]["kind"] == "ticket_overdue" and f"#{late}" in listed[0]["title"]
    assert client.get(f"/api/v1/tickets/{late}", headers=desk).json["escalated"] is True

    # later runs never escalate it again, not even when it misses its next deadline
    with app.app_context():
        assert escalate_overdue() == 0
    _act(client, desk, late, "accept")
    _age(app, late, hours=30)
    with app.app_context():
        tick_inline()
        assert escalate_overdue(now=datetime.now().astimezone() + timedelta(days=3)) == 1  # fresh
    assert len(_events(app, late, "escalated")) == 1
    assert len(_notes(app, username="manager-user", kind="ticket_overdue")) == 2


def test_resolution_deadline_escalates_too_and_admin_stands_in_for_a_missing_manager(
        app, client, owner, staff, post_ticket):
    resident = owner("O-1")
    desk = staff("desk")
    staff("admin")
    tid = _create(post_ticket, resident)
    _act(client, desk, tid, "accept")
    _age(app, tid, hours=25)
    with app.app_context():
        assert escalate_overdue() == 1
    event = _events(app, tid, "escalated")[0]
    assert event.data == {"reason": "resolve"} and "仍未完成" in event.note
    assert len(_notes(app, username="admin-user", kind="ticket_overdue")) == 1


def test_finished_tickets_are_never_escalated(app, client, owner, staff, post_ticket):
    resident = owner("O-1")
    staff("manager")
    tid = _create(post_ticket, resident)
    _act(client, resident, tid, "cancel")
    _age(app, tid, days=5)
    with app.app_context():
        assert escalate_overdue() == 0


def test_unrated_resolved_tickets_close_after_three_days_onto_the_follow_up_list(
        app, client, owner, staff, post_ticket, wechat_api):
    resident = owner("O-1")
    manager, desk = staff("manager"), staff("desk")
    old = _create(post_ticket, resident, description="旧的")
    recent = _create(post_ticket, resident, description="新的")
    manager_id = db_id(app, "manager-user")
    for tid in (old, recent):
        for action, extra in (("accept", {}), ("assign", {"assignee_id": manager_id}),
                              ("start", {}), ("resolve", {})):
            _act(client, manager, tid, action, **extra)
    _age(app, old, days=3, minutes=1)
    _age(app, recent, days=2)

    with app.app_context():
        tick_inline()
    old_detail = client.get(f"/api/v1/tickets/{old}", headers=resident).json
    assert old_detail["status"] == "closed" and old_detail["needs_follow_up"] is True
    closing = old_detail["events"][-1]
    assert closing["type"] == "closed" and closing["actor"] is None
    assert "3天未评价" in closing["note"]
    assert client.get(f"/api/v1/tickets/{recent}", headers=resident).json["status"] == "resolved"
    follow_ups = client.get("/api/v1/tickets/follow-ups", headers=desk).json["items"]
    assert [t["id"] for t in follow_ups] == [old]
    # the reporter hears about it
    titles = [n.title for n in _notes(app, openid="openid-O-1", kind="ticket_status")]
    assert "您的公共报修已关闭" in titles

    # running again changes nothing
    with app.app_context():
        assert auto_close_resolved() == 0
    assert len(_events(app, old, "closed")) == 1

    # the call is made and recorded: off the list
    _act(client, desk, old, "follow_up", note="电话回访：业主表示已修好")
    assert client.get("/api/v1/tickets/follow-ups", headers=desk).json["items"] == []
    # the reporter may still rate a ticket the system closed, once
    rated = client.post(f"/api/v1/tickets/{old}/rating", headers=resident, json={"score": 4})
    assert rated.status_code == 201 and rated.json["status"] == "closed"
    assert client.post(f"/api/v1/tickets/{old}/rating", headers=resident,
                       json={"score": 4}).status_code == 409


def test_a_late_good_rating_takes_the_ticket_off_the_follow_up_list(app, client, owner, staff,
                                                                     post_ticket):
    resident = owner("O-1")
    manager = staff("manager")
    tid = _create(post_ticket, resident)
    manager_id = db_id(app, "manager-user")
    for action, extra in (("accept", {}), ("assign", {"assignee_id": manager_id}),
                          ("start", {}), ("resolve", {})):
        _act(client, manager, tid, action, **extra)
    _act(client, manager, tid, "close")
    assert [t["id"] for t in client.get("/api/v1/tickets/follow-ups",
                                        headers=manager).json["items"]] == [tid]
    client.post(f"/api/v1/tickets/{tid}/rating", headers=resident, json={"score": 5})
    assert client.get("/api/v1/tickets/follow-ups", headers=manager).json["items"] == []


def db_id(app, username):
    with app.app_context():
        return db.session.scalar(db.select(User.id).filter_by(username=username))


def test_list_times_and_overdue_match_the_rules(
        app, client, owner, staff, post_ticket):
    """For every status, around the deadlines and across midnight and New Year in
    Shanghai, the list shows the times as timeutil.local_iso does, its ``overdue``
    and its ``?overdue=`` filter say what rules.is_overdue says (``Ticket.is_overdue``
    in SQL for the filter, in Python for the field; on SQLite and on PostgreSQL)."""
    from backend.models import TicketStatus
    from backend.rules.ticket_states import is_overdue
    from backend.services.tickets import list_page
    from backend.timeutil import local_iso, utcnow

    resident = owner("O-1")
    staff("desk")
    ids = [_create(post_ticket, resident) for _ in range(len(TicketStatus) * 3)]
    now = datetime.fromisoformat("2026-12-31T16:00:00+00:00")  # 2027-01-01 00:00 in Shanghai
    moments = [now - timedelta(seconds=1), now, now + timedelta(seconds=1)]
    with app.app_context():
        times, late_then = {}, set()
        for index, tid in enumerate(ids):
            ticket = db.session.get(Ticket, tid)
            status = list(TicketStatus)[index // 3]
            due = moments[index % 3]
            ticket.status = status
            ticket.created_at = ticket.updated_at = due - timedelta(hours=5, microseconds=999)
            ticket.accept_due_at = due - timedelta(minutes=1) if index % 2 else due
            ticket.due_at = due + timedelta(hours=1) if index % 2 else due
            times[tid] = {"created_at": local_iso(ticket.created_at),
                          "updated_at": local_iso(ticket.updated_at),
                          "accept_due_at": local_iso(ticket.accept_due_at),
                          "due_at": local_iso(ticket.due_at)}
            if is_overdue(status, ticket.accept_due_at, ticket.due_at, now):
                late_then.add(tid)
        db.session.commit()
        reporter = db.session.get(Ticket, ids[0]).reporter
        late, _ = list_page(reporter, limit=100, overdue_only=True, now=now)
        in_time, _ = list_page(reporter, limit=100, overdue_only=False, now=now)
    assert {t.id for t in late} == late_then
    assert {t.id for t in in_time} == set(ids) - late_then
    assert late_then and set(ids) - late_then  # both kinds are there

    items = client.get("/api/v1/tickets?limit=100", headers=resident).json["items"]
    assert {i["id"]: {key: i[key] for key in times[i["id"]]} for i in items} == times
    assert "2027-01-01T00:00:00+08:00" in {t["due_at"] for t in times.values()}
    with app.app_context():
        late_now = {tid for tid in ids
                    if db.session.get(Ticket, tid).is_overdue(utcnow())}
    assert {i["id"] for i in items if i["overdue"]} == late_now
