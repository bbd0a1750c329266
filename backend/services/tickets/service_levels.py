"""Service levels (时限): the configured limits, the overdue flag, and the two changes
the scheduler makes to one ticket at a time: escalating an overdue ticket to the
manager (once), and closing a resolved ticket nobody rated in time (onto the
follow-up list). The loops that commit ticket by ticket are in backend/jobs/tickets.py."""
from __future__ import annotations

from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import select

from backend.extensions import db
from backend.models import Role, Ticket, TicketStatus, utcnow
from backend.rules import ticket_states as rules
from backend.rules.ticket_states import KIND_LABELS, ServiceLevels
from backend.services.notifications import notify
from backend.services.tickets.notices import link, short, staff_of, tell_about_change
from backend.services.tickets.timeline import record
from backend.services.tickets.visibility import facts
from backend.timeutil import local_text

S = TicketStatus


def service_levels() -> ServiceLevels:
    cfg = current_app.config
    return ServiceLevels(
        accept_minutes=cfg["TICKET_ACCEPT_MINUTES"],
        urgent_repair_hours=cfg["TICKET_URGENT_REPAIR_HOURS"],
        repair_hours=cfg["TICKET_REPAIR_HOURS"],
        complaint_hours=cfg["TICKET_COMPLAINT_HOURS"],
    )


def overdue(ticket: Ticket, now: datetime | None = None) -> bool:
    """``Ticket.is_overdue`` at ``now`` (default: now)."""
    return ticket.is_overdue(now or utcnow())


# ----------------------------------------------------------------- escalation
def to_escalate(now: datetime, batch: int = 200) -> list[int]:
    """Ids of overdue open tickets not escalated yet, oldest first."""
    return list(db.session.scalars(
        select(Ticket.id).where(Ticket.escalated_at.is_(None), Ticket.is_overdue(now))
        .order_by(Ticket.id).limit(batch)))


def escalate(ticket_id: int, now: datetime) -> bool:
    """Escalate one overdue open ticket once: an ``escalated`` event and a notification
    to the community's managers (admins if it has none). False when there is
    nothing to do (escalated already, or no longer overdue)."""
    ticket = db.session.scalar(select(Ticket).where(Ticket.id == ticket_id).with_for_update())
    if ticket is None or ticket.escalated or not ticket.is_overdue(now):
        return False
    reason = rules.overdue_reason(ticket.status, ticket.accept_due_at, ticket.due_at, now)
    rules.decide(ticket.status, "escalate", {rules.SYSTEM}, facts(ticket))
    ticket.escalated_at = now
    if reason == "accept":
        note = f"超过{current_app.config['TICKET_ACCEPT_MINUTES']}分钟未受理"
    else:
        note = f"超过处理时限（{local_text(ticket.due_at)}）仍未完成"
    record(ticket, "escalated", None, ticket.status, ticket.status, note, {"reason": reason},
           at=now)
    managers = staff_of(ticket.community_id, Role.manager) or staff_of(
        ticket.community_id, Role.admin)
    label = KIND_LABELS[ticket.kind.value]
    for manager in managers:
        notify(manager, "ticket_overdue", f"工单超时：{label} #{ticket.id}",
               f"{note}。{short(ticket.description, 40)}", link=link(ticket))
    return True


# ----------------------------------------------------------------- auto-close
def _auto_close_cutoff(now: datetime) -> datetime:
    return now - timedelta(days=current_app.config["TICKET_AUTO_CLOSE_DAYS"])


def to_auto_close(now: datetime, batch: int = 200) -> list[int]:
    """Ids of resolved tickets left unrated for TICKET_AUTO_CLOSE_DAYS, oldest first."""
    return list(db.session.scalars(
        select(Ticket.id).where(Ticket.status == S.resolved,
                                Ticket.resolved_at < _auto_close_cutoff(now))
        .order_by(Ticket.id).limit(batch)))


def auto_close(ticket_id: int, now: datetime) -> bool:
    """Close one resolved ticket left unrated too long; it goes on the follow-up list
    and the reporter hears about it. False when there is nothing to do (closed
    already, rated, reopened)."""
    ticket = db.session.scalar(select(Ticket).where(Ticket.id == ticket_id).with_for_update())
    if ticket is None or ticket.status != S.resolved or ticket.resolved_at >= _auto_close_cutoff(now):
        return False
    days = current_app.config["TICKET_AUTO_CLOSE_DAYS"]
    target = rules.decide(ticket.status, "close", {rules.SYSTEM}, facts(ticket))
    note = f"超过{days}天未评价，系统自动关闭，将安排回访"
    ticket.status = target
    ticket.closed_at = now
    ticket.updated_at = now
    ticket.needs_follow_up = True
    record(ticket, "closed", None, S.resolved, target, note, {"auto": True}, at=now)
    tell_about_change(ticket, None, "close", note)
    return True
