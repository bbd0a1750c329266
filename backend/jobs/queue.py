"""The outbox relay, the inline runner and the rq plumbing.

Life of a job:
1. ``backend.outbox.enqueue(name, *args)`` adds an ``OutboxJob`` row to the current
   session (same transaction as the change that needs the work).
2. After the commit, the row ids are dispatched: with Redis they are pushed to rq
   (short timeouts: if Redis is down the rows simply stay pending); without Redis
   they run in this process after the response has been sent.
3. ``relay_pending`` (called after every dispatch, by the periodic tick and at worker
   start) pushes rows that are still pending, so work recorded while Redis was down
   runs once it is back.
4. ``run_outbox_job`` (the only function rq ever runs) executes the registered job
   and marks the row done; a done row is never run again.
"""
from __future__ import annotations

import logging
import os
import time
import traceback
from datetime import datetime, timedelta

from flask import current_app, g, has_app_context, has_request_context
from sqlalchemy import or_, select, update

from backend.outbox import enqueue, take_committed  # noqa: F401 (enqueue re-exported)

from backend.jobs.registry import JOBS, PERIODIC, PermanentJobError
from backend.timeutil import utcnow

log = logging.getLogger(__name__)

TICK_SECONDS = 15
TICK_JOB_ID = "periodic-tick"
STALE_ENQUEUED_AFTER = timedelta(hours=1)
MAX_EARLY_SECONDS = 5
_INLINE_PERIODIC_STATE = {"last": 0.0}


# --------------------------------------------------------------------------- redis
def redis_connection():
    """The app's Redis client (backend/extensions.py), or None without REDIS_URL."""
    from backend.extensions import redis_client

    return redis_client()


def rq_queue(name: str = "default"):
    from rq import Queue
    from rq.serializers import JSONSerializer

    return Queue(name, connection=redis_connection(), serializer=JSONSerializer)


def uses_redis() -> bool:
    return bool(current_app.config.get("REDIS_URL"))


# --------------------------------------------------------------------------- dispatch
def dispatch(ids: list[int], response=None) -> None:
    """Hand committed jobs on. With a response, inline work runs after it is sent, and
    so does the hand-off to Redis for a request that asked (``dispatch_after_response``)."""
    app = current_app._get_current_object()
    if uses_redis():
        if response is not None and g.get("dispatch_after_response"):
            response.call_on_close(lambda: _relay_in_context(app, ids))
        else:
            relay_pending(ids)
    elif response is not None:
        response.call_on_close(lambda: _run_inline_in_context(app, ids))
    else:
        run_inline(ids)


def dispatch_after_response() -> None:
    """This request's committed jobs go to Redis only once its response is sent: for
    a request that must answer in time (the WeChat push), whatever Redis does."""
    g.dispatch_after_response = True


def _relay_in_context(app, ids):
    with app.app_context():
        try:
            relay_pending(ids)
        except Exception:  # noqa: BLE001 - the rows stay pending: the tick relays them
            log.exception("relay after the response failed; jobs stay in the outbox")


def _run_inline_in_context(app, ids):
    with app.app_context():
        run_inline(ids)
        maybe_run_periodic_inline()


def run_inline(ids: list[int]) -> None:
    """Run jobs in this process, then any jobs they enqueued, until none are left."""
    from backend.extensions import db
    from backend.models import OutboxJob

    queue_ids = list(ids)
    for _ in range(1000):  # bound: a job that enqueues itself forever stops here
        if not queue_ids:
            break
        job_id = queue_ids.pop(0)
        row = db.session.get(OutboxJob, job_id)
        if row is None or row.run_after > utcnow():
            continue
        run_outbox_job(job_id, _inline=True)
        queue_ids.extend(take_committed())


