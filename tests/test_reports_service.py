"""The monthly service report: counts, on-time rates, ratings, score and star grade,
for the manager and the committee only."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from backend.extensions import db
from backend.models import Ticket, TicketKind, TicketStatus
from backend.services.reports import month_bounds, service_score, star_grade

UTC = timezone.utc


def _ticket(community_id, created, kind, status, *, accepted=None, resolved=None,
            rating=None, due_hours=24):
    return Ticket(
        community_id=community_id, kind=TicketKind(kind), status=TicketStatus(status),
        description="测试", location="", created_at=created, updated_at=created,
        accept_due_at=created + timedelta(minutes=30), due_at=created + timedelta(hours=due_hours),
        accepted_at=accepted, resolved_at=resolved, rating=rating,
        rated_at=resolved + timedelta(hours=1) if rating else None,
        closed_at=resolved + timedelta(hours=1) if status == "closed" else None)


@pytest.fixture
def march(app, community):
    """March 2026 (Asia/Shanghai) with a known mix of tickets, plus two just outside."""
    cid = community["id"]
    t = datetime(2026, 3, 10, 2, 0, tzinfo=UTC)
    m, h = timedelta(minutes=1), timedelta(hours=1)
    rows = [
        # on time everywhere, 5 stars
        _ticket(cid, t, "home_repair", "closed", accepted=t + 10 * m, resolved=t + 5 * h, rating=5),
        # accepted late, resolved late, 4 stars
        _ticket(cid, t, "home_repair", "closed", accepted=t + 50 * m, resolved=t + 30 * h, rating=4),
        # on time, 2 stars (dissatisfied)
        _ticket(cid, t, "complaint", "closed", accepted=t + 5 * m, resolved=t + 3 * h, rating=2),
        # still in progress long after its due time: late
        _ticket(cid, t, "common_repair", "in_progress", accepted=t + 20 * m),
        # cancelled: counted, but not in the rates
        _ticket(cid, t, "suggestion", "cancelled"),
        # resolved on time, not rated yet
        _ticket(cid, t, "inquiry", "resolved", accepted=t + 1 * m, resolved=t + 2 * h),
        # 2026-03-01 00:30 local: March; never accepted
        _ticket(cid, datetime(2026, 2, 28, 16, 30, tzinfo=UTC), "inquiry", "submitted"),
        # 2026-02-28 23:30 local: February
        _ticket(cid, datetime(2026, 2, 28, 15, 30, tzinfo=UTC), "complaint", "submitted"),
        # 2026-04-01 00:30 local: April
        _ticket(cid, datetime(2026, 3, 31, 16, 30, tzinfo=UTC), "complaint", "submitted"),
    ]
    with app.app_context():
        db.session.add_all(rows)
        db.session.commit()
    return "2026-03"


def test_monthly_figures(client, staff, march):
    response = client.get(f"/api/v1/reports/service?month={march}", headers=staff("manager"))
    assert response.status_code == 200, response.json
    report = response.json
    assert report["month"] == "2026-03" and report["community"]["name"] == "测试小区"
    counts = report["counts"]
    assert counts["total"] == 7
    assert counts["by_kind"] == {"home_repair": 2, "common_repair": 1, "complaint": 1,
                                 "suggestion": 1, "inquiry": 2}
    assert counts["by_status"] == {"submitted": 1, "accepted": 0, "assigned": 0,
                                   "in_progress": 1, "resolved": 1, "closed": 3,
                                   "cancelled": 1, "rejected": 0}
    # 6 served tickets, all decided; on time: the 5-star, the 2-star and the inquiry
    assert report["on_time"] == {"decided": 6, "on_time": 3}
    assert report["on_time_rate"] == 0.5
    assert report["accept_on_time_rate"] == pytest.approx(0.6667)
    assert report["rated"] == 3
    assert report["average_rating"] == pytest.approx(3.67)
    assert report["satisfaction_rate"] == pytest.approx(0.6667)
    # 40 × 0.6667 + 30 × 0.5 + 30 × 3.67 / 5
    assert report["score"] == pytest.approx(63.7)
    assert report["grade"] == {"code": "no_star", "label": "合格（无星）", "stars": 0}


def test_an_empty_month_has_no_rates_and_no_grade(client, staff, community):
    report = client.get("/api/v1/reports/service?month=2025-01", headers=staff("manager")).json
    assert report["counts"]["total"] == 0
    assert report["on_time_rate"] is None and report["average_rating"] is None
    assert report["score"] is None and report["grade"] is None


def test_committee_may_read_it_other_residents_and_desk_may_not(client, committee, owner, staff,
                                                                march):
    assert client.get(f"/api/v1/reports/service?month={march}",
                      headers=committee("O-1")).status_code == 200
    for headers in (owner("O-2"), staff("desk"), staff("engineer")):
        response = client.get(f"/api/v1/reports/service?month={march}", headers=headers)
        assert response.status_code == 403
    assert client.get(f"/api/v1/reports/service?month={march}").status_code == 401


@pytest.mark.parametrize("query", ["month=2026-13", "month=2026-3", "month=march", "",
                                   "month=0000-01", "month=9999-12",
                                   "month=2026-03&community_id=x"])
def test_bad_month_is_400(client, staff, community, query):
    response = client.get(f"/api/v1/reports/service?{query}", headers=staff("manager"))
    assert response.status_code == 400


def test_another_communitys_report_is_refused(client, staff, community):
    response = client.get(f"/api/v1/reports/service?month=2026-03&community_id={community['id'] + 99}",
                          headers=staff("manager"))
    assert response.status_code == 403


def test_month_bounds_use_the_local_calendar():
    start, end = month_bounds("2026-12")
    assert start == datetime(2026, 11, 30, 16, 0, tzinfo=UTC)
    assert end == datetime(2026, 12, 31, 16, 0, tzinfo=UTC)


@pytest.mark.parametrize("score, code, stars", [
    (100, "three_star", 3), (90, "three_star", 3), (89.9, "two_star", 2), (80, "two_star", 2),
    (79.9, "one_star", 1), (70, "one_star", 1), (69.9, "no_star", 0), (60, "no_star", 0),
    (59.9, "rectify", 0), (0, "rectify", 0),
])
def test_star_grades(score, code, stars):
    grade = star_grade(score)
    assert grade["code"] == code and grade["stars"] == stars and grade["label"]


def test_score_weights_and_missing_figures():
    assert service_score(1.0, 1.0, 5.0) == 100.0
    assert service_score(0.9, 0.8, 4.5) == pytest.approx(87.0)  # 36 + 24 + 27
    assert service_score(None, 0.75, None) == 75.0  # only on-time known
    assert service_score(None, None, None) is None
    assert star_grade(None) is None


def test_an_overdue_unresolved_ticket_counts_against_on_time_in_its_month(client, staff, app, community):
    """Reported an hour ago and still not accepted (30 minutes allowed): it is overdue
    now, so the month's on-time rate counts it as late before its 24 h have passed."""
    from backend.models import utcnow

    now = utcnow()
    created = now - timedelta(hours=1)
    month = created.astimezone(timezone(timedelta(hours=8))).strftime("%Y-%m")
    with app.app_context():
        db.session.add_all([
            _ticket(community["id"], created, "home_repair", "submitted"),
            _ticket(community["id"], created, "home_repair", "resolved",
                    accepted=created + timedelta(minutes=5), resolved=created + timedelta(minutes=50)),
            # accepted in time, due in 23 hours: nothing is late yet
            _ticket(community["id"], created, "home_repair", "in_progress",
                    accepted=created + timedelta(minutes=5)),
        ])
        db.session.commit()
    report = client.get(f"/api/v1/reports/service?month={month}", headers=staff("manager")).json
    assert report["on_time"] == {"decided": 2, "on_time": 1}
    assert report["on_time_rate"] == 0.5
