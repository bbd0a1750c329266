"""Who sees which ticket, and what the caller may do with one.

A ticket is seen by:
- its reporter;
- staff of its community (desk, engineers, the manager; admins);
- residents bound to the flat of an in-home repair (室内报修) now
  (``permissions.current_bindings``) who were already bound when it was reported: a
  household shares its repairs. A seller stops seeing the flat's repairs when the
  ledger names the buyer, and the buyer (or a new tenant) does not see the repairs
  reported before they came. Complaints, suggestions and inquiries stay with their
  reporter.
Anyone else gets 404, never a hint that the ticket exists.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import and_, select
from sqlalchemy.orm import joinedload, selectinload

from backend.errors import NotFound
from backend.extensions import db
from backend.models import Building, Role, Room, Ticket, TicketEvent, TicketKind, Unit, User
from backend.rules import ticket_states as rules
from backend.rules.ticket_states import TicketFacts
from backend.services.permissions import current_bindings, staff_community_ids

# What a ticket's summary shows (room label, reporter, assignee): all many-to-one, so
# joined into the page's statement (measured on SQLite: 0.8 ms for a page of 20, where
# a statement per relation cost 3.2 ms of ORM work).
SUMMARY_LOADS = (
    joinedload(Ticket.room).load_only(Room.number).options(
        joinedload(Room.building).load_only(Building.name),
        joinedload(Room.unit).load_only(Unit.name)),
    # a person's shown name needs only these (User.shown_name)
    joinedload(Ticket.reporter).load_only(User.name, User.username),
    joinedload(Ticket.assignee).load_only(User.name, User.username),
)
# The detail adds the timeline (with who did what) and the photos.
DETAIL_LOADS = SUMMARY_LOADS + (
    selectinload(Ticket.events).selectinload(TicketEvent.actor),
    selectinload(Ticket.photos),
)


def household_since(user: User) -> dict[int, datetime]:
    """The flats whose in-home repairs the user shares, each with the time from which
    (when the binding was made): their current bindings, from the loaded user (no
    query)."""
    return {b.room_id: b.created_at for b in current_bindings(user)}


def household_room_ids(user: User) -> list[int]:
    """The flats the user is bound to now (whose repairs they may report and share)."""
    return list(household_since(user))


def viewer_scope(user: User) -> tuple[set[int], list[int]]:
    """(communities where the user is staff, household room ids)."""
    return {grant.community_id for grant in user.staff_roles}, household_room_ids(user)


def visible_branches(user: User, *, as_staff: bool = True) -> list:
    """SQL conditions, one per way ``user`` may see tickets (any one suffices):
    reported them; in-home repairs of a flat of their household since they joined
    it (a branch per flat); staff of the community. With ``as_staff=False``, only as
    a resident. Each matches an index: (reporter_id, id), (room_id, kind, id),
    (community_id, id)."""
    branches = [Ticket.reporter_id == user.id]
    for room_id, since in sorted(household_since(user).items()):
        branches.append(and_(Ticket.room_id == room_id, Ticket.kind == TicketKind.home_repair,
                             Ticket.created_at >= since))
    communities = {grant.community_id for grant in user.staff_roles}
    if as_staff and communities:
        branches.append(Ticket.community_id.in_(sorted(communities)))
    return branches


def can_see(user: User, ticket: Ticket) -> bool:
    if ticket.reporter_id == user.id:
        return True
    if ticket.community_id in staff_community_ids(user):
        return True
    since = household_since(user).get(ticket.room_id)
    return (ticket.kind == TicketKind.home_repair and since is not None
            and ticket.created_at >= since)


def get_ticket(user: User, ticket_id: int, *, lock: bool = False,
               loads: tuple = DETAIL_LOADS) -> Ticket:
    """The ticket if ``user`` may see it; 404 otherwise (whether or not it exists).
    ``loads``: relations loaded with it (the detail's, unless told otherwise).
    ``lock``: the row is locked for a change; relations then load as they are
    needed, after the change."""
    query = select(Ticket).where(Ticket.id == ticket_id)
    query = query.with_for_update() if lock else query.options(*loads)
    ticket = db.session.scalar(query)
    if ticket is None or not can_see(user, ticket):
        raise NotFound("找不到该工单", code="ticket_not_found")
    return ticket


def actor_roles(user: User, ticket: Ticket) -> set[str]:
    """The user's roles relative to this ticket (see rules.ticket_states)."""
    roles: set[str] = set()
    if ticket.reporter_id == user.id:
        roles.add(rules.REPORTER)
    staff = {sr.role for sr in user.staff_roles if sr.community_id == ticket.community_id}
    if Role.manager in staff or Role.admin in staff:
        roles.add(rules.MANAGER)
    if Role.desk in staff:
        roles.add(rules.DESK)
    if Role.engineer in staff:
        roles.add(rules.ENGINEER)
    if staff and ticket.assignee_id == user.id:
        roles.add(rules.ASSIGNEE)
    return roles


def facts(ticket: Ticket) -> TicketFacts:
    return TicketFacts(rated=ticket.rated_at is not None,
                       followed_up=ticket.followed_up_at is not None,
                       escalated=ticket.escalated)


def available_actions(user: User, ticket: Ticket) -> list[str]:
    """What the caller may do now (the pages show these buttons)."""
    return rules.allowed_actions(ticket.status, actor_roles(user, ticket), facts(ticket))
