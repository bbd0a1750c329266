"""Ticket benchmarks (`.venv/bin/python -m bench.tickets [--quick] [--no-pg]`).

1. Photo pipeline: CPU time per 12-megapixel phone JPEG (EXIF orientation 6, GPS)
   for our variant job (JPEG draft mode, reducing_gap, transpose after resizing)
   against a naive ``open → exif_transpose → thumbnail`` pipeline timed in the same
   run. Target: ratio ≤ 0.5.
2. An owner's ticket list (20 items) under gunicorn (2 workers), loaded by wrk,
   against a hello-world Flask app served the same way in the same run. Target:
   ratio ≥ 0.6, and the 100,000-ticket database no worse than 0.9× the 1,000-ticket
   one; the query plans are printed to show the indexes in use. (The four main
   endpoints, before/after a change: ``python -m bench.http``.)

SQLite, then a throwaway PostgreSQL server (skipped when its binaries are missing;
``--no-pg`` skips it). ``--quick`` for shorter runs.
"""
from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import random
import statistics
import time
from datetime import timedelta

from bench.common import (
    WRK_CONNECTIONS,
    WRK_THREADS,
    Request,
    app_for,
    fetch,
    json_request,
    medians,
    prepare_database,
    round_ratios,
    serve,
    wrk,
    wrk_binary,
    wx_login,
)

OWNER_OPENID = "bench-owner"
OWNER_TICKETS = 60


# ----------------------------------------------------------------- photo pipeline
def phone_photo(size=(4032, 3024)) -> bytes:
    """A 12 MP JPEG that compresses like a photo, with orientation 6 and GPS."""
    from PIL import Image

    width, height = size
    base = Image.linear_gradient("L").resize(size).convert("RGB")
    noise = Image.effect_noise(size, 48).convert("RGB")
    image = Image.blend(base, noise, 0.45)
    exif = Image.Exif()
    exif[0x0112] = 6
    exif[0x010F] = "BenchPhone"
    exif[0x8825] = {1: "N", 2: (30.0, 15.0, 36.0), 3: "E", 4: (120.0, 9.0, 54.0)}
    out = io.BytesIO()
    image.save(out, "JPEG", quality=90, exif=exif.tobytes())
    return out.getvalue()


def naive_pipeline(data: bytes) -> tuple[bytes, bytes]:
    from PIL import Image, ImageOps

    image = Image.open(io.BytesIO(data))
    image = ImageOps.exif_transpose(image)
    image.thumbnail((1280, 1280))
    display = io.BytesIO()
    image.save(display, "JPEG", quality=82)
    image.thumbnail((320, 320))
    thumb = io.BytesIO()
    image.save(thumb, "JPEG", quality=78)
    return display.getvalue(), thumb.getvalue()


def our_pipeline(data: bytes):
    from backend.services.photos import render_variants

    return render_variants(data, display_px=1280, thumb_px=320, max_pixels=40_000_000)


def our_request_check(data: bytes):
    from backend.services.photos import check_image

    return check_image(data, 40_000_000)


def cpu_per_call(func, data, rounds: int) -> list[float]:
    times = []
    for _ in range(rounds):
        started = time.process_time()
        func(data)
        times.append(time.process_time() - started)
    return times


def bench_photos(rounds: int) -> None:
    print("== photo pipeline: 12 MP JPEG (4032x3024, EXIF orientation 6, GPS) ==")
    data = phone_photo()
    print(f"input: {len(data) / 1e6:.1f} MB")
    ours_out = our_pipeline(data)
    naive_out = naive_pipeline(data)
    print(f"our variants: display {ours_out[0].width}x{ours_out[0].height} "
          f"({len(ours_out[0].data) // 1024} KB), thumb {ours_out[1].width}x{ours_out[1].height}")
    print(f"naive variants: display {len(naive_out[0]) // 1024} KB")
    naive, ours, check = [], [], []
    for _ in range(rounds):  # interleaved, so drift affects both alike
        naive += cpu_per_call(naive_pipeline, data, 1)
        ours += cpu_per_call(our_pipeline, data, 1)
        check += cpu_per_call(our_request_check, data, 1)
    n, o, c = statistics.median(naive), statistics.median(ours), statistics.median(check)
    print(f"naive open→exif_transpose→thumbnail: {n * 1000:7.1f} ms CPU per photo (median of {rounds})")
    print(f"ours (draft + reducing_gap):         {o * 1000:7.1f} ms CPU per photo")
    print(f"  ratio ours/naive = {o / n:.2f} (target ≤ 0.5)")
    print(f"request-time check (draft 1/8 full decode): {c * 1000:.1f} ms CPU per photo")
    print()


