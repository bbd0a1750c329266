"""Ticket lists: a page costs the same few statements however many tickets it shows
(no query per item), and people are named the same way in lists, details and the
timeline."""
from __future__ import annotations

import contextlib
from datetime import timedelta

import pytest
from sqlalchemy import event, select

from backend.extensions import db
from backend.models import (Role, StaffRole, Ticket, TicketEvent, TicketKind, TicketStatus, User,
                            utcnow)

pytestmark = pytest.mark.usefixtures("wechat_api")


@pytest.fixture
def busy_community(app, community, rooms_by_label, staff):
    """25 tickets from 25 residents (every other one without a name), each with its
    own room, assignee and a few timeline events, so that anything loaded per item
    would show."""
    desk = staff("desk")
    with app.app_context():
        now = utcnow()
        rooms = list(rooms_by_label.values())
        for n in range(25):
            reporter = User(openid=f"busy-{n}", name="" if n % 2 else f"住户{n}")
            engineer = User(username=f"busy-engineer-{n}", name="" if n % 3 else f"师傅{n}")
            db.session.add_all([reporter, engineer])
            db.session.flush()
            db.session.add(StaffRole(user_id=engineer.id, community_id=community["id"],
                                     role=Role.engineer))
            ticket = Ticket(community_id=community["id"], reporter_id=reporter.id,
                            room_id=rooms[n % len(rooms)], kind=TicketKind.home_repair,
                            status=TicketStatus.assigned, description=f"第{n}张",
                            assignee_id=engineer.id, created_at=now, updated_at=now,
                            accept_due_at=now + timedelta(minutes=30),
                            due_at=now + timedelta(hours=24))
            db.session.add(ticket)
            db.session.flush()
            for kind, actor in (("created", reporter), ("accepted", None), ("assigned", engineer)):
                db.session.add(TicketEvent(ticket_id=ticket.id, at=now, type=kind,
                                           actor_id=actor.id if actor else None))
        db.session.commit()
    return desk


@contextlib.contextmanager
def counted(app):
    """Counts the statements sent to the database meanwhile."""
    statements = []

    def count(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", count)


def test_a_page_of_twenty_costs_what_a_page_of_five_does(app, client, busy_community):
    desk = busy_community
    costs = {}
    for limit in (5, 20):
        with counted(app) as statements:
            response = client.get(f"/api/v1/tickets?limit={limit}", headers=desk)
        assert response.status_code == 200 and len(response.json["items"]) == limit
        assert all(i["room"] and i["reporter"]["name"] and i["assignee"]["name"]
                   for i in response.json["items"])
        costs[limit] = len(statements)
    assert costs[20] == costs[5], costs
    # the signed-in user, the page, and one statement per relation the items show
    assert costs[20] <= 6, costs


def test_the_residents_latest_tickets_cost_the_same_for_five_and_twenty(app, busy_community):
    from backend.services.tickets import tickets_for_resident

    with app.app_context():  # a resident who reported nothing sees nothing; make one
        everyone = db.session.scalars(select(Ticket)).all()
        reporter_id = everyone[0].reporter_id
        for ticket in everyone:
            ticket.reporter_id = reporter_id
        db.session.commit()
    costs = {}
    for limit in (5, 20):
        with app.app_context():
            user = db.session.get(User, reporter_id)
            _ = user.staff_roles, [b.room for b in user.bindings]
            with counted(app) as statements:
                tickets = tickets_for_resident(user, limit=limit)
                assert len(tickets) == limit
                assert all([e.type for e in t.events] == ["created", "accepted", "assigned"]
                           for t in tickets)
            costs[limit] = len(statements)
    assert costs[20] == costs[5] == 2, costs  # the tickets, then their events


def test_a_detail_costs_the_same_whatever_its_timeline(app, client, busy_community):
    desk = busy_community
    with app.app_context():
        short, long = db.session.scalars(select(Ticket.id).order_by(Ticket.id).limit(2)).all()
        people = db.session.scalars(select(User.id).where(User.openid.like("busy-%"))).all()
        now = utcnow()
        db.session.add_all(TicketEvent(ticket_id=long, at=now, type="photos_added",
                                       actor_id=person) for person in people)
        db.session.commit()
    costs = {}
    for ticket_id in (short, long):
        with counted(app) as statements:
            response = client.get(f"/api/v1/tickets/{ticket_id}", headers=desk)
        assert response.status_code == 200
        costs[ticket_id] = (len(statements), len(response.json["events"]))
    assert costs[short][1] == 3 and costs[long][1] == 3 + len(people)
    assert costs[short][0] == costs[long][0], costs


def test_people_without_a_name_are_named_alike_in_list_detail_and_timeline(
        app, client, busy_community):
    desk = busy_community
    items = client.get("/api/v1/tickets?limit=25", headers=desk).json["items"]
    with app.app_context():
        expected = {t.id: (t.reporter.shown_name, t.assignee.shown_name)
                    for t in db.session.scalars(select(Ticket))}
    assert {i["id"]: (i["reporter"]["name"], i["assignee"]["name"]) for i in items} == expected
    assert {name for pair in expected.values() for name in pair} >= {"业主", "工作人员"}
    for item in items[:6]:
        detail = client.get(f"/api/v1/tickets/{item['id']}", headers=desk).json
        assert (detail["reporter"], detail["assignee"]) == (item["reporter"], item["assignee"])
        actors = {e["type"]: e["actor"] for e in detail["events"]}
        assert actors["created"] == item["reporter"] and actors["assigned"] == item["assignee"]
        assert actors["accepted"] is None  # the system
