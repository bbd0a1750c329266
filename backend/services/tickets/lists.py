"""Lists of tickets: the caller's list page (staff: their community's), the follow-up
(回访) list, and a resident's latest tickets for the bot and the desk's chat context.
Newest first, keyset-paged on the id; each page is one statement that loads the
tickets with what their summary shows (room with building and unit, reporter,
assignee)."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import Select, select
from sqlalchemy.orm import selectinload

from backend.extensions import db
from backend.models import Role, Ticket, TicketKind, TicketStatus, User, utcnow
from backend.rules.ticket_states import FINAL_STATUSES
from backend.services.permissions import staff_community_ids
from backend.services.tickets.visibility import SUMMARY_LOADS, visible_to

S = TicketStatus


def _newest_first(query: Select, after_id: int | None, limit: int) -> Select:
    """``limit + 1`` tickets, newest first, after the cursor: the extra one says
    whether there is a next page."""
    if after_id is not None:
        query = query.where(Ticket.id < after_id)
    return query.order_by(Ticket.id.desc()).limit(limit + 1).options(*SUMMARY_LOADS)


def _page(tickets: list[Ticket], limit: int) -> tuple[list[Ticket], int | None]:
    more = len(tickets) > limit
    tickets = tickets[:limit]
    return tickets, (tickets[-1].id if more else None)


def list_query(user: User, *, statuses=None, kinds=None, assigned_to_me: bool = False,
               overdue_only: bool | None = None, after_id: int | None = None,
               limit: int = 20, now: datetime | None = None) -> Select:
    """The statement for a page of the tickets ``user`` may see, with filters."""
    query = select(Ticket).where(visible_to(user))
    if statuses:
        query = query.where(Ticket.status.in_(sorted(S(s) for s in statuses)))
    if kinds:
        query = query.where(Ticket.kind.in_(sorted(TicketKind(k) for k in kinds)))
    if assigned_to_me:
        query = query.where(Ticket.assignee_id == user.id)
    if overdue_only is not None:
        late = Ticket.is_overdue(now or utcnow())
        query = query.where(late if overdue_only else ~late)
    return _newest_first(query, after_id, limit)


def list_page(user: User, *, limit: int = 20, after_id: int | None = None,
              **filters) -> tuple[list[Ticket], int | None]:
    """One page of tickets, newest first: (tickets, id to continue after)."""
    query = list_query(user, limit=limit, after_id=after_id, **filters)
    return _page(list(db.session.scalars(query)), limit)


def follow_up_page(user: User, *, limit: int = 20,
                   after_id: int | None = None) -> tuple[list[Ticket], int | None]:
    """回访 list: closed tickets nobody rated (or rated 1-2) that are not followed up yet."""
    communities = staff_community_ids(user, Role.desk, Role.manager)
    if not communities:
        return [], None
    query = select(Ticket).where(
        Ticket.community_id.in_(sorted(communities)), Ticket.status == S.closed,
        Ticket.needs_follow_up.is_(True), Ticket.followed_up_at.is_(None))
    return _page(list(db.session.scalars(_newest_first(query, after_id, limit))), limit)


def tickets_for_resident(user: User, open_only: bool = True, limit: int = 5) -> list[Ticket]:
    """The resident's tickets (reported, or in-home repairs of their flat), newest
    first, with their ``events`` (latest last). ``open_only``: not yet closed,
    cancelled or rejected (a resolved ticket awaiting its rating counts as open).
    Used by the bot and the desk's chat context."""
    query = select(Ticket).where(visible_to(user, as_staff=False))
    if open_only:
        query = query.where(Ticket.status.notin_(sorted(FINAL_STATUSES)))
    query = query.order_by(Ticket.id.desc()).limit(limit).options(selectinload(Ticket.events))
    return list(db.session.scalars(query))
