"""Who sees which ticket, and what the caller may do with one.

A ticket is seen by:
- its reporter;
- staff of its community (desk, engineers, the manager; admins);
- residents currently bound to the flat of an in-home repair (室内报修): a household
  shares its repairs. An owner binding counts only while the ledger still names
  that owner (``RoomBinding.is_current_owner``): a seller stops seeing the flat's
  repairs. Complaints, suggestions and inquiries stay with their reporter.
Anyone else gets 404, never a hint that the ticket exists.
"""
from __future__ import annotations

from sqlalchemy import and_, select
from sqlalchemy.orm import selectinload

from backend.errors import NotFound
from backend.extensions import db
from backend.models import Role, Room, Ticket, TicketEvent, TicketKind, User
from backend.rules import ticket_states as rules
from backend.rules.ticket_states import TicketFacts
from backend.services.permissions import staff_community_ids

# What a ticket's summary shows (room label, reporter, assignee), loaded for a whole
# page at once: a statement per relation, however many tickets. (Joined into the
# page's statement instead, they cost PostgreSQL 1.5-4 ms of planning per request,
# more than the queries themselves.)
SUMMARY_LOADS = (
    selectinload(Ticket.room).joinedload(Room.building),
    selectinload(Ticket.room).joinedload(Room.unit),
    selectinload(Ticket.reporter),
    selectinload(Ticket.assignee),
)
# The detail adds the timeline (with who did what) and the photos.
DETAIL_LOADS = SUMMARY_LOADS + (
    selectinload(Ticket.events).selectinload(TicketEvent.actor),
    selectinload(Ticket.photos),
)


def viewer_scope(user: User) -> tuple[set[int], list[int]]:
    """(communities where the user is staff, household room ids), from the roles and
    bindings loaded with the signed-in user (no query)."""
    communities = {grant.community_id for grant in user.staff_roles}
    room_ids = [b.room_id for b in user.bindings
                if b.relation != Role.owner or b.is_current_owner]
    return communities, room_ids


def household_room_ids(user: User) -> list[int]:
    """Rooms whose in-home repairs the user sees (bound now; owners while current)."""
    return viewer_scope(user)[1]


def visible_branches(user: User, *, as_staff: bool = True) -> list:
    """SQL conditions, one per way ``user`` may see tickets (any one suffices):
    reported them; in-home repairs of their flat; staff of the community. With
    ``as_staff=False``, only as a resident. Each matches an index: (reporter_id, id),
    (room_id, kind, id), (community_id, id)."""
    communities, room_ids = viewer_scope(user)
    branches = [Ticket.reporter_id == user.id]
    if room_ids:
        branches.append(and_(Ticket.room_id.in_(sorted(room_ids)),
                             Ticket.kind == TicketKind.home_repair))
    if as_staff and communities:
        branches.append(Ticket.community_id.in_(sorted(communities)))
    return branches


def can_see(user: User, ticket: Ticket) -> bool:
    if ticket.reporter_id == user.id:
        return True
    if ticket.community_id in staff_community_ids(user):
        return True
    return ticket.kind == TicketKind.home_repair and ticket.room_id in household_room_ids(user)


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
