"""The state machine's actions on one ticket (backend/rules/ticket_states.py decides),
the reporter's rating, the follow-up (回访) record, and whom a ticket may be
assigned to."""
from __future__ import annotations

from sqlalchemy import select

from backend.errors import Conflict, Forbidden, ValidationFailed
from backend.extensions import db
from backend.models import Role, StaffRole, Ticket, TicketStatus, User, utcnow
from backend.rules import ticket_states as rules
from backend.rules.ticket_states import ACTION_EVENTS
from backend.services.permissions import staff_community_ids
from backend.services.tickets.notices import tell_about_change, tell_rated
from backend.services.tickets.timeline import record
from backend.services.tickets.visibility import actor_roles, facts, get_ticket

S = TicketStatus


def act(actor: User, ticket_id: int, action: str, note: str | None = None,
        assignee_id: int | None = None) -> Ticket:
    """Take one action of the state machine. 404 when the ticket is not visible,
    403 for a role that may never do this, 409 when the status does not allow it."""
    ticket = get_ticket(actor, ticket_id, lock=True)
    note = (note or "").strip() or None
    previous = ticket.status
    target = decide(ticket, action, actor_roles(actor, ticket), note)
    now = utcnow()
    data = None
    if action == "assign":
        assignee = _check_assignee(ticket, assignee_id)
        if ticket.status == S.assigned and ticket.assignee_id == assignee.id:
            raise Conflict(f"该工单已派给{assignee.name or '该员工'}", code="already_assigned")
        ticket.assignee_id = assignee.id
        data = {"assignee_id": assignee.id, "assignee_name": assignee.name}
    elif action == "accept":
        ticket.accepted_at = now
    elif action == "resolve":
        ticket.resolved_at = now
    elif action == "reopen":
        ticket.resolved_at = None
    elif action in ("cancel", "reject"):
        ticket.closed_at = now
    elif action == "close":
        ticket.closed_at = now
        ticket.needs_follow_up = ticket.rated_at is None
    elif action == "follow_up":
        ticket.followed_up_at = now
    ticket.status = target
    ticket.updated_at = now
    record(ticket, ACTION_EVENTS[action], actor, previous, target, note, data, at=now)
    if target != previous or action == "assign":
        tell_about_change(ticket, actor, action, note)
    return ticket


def rate(actor: User, ticket_id: int, score: int, comment: str | None = None) -> Ticket:
    """The reporter rates a resolved ticket once (1-5 stars); this closes it. Ratings
    of 1-2 put the ticket on the follow-up list: someone calls back."""
    ticket = get_ticket(actor, ticket_id, lock=True)
    previous = ticket.status
    target = decide(ticket, "rate", actor_roles(actor, ticket), None)
    now = utcnow()
    comment = (comment or "").strip() or None
    ticket.rating, ticket.rating_comment, ticket.rated_at = score, comment, now
    ticket.status = target
    ticket.closed_at = ticket.closed_at or now
    ticket.needs_follow_up = score <= 2 and ticket.followed_up_at is None
    ticket.updated_at = now
    record(ticket, "rated", actor, previous, target, comment, {"score": score}, at=now)
    tell_rated(ticket, actor, score, comment)
    return ticket


def decide(ticket: Ticket, action: str, roles: set[str], note: str | None) -> TicketStatus:
    """``rules.decide`` for this ticket, its refusals as API errors (403, 409, 400)."""
    try:
        return rules.decide(ticket.status, action, roles, facts(ticket), note)
    except rules.NotPermitted as exc:
        raise Forbidden(exc.message, code=exc.code,
                        details={"action": action, "status": ticket.status.value}) from exc
    except rules.IllegalTransition as exc:
        raise Conflict(exc.message, code=exc.code,
                       details={"action": action, "status": ticket.status.value}) from exc
    except rules.NoteRequired as exc:
        raise ValidationFailed(exc.message, code=exc.code,
                               details={"fields": {"note": [exc.message]}}) from exc


def _check_assignee(ticket: Ticket, assignee_id: int | None) -> User:
    if assignee_id is None:
        raise ValidationFailed("请选择处理人", code="assignee_required",
                               details={"fields": {"assignee_id": ["派单时必须选择处理人"]}})
    assignee = db.session.get(User, assignee_id)
    if assignee is None or not assignee.is_active or not any(
            sr.community_id == ticket.community_id for sr in assignee.staff_roles):
        raise ValidationFailed("处理人必须是本小区的工作人员", code="invalid_assignee",
                               details={"fields": {"assignee_id": ["不是本小区的工作人员"]}})
    return assignee


def assignable_staff(user: User, community_id: int | None = None) -> list[tuple[User, list[str]]]:
    """The engineers (维修人员) a ticket may be assigned to, for the desk's picker: the
    active staff holding the engineer role in the caller's desk/manager communities.
    Desk, manager and admin accounts are not in it (they are not who goes to fix it;
    the API still lets a manager be assigned by id, e.g. to take a complaint)."""
    communities = staff_community_ids(user, Role.desk, Role.manager)
    if community_id is not None:
        communities &= {community_id}
    if not communities:
        return []
    rows = db.session.execute(
        select(User, StaffRole.role).join(StaffRole, StaffRole.user_id == User.id)
        .where(StaffRole.community_id.in_(communities), User.is_active.is_(True))
        .order_by(User.id)
    ).all()
    people: dict[int, tuple[User, set]] = {}
    for person, role in rows:
        people.setdefault(person.id, (person, set()))[1].add(role.value)
    return [(person, sorted(roles)) for person, roles in people.values()
            if Role.engineer.value in roles]
