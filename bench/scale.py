"""Scale benchmark (`python -m bench scale [--quick] [--plans]`, or `python -m bench.scale`).

Two PostgreSQL databases on one throwaway server, migrated by this tree:

- **small**: one community of 20,000 rooms (imported through ``import_ledger``) with
  5 tickets per room (100,000), a user bound to every room, two bills per room;
- **big**: the same community, plus 1,999 others generated in SQL (``generate_series``,
  with the tickets' indexes rebuilt after the load): 2,000 communities, 1,000,000 rooms,
  5,000,000 tickets with one event each, 1,000,000 users and bindings, 2,000,000 bills.

In both, the same owner (60 tickets), desk clerk and open whole-community proposal.
Then, under gunicorn (2 workers) with wrk at moderate concurrency (2 threads, 4
connections), small and big side by side in each round: the owner's ticket list, a
ticket detail, the desk queue with filters, the bot's fee answer; p50, p99, req/s and
the big/small p50 ratio. Then the live tally of the 20,000-room proposal (the service
call, in process) and ``flask import-ledger`` of 100,000 rooms, on both databases.

Targets: every read's p50 within 1.2× of the small database's and p99 under 50 ms;
tally ≤ 50 ms; import ≤ 20 s. ``--plans`` prints EXPLAIN ANALYZE of the statements
each read runs (captured as the services run them); without it, a summary (each
statement's execution time on both databases). ``--quick``: 100,000 rooms in the big
database and short rounds, for development.
"""
from __future__ import annotations

import argparse
import contextlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from bench.common import (
    ROOT,
    LoadFailed,
    app_for,
    fetch,
    json_request,
    medians,
    prepare_database,
    serve,
    throwaway_redis,
    wrk,
    wrk_binary,
    wx_login,
)
from bench.ledger import ledger_csv

FOCUS = "基准小区"  # the 20,000-room community every read is about
FOCUS_ROOMS = 20_000
TICKETS_PER_ROOM = 5
OWNER_TICKETS = 60
DESK_OPENID = "scale-desk"
FEE_QUESTION = "我家物业费多少钱"
QUEUE_QUERY = "status=submitted,accepted&kind=home_repair,common_repair"
IMPORT_ROOMS = 100_000
CONNECTIONS = 4  # 2 per gunicorn worker: moderate, so latency is service time, not queueing
THREADS = 2
P50_RATIO_TARGET = 1.2
P99_TARGET_MS = 50.0
TALLY_TARGET_MS = 50.0
IMPORT_TARGET_S = 20.0


@dataclass(frozen=True)
class Size:
    communities: int
    rooms: int  # in all, the focus community's included
    seconds: int  # per wrk run
    rounds: int


FULL = Size(communities=2_000, rooms=1_000_000, seconds=5, rounds=5)
QUICK = Size(communities=200, rooms=100_000, seconds=2, rounds=1)


# ----------------------------------------------------------------- the data
def seed_focus(env: dict) -> None:
    """The focus community through the services: the ledger (20,000 rooms, owners of
    record), fee standards, a desk clerk."""
    from backend.extensions import db
    from backend.models import Role, StaffRole, User
    from backend.services.community import get_or_create_community, set_fee
    from backend.services.ledger import import_ledger

    app = app_for(dict(env, LOG_LEVEL="WARNING"))
    with app.app_context():
        community, _ = get_or_create_community(FOCUS)
        import_ledger(community, ledger_csv(FOCUS_ROOMS))
        set_fee(community, "residential_lift", "2.50")
        desk = User(openid=DESK_OPENID, username="scale-desk", name="前台小李")
        db.session.add(desk)
        db.session.flush()
        db.session.add(StaffRole(user_id=desk.id, community_id=community.id, role=Role.desk))
        db.session.commit()
        db.session.remove()
        db.engine.dispose()