# ----------------------------------------------------------------- list under gunicorn
def insert_tickets(community_id: int, owner_id: int, home_ids: list[int], total: int,
                   mine: int, seed: int = 7) -> None:
    """``total`` tickets in the community, ``mine`` of them reported by the owner in
    their rooms (``home_ids``); the rest by 200 other residents in the other rooms,
    one every 7 minutes up to now. As in a running community, old tickets are finished
    (the periodic escalation and auto-close have nothing left to do) and recent ones
    are in every state. Also used by bench.http."""
    from sqlalchemy import insert, select

    from backend.extensions import db
    from backend.models import Room, Ticket, User, utcnow

    rooms = [room_id for room_id in db.session.scalars(
        select(Room.id).where(Room.community_id == community_id).order_by(Room.id))
        if room_id not in home_ids]
    others = db.session.scalars(insert(User).returning(User.id), [
        {"openid": f"bench-reporter-{community_id}-{i}", "name": f"住户{i}"}
        for i in range(200)]).all()
    rng = random.Random(seed)
    now = utcnow()
    kinds = ["home_repair", "common_repair", "complaint", "suggestion", "inquiry"]
    recent = ["submitted", "accepted", "assigned", "in_progress", "resolved", "closed"]
    old = ["closed", "closed", "closed", "closed", "cancelled", "rejected"]
    owner_slots = set(rng.sample(range(total), mine))
    batch = []
    for i in range(total):
        created = now - timedelta(minutes=(total - i) * 7)
        if i in owner_slots:
            reporter, room = owner_id, home_ids[rng.randrange(len(home_ids))]
        else:
            reporter, room = others[rng.randrange(len(others))], rooms[rng.randrange(len(rooms))]
        kind = kinds[rng.randrange(len(kinds))]
        fresh = now - created < timedelta(days=2)
        status = (recent if fresh else old)[rng.randrange(6)]
        accept_due, due = created + timedelta(minutes=30), created + timedelta(hours=24)
        row = {
            "community_id": community_id, "reporter_id": reporter, "room_id": room,
            "kind": kind, "status": status, "urgent": rng.random() < 0.1,
            "description": f"第{i}号工单：楼道灯不亮，请尽快处理", "location": "1栋1单元",
            "created_at": created, "updated_at": created, "accept_due_at": accept_due,
            "due_at": due, "needs_follow_up": False,
            "escalated_at": created + timedelta(minutes=31)
            if status in ("submitted", "accepted", "assigned", "in_progress")
            and now > accept_due else None,
            "accepted_at": None, "resolved_at": None, "rating": None, "rated_at": None,
            "closed_at": None,
        }
        if status in ("resolved", "closed"):
            row["accepted_at"] = created + timedelta(minutes=10)
            row["resolved_at"] = created + timedelta(hours=3)
        if status == "closed":
            row.update(rating=5, rated_at=created + timedelta(hours=4),
                       closed_at=created + timedelta(hours=4))
        batch.append(row)
        if len(batch) == 5000:
            db.session.execute(insert(Ticket), batch)
            batch = []
    if batch:
        db.session.execute(insert(Ticket), batch)


def seed(env: dict, total: int) -> dict:
    """A community with ~100 rooms and ``total`` tickets; the bench owner (a tenant of
    one room) reported OWNER_TICKETS of them. Returns the list's query plan."""
    from sqlalchemy import select

    from backend.extensions import db
    from backend.models import Role, Room, RoomBinding, User
    from backend.seed import demo_ledger_csv
    from backend.services.community import get_or_create_community
    from backend.services.ledger import import_ledger

    app = app_for(env)
    with app.app_context():
        community, _ = get_or_create_community("基准小区")
        import_ledger(community, demo_ledger_csv())
        db.session.flush()
        home = db.session.scalar(select(Room.id).where(Room.community_id == community.id)
                                 .order_by(Room.id).limit(1))
        owner = User(openid=OWNER_OPENID, name="基准业主")
        db.session.add(owner)
        db.session.flush()
        db.session.add(RoomBinding(user_id=owner.id, room_id=home, relation=Role.tenant))
        insert_tickets(community.id, owner.id, [home], total, OWNER_TICKETS)
        db.session.commit()
        plans = query_plans(owner)
        db.session.remove()
        db.engine.dispose()
    return {"plans": plans}


def query_plans(owner) -> list[str]:
    """EXPLAIN for the list statement the endpoint runs (SQLite or PostgreSQL)."""
    from sqlalchemy import text

    from backend.extensions import db
    from backend.services import tickets as ticket_service

    if hasattr(ticket_service, "list_query"):  # a Select
        statement = ticket_service.list_query(owner, limit=20)
    elif hasattr(ticket_service, "list_statement"):  # (statement, parameters), before
        statement, params = ticket_service.list_statement(owner, limit=20)
        statement = statement.params(**params)
    else:
        return ["(not shown: backend.services.tickets has neither list_query nor "
                "list_statement)"]
    dialect = db.engine.dialect
    sql = str(statement.compile(dialect=dialect, compile_kwargs={"literal_binds": True}))
    if dialect.name == "postgresql":
        db.session.execute(text("ANALYZE"))
        prefix = "EXPLAIN (ANALYZE, COSTS OFF) "
    else:
        prefix = "EXPLAIN QUERY PLAN "
    rows = db.session.execute(text(prefix + sql)).all()
    return [" | ".join(str(c) for c in row) for row in rows]


