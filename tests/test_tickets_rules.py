"""Ticket rules with a Python side and a SQL side (model hybrids): overdue, on time
(resolved and accepted), escalated. For tickets in every status and every position
of their times around ``now``, the database must say what Python says (run on SQLite
and with TEST_DB=postgresql)."""
from __future__ import annotations

import itertools
from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from backend.extensions import db
from backend.models import Ticket, TicketKind, TicketStatus, User

NOW = datetime.fromisoformat("2026-12-31T16:00:00+00:00")  # 2027-01-01 00:00 in Shanghai
SECOND = timedelta(seconds=1)
AROUND = (-SECOND, timedelta(0), SECOND)  # a time just before, at, just after now


@pytest.fixture
def tickets(app, community):
    """One ticket per status × accept_due_at × due_at × resolved_at × accepted_at
    position around NOW (done times: none, before, at or after their deadline)."""
    with app.app_context():
        reporter = User(openid="rules-reporter", name="")
        db.session.add(reporter)
        db.session.flush()
        done_offsets = (None, -SECOND, timedelta(0), SECOND)
        for status, accept_due, due, resolved, accepted in itertools.product(
                TicketStatus, AROUND, AROUND, done_offsets, done_offsets):
            accept_due_at, due_at = NOW + accept_due, NOW + due
            db.session.add(Ticket(
                community_id=community["id"], reporter_id=reporter.id,
                kind=TicketKind.common_repair, status=status, description="x",
                created_at=NOW - timedelta(hours=5), updated_at=NOW,
                accept_due_at=accept_due_at, due_at=due_at,
                resolved_at=None if resolved is None else due_at + resolved,
                accepted_at=None if accepted is None else accept_due_at + accepted,
                escalated_at=NOW if accept_due == due else None))
        db.session.commit()


def _python_and_sql(rule):
    """(ids where the rule is true, false, unknown) in Python and in SQL."""
    everything = db.session.scalars(select(Ticket)).all()
    python = tuple({t.id for t in everything if rule(t) is value} for value in (True, False, None))
    expression = rule(Ticket)
    sql = (set(db.session.scalars(select(Ticket.id).where(expression))),
           set(db.session.scalars(select(Ticket.id).where(~expression))),
           set(db.session.scalars(select(Ticket.id).where(expression.is_(None)))))
    return python, sql


@pytest.mark.parametrize("name", ["is_overdue", "resolved_on_time", "accepted_on_time"])
def test_the_database_says_what_python_says(app, tickets, name):
    with app.app_context():
        python, sql = _python_and_sql(lambda t: getattr(t, name)(NOW))
    assert python == sql
    assert python[0] and python[1]  # both outcomes occur
    if name != "is_overdue":
        assert python[2]  # and "not known yet"


def test_overdue_means_open_and_past_a_deadline(app, tickets):
    with app.app_context():
        late = db.session.scalars(select(Ticket).where(Ticket.is_overdue(NOW))).all()
        assert {t.status for t in late} == {TicketStatus.submitted, TicketStatus.accepted,
                                            TicketStatus.assigned, TicketStatus.in_progress}
        for ticket in late:
            missed_accept = ticket.status == TicketStatus.submitted and ticket.accept_due_at < NOW
            assert missed_accept or ticket.due_at < NOW


def test_escalated_agrees(app, tickets):
    with app.app_context():
        everything = db.session.scalars(select(Ticket)).all()
        in_python = {t.id for t in everything if t.escalated}
        in_sql = set(db.session.scalars(select(Ticket.id).where(Ticket.escalated)))
    assert in_python == in_sql and in_python


def test_the_monthly_report_counts_on_time_by_the_same_rule(app, community, tickets):
    from backend.models import Community
    from backend.services.reports import monthly_service_report

    with app.app_context():
        served = [t for t in db.session.scalars(select(Ticket))
                  if t.status not in (TicketStatus.cancelled, TicketStatus.rejected)]
        report = monthly_service_report(db.session.get(Community, community["id"]), "2026-12",
                                        now=NOW)
    resolved = [t.resolved_on_time(NOW) for t in served]
    accepted = [t.accepted_on_time(NOW) for t in served]
    assert report["on_time"] == {"decided": sum(v is not None for v in resolved),
                                 "on_time": resolved.count(True)}
    known = sum(v is not None for v in accepted)
    assert report["accept_on_time_rate"] == round(accepted.count(True) / known, 4)
    assert report["counts"]["total"] == len(TicketStatus) * 3 * 3 * 4 * 4
