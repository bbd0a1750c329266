"""The ticket state machine, exhaustively: every action from every status for every
actor, against a table written out here independently of the module's own."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from itertools import product

import pytest

from backend.rules import ticket_states as ts
from backend.rules.ticket_states import (
    IllegalTransition,
    NoteRequired,
    NotPermitted,
    ServiceLevels,
    TicketFacts,
    TicketKind,
    TicketStatus,
    decide,
)

STATUSES = [s.value for s in TicketStatus]
ACTORS = ["reporter", "desk", "engineer", "assignee", "manager", "system"]
OPEN = ["submitted", "accepted", "assigned", "in_progress"]

# action: (statuses it may start from, status it leads to (None: unchanged), actors)
EXPECTED = {
    "accept": (["submitted"], "accepted", {"desk", "manager"}),
    "assign": (["accepted", "assigned"], "assigned", {"desk", "manager"}),
    "reject": (["submitted", "accepted"], "rejected", {"desk", "manager"}),
    "start": (["assigned"], "in_progress", {"assignee", "manager"}),
    "resolve": (["in_progress"], "resolved", {"assignee", "manager"}),
    "reopen": (["resolved"], "in_progress", {"reporter"}),
    "cancel": (["submitted", "accepted", "assigned"], "cancelled", {"reporter"}),
    "close": (["resolved"], "closed", {"desk", "manager", "system"}),
    "follow_up": (["closed"], None, {"desk", "manager"}),
    "rate": (["resolved", "closed"], "closed", {"reporter"}),
    "escalate": (OPEN, None, {"system"}),
}


def test_the_table_covers_every_action_of_the_module():
    assert set(EXPECTED) == set(ts.RULES)
    assert set(ts.API_ACTIONS) == {"accept", "assign", "start", "resolve", "reopen", "cancel",
                                   "reject", "close", "follow_up"}


CASES = list(product(EXPECTED, STATUSES, ACTORS))


@pytest.mark.parametrize("action, status, actor", CASES,
                         ids=[f"{a}-{s}-{r}" for a, s, r in CASES])
def test_every_transition_for_every_actor(action, status, actor):
    sources, target, actors = EXPECTED[action]
    if actor not in actors:
        with pytest.raises(NotPermitted) as err:
            decide(status, action, {actor}, note="理由")
        assert err.value.code == "action_not_permitted"
    elif status not in sources:
        with pytest.raises(IllegalTransition) as err:
            decide(status, action, {actor}, note="理由")
        assert err.value.code == "illegal_transition"
        assert ts.STATUS_LABELS[status] in err.value.message
    else:
        assert decide(status, action, {actor}, note="理由") == TicketStatus(target or status)


@pytest.mark.parametrize("status", STATUSES)
def test_nobody_gets_anything_without_a_role(status):
    for action in EXPECTED:
        with pytest.raises(NotPermitted):
            decide(status, action, set())


def test_roles_combine():
    # a desk clerk who is also the assignee may both assign and start
    assert decide("assigned", "start", {"desk", "assignee"}) == TicketStatus.in_progress
    # an engineer who reported a ticket may cancel it as its reporter
    assert decide("submitted", "cancel", {"engineer", "reporter"}) == TicketStatus.cancelled
    # a role that may act but in the wrong status: 409, not 403
    with pytest.raises(IllegalTransition):
        decide("closed", "start", {"engineer", "assignee"})


def test_reasons_are_required_for_reject_and_follow_up():
    for action, status in (("reject", "submitted"), ("follow_up", "closed")):
        for note in (None, "", "   "):
            with pytest.raises(NoteRequired):
                decide(status, action, {"desk"}, note=note)
        assert decide(status, action, {"desk"}, note="已电话联系")
    # other actions do not need one
    assert decide("submitted", "accept", {"desk"}) == TicketStatus.accepted


def test_rating_follow_up_and_escalation_happen_once():
    assert decide("closed", "rate", {"reporter"}, TicketFacts(rated=False)) == TicketStatus.closed
    with pytest.raises(IllegalTransition):
        decide("closed", "rate", {"reporter"}, TicketFacts(rated=True))
    with pytest.raises(IllegalTransition):
        decide("resolved", "rate", {"reporter"}, TicketFacts(rated=True))
    with pytest.raises(IllegalTransition):
        decide("closed", "follow_up", {"manager"}, TicketFacts(followed_up=True), note="再次")
    assert decide("assigned", "escalate", {"system"}) == TicketStatus.assigned
    with pytest.raises(IllegalTransition):
        decide("assigned", "escalate", {"system"}, TicketFacts(escalated=True))


def test_unknown_action_is_a_programming_error():
    with pytest.raises(KeyError):
        decide("submitted", "teleport", {"manager"})


@pytest.mark.parametrize("status, actors, expected", [
    ("submitted", {"reporter"}, ["cancel"]),
    ("submitted", {"desk"}, ["accept", "reject"]),
    ("submitted", {"engineer"}, []),
    ("accepted", {"manager"}, ["assign", "reject"]),
    ("assigned", {"engineer", "assignee"}, ["start"]),
    ("assigned", {"reporter"}, ["cancel"]),
    ("in_progress", {"assignee"}, ["resolve"]),
    ("in_progress", {"reporter"}, []),
    ("resolved", {"reporter"}, ["reopen", "rate"]),
    ("resolved", {"desk"}, ["close"]),
    ("closed", {"desk"}, ["follow_up"]),
    ("closed", {"reporter"}, ["rate"]),
    ("cancelled", {"manager", "reporter"}, []),
    ("rejected", {"manager", "reporter"}, []),
])
def test_allowed_actions(status, actors, expected):
    assert ts.allowed_actions(status, actors) == expected


def test_allowed_actions_respect_once_only_facts():
    assert ts.allowed_actions("closed", {"reporter"}, TicketFacts(rated=True)) == []
    assert ts.allowed_actions("closed", {"desk"}, TicketFacts(followed_up=True)) == []


def test_every_status_kind_action_and_event_has_a_chinese_label():
    assert set(ts.STATUS_LABELS) == set(STATUSES)
    assert ts.STATUS_LABELS["submitted"] == "待受理"
    assert ts.STATUS_LABELS["in_progress"] == "处理中"
    assert set(ts.KIND_LABELS) == {k.value for k in TicketKind}
    assert ts.KIND_LABELS["home_repair"] == "室内报修"
    assert set(ts.ACTION_LABELS) == set(EXPECTED)
    assert set(ts.ACTION_EVENTS.values()) | {"created", "photos_added"} == set(ts.EVENT_LABELS)
    # enum members look up like their values (the bot passes either)
    assert ts.STATUS_LABELS[TicketStatus.resolved] == "已完成"


# ----------------------------------------------------------------- service levels
T0 = datetime(2026, 3, 2, 1, 0, tzinfo=timezone.utc)
DEFAULTS = ServiceLevels()


@pytest.mark.parametrize("kind, urgent, hours", [
    ("home_repair", True, 4), ("common_repair", True, 4),
    ("home_repair", False, 24), ("common_repair", False, 24),
    ("complaint", False, 24), ("complaint", True, 24),
    ("suggestion", False, 24), ("inquiry", True, 24),
])
def test_due_times_by_kind_and_urgency(kind, urgent, hours):
    accept_by, due = ts.due_times(kind, urgent, T0, DEFAULTS)
    assert accept_by == T0 + timedelta(minutes=30)
    assert due == T0 + timedelta(hours=hours)


def test_due_times_follow_the_settings():
    levels = ServiceLevels(accept_minutes=15, urgent_repair_hours=2, repair_hours=8,
                           complaint_hours=48)
    assert ts.due_times("home_repair", True, T0, levels) == (T0 + timedelta(minutes=15),
                                                             T0 + timedelta(hours=2))
    assert ts.due_times("home_repair", False, T0, levels)[1] == T0 + timedelta(hours=8)
    assert ts.due_times("complaint", False, T0, levels)[1] == T0 + timedelta(hours=48)


def test_overdue_reasons():
    accept_by, due = ts.due_times("home_repair", False, T0, DEFAULTS)
    minute = timedelta(minutes=1)
    assert ts.overdue_reason("submitted", accept_by, due, accept_by) is None
    assert ts.overdue_reason("submitted", accept_by, due, accept_by + minute) == "accept"
    # accepted in time: only the resolution deadline is left
    assert ts.overdue_reason("accepted", accept_by, due, accept_by + minute) is None
    assert ts.overdue_reason("in_progress", accept_by, due, due + minute) == "resolve"
    assert ts.overdue_reason("submitted", accept_by, due, due + minute) == "accept"
    for status in ("resolved", "closed", "cancelled", "rejected"):
        assert ts.overdue_reason(status, accept_by, due, due + timedelta(days=9)) is None
        assert ts.is_overdue(status, accept_by, due, due + timedelta(days=9)) is False
    assert ts.is_overdue("assigned", accept_by, due, due + minute) is True


def test_a_deadline_is_met_missed_or_not_known_yet():
    due = T0 + timedelta(hours=4)
    second = timedelta(seconds=1)
    assert ts.on_time(due, None, due - second) is None  # still ahead
    assert ts.on_time(due, None, due) is None  # at the deadline it is not missed yet
    assert ts.on_time(due, None, due + second) is False  # passed, not done
    assert ts.on_time(due, due, due + timedelta(days=9)) is True  # done at the deadline
    assert ts.on_time(due, due + second, due + second) is False  # done late
    assert ts.on_time(due, due - second, due - second) is True


def test_an_overdue_ticket_is_late_for_the_report_before_its_resolution_deadline():
    due = datetime(2026, 3, 2, 2, 0, tzinfo=timezone.utc)
    accept_due = due - timedelta(hours=23, minutes=30)
    now = accept_due + timedelta(minutes=1)  # not accepted in time; 23 hours left to resolve
    assert ts.resolved_on_time("submitted", accept_due, due, None, now) is False
    assert ts.resolved_on_time("accepted", accept_due, due, None, now) is None
    assert ts.resolved_on_time("resolved", accept_due, due, due - timedelta(hours=1), now) is True
    assert ts.resolved_on_time("in_progress", accept_due, due, None, due + timedelta(seconds=1)) is False
