"""Job and periodic-task registries, keyed by name (jobs are stored by name in the
outbox, so a name is a stable public identifier: never rename one lightly)."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable


class PermanentJobError(Exception):
    """The job cannot succeed by retrying (e.g. WeChat 43101: the user refused)."""


@dataclass(frozen=True)
class JobSpec:
    name: str
    func: Callable
    queue: str = "default"
    timeout: int = 300
    retries: int = 0
    # seconds before each retry (backoff); the last value repeats
    intervals: tuple[int, ...] = field(default=(10, 60, 300))


@dataclass(frozen=True)
class PeriodicSpec:
    name: str
    func: Callable
    every_seconds: int


JOBS: dict[str, JobSpec] = {}
PERIODIC: dict[str, PeriodicSpec] = {}


def job(name: str, *, queue: str = "default", timeout: int = 300, retries: int = 0,
        intervals: tuple[int, ...] = (10, 60, 300)):
    """Register a job function. It takes ids and primitives only (JSON-serialised)
    and must be idempotent: running it twice leaves the same state."""

    def decorate(func: Callable) -> Callable:
        JOBS[name] = JobSpec(name, func, queue, timeout, retries, intervals)
        return func

    return decorate


def periodic(name: str, every_seconds: int):
    """Register work the scheduler runs about every ``every_seconds`` (at most once
    per interval across all workers). It must be safe to run at any time."""

    def decorate(func: Callable) -> Callable:
        PERIODIC[name] = PeriodicSpec(name, func, every_seconds)
        return func

    return decorate
