"""The repair and complaint ticket (报事报修工单) state machine and its service levels.

Pure rules: no database, no Flask. Services ask ``decide`` whether an actor may take
an action on a ticket in a given status and what the new status is; the routes turn
the exceptions into 403 (wrong role), 409 (illegal in this status) and 400 (a reason
is required).

Lifecycle (DOMAIN.md)::

    submitted 待受理 → accepted 已受理 → assigned 已派单 → in_progress 处理中
        → resolved 已完成 → closed 已关闭 (rated 已评价, or closed unrated and put on
          the follow-up 回访 list)
    side exits: cancelled 已取消 (the reporter, before work starts),
                rejected 已驳回 (staff, with a reason)
    reopen: resolved → in_progress (the reporter says it is not fixed)

Actors are roles *relative to one ticket*: the reporter, desk staff, engineers, the
assignee (the staff member the ticket is assigned to), the manager (admins count as
managers) and the system (periodic jobs). One person may hold several of them.
"""
from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime, timedelta


class TicketKind(str, enum.Enum):
    home_repair = "home_repair"  # 室内报修
    common_repair = "common_repair"  # 公共报修
    complaint = "complaint"  # 投诉
    suggestion = "suggestion"  # 建议
    inquiry = "inquiry"  # 咨询


class TicketStatus(str, enum.Enum):
    submitted = "submitted"
    accepted = "accepted"
    assigned = "assigned"
    in_progress = "in_progress"
    resolved = "resolved"
    closed = "closed"
    cancelled = "cancelled"
    rejected = "rejected"


# Stable names: the bot and the pages use these labels.
STATUS_LABELS: dict[str, str] = {
    "submitted": "待受理",
    "accepted": "已受理",
    "assigned": "已派单",
    "in_progress": "处理中",
    "resolved": "已完成",
    "closed": "已关闭",
    "cancelled": "已取消",
    "rejected": "已驳回",
}

KIND_LABELS: dict[str, str] = {
    "home_repair": "室内报修",
    "common_repair": "公共报修",
    "complaint": "投诉",
    "suggestion": "建议",
    "inquiry": "咨询",
}

ACTION_LABELS: dict[str, str] = {
    "accept": "受理",
    "assign": "派单",
    "start": "开始处理",
    "resolve": "处理完成",
    "reopen": "未修好，重新处理",
    "cancel": "取消",
    "reject": "驳回",
    "close": "关闭",
    "follow_up": "回访",
    "rate": "评价",
    "escalate": "超时升级",
}

# Event types recorded on the timeline (past tense of the action, plus a few more).
EVENT_LABELS: dict[str, str] = {
    "created": "提交工单",
    "accepted": "已受理",
    "assigned": "已派单",
    "started": "开始处理",
    "resolved": "处理完成",
    "reopened": "业主反馈未修好，重新处理",
    "cancelled": "已取消",
    "rejected": "已驳回",
    "closed": "已关闭",
    "followed_up": "已回访",
    "rated": "已评价",
    "escalated": "超时升级",
    "photos_added": "上传照片",
}

ACTION_EVENTS: dict[str, str] = {
    "accept": "accepted", "assign": "assigned", "start": "started", "resolve": "resolved",
    "reopen": "reopened", "cancel": "cancelled", "reject": "rejected", "close": "closed",
    "follow_up": "followed_up", "rate": "rated", "escalate": "escalated",
}

S = TicketStatus
OPEN_STATUSES: frozenset[TicketStatus] = frozenset({S.submitted, S.accepted, S.assigned,
                                                    S.in_progress})
FINAL_STATUSES: frozenset[TicketStatus] = frozenset({S.closed, S.cancelled, S.rejected})
REPAIR_KINDS: frozenset[TicketKind] = frozenset({TicketKind.home_repair, TicketKind.common_repair})

