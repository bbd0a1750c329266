"""Lists of tickets: the caller's list page (staff: their community's), the follow-up
(回访) list, and a resident's latest tickets for the bot and the desk's chat context.
Newest first, keyset-paged on the id; each page is one statement that loads the
tickets with what their summary shows (room with building and unit, reporter,
assignee)."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import Select, select, union
from sqlalchemy.orm import selectinload

from backend.extensions import db
from backend.models import Role, Ticket, TicketKind, TicketStatus, User, utcnow
from backend.rules.ticket_states import FINAL_STATUSES
from backend.services.permissions import staff_community_ids
from backend.services.tickets.visibility import SUMMARY_LOADS, visible_branches

S = TicketStatus


def _newest(branches: list, filters: list, rows: int) -> Select:
    """The newest ``rows`` tickets that match any of ``branches`` and all ``filters``.

    Each branch walks its own index newest first and stops at ``rows``; the result
    is the newest of their union. With a plain OR, PostgreSQL walks the primary key
    backwards and filters instead: at 100,000 tickets, for an owner with one ticket
    in 500, it read 9,000 rows to find 21 (1.5 ms, and more the older the owner's
    tickets); the union read 42 index entries (0.2 ms)."""
    newest = [select(Ticket.id).where(branch, *filters).order_by(Ticket.id.desc()).limit(rows)
              .subquery() for branch in branches]
    if len(newest) == 1:
        ids = select(newest[0].c.id)
    else:  # each member wrapped: SQLite allows no ORDER BY/LIMIT inside a UNION
        ids = union(*(select(sub.c.id) for sub in newest))
    return select(Ticket).where(Ticket.id.in_(ids)).order_by(Ticket.id.desc()).limit(rows)


def _page_query(branches: list, filters: list, after_id: int | None, limit: int) -> Select:
    """A page after the cursor, with what the summaries show; ``limit + 1`` tickets
    (the extra one says whether there is a next page)."""
    if after_id is not None:
        filters = [*filters, Ticket.id < after_id]
    return _newest(branches, filters, limit + 1).options(*SUMMARY_LOADS)


def _page(tickets: list[Ticket], limit: int) -> tuple[list[Ticket], int | None]:
    more = len(tickets) > limit
    tickets = tickets[:limit]
    return tickets, (tickets[-1].id if more else None)


def list_query(user: User, *, statuses=None, kinds=None, assigned_to_me: bool = False,
               overdue_only: bool | None = None, after_id: int | None = None,
               limit: int = 20, now: datetime | None = None) -> Select:
    """The statement for a page of the tickets ``user`` may see, with filters."""
    filters = []
    if statuses:
        filters.append(Ticket.status.in_(sorted(S(s) for s in statuses)))
    if kinds:
        filters.append(Ticket.kind.in_(sorted(TicketKind(k) for k in kinds)))
    if assigned_to_me:
        filters.append(Ticket.assignee_id == user.id)
    if overdue_only is not None:
        late = Ticket.is_overdue(now or utcnow())
        filters.append(late if overdue_only else ~late)
    return _page_query(visible_branches(user), filters, after_id, limit)


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
    waiting = [Ticket.community_id.in_(sorted(communities))]
    filters = [Ticket.status == S.closed, Ticket.needs_follow_up.is_(True),
               Ticket.followed_up_at.is_(None)]
    return _page(list(db.session.scalars(_page_query(waiting, filters, after_id, limit))), limit)


def tickets_for_resident(user: User, open_only: bool = True, limit: int = 5) -> list[Ticket]:
    """The resident's tickets (reported, or in-home repairs of their flat), newest
    first, with their ``events`` (latest last). ``open_only``: not yet closed,
    cancelled or rejected (a resolved ticket awaiting its rating counts as open).
    Used by the bot and the desk's chat context."""
    filters = [Ticket.status.notin_(sorted(FINAL_STATUSES))] if open_only else []
    query = _newest(visible_branches(user, as_staff=False), filters, limit)
    return list(db.session.scalars(query.options(selectinload(Ticket.events))))