# Other communities: rooms spread round-robin over them (a community's rooms are not
# contiguous in id order, as after years of imports), 20 units in 5 buildings each.
BULK_SQL = """
INSERT INTO community (name, settings, created_at)
  SELECT '规模小区' || g, '{{}}', now() FROM generate_series(1, {others}) g;
CREATE TEMP TABLE bulk_community AS
  SELECT id, row_number() OVER (ORDER BY id) - 1 AS n FROM community WHERE name LIKE '规模小区%';
INSERT INTO building (community_id, name)
  SELECT c.id, b::text FROM bulk_community c, generate_series(1, 5) b;
INSERT INTO unit (building_id, name)
  SELECT b.id, u::text FROM building b JOIN bulk_community c ON c.id = b.community_id,
    generate_series(1, 4) u;
INSERT INTO fee_standard (community_id, kind, unit_price, updated_at)
  SELECT id, 'residential_lift', 2.00 + (n % 10) * 0.1, now() FROM bulk_community;
CREATE TEMP TABLE bulk_unit AS
  SELECT u.id AS unit_id, b.id AS building_id, c.id AS community_id, c.n,
         row_number() OVER (PARTITION BY c.id ORDER BY u.id) - 1 AS k
  FROM unit u JOIN building b ON b.id = u.building_id JOIN bulk_community c ON c.id = b.community_id;
CREATE INDEX ON bulk_unit (n, k);
CREATE TEMP TABLE bulk_room AS
  SELECT g, (g % {others}) AS n, ((g / {others}) % 20) AS k, (g / ({others} * 20)) AS slot
  FROM generate_series(0, {rooms} - 1) g;
INSERT INTO owner_of_record (community_id, owner_ref, name, phone, is_committee)
  SELECT u.community_id, 'S' || r.g, '业主' || r.g, '139' || lpad(r.g::text, 8, '0'), false
  FROM bulk_room r JOIN bulk_unit u ON u.n = r.n AND u.k = r.k ORDER BY r.g;
INSERT INTO room (community_id, building_id, unit_id, number, area_m2, kind, owner_id)
  SELECT u.community_id, u.building_id, u.unit_id,
         ((r.slot / 2 + 1) * 100 + r.slot % 2 + 1)::text, 60 + (r.g % 90) + (r.g % 100) / 100.0,
         'residential_lift', o.id
  FROM bulk_room r JOIN bulk_unit u ON u.n = r.n AND u.k = r.k
  JOIN owner_of_record o ON o.owner_ref = 'S' || r.g AND o.community_id = u.community_id
  ORDER BY r.g;
"""