# Actors (roles relative to one ticket).
REPORTER = "reporter"
DESK = "desk"
ENGINEER = "engineer"
ASSIGNEE = "assignee"
MANAGER = "manager"
SYSTEM = "system"
ACTORS = (REPORTER, DESK, ENGINEER, ASSIGNEE, MANAGER, SYSTEM)


@dataclass(frozen=True)
class Rule:
    action: str
    sources: frozenset[TicketStatus]
    target: TicketStatus | None  # None: the status does not change
    actors: frozenset[str]
    note_required: bool = False


def _rule(action, sources, target, actors, note_required=False) -> Rule:
    return Rule(action, frozenset(sources), target, frozenset(actors), note_required)


STAFF_DESK = (DESK, MANAGER)
RULES: dict[str, Rule] = {r.action: r for r in (
    _rule("accept", {S.submitted}, S.accepted, STAFF_DESK),
    # assigning again from "assigned" hands the ticket to someone else (改派)
    _rule("assign", {S.accepted, S.assigned}, S.assigned, STAFF_DESK),
    _rule("reject", {S.submitted, S.accepted}, S.rejected, STAFF_DESK, note_required=True),
    _rule("start", {S.assigned}, S.in_progress, (ASSIGNEE, MANAGER)),
    _rule("resolve", {S.in_progress}, S.resolved, (ASSIGNEE, MANAGER)),
    _rule("reopen", {S.resolved}, S.in_progress, (REPORTER,)),
    _rule("cancel", {S.submitted, S.accepted, S.assigned}, S.cancelled, (REPORTER,)),
    _rule("close", {S.resolved}, S.closed, (DESK, MANAGER, SYSTEM)),
    _rule("follow_up", {S.closed}, None, STAFF_DESK, note_required=True),
    # A ticket the system closed unrated may still be rated (once) by its reporter.
    _rule("rate", {S.resolved, S.closed}, S.closed, (REPORTER,)),
    _rule("escalate", OPEN_STATUSES, None, (SYSTEM,)),
)}

# What the actions endpoint accepts (rating and escalation have their own paths).
API_ACTIONS = ("accept", "assign", "start", "resolve", "reopen", "cancel", "reject", "close",
               "follow_up")


class TransitionError(Exception):
    """Base class: the action cannot be taken."""

    code = "transition_error"

    def __init__(self, message: str, *, action: str, status: TicketStatus | str):
        super().__init__(message)
        self.message = message
        self.action = action
        self.status = TicketStatus(status)


class NotPermitted(TransitionError):
    """This actor may never take this action (HTTP 403)."""

    code = "action_not_permitted"


class IllegalTransition(TransitionError):
    """The action is not possible in the ticket's current status (HTTP 409)."""

    code = "illegal_transition"


class NoteRequired(TransitionError):
    """The action needs a reason or a record of what was said (HTTP 400)."""

    code = "note_required"


@dataclass(frozen=True)
class TicketFacts:
    """What the rules need to know beyond the status."""

    rated: bool = False
    followed_up: bool = False
    escalated: bool = False


def decide(status: TicketStatus | str, action: str, actors: set[str] | frozenset[str],
           facts: TicketFacts = TicketFacts(), note: str | None = None) -> TicketStatus:
    """The status after ``actors`` take ``action`` on a ticket in ``status``.

    Raises ``NotPermitted`` when none of the actors may ever take the action,
    ``IllegalTransition`` when it is not possible now, ``NoteRequired`` when a reason
    is missing. Unknown actions are a ``KeyError`` (the API validates names first).
    """
    status = TicketStatus(status)
    rule = RULES[action]
    label = ACTION_LABELS[action]
    if not (set(actors) & rule.actors):
        raise NotPermitted(f"您没有权限对该工单执行“{label}”操作", action=action, status=status)
    if status not in rule.sources:
        raise IllegalTransition(
            f"工单当前状态为“{STATUS_LABELS[status.value]}”，不能执行“{label}”操作",
            action=action, status=status)
    if action == "rate" and facts.rated:
        raise IllegalTransition("该工单已经评价过了，每张工单只能评价一次", action=action,
                                status=status)
    if action == "follow_up" and facts.followed_up:
        raise IllegalTransition("该工单已经回访过了", action=action, status=status)
    if action == "escalate" and facts.escalated:
        raise IllegalTransition("该工单已升级过", action=action, status=status)
    if rule.note_required and not (note and note.strip()):
        reason = "驳回原因" if action == "reject" else "回访记录"
        raise NoteRequired(f"请填写{reason}", action=action, status=status)
    return rule.target if rule.target is not None else status