def relay_pending(ids: list[int] | None = None, limit: int = 500) -> int:
    """Push pending outbox rows to rq. Returns how many were handed over.

    Rows enqueued long ago but never finished (Redis lost its data, say) are pushed
    again; ``run_outbox_job`` skips rows that are already done.
    """
    from backend.extensions import db
    from backend.models import OutboxJob

    if not uses_redis():
        return 0
    from redis.exceptions import RedisError
    from rq import Retry

    stale = utcnow() - STALE_ENQUEUED_AFTER
    query = select(OutboxJob).where(
        OutboxJob.done_at.is_(None),
        OutboxJob.failed.is_(False),
        or_(OutboxJob.enqueued_at.is_(None), OutboxJob.enqueued_at < stale),
    )
    if ids is not None:
        query = query.where(OutboxJob.id.in_(ids))
    rows = db.session.scalars(query.order_by(OutboxJob.id).limit(limit)).all()
    handed = 0
    try:
        for row in rows:
            spec = JOBS.get(row.name)
            if spec is None:
                log.error("outbox job %s names unknown job %r", row.id, row.name)
                continue
            kwargs = dict(
                job_id=f"outbox-{row.id}",
                job_timeout=spec.timeout,
                result_ttl=3600,
                failure_ttl=7 * 24 * 3600,
            )
            if spec.retries:
                kwargs["retry"] = Retry(max=spec.retries, interval=list(spec.intervals))
            queue = rq_queue(spec.queue)
            if row.run_after > utcnow():
                # rq's scheduler works in whole seconds and may fire up to a second
                # early: round up so a job never runs before its time.
                at = row.run_after.replace(microsecond=0) + timedelta(seconds=1)
                queue.enqueue_at(at, run_outbox_job, row.id, **kwargs)
            else:
                queue.enqueue(run_outbox_job, row.id, **kwargs)
            handed += 1
            db.session.execute(
                update(OutboxJob).where(OutboxJob.id == row.id).values(enqueued_at=utcnow())
            )
    except (RedisError, OSError) as exc:
        log.warning("redis unavailable, %d job(s) stay in the outbox: %s", len(rows) - handed, exc)
    db.session.commit()
    return handed


# --------------------------------------------------------------------------- run
def run_outbox_job(outbox_id: int, _inline: bool = False) -> str:
    """Execute one recorded job (what rq runs). Idempotent on the outbox row."""
    from backend.extensions import db
    from backend.models import OutboxJob

    if not has_app_context():  # a plain `rq worker` without our CLI
        from backend import create_app

        with create_app().app_context():
            return run_outbox_job(outbox_id, _inline)
    _after_fork_guard(db)
    try:
        row = db.session.get(OutboxJob, outbox_id)
        if row is None:
            return "missing"
        if row.done_at is not None or row.failed:
            return "already-done"
        spec = JOBS[row.name]
        early = (row.run_after - utcnow()).total_seconds()
        if early > 0 and not _inline:
            # rq's scheduler keeps whole seconds and may fire a little early: wait for
            # the moment itself; much earlier (clock skew) goes back to the relay.
            db.session.rollback()  # hold no transaction (SQLite: no lock) meanwhile
            if early > MAX_EARLY_SECONDS:
                db.session.execute(update(OutboxJob).where(OutboxJob.id == outbox_id)
                                   .values(enqueued_at=None))
                db.session.commit()
                return "not-due"
            time.sleep(early + 0.01)
            row = db.session.get(OutboxJob, outbox_id)
        row.attempts += 1
        row.started_at = utcnow()
        args = list(row.args)
        db.session.commit()
        try:
            spec.func(*args)
        except PermanentJobError as exc:
            db.session.rollback()
            _finish(outbox_id, failed=True, error=str(exc))
            return "permanent-failure"
        except Exception as exc:  # noqa: BLE001 - recorded, then retried by rq
            db.session.rollback()
            row = db.session.get(OutboxJob, outbox_id)
            last_try = row.attempts > spec.retries
            _finish(outbox_id, failed=last_try, error=traceback.format_exc(limit=5), done=False)
            if _inline or last_try:
                log.error("job %s (%s) failed: %s", outbox_id, spec.name, exc)
                return "failed"
            raise
        _finish(outbox_id)
        if not _inline:
            ids = take_committed()
            if ids:
                relay_pending(ids)
        return "done"
    finally:
        if not _inline:
            db.session.remove()


