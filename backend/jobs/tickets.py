"""Periodic ticket work: escalating overdue tickets to the manager (once per ticket)
and closing resolved tickets the reporter has not rated within the set days (they go
on the follow-up list). Each ticket is changed and committed on its own (its row
locked meanwhile), so one run never holds many locks and a failure stops one ticket,
not the rest."""
from __future__ import annotations

import logging
from datetime import datetime
from typing import Callable

from backend.extensions import db
from backend.jobs.registry import periodic
from backend.models import utcnow
from backend.services.tickets import service_levels

log = logging.getLogger(__name__)


def _one_by_one(what: str, ids: list[int], change: Callable[[int], bool]) -> int:
    # The ids were read in a transaction of their own: end it before the first lock.
    db.session.rollback()
    done = 0
    for ticket_id in ids:
        try:
            if change(ticket_id):
                db.session.commit()
                done += 1
            else:
                db.session.rollback()  # let go of the row lock
        except Exception:  # noqa: BLE001 - one bad ticket must not block the others
            db.session.rollback()
            log.exception("%s failed for ticket %s", what, ticket_id)
    return done


@periodic("tickets.escalate_overdue", every_seconds=60)
def escalate_overdue(now: datetime | None = None, batch: int = 200) -> int:
    """Escalate each overdue open ticket once; the number escalated."""
    now = now or utcnow()
    return _one_by_one("escalation", service_levels.to_escalate(now, batch),
                       lambda ticket_id: service_levels.escalate(ticket_id, now))


@periodic("tickets.auto_close", every_seconds=300)
def auto_close_resolved(now: datetime | None = None, batch: int = 200) -> int:
    """Close resolved tickets left unrated for TICKET_AUTO_CLOSE_DAYS; the number
    closed. Running twice changes nothing."""
    now = now or utcnow()
    return _one_by_one("auto-close", service_levels.to_auto_close(now, batch),
                       lambda ticket_id: service_levels.auto_close(ticket_id, now))