def allowed_actions(status: TicketStatus | str, actors: set[str] | frozenset[str],
                    facts: TicketFacts = TicketFacts(), *, api_only: bool = True) -> list[str]:
    """Actions the actors may take now (a note is assumed where one is required)."""
    names = API_ACTIONS + ("rate",) if api_only else tuple(RULES)
    out = []
    for name in names:
        try:
            decide(status, name, actors, facts, note="-")
        except TransitionError:
            continue
        out.append(name)
    return out


# ----------------------------------------------------------------- service levels
@dataclass(frozen=True)
class ServiceLevels:
    """Time limits (DOMAIN.md defaults; each is a setting)."""

    accept_minutes: int = 30
    urgent_repair_hours: int = 4
    repair_hours: int = 24
    complaint_hours: int = 24  # complaints, suggestions and inquiries: answered within


def resolution_hours(kind: TicketKind | str, urgent: bool, levels: ServiceLevels) -> int:
    kind = TicketKind(kind)
    if kind in REPAIR_KINDS:
        return levels.urgent_repair_hours if urgent else levels.repair_hours
    # "urgent" only shortens repairs (漏水、电梯困人、停电、燃气异味); a complaint is
    # answered within its own limit either way.
    return levels.complaint_hours


def due_times(kind: TicketKind | str, urgent: bool, created_at: datetime,
              levels: ServiceLevels) -> tuple[datetime, datetime]:
    """(accept by, resolve by) for a ticket created at ``created_at``."""
    accept_due = created_at + timedelta(minutes=levels.accept_minutes)
    due = created_at + timedelta(hours=resolution_hours(kind, urgent, levels))
    return accept_due, due


def overdue_reason(status: TicketStatus | str, accept_due_at: datetime | None,
                   due_at: datetime | None, now: datetime) -> str | None:
    """"accept" (not accepted in time), "resolve" (not resolved in time) or None."""
    status = TicketStatus(status)
    if status not in OPEN_STATUSES:
        return None
    if status == S.submitted and accept_due_at is not None and now > accept_due_at:
        return "accept"
    if due_at is not None and now > due_at:
        return "resolve"
    return None


def is_overdue(status: TicketStatus | str, accept_due_at: datetime | None,
               due_at: datetime | None, now: datetime) -> bool:
    return overdue_reason(status, accept_due_at, due_at, now) is not None


def resolved_on_time(status: TicketStatus | str, accept_due_at: datetime | None,
                     due_at: datetime, resolved_at: datetime | None,
                     now: datetime) -> bool | None:
    """The monthly report's on-time outcome of a ticket: True when resolved by its due
    time, False when resolved after it or when it is overdue now (``is_overdue``: not
    accepted in time, or not resolved in time) or unresolved past its due time, None
    while nothing is late yet. An overdue ticket counts against on-time in its month
    (the month it was reported in) at once, not only once its resolution deadline
    passes; resolved later by its due time it counts as on time again."""
    if resolved_at is not None:
        return resolved_at <= due_at
    if is_overdue(status, accept_due_at, due_at, now) or now > due_at:
        return False
    return None


def on_time(due_at: datetime, done_at: datetime | None, now: datetime) -> bool | None:
    """Whether a deadline was met: True when done by it, False when done after it or
    still not done once it has passed, None while it is still ahead (the monthly
    report counts only tickets whose outcome is known)."""
    if done_at is not None:
        return done_at <= due_at
    return False if now > due_at else None
