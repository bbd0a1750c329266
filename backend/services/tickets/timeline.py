"""A ticket's timeline: one immutable event per thing that happened to it."""
from __future__ import annotations

from datetime import datetime

from backend.extensions import db
from backend.models import Ticket, TicketEvent, User, utcnow


def record(ticket: Ticket, kind: str, actor: User | None, from_status, to_status,
           note: str | None, data: dict | None, at: datetime | None = None) -> TicketEvent:
    """Add an event (``actor`` None: the system)."""
    entry = TicketEvent(ticket_id=ticket.id, at=at or utcnow(), type=kind,
                        actor_id=actor.id if actor is not None else None,
                        from_status=getattr(from_status, "value", from_status),
                        to_status=getattr(to_status, "value", to_status), note=note, data=data)
    db.session.add(entry)
    return entry