# Every room (both databases): a bound owner, two bills, TICKETS_PER_ROOM tickets over
# two years (ids in time order across communities), each with its "created" event.
# Statuses by a fixed hash: 3% submitted, 3% accepted, 4% assigned/in progress, 4%
# resolved, 81% closed, the rest cancelled or rejected.
RESIDENTS_SQL = """
INSERT INTO "user" (openid, name, token_version, is_active, created_at)
  SELECT 'scale-room-' || r.id, '住户' || r.id, 1, true, now() - interval '3 years'
  FROM room r ORDER BY r.id;
INSERT INTO room_binding (user_id, room_id, relation, owner_id, created_at, bills_allowed)
  SELECT u.id, r.id, 'owner', r.owner_id, u.created_at, false
  FROM room r JOIN "user" u ON u.openid = 'scale-room-' || r.id;
INSERT INTO bill (room_id, period, amount, paid, due_date)
  SELECT r.id, p.period, round(r.area_m2 * 2.5, 2), CASE WHEN r.id % 9 = 0 THEN 0
         ELSE round(r.area_m2 * 2.5, 2) END, p.due
  FROM room r, (VALUES ('2026-10', date '2026-10-31'), ('2026-11', date '2026-11-30')) p(period, due);
CREATE TEMP TABLE gen_ticket AS
  SELECT r.id AS room_id, r.community_id, b.user_id,
         ((r.id::bigint * 5 + k) * 2654435761) % 100 AS h,
         now() - make_interval(secs => (((r.id::bigint * 5 + k) * 40503) % 63072000)) AS t,
         (ARRAY['home_repair','common_repair','complaint','suggestion','inquiry'])[1 + (r.id + k) % 5] AS kind
  FROM room r JOIN room_binding b ON b.room_id = r.id, generate_series(0, {per_room} - 1) k;
INSERT INTO ticket (community_id, reporter_id, room_id, kind, status, urgent, description,
                    location, created_at, updated_at, accept_due_at, due_at, accepted_at,
                    resolved_at, closed_at, needs_follow_up)
  SELECT community_id, user_id, room_id, kind,
         CASE WHEN h < 3 THEN 'submitted' WHEN h < 6 THEN 'accepted' WHEN h < 8 THEN 'assigned'
              WHEN h < 10 THEN 'in_progress' WHEN h < 14 THEN 'resolved' WHEN h < 95 THEN 'closed'
              WHEN h < 98 THEN 'cancelled' ELSE 'rejected' END,
         h % 17 = 0, '卫生间水管漏水，请尽快处理', '', t, t, t + interval '30 minutes',
         t + interval '3 days',
         CASE WHEN h >= 6 AND h < 95 THEN t + interval '1 hour' END,
         CASE WHEN h >= 10 AND h < 95 THEN t + interval '1 day' END,
         CASE WHEN h >= 14 AND h < 95 THEN t + interval '2 days' END, false
  FROM gen_ticket ORDER BY t;
INSERT INTO ticket_event (ticket_id, at, type, actor_id, from_status, to_status)
  SELECT id, created_at, 'created', reporter_id, NULL, 'submitted' FROM ticket ORDER BY id;
"""


def generate(url: str, size: Size | None) -> None:
    """Residents, bills and tickets for every room; with ``size``, first the other
    communities. Foreign-key triggers are off for the load (superuser on a throwaway
    server; the generated keys are consistent by construction) and the big tables'
    secondary indexes are dropped and rebuilt: both the model's own definitions."""
    from sqlalchemy import create_engine, text

    from backend.models import Bill, RoomBinding, Ticket, TicketEvent, User

    engine = create_engine(url)
    tables = [Ticket.__table__, TicketEvent.__table__, Bill.__table__, RoomBinding.__table__,
              User.__table__]
    indexes = [ix for table in tables for ix in table.indexes]
    with engine.begin() as conn:
        conn.execute(text("SET session_replication_role = replica"))
        conn.execute(text("SET work_mem = '256MB'"))
        conn.execute(text("SET maintenance_work_mem = '512MB'"))
        for ix in indexes:
            ix.drop(conn)
        if size is not None:
            others = size.communities - 1
            for statement in split_sql(BULK_SQL.format(others=others,
                                                       rooms=size.rooms - FOCUS_ROOMS)):
                conn.execute(text(statement))
        for statement in split_sql(RESIDENTS_SQL.format(per_room=TICKETS_PER_ROOM)):
            conn.execute(text(statement))
        for ix in indexes:
            ix.create(conn)
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE"))
    engine.dispose()


def split_sql(script: str) -> list[str]:
    return [s.strip() for s in script.split(";\n") if s.strip()]