def _finish(outbox_id, *, failed=False, error=None, done=True):
    from backend.extensions import db
    from backend.models import OutboxJob

    values = {"last_error": error, "failed": failed}
    if done and not failed:
        values["done_at"] = utcnow()
    db.session.execute(update(OutboxJob).where(OutboxJob.id == outbox_id).values(**values))
    db.session.commit()


_PID = {"pid": os.getpid()}


def _after_fork_guard(db) -> None:
    """rq runs each job in a forked child: never reuse the parent's connections."""
    if _PID["pid"] != os.getpid():
        _PID["pid"] = os.getpid()
        db.engine.dispose(close=False)


# --------------------------------------------------------------------------- periodic
def run_periodic(force: bool = False) -> list[str]:
    """Run the periodic tasks that are due. With Redis, a key per task keeps it to
    once per interval across all workers; inline, a process-local clock does."""
    ran = []
    conn = redis_connection() if uses_redis() else None
    for spec in PERIODIC.values():
        if conn is not None and not force:
            try:
                if not conn.set(f"wuye:periodic:{spec.name}", "1", nx=True, ex=spec.every_seconds):
                    continue
            except Exception as exc:  # noqa: BLE001
                log.warning("periodic lock unavailable: %s", exc)
                continue
        try:
            spec.func()
            ran.append(spec.name)
        except Exception:  # noqa: BLE001 - one broken task must not stop the others
            log.exception("periodic task %s failed", spec.name)
            from backend.extensions import db

            db.session.rollback()
    return ran


def _periodic_due() -> bool:
    return time.monotonic() - _INLINE_PERIODIC_STATE["last"] >= TICK_SECONDS


def maybe_run_periodic_inline() -> None:
    """Inline mode has no scheduler: run periodic work at most every TICK_SECONDS,
    after a response has been sent, and any delayed jobs that have come due. Not under
    tests (``app.testing``): they tick with ``tick_inline()`` when they mean to."""
    if current_app.testing:
        return
    now = time.monotonic()
    if now - _INLINE_PERIODIC_STATE["last"] < TICK_SECONDS:
        return
    _INLINE_PERIODIC_STATE["last"] = now
    tick_inline()


def tick_inline() -> None:
    from backend.extensions import db
    from backend.models import OutboxJob

    run_periodic(force=True)
    due = db.session.scalars(
        select(OutboxJob.id).where(
            OutboxJob.done_at.is_(None), OutboxJob.failed.is_(False), OutboxJob.run_after <= utcnow()
        ).order_by(OutboxJob.id).limit(500)
    ).all()
    ids = list(due) + take_committed()
    if ids:
        run_inline(ids)


def tick() -> None:
    """The scheduler's heartbeat (an rq job that re-schedules itself)."""
    from backend.extensions import db

    if not has_app_context():
        from backend import create_app

        with create_app().app_context():
            return tick()
    _after_fork_guard(db)
    try:
        schedule_tick()
        relay_pending()
        run_periodic()
        ids = take_committed()
        if ids:
            relay_pending(ids)
    finally:
        db.session.remove()


def schedule_tick(delay: int = TICK_SECONDS) -> None:
    """Keep exactly one pending tick (a fixed job id: scheduling again replaces it)."""
    queue = rq_queue("default")
    queue.enqueue_in(timedelta(seconds=delay), tick, job_id=TICK_JOB_ID, result_ttl=0)


# --------------------------------------------------------------------------- flask
def init_app(app) -> None:
    @app.after_request
    def _dispatch_after_request(response):
        ids = take_committed()
        if ids:
            try:
                dispatch(ids, response)
            except Exception:  # noqa: BLE001 - the change is committed; relay retries
                log.exception("dispatch failed; jobs stay in the outbox")
        elif not uses_redis() and _periodic_due():
            response.call_on_close(lambda: _periodic_in_context(app))
        return response

    @app.teardown_appcontext
    def _dispatch_on_teardown(exc):
        # CLI commands and jobs: work committed outside a request.
        if has_request_context() or exc is not None:
            return
        ids = take_committed()
        if ids:
            try:
                dispatch(ids)
            except Exception:  # noqa: BLE001
                log.exception("dispatch failed; jobs stay in the outbox")


def _periodic_in_context(app):
    with app.app_context():
        maybe_run_periodic_inline()
