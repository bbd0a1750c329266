"""Repairs and complaints (报事报修), one module per capability:

- ``visibility``: who sees which ticket, and what the caller may do with it;
- ``reporting``: reporting a ticket, and the photos on it;
- ``actions``: the state machine's actions (backend/rules/ticket_states.py), rating,
  follow-up, whom a ticket may be assigned to;
- ``lists``: list pages, the follow-up list, a resident's latest tickets;
- ``service_levels``: time limits, the overdue flag, escalation and auto-close of
  one ticket (the periodic loops that commit are in backend/jobs/tickets.py);
- ``timeline`` and ``notices``: the event timeline and who hears about a change.

Demo tickets are in backend/seed.py (``seed_demo_tickets``).

The names other modules use are re-exported here.
"""
from backend.services.tickets.actions import act, assignable_staff, rate  # noqa: F401
from backend.services.tickets.lists import (  # noqa: F401
    follow_up_page,
    list_page,
    list_query,
    tickets_for_resident,
)
from backend.services.tickets.reporting import (  # noqa: F401
    add_ticket_photos,
    get_photo,
    report_ticket,
)
from backend.services.tickets.service_levels import overdue  # noqa: F401
from backend.services.tickets.visibility import (  # noqa: F401
    actor_roles,
    available_actions,
    can_see,
    get_ticket,
    household_room_ids,
    viewer_scope,
)