def seed_people(env: dict) -> dict:
    """The owner (two rooms; 60 tickets, one with a long timeline) and the open
    proposal; returns what the reads need."""
    from sqlalchemy import delete, func, select, text, update

    from backend.extensions import db
    from backend.models import (Community, FundBallot, FundEligibleRoom, OutboxJob,
                                OwnerOfRecord, Room, RoomBinding, Ticket, TicketEvent, User,
                                utcnow)
    from backend.services import fund as fund_service

    app = app_for(dict(env, LOG_LEVEL="WARNING"))
    with app.app_context():
        community_id = db.session.scalar(select(Community.id).where(Community.name == FOCUS))
        # an owner of record with two rooms (the ledger's multi-room owners)
        owner_ref_id, first_room = db.session.execute(
            select(Room.owner_id, func.min(Room.id)).where(Room.community_id == community_id,
                                                           Room.owner_id.is_not(None))
            .group_by(Room.owner_id).having(func.count() >= 2).order_by(Room.owner_id).limit(1)
        ).one()
        owner = db.session.scalar(select(User).join(RoomBinding).where(
            RoomBinding.room_id == first_room))
        db.session.get(OwnerOfRecord, owner_ref_id).is_committee = True
        second_room = db.session.scalar(select(Room.id).where(
            Room.owner_id == owner_ref_id, Room.id != first_room).limit(1))
        # the second room's generated resident is the same owner: bind it to them
        db.session.execute(update(RoomBinding).where(RoomBinding.room_id == second_room)
                           .values(user_id=owner.id))
        db.session.execute(update(Ticket).where(Ticket.room_id == second_room)
                           .values(reporter_id=owner.id))
        have = db.session.scalar(select(func.count()).select_from(Ticket)
                                 .where(Ticket.reporter_id == owner.id))
        # more of the community's tickets, spread over two years, become the owner's
        step = db.session.scalar(select(func.count()).select_from(Ticket).where(
            Ticket.community_id == community_id)) // OWNER_TICKETS
        spread = list(db.session.scalars(text(
            "SELECT id FROM (SELECT id, row_number() OVER (ORDER BY id) AS n FROM ticket "
            "WHERE community_id = :c AND reporter_id <> :o) t WHERE n % :s = 0 LIMIT :k"),
            {"c": community_id, "o": owner.id, "s": step, "k": OWNER_TICKETS - have}))
        db.session.execute(update(Ticket).where(Ticket.id.in_(spread))
                           .values(reporter_id=owner.id))
        detail_id = max(spread)
        now = utcnow()
        for i, (kind, status) in enumerate([("accepted", "accepted"), ("assigned", "assigned"),
                                            ("started", "in_progress"), ("note", None),
                                            ("resolved", "resolved")]):
            db.session.add(TicketEvent(ticket_id=detail_id, at=now - timedelta(hours=5 - i),
                                       type=kind, actor_id=owner.id, to_status=status,
                                       note="已安排师傅上门" if kind == "note" else None))
        db.session.commit()
        # published (公示) the community's notice period ago, its vote starting now, as
        # the start job does: the eligibility snapshot (20,000 rooms) is taken then
        community = db.session.get(Community, community_id)
        published = now - timedelta(days=fund_service.fund_settings(community).notice_days)
        proposal = fund_service.create_proposal(owner, {
            "title": "小区大门及围墙改造", "amount_yuan": "350000.00",
            "scope": {"community": True}, "rule": "civil_code_use",
            "closes_at": now + timedelta(days=30)}, now=published)
        fund_service.open_proposal(owner, proposal.id, now=published)
        if not fund_service.start_scheduled(proposal.id, now=now):
            raise LoadFailed("the benchmark's proposal did not start voting")
        db.session.commit()
        cast_ballots(proposal.id, community_id, now)
        # no notices to 20,000 owners: the reads are measured, not the fan-out (bench.fund)
        db.session.execute(delete(OutboxJob))
        db.session.commit()
        info = {"community_id": community_id, "owner_id": owner.id,
                "owner_openid": owner.openid, "detail_id": detail_id,
                "proposal_id": proposal.id,
                "eligible_rooms": db.session.scalar(
                    select(func.count()).select_from(FundEligibleRoom)
                    .where(FundEligibleRoom.proposal_id == proposal.id)),
                "ballots": db.session.scalar(select(func.count()).select_from(FundBallot)
                                             .where(FundBallot.proposal_id == proposal.id)),
                "detail_events": db.session.scalar(select(func.count()).select_from(TicketEvent)
                                                   .where(TicketEvent.ticket_id == detail_id)),
                "owner_tickets": db.session.scalar(select(func.count()).select_from(Ticket)
                                                   .where(Ticket.reporter_id == owner.id))}
        db.session.execute(text("ANALYZE"))
        db.session.commit()
        db.session.remove()
        db.engine.dispose()
    return info


