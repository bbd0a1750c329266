"""Background work: ``backend.outbox.enqueue`` records a job in the outbox inside
the caller's transaction; once that transaction commits the job is handed to rq (``REDIS_URL``
set) or run inline after the response (no Redis). See backend/jobs/queue.py.

Job modules register themselves with ``@job``/``@periodic`` (backend/jobs/registry.py)
and are imported by ``load_job_modules``; add new job modules to ``JOB_MODULES``.
"""
from __future__ import annotations

import importlib

from backend.jobs.registry import JOBS, PERIODIC, PermanentJobError, job, periodic  # noqa: F401

JOB_MODULES = [
    "backend.jobs.notify",
    "backend.jobs.fund",
    "backend.jobs.photos",
    "backend.jobs.tickets",
    "backend.jobs.chat",
    "backend.jobs.attachments",
    "backend.jobs.notices",
    "backend.jobs.payments",
]


def load_job_modules() -> None:
    for name in JOB_MODULES:
        importlib.import_module(name)
