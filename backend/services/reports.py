"""The monthly service report (服务月报) of a community, for the manager and the owners'
committee: tickets by kind and status, on-time rates, ratings, and a 100-point score
graded in stars as in the seed city's practice (DOMAIN.md).

The month's cohort is the tickets *created* in that month (Asia/Shanghai calendar).
Cancelled and rejected tickets count in the totals but not in the rates.
- on-time rate: of the tickets whose outcome is known (resolved, overdue now, or
  past their due time), the share resolved by their due time
  (``Ticket.resolved_on_time`` → ``rules.ticket_states.resolved_on_time``): an
  overdue ticket (not accepted in time, or not resolved in time) counts against
  on-time in its month at once; a reopened ticket counts by its final resolution.
- accept on-time rate: the same for acceptance within the accept limit (30 min;
  ``Ticket.accepted_on_time``).
- average rating and satisfaction rate (ratings 4-5 over all ratings).
- score (0-100): satisfaction 40 %, on-time 30 %, average rating / 5 30 %; a missing
  figure's weight is shared among the others; no figures, no score.
- grade: 90+ three stars, 80-89 two, 70-79 one, 60-69 no star, below 60 must rectify.
"""
from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import func, select

from backend.extensions import db
from backend.models import Community, Ticket, TicketKind, TicketStatus, utcnow
from backend.rules.ticket_states import KIND_LABELS, STATUS_LABELS
from backend.timeutil import LOCAL_TZ

SCORE_WEIGHTS = {"satisfaction_rate": 40, "on_time_rate": 30, "rating_share": 30}

GRADES = [  # (lowest score, code, label, stars)
    (90, "three_star", "三星", 3),
    (80, "two_star", "二星", 2),
    (70, "one_star", "一星", 1),
    (60, "no_star", "合格（无星）", 0),
    (0, "rectify", "不合格，须整改", 0),
]


def month_bounds(month: str) -> tuple[datetime, datetime]:
    """UTC start and end of a local calendar month ``YYYY-MM``."""
    year, mon = (int(part) for part in month.split("-"))
    start = datetime(year, mon, 1, tzinfo=LOCAL_TZ)
    end = datetime(year + (mon == 12), mon % 12 + 1, 1, tzinfo=LOCAL_TZ)
    return start.astimezone(timezone.utc), end.astimezone(timezone.utc)


def _rate(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def service_score(satisfaction_rate: float | None, on_time_rate: float | None,
                  average_rating: float | None) -> float | None:
    """The 100-point score (pure)."""
    parts = {"satisfaction_rate": satisfaction_rate, "on_time_rate": on_time_rate,
             "rating_share": None if average_rating is None else average_rating / 5}
    known = {k: v for k, v in parts.items() if v is not None}
    if not known:
        return None
    weight = sum(SCORE_WEIGHTS[k] for k in known)
    return round(100 * sum(SCORE_WEIGHTS[k] * v for k, v in known.items()) / weight, 1)


def star_grade(score: float | None) -> dict | None:
    """{"code", "label", "stars"} for a score (pure)."""
    if score is None:
        return None
    for lowest, code, label, stars in GRADES:
        if score >= lowest:
            return {"code": code, "label": label, "stars": stars}
    return None


def monthly_service_report(community: Community, month: str, now: datetime | None = None) -> dict:
    now = now or utcnow()
    start, end = month_bounds(month)
    cohort = (Ticket.community_id == community.id, Ticket.created_at >= start,
              Ticket.created_at < end)

    by_kind = {k.value: 0 for k in TicketKind}
    by_status = {s.value: 0 for s in TicketStatus}
    total = 0
    for kind, status, count in db.session.execute(
            select(Ticket.kind, Ticket.status, func.count()).where(*cohort)
            .group_by(Ticket.kind, Ticket.status)):
        by_kind[kind.value] += count
        by_status[status.value] += count
        total += count

    served = (*cohort, Ticket.status.notin_([TicketStatus.cancelled, TicketStatus.rejected]))
    # on time: Ticket.resolved_on_time / accepted_on_time, NULL while not known yet
    resolved, accepted = Ticket.resolved_on_time(now), Ticket.accepted_on_time(now)
    row = db.session.execute(select(
        func.count(resolved),
        func.count().filter(resolved),
        func.count(accepted),
        func.count().filter(accepted),
        func.count(Ticket.rating),
        func.avg(Ticket.rating),
        func.count().filter(Ticket.rating >= 4),
        func.count().filter(Ticket.escalated_at.isnot(None)),
        func.count().filter(Ticket.needs_follow_up.is_(True), Ticket.followed_up_at.is_(None)),
    ).where(*served)).one()
    (decided, on_time, accept_decided, accepted_on_time, rated, average, satisfied,
     escalated, follow_up_pending) = row
    average_rating = round(float(average), 2) if average is not None else None
    on_time_rate = _rate(on_time, decided)
    satisfaction_rate = _rate(satisfied, rated)
    score = service_score(satisfaction_rate, on_time_rate, average_rating)
    return {
        "community": {"id": community.id, "name": community.name},
        "month": month,
        "counts": {
            "total": total,
            "by_kind": by_kind,
            "by_status": by_status,
            "kind_labels": dict(KIND_LABELS),
            "status_labels": dict(STATUS_LABELS),
        },
        "on_time": {"decided": decided, "on_time": on_time},
        "on_time_rate": on_time_rate,
        "accept_on_time_rate": _rate(accepted_on_time, accept_decided),
        "rated": rated,
        "average_rating": average_rating,
        "satisfaction_rate": satisfaction_rate,
        "escalated": escalated,
        "follow_up_pending": follow_up_pending,
        "score": score,
        "grade": star_grade(score),
    }
