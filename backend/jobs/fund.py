"""Fund-decision jobs: start a scheduled vote, close a vote at its deadline, tell the
owners in scope, and the sweep that catches votes whose job was lost. Each is
idempotent (the proposal's status or a notified-at flag is checked and changed by a
conditional UPDATE), so a job that runs twice, a sweep that overlaps it, or two
workers change things once. The services change rows; these functions commit them.
"""
from __future__ import annotations

import logging

from backend.extensions import db
from backend.jobs.registry import PermanentJobError, job, periodic
from backend.models import utcnow
from backend.services import fund as fund_service

log = logging.getLogger(__name__)


@job("fund.start_voting", queue="default", timeout=120, retries=3, intervals=(10, 60, 300))
def start_voting(proposal_id: int) -> None:
    """Scheduled at ``opens_at`` when a vote is opened ahead of time (the runner never
    starts a job before its ``run_after``)."""
    fund_service.start_scheduled(proposal_id)
    db.session.commit()


@job("fund.close", queue="default", timeout=120, retries=3, intervals=(10, 60, 300))
def close_voting(proposal_id: int) -> None:
    """Scheduled at ``closes_at`` when voting opens (rq's scheduler runs it then)."""
    fund_service.close_voting(proposal_id)
    db.session.commit()


@job("fund.notify", queue="default", timeout=600, retries=3, intervals=(10, 60, 300))
def notify_owners(proposal_id: int, event: str) -> None:
    try:
        count = fund_service.notify_owners(proposal_id, event)
    except ValueError as exc:  # an event this code does not know: retrying cannot help
        raise PermanentJobError(str(exc)) from exc
    db.session.commit()
    if count:
        log.info("fund proposal %s: %s notice to %d owner(s)", proposal_id, event, count)


@periodic("fund.sweep", every_seconds=60)
def sweep() -> None:
    """Start due scheduled votes and close overdue ones, whatever happened to their
    scheduled jobs (Redis lost them, the service was down at the deadline). One
    commit per proposal: one that fails does not hold up the others."""
    changed = 0
    for proposal_id in fund_service.due_proposal_ids(utcnow()):
        try:
            if fund_service.settle_due(proposal_id):
                changed += 1
            db.session.commit()
        except Exception:  # noqa: BLE001 - one bad proposal must not block the others
            db.session.rollback()
            log.exception("fund sweep failed for proposal %s", proposal_id)
    if changed:
        log.info("fund sweep: %d proposal(s) started or closed", changed)
