"""Periodic ticket work: escalating overdue tickets to the manager (once per ticket)
and closing resolved tickets the reporter has not rated within the set days (they go
on the follow-up list)."""
from __future__ import annotations

from backend.jobs.registry import periodic
from backend.services import tickets


@periodic("tickets.escalate_overdue", every_seconds=60)
def escalate_overdue() -> None:
    tickets.escalate_overdue()


@periodic("tickets.auto_close", every_seconds=300)
def auto_close_resolved() -> None:
    tickets.auto_close_resolved()