BALLOTS = 2_000  # owners who have voted so far (of about 19,600)


def cast_ballots(proposal_id: int, community_id: int, now) -> None:
    """BALLOTS owners vote through the ballot service (the hash chain as in life), a
    second apart, choices by a fixed rule (70% approve, 20% oppose, 10% abstain)."""
    from sqlalchemy import select

    from backend.extensions import db
    from backend.models import FundEligibleRoom, RoomBinding, User
    from backend.services.fund_ballots import cast_ballot

    # one voter per owner of record (an owner's rooms may be bound to several users)
    # (the user bound to the owner's first room, which the ballot service checks)
    first: dict[int, tuple[int, int]] = {}
    for key, room_id, user_id in db.session.execute(
            select(FundEligibleRoom.owner_key, FundEligibleRoom.room_id, RoomBinding.user_id)
            .join(RoomBinding, FundEligibleRoom.voted_for_by(RoomBinding))
            .where(FundEligibleRoom.proposal_id == proposal_id)
            .order_by(FundEligibleRoom.owner_key, FundEligibleRoom.room_id, RoomBinding.id)):
        first.setdefault(key, (user_id, room_id))
    voters = list(first.values())[:BALLOTS]
    for i, (user_id, room_id) in enumerate(voters):
        choice = "approve" if i % 10 < 7 else ("oppose" if i % 10 < 9 else "abstain")
        cast_ballot(db.session.get(User, user_id), proposal_id, room_id, choice,
                    now=now + timedelta(seconds=i))
        if i % 200 == 199:
            db.session.commit()
            db.session.expunge_all()
    db.session.commit()


def counts(url: str) -> dict:
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    with engine.connect() as conn:
        out = {t: conn.execute(text(f'SELECT count(*) FROM "{t}"')).scalar_one()
               for t in ("community", "room", "ticket", "ticket_event", "user", "bill")}
        out["size"] = conn.execute(text(
            "SELECT pg_size_pretty(pg_database_size(current_database()))")).scalar_one()
    engine.dispose()
    return out


# ----------------------------------------------------------------- the reads
READS = [("list", "owner's ticket list"), ("detail", "ticket detail"),
         ("queue", "desk queue (filters)"), ("ask", "bot fee answer")]


def requests_for(server, info: dict) -> dict:
    owner, desk = wx_login(*server, info["owner_openid"]), wx_login(*server, DESK_OPENID)
    return {
        "list": json_request("GET", "/api/v1/tickets", token=owner),
        "detail": json_request("GET", f"/api/v1/tickets/{info['detail_id']}", token=owner),
        "queue": json_request("GET", f"/api/v1/tickets?{QUEUE_QUERY}", token=desk),
        "ask": json_request("POST", "/api/v1/bot/ask", {"text": FEE_QUESTION}, token=owner),
    }


def check(label: str, key: str, server, request, info: dict) -> None:
    where = f"{label}: {request.method} {request.path}"
    try:
        status, body = fetch(*server, request)
    except OSError as exc:
        raise LoadFailed(f"{where}: no answer ({exc})") from exc
    if status != 200:
        raise LoadFailed(f"{where} answered {status}: {body[:500]!r}")
    data = json.loads(body)
    problem = None
    if key in ("list", "queue") and len(data.get("items", [])) != 20:
        problem = f"expected a page of 20, got {len(data.get('items', []))}"
    elif key == "queue" and any(i["status"] not in ("submitted", "accepted") or i["kind"]
                                not in ("home_repair", "common_repair") for i in data["items"]):
        problem = "the queue's filters were not applied"
    elif key == "detail" and len(data.get("events", [])) != info["detail_events"]:
        problem = f"expected {info['detail_events']} events"
    elif key == "ask" and (data.get("intent") != "fee.amount" or data.get("handoff")):
        problem = f"expected the fee answer, got {data}"
    if problem:
        raise LoadFailed(f"{where}: {problem}")