def check_list(host: str, port: int, token: str) -> None:
    status, body = fetch(host, port, json_request("GET", "/api/v1/tickets?limit=20", token=token))
    assert status == 200, body[:500]
    assert len(json.loads(body)["items"]) == 20


def bench_list(label: str, database_url_for, sizes: list[int], seconds: int,
               rounds: int = 3) -> None:
    """Servers for the baseline and each database size run side by side; rounds
    alternate between them so that drift on a shared machine affects all alike. Load
    from wrk (bench.common.wrk: 2 threads, 16 connections)."""
    print(f"== owner's ticket list (20 items), gunicorn 2 workers, wrk {WRK_THREADS} threads "
          f"{WRK_CONNECTIONS} connections, {label} ==")
    envs = {}
    for size in sizes:
        env = prepare_database(database_url_for(size))
        env["REDIS_URL"] = ""
        started = time.perf_counter()
        info = seed(env, size)
        envs[size] = env
        print(f"seeded {size} tickets in {time.perf_counter() - started:.1f}s; list query plan:")
        for line in info["plans"]:
            print("    " + line)
    samples: dict[str, list] = {}
    with contextlib.ExitStack() as stack:
        hello = stack.enter_context(serve("bench.hello:app", ready_path="/"))
        servers = {size: stack.enter_context(serve(env=envs[size])) for size in sizes}
        tokens = {size: wx_login(*servers[size], OWNER_OPENID) for size in sizes}
        for size in sizes:
            check_list(*servers[size], tokens[size])
        targets = [("hello", hello, Request("GET", "/"))]
        targets += [(f"list {size}", servers[size],
                     json_request("GET", "/api/v1/tickets?limit=20", token=tokens[size]))
                    for size in sizes]
        targets.append((f"me {sizes[0]}", servers[sizes[0]],
                        json_request("GET", "/api/v1/me", token=tokens[sizes[0]])))
        for _, server, request in targets:  # warm-up, not counted
            wrk(*server, request, 1)
        for _ in range(rounds):
            for name, server, request in targets:
                samples.setdefault(name, []).append(wrk(*server, request, seconds, label=name))
    best = {}
    for name, results in samples.items():
        figures = medians(results)
        best[name] = figures.rps
        print(f"{name:<12} median {figures.rps:8.1f} req/s over {len(results)} rounds "
              f"({', '.join(f'{x:.0f}' for x in figures.rounds)}); p50 {figures.p50_ms:.2f} ms, "
              f"p99 {figures.p99_ms:.2f} ms (medians), non-2xx 0")
    for size in sizes:
        print(f"  ratio list({size}) / hello = {best[f'list {size}'] / best['hello']:.2f} "
              f"(target ≥ 0.6); rounds {round_ratios(samples[f'list {size}'], samples['hello'])}")
    print(f"  for reference: GET /api/v1/me (the foundation's simplest signed-in endpoint) / "
          f"hello = {best[f'me {sizes[0]}'] / best['hello']:.2f}")
    if len(sizes) == 2:
        small, big = sizes
        print(f"  ratio list({big}) / list({small}) = "
              f"{best[f'list {big}'] / best[f'list {small}']:.2f} (target ≥ 0.9); "
              f"rounds {round_ratios(samples[f'list {big}'], samples[f'list {small}'])}")
    print("  (the four main endpoints before/after a change, with trees side by side: "
          "python -m bench.http)")
    print()


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-pg", action="store_true", help="skip the PostgreSQL run")
    parser.add_argument("--quick", action="store_true", help="shorter runs")
    parser.add_argument("--skip-photos", action="store_true")
    parser.add_argument("--skip-list", action="store_true")
    parser.add_argument("--rounds", type=int, default=5,
                        help="rounds of the list benchmark (medians are reported)")
    args = parser.parse_args([] if argv is None and __name__ != "__main__" else argv)
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    wrk_binary()
    seconds = 2 if args.quick else 4
    if not args.skip_photos:
        bench_photos(rounds=3 if args.quick else 7)
    if not args.skip_list:
        bench_list("SQLite", lambda size: None, [1_000, 100_000], seconds, args.rounds)
        if not args.no_pg:
            bench_postgres(seconds, args.rounds)


def bench_postgres(seconds: int, rounds: int) -> None:
    from tests.servers import ServiceMissing, create_pg_database, throwaway_postgres

    try:
        with throwaway_postgres() as server:
            bench_list("PostgreSQL", lambda size: create_pg_database(server, f"bench_tickets_{size}"),
                       [1_000, 100_000], seconds, rounds)
    except ServiceMissing as exc:
        print(f"PostgreSQL skipped: {exc}")


if __name__ == "__main__":
    main()
