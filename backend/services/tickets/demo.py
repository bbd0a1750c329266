"""Demo tickets for ``flask seed-demo`` (backend/seed.py runs ``seed_demo_tickets``)."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from backend.extensions import db
from backend.models import Building, Room, Ticket, TicketKind, TicketStatus, Unit, User, utcnow
from backend.rules import ticket_states as rules
from backend.rules.ticket_states import ACTION_EVENTS
from backend.services.tickets.service_levels import service_levels
from backend.services.tickets.timeline import record

S = TicketStatus

DEMO_TICKETS = [
    # (openid, room, kind, status, urgent, description, location, hours ago, rating)
    ("demo-wang", ("1", "1", "201"), "home_repair", "in_progress", False,
     "卫生间洗手盆下水管漏水，地面一直有积水", "卫生间", 5, None),
    ("demo-wang", ("1", "1", "202"), "home_repair", "resolved", False,
     "客厅插座没电，空气开关推不上去", "客厅", 30, None),
    ("demo-li", ("1", "1", "102"), "complaint", "submitted", False,
     "楼上每天晚上十一点以后还在装修，噪音很大，影响休息", "1栋1单元", 2, None),
    ("demo-li", ("1", "1", "102"), "home_repair", "closed", False,
     "厨房水龙头关不紧，一直滴水", "厨房", 120, 5),
    ("demo-zhang", ("1", "1", "101"), "common_repair", "accepted", False,
     "1栋1单元3楼楼道灯不亮", "1栋1单元3楼楼道", 1, None),
    ("demo-chen", ("2", "1", "101"), "common_repair", "submitted", True,
     "2栋电梯停在5楼不动，门打不开", "2栋1号电梯", 0, None),
]


def seed_demo_tickets(community) -> str:
    """A few tickets in various states (idempotent: each is created once)."""
    levels = service_levels()
    engineer = db.session.scalar(select(User).where(User.username == "engineer"))
    desk = db.session.scalar(select(User).where(User.username == "desk"))
    created = 0
    now = utcnow()
    for openid, (building, unit, number), kind, status, urgent, text, where, hours, rating in DEMO_TICKETS:
        reporter = db.session.scalar(select(User).where(User.openid == openid))
        room = db.session.scalar(
            select(Room).join(Building, Room.building_id == Building.id)
            .join(Unit, Room.unit_id == Unit.id)
            .where(Room.community_id == community.id, Building.name == building,
                   Unit.name == unit, Room.number == number))
        if reporter is None or room is None:
            continue
        exists = db.session.scalar(select(Ticket.id).where(
            Ticket.community_id == community.id, Ticket.reporter_id == reporter.id,
            Ticket.description == text))
        if exists is not None:
            continue
        at = now - timedelta(hours=hours, minutes=10)
        accept_due, due = rules.due_times(kind, urgent, at, levels)
        ticket = Ticket(community_id=community.id, reporter_id=reporter.id,
                        room_id=room.id if kind == "home_repair" or kind == "complaint" else None,
                        kind=TicketKind(kind), status=S.submitted, urgent=urgent, description=text,
                        location=where, created_at=at, updated_at=at, accept_due_at=accept_due,
                        due_at=due)
        db.session.add(ticket)
        db.session.flush()
        record(ticket, "created", reporter, None, S.submitted, None, None, at=at)
        path = ["accept", "assign", "start", "resolve"]
        stop = {"submitted": 0, "accepted": 1, "assigned": 2, "in_progress": 3,
                "resolved": 4, "closed": 4}[status]
        step_at = at
        current = S.submitted
        for action in path[:stop]:
            step_at = step_at + timedelta(minutes=12 if action == "accept" else 40)
            actor = desk if action in ("accept", "assign") else engineer
            target = rules.RULES[action].target
            if action == "accept":
                ticket.accepted_at = step_at
            if action == "assign":
                ticket.assignee_id = engineer.id if engineer else None
            if action == "resolve":
                ticket.resolved_at = step_at
            record(ticket, ACTION_EVENTS[action], actor, current, target, None,
                    {"assignee_id": ticket.assignee_id} if action == "assign" else None, at=step_at)
            current = target
        if status == "closed" and rating:
            step_at = step_at + timedelta(hours=2)
            ticket.rating, ticket.rating_comment, ticket.rated_at = rating, "师傅很专业，谢谢！", step_at
            ticket.closed_at = step_at
            record(ticket, "rated", reporter, current, S.closed, ticket.rating_comment,
                    {"score": rating}, at=step_at)
            current = S.closed
        ticket.status = current
        ticket.updated_at = step_at
        created += 1
    db.session.flush()
    return f"tickets {created}" if created else ""
