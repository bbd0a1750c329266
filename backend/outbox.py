"""The outbox writer: ``enqueue(name, *args)`` records a job as an ``OutboxJob`` row in
the caller's transaction, so work that must not be lost commits (or rolls back)
with the change that needs it. Services call this; backend/jobs/queue.py hands the
committed rows to rq or runs them inline (it sits above services and imports this).

Only the job's name is checked here against the registry (backend/jobs/registry.py,
which imports nothing of ours)."""
from __future__ import annotations

from datetime import datetime

from flask import g, has_app_context
from sqlalchemy import event, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from backend.extensions import db
from backend.jobs.registry import JOBS
from backend.models import OutboxJob
from backend.timeutil import utcnow


def enqueue(name: str, *args, key: str | None = None, run_after: datetime | None = None):
    """Record a job in the current transaction; it is dispatched after the commit.

    ``key`` makes the job unique: a second enqueue with the same key is ignored (the
    database's unique constraint is the guard, so this holds across processes).
    """
    if name not in JOBS:
        raise KeyError(f"unknown job {name!r}")
    row = OutboxJob(name=name, args=list(args), dedupe_key=key, run_after=run_after or utcnow())
    if key is not None:
        if db.session.scalar(select(OutboxJob.id).where(OutboxJob.dedupe_key == key)) is not None:
            return None
        # A concurrent transaction may insert the same key: keep our transaction
        # alive and let the unique constraint decide.
        try:
            with db.session.begin_nested():
                db.session.add(row)
        except IntegrityError:
            return None
    else:
        db.session.add(row)
        db.session.flush()
    db.session.info.setdefault("outbox_new", []).append(row.id)
    return row


@event.listens_for(Session, "after_commit")
def _after_commit(session: Session) -> None:
    ids = session.info.pop("outbox_new", None)
    if ids and has_app_context():
        g.setdefault("outbox_committed", []).extend(ids)


@event.listens_for(Session, "after_rollback")
def _after_rollback(session: Session) -> None:
    # A rolled-back savepoint keeps the outer transaction's jobs; only a full
    # rollback (no transaction left) discards them.
    if not session.in_transaction():
        session.info.pop("outbox_new", None)


def take_committed() -> list[int]:
    """Ids of the jobs committed so far in this app context (and forget them)."""
    return g.pop("outbox_committed", []) if has_app_context() else []