def load(envs: dict, infos: dict, size: Size) -> dict:
    """wrk on every read, small and big back to back (order swapped every round)."""
    samples: dict = {}
    with contextlib.ExitStack() as stack:
        # with Redis, as in production: without it every web worker would run the
        # periodic sweeps inline after its first response (escalating and closing
        # thousands of the generated tickets), which held the first requests up
        redis = stack.enter_context(throwaway_redis())
        servers = {db: stack.enter_context(serve(env=dict(env, REDIS_URL=f"{redis}/{n}")))
                   for n, (db, env) in enumerate(envs.items())}
        requests = {db: requests_for(servers[db], infos[db]) for db in envs}
        for db in envs:
            for key, _ in READS:
                check(db, key, servers[db], requests[db][key], infos[db])
                wrk(*servers[db], requests[db][key], 2, connections=CONNECTIONS,
                    threads=THREADS, check=False)  # warm-up, not counted
        for round_ in range(size.rounds):
            order = list(envs) if round_ % 2 == 0 else list(envs)[::-1]
            for key, _ in READS:
                for db in order:
                    samples.setdefault((db, key), []).append(wrk(
                        *servers[db], requests[db][key], size.seconds, connections=CONNECTIONS,
                        threads=THREADS, label=f"{db}/{key}"))
            print(f"round {round_ + 1} of {size.rounds} done", flush=True)
    return {name: medians(results) for name, results in samples.items()}


# ----------------------------------------------------------------- statements and plans
@contextlib.contextmanager
def captured(engine):
    """The SELECT statements (with their parameters) run on ``engine`` inside the block."""
    from sqlalchemy import event

    seen = []

    def before(conn, cursor, statement, parameters, context, executemany):
        if statement.lstrip().upper().startswith(("SELECT", "WITH")):
            seen.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", before)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", before)


def explain(env: dict, info: dict) -> dict:
    """{read: (elapsed ms, [(statement, plan lines, execution ms)])}: each read sent once
    in process (the app's test client; after a warm-up request) with the statements it
    ran captured, then each statement's EXPLAIN ANALYZE; the tally's service call too."""
    from backend.extensions import db
    from backend.models import FundProposal
    from backend.services.fund import live_counts

    app = app_for(dict(env, LOG_LEVEL="WARNING", RATELIMIT_ENABLED="false"))
    client = app.test_client()

    def token(openid: str) -> str:
        return client.post("/api/v1/auth/wx-login", json={"code": f"dev:{openid}"}).get_json()[
            "token"]

    owner, desk = token(info["owner_openid"]), token(DESK_OPENID)
    calls = {
        "list": lambda: client.get("/api/v1/tickets", headers=bearer(owner)),
        "detail": lambda: client.get(f"/api/v1/tickets/{info['detail_id']}",
                                     headers=bearer(owner)),
        "queue": lambda: client.get(f"/api/v1/tickets?{QUEUE_QUERY}", headers=bearer(desk)),
        "ask": lambda: client.post("/api/v1/bot/ask", json={"text": FEE_QUESTION},
                                   headers=bearer(owner)),
    }

    def tally():
        with app.app_context():
            live_counts(db.session.get(FundProposal, info["proposal_id"]))
            db.session.remove()

    calls["tally"] = tally
    with app.app_context():
        engine = db.engine
    out = {}
    for key, call in calls.items():
        call()  # warm (compiled statements, plans)
        with captured(engine) as seen:
            started = time.perf_counter()
            response = call()
            elapsed = (time.perf_counter() - started) * 1000
        if response is not None and response.status_code != 200:
            raise LoadFailed(f"{key}: {response.status_code} {response.get_data()[:300]!r}")
        plans = []
        with engine.connect() as conn:
            for statement, parameters in seen:
                rows = conn.exec_driver_sql("EXPLAIN (ANALYZE, BUFFERS) " + statement,
                                            parameters).scalars().all()
                ms = next((float(r.split(":")[1].split()[0]) for r in rows
                           if r.startswith("Execution Time")), float("nan"))
                plans.append((statement, rows, ms))
            conn.rollback()
        out[key] = (elapsed, plans)
        print(f"  {key}: {elapsed:.1f} ms in process, statements (ms): "
              + ", ".join(f"{ms:.2f}" for _, _, ms in plans), flush=True)
    engine.dispose()
    return out


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def time_tally(env: dict, info: dict, runs: int = 30) -> tuple[float, float]:
    from backend.extensions import db
    from backend.models import FundProposal
    from backend.services.fund import live_counts

    app = app_for(dict(env, LOG_LEVEL="WARNING"))
    with app.app_context():
        proposal = db.session.get(FundProposal, info["proposal_id"])
        counts_ = live_counts(proposal)
        # what is timed must be a real count: the whole community, the ballots cast
        if (counts_.eligible.rooms != FOCUS_ROOMS or counts_.participating.headcount
                != info["ballots"] or info["ballots"] != BALLOTS):
            raise LoadFailed(f"the tally counts {counts_.eligible.rooms} eligible rooms and "
                             f"{counts_.participating.headcount} voters; expected "
                             f"{FOCUS_ROOMS} and {BALLOTS} ({info['ballots']} ballots cast)")
        times = []
        for _ in range(runs):
            started = time.perf_counter()
            live_counts(proposal)
            times.append((time.perf_counter() - started) * 1000)
        db.session.remove()
        db.engine.dispose()
    return statistics.median(times), max(times)


def timed_import(env: dict, rooms: int) -> tuple[float, str]:
    """``flask import-ledger`` of ``rooms`` rooms into a new community (wall time)."""
    with tempfile.NamedTemporaryFile("w", suffix=".csv", encoding="utf-8", delete=False) as f:
        f.write(ledger_csv(rooms))
    try:
        started = time.perf_counter()
        result = subprocess.run(
            [sys.executable, "-m", "flask", "--app", "wsgi", "import-ledger", f.name,
             "--community", "导入小区"], cwd=ROOT, env=dict(os.environ, **env, LOG_LEVEL="WARNING"),
            capture_output=True, text=True)
        elapsed = time.perf_counter() - started
    finally:
        os.unlink(f.name)
    if result.returncode != 0:
        raise LoadFailed(f"import-ledger failed: {result.stderr[-2000:]}")
    return elapsed, (result.stdout.strip().splitlines() or [""])[0]


# ----------------------------------------------------------------- the report
def verdict(ok: bool) -> str:
    return "OK" if ok else "MISSED"


def print_report(size: Size, sizes: dict, figures: dict, plans: dict, tallies: dict,
                 imports: dict, show_plans: bool) -> None:
    print(f"\nscale benchmark: PostgreSQL; gunicorn 2 workers; wrk {THREADS} threads, "
          f"{CONNECTIONS} connections; medians of {size.rounds} round(s) × {size.seconds} s")
    for db, c in sizes.items():
        print(f"  {db:<5} {c['community']:>6,} communities {c['room']:>10,} rooms "
              f"{c['ticket']:>10,} tickets {c['ticket_event']:>10,} events {c['user']:>10,} users "
              f"{c['bill']:>10,} bills ({c['size']})")
    head = (f"{'read':<22} | {'small req/s':>11} {'p50':>6} {'p99':>6} | {'big req/s':>9} "
            f"{'p50':>6} {'p99':>6} | {'p50 big/small':>13} | target")
    print("\n" + head + "\n" + "-" * len(head))
    for key, label in READS if figures else []:
        s, b = figures[("small", key)], figures[("big", key)]
        ratio = b.p50_ms / s.p50_ms
        ok = ratio <= P50_RATIO_TARGET and b.p99_ms < P99_TARGET_MS
        print(f"{label:<22} | {s.rps:11.1f} {s.p50_ms:6.2f} {s.p99_ms:6.2f} | {b.rps:9.1f} "
              f"{b.p50_ms:6.2f} {b.p99_ms:6.2f} | {ratio:13.2f} | {verdict(ok)}")
    for db, (median, worst) in tallies.items():
        print(f"tally, 20,000-room proposal ({db}): median {median:6.2f} ms, max {worst:6.2f} ms "
              f"(live_counts, in process) → ≤ {TALLY_TARGET_MS:.0f} ms "
              f"{verdict(median <= TALLY_TARGET_MS)}")
    for db, (seconds, line) in imports.items():
        print(f"import-ledger, {IMPORT_ROOMS:,} rooms ({db}): {seconds:6.2f} s wall ({line}) → "
              f"≤ {IMPORT_TARGET_S:.0f} s {verdict(seconds <= IMPORT_TARGET_S)}")
    print("\none request in process (ms), and each statement it ran: EXPLAIN ANALYZE "
          "execution time in ms, small → big")
    for key in plans["small"]:
        (small_ms, small), (big_ms, big) = plans["small"][key], plans["big"][key]
        print(f"  {key:<7} {small_ms:6.1f} → {big_ms:6.1f}: "
              + "; ".join(f"{a[2]:.2f} → {b[2]:.2f}" for a, b in zip(small, big)))
    if show_plans:
        for key, (_, statements) in plans["big"].items():
            for i, (statement, rows, _) in enumerate(statements, 1):
                print(f"\n--- {key} statement {i} (big database)\n{statement}\n")
                print("\n".join(rows))


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        help="100,000 rooms in the big database, 1 round × 2 s")
    parser.add_argument("--plans", action="store_true", help="print EXPLAIN ANALYZE of each "
                        "statement the reads run (big database)")
    parser.add_argument("--no-load", action="store_true", help="skip wrk (plans, tally, import)")
    args = parser.parse_args(argv)
    from tests.servers import ServiceMissing, create_pg_database, throwaway_postgres

    wrk_binary()
    size = QUICK if args.quick else FULL
    try:
        with throwaway_postgres() as server:
            urls = {db: create_pg_database(server, f"scale_{db}") for db in ("small", "big")}
            envs = {db: dict(prepare_database(url), REDIS_URL="") for db, url in urls.items()}
            started = time.perf_counter()
            for db in envs:
                seed_focus(envs[db])
                generate(urls[db], size if db == "big" else None)
                print(f"{db}: generated at {time.perf_counter() - started:.0f} s", flush=True)
            infos = {db: seed_people(env) for db, env in envs.items()}
            sizes = {db: counts(url) for db, url in urls.items()}
            print(f"data ready in {time.perf_counter() - started:.0f} s; uptime: "
                  f"{os.getloadavg()[0]:.1f} load", flush=True)
            plans = {db: explain(env, infos[db]) for db, env in envs.items()}
            tallies = {db: time_tally(env, infos[db]) for db, env in envs.items()}
            print(f"tally ms (median, max): {tallies}", flush=True)
            imports = {db: timed_import(env, IMPORT_ROOMS) for db, env in envs.items()}
            print(f"import-ledger s: {imports}", flush=True)
            figures = {} if args.no_load else load(envs, infos, size)
            print_report(size, sizes, figures, plans, tallies, imports, args.plans)
    except ServiceMissing as exc:
        raise SystemExit(f"bench.scale needs PostgreSQL: {exc}") from exc
    except LoadFailed as exc:
        raise SystemExit(f"bench.scale FAILED: {exc}") from exc


if __name__ == "__main__":
    sys.exit(main())
