"""HTTP load, measured by wrk, on the four endpoints owners and the desk use most
(``.venv/bin/python -m bench.http [--quick] [--no-pg] [--tree PATH ...] [--no-current]``):

1. an owner's ticket list, ``GET /api/v1/tickets`` (the owner reported 60 tickets;
   a page of 20);
2. ``POST /api/v1/bot/ask`` with a fee question, answered from the owner's bills;
3. a ticket's detail, ``GET /api/v1/tickets/{id}`` (one of the owner's, with its
   timeline of events);
4. the desk's queue, ``GET /api/v1/tickets?status=submitted,accepted`` as the desk
   (1,000 tickets in the community).

Each is served by gunicorn (2 workers, rate limits off: RATELIMIT_ENABLED=false) and
loaded by Debian's wrk (2 threads, 16 connections, 5 s a round, ``--quick`` 2 s, on
127.0.0.1) through a Lua script that sets the Authorization header and the bodies and
prints the figures as JSON; any answer outside 2xx stops the run. The hello-world
Flask app (bench/hello.py) is served the same way in the same run: the ratio is each
endpoint's req/s over hello-world's (``GET /`` for the GETs, ``POST /`` for the ask).
SQLite, then a throwaway PostgreSQL server (``--no-pg`` skips it).

Before/after: each ``--tree PATH`` is another checkout of this repository (e.g.
``git worktree add /tmp/baseline-tree <commit>``), served with its own code against
the same database, which is prepared once (migrated and seeded) with this tree's
code (with ``--no-current``, with the first tree's; the schema is the same). Rounds
interleave the trees and hello-world (per endpoint: tree A, tree B, hello; the trees'
order swapped every other round; three rounds) so that noise on a shared machine hits
all alike. Reported: medians, one column group per tree ("current" is this tree;
``--no-current`` leaves it out, e.g. while it is broken), and the change in req/s
from the first tree to each other (the median of the rounds' paired changes).
Tokens come from each served app's own dev login (``dev:<openid>``).
"""
from __future__ import annotations

import argparse
import contextlib
import json
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from bench.common import (
    ROOT,
    WRK_CONNECTIONS,
    WRK_THREADS,
    LoadFailed,
    Request,
    app_for,
    fetch,
    json_request,
    medians,
    prepare_database,
    serve,
    served_package,
    wrk,
    wrk_binary,
    wx_login,
)
from bench.tickets import insert_tickets

OWNER_OPENID = "demo-wang"  # the demo owner of two rooms, with bills (and arrears)
DESK_OPENID = "bench-desk"  # given to the demo desk account, for its dev login
COMMUNITY_TICKETS = 1_000
OWNER_TICKETS = 60
FEE_QUESTION = "我家物业费多少钱"
QUEUE_STATUSES = ("submitted", "accepted")
ROUNDS = 3


@dataclass(frozen=True)
class Tree:
    label: str
    path: Path


@dataclass(frozen=True)
class Endpoint:
    key: str
    label: str
    hello: str  # the hello-world request it is compared with: "GET" or "POST"


ENDPOINTS = [
    Endpoint("list", "owner's ticket list", "GET"),
    Endpoint("ask", "bot ask (fee question)", "POST"),
    Endpoint("detail", "ticket detail", "GET"),
    Endpoint("queue", "desk queue", "GET"),
]
HELLO = {"GET": Request("GET", "/"),
         "POST": json_request("POST", "/", {"text": FEE_QUESTION})}


# ----------------------------------------------------------------- the database
def seed(env: dict) -> dict:
    """The demo community (seed-demo: rooms, bills, staff, residents, a few tickets
    with timelines) grown to COMMUNITY_TICKETS tickets, OWNER_TICKETS of them the
    owner's; the desk account gets an openid for its dev login."""
    from sqlalchemy import func, select, text

    from backend.extensions import db
    from backend.models import Community, RoomBinding, Ticket, TicketEvent, TicketStatus, User
    from backend.seed import DEMO_COMMUNITY, seed_demo

    app = app_for(dict(env, LOG_LEVEL="WARNING"))
    with app.app_context():
        seed_demo()
        db.session.commit()
        community_id = db.session.scalar(select(Community.id).where(
            Community.name == DEMO_COMMUNITY))
        owner_id = db.session.scalar(select(User.id).where(User.openid == OWNER_OPENID))
        desk = db.session.scalar(select(User).where(User.username == "desk"))
        desk.openid = DESK_OPENID
        homes = list(db.session.scalars(select(RoomBinding.room_id).where(
            RoomBinding.user_id == owner_id).order_by(RoomBinding.room_id)))

        def count(*where) -> int:
            return db.session.scalar(select(func.count()).select_from(Ticket).where(
                Ticket.community_id == community_id, *where))

        have, mine = count(), count(Ticket.reporter_id == owner_id)
        insert_tickets(community_id, owner_id, homes, COMMUNITY_TICKETS - have,
                       OWNER_TICKETS - mine)
        db.session.commit()
        events = func.count(TicketEvent.id)
        detail_id, detail_events = db.session.execute(
            select(Ticket.id, events).join(TicketEvent, TicketEvent.ticket_id == Ticket.id)
            .where(Ticket.reporter_id == owner_id).group_by(Ticket.id)
            .order_by(events.desc(), Ticket.id).limit(1)).one()
        info = {"tickets": count(), "owner_tickets": count(Ticket.reporter_id == owner_id),
                "queue": count(Ticket.status.in_([TicketStatus(s) for s in QUEUE_STATUSES])),
                "detail_id": detail_id, "detail_events": detail_events}
        if db.engine.dialect.name == "postgresql":
            db.session.execute(text("ANALYZE"))
            db.session.commit()
        db.session.remove()
        db.engine.dispose()
    if detail_events < 3:
        raise SystemExit(f"bench.http: the owner's tickets have at most {detail_events} events")
    return info


# ----------------------------------------------------------------- requests and checks
def requests_for(server: tuple[str, int], info: dict) -> dict[str, Request]:
    """The four requests, with tokens from this server's own dev login."""
    owner, desk = wx_login(*server, OWNER_OPENID), wx_login(*server, DESK_OPENID)
    return {
        "list": json_request("GET", "/api/v1/tickets", token=owner),
        "ask": json_request("POST", "/api/v1/bot/ask", {"text": FEE_QUESTION}, token=owner),
        "detail": json_request("GET", f"/api/v1/tickets/{info['detail_id']}", token=owner),
        "queue": json_request("GET", f"/api/v1/tickets?status={','.join(QUEUE_STATUSES)}",
                              token=desk),
    }


def check(tree: Tree, key: str, server: tuple[str, int], request: Request, info: dict):
    """One request before the load: the answer must be the one we mean to measure.
    Returns the parsed body."""
    status, body = fetch(*server, request)
    where = f"{tree.label}: {request.method} {request.path}"
    if status != 200:
        raise LoadFailed(f"{where} answered {status}: {body[:800]!r}")
    data = json.loads(body)
    problem = None
    if key == "list" and len(data.get("items", [])) != 20:
        problem = f"expected a page of 20 tickets, got {len(data.get('items', []))}"
    elif key == "ask" and (not data.get("answer") or data.get("handoff")):
        problem = f"expected an answer without hand-off (no writes per request), got {data}"
    elif key == "detail" and (data.get("id") != info["detail_id"]
                              or len(data.get("events", [])) != info["detail_events"]):
        problem = f"expected ticket {info['detail_id']} with {info['detail_events']} events"
    elif key == "queue" and (len(data.get("items", [])) != 20 or any(
            item["status"] not in QUEUE_STATUSES for item in data["items"])):
        problem = "expected a page of 20 submitted or accepted tickets"
    if problem:
        raise LoadFailed(f"{where}: {problem}")
    return data


# ----------------------------------------------------------------- the run
def run(label: str, url: str | None, trees: list[Tree], prepare: Tree, seconds: int,
        rounds: int) -> None:
    env = prepare_database(url, tree=prepare.path)
    env["REDIS_URL"] = ""
    started = time.perf_counter()
    info = seed(env)
    print(f"\n== {label}: {info['tickets']:,} tickets in the community, {info['owner_tickets']} "
          f"the owner's, {info['queue']} in the desk queue; detail: ticket "
          f"{info['detail_id']} with {info['detail_events']} events (seeded in "
          f"{time.perf_counter() - started:.1f} s) ==", flush=True)
    samples: dict[tuple[str, str], list] = {}
    with contextlib.ExitStack() as stack:
        hello = stack.enter_context(serve("bench.hello:app", ready_path="/"))
        servers = {tree.label: stack.enter_context(serve(env=env, tree=tree.path))
                   for tree in trees}
        requests = {tree.label: requests_for(servers[tree.label], info) for tree in trees}
        first_answers = {}
        for tree in trees:
            for endpoint in ENDPOINTS:
                data = check(tree, endpoint.key, servers[tree.label],
                             requests[tree.label][endpoint.key], info)
                if endpoint.key == "ask":
                    print(f"{tree.label}: the fee question is answered as {data.get('intent')!r}")
                if first_answers.setdefault(endpoint.key, data) != data:
                    print(f"note: {endpoint.label}: {tree.label} answers differently from "
                          f"{trees[0].label}")
        # each endpoint on every tree back to back, then hello-world: tree A, tree B,
        # hello (B before A in every other round), so what a tree is compared with ran
        # just before or after it
        groups = [([((tree.label, endpoint.key), servers[tree.label],
                     requests[tree.label][endpoint.key]) for tree in trees],
                   (("hello", endpoint.key), hello, HELLO[endpoint.hello]))
                  for endpoint in ENDPOINTS]
        for members, hello_run in groups:  # warm-up, not counted
            for name, server, request in [*members, hello_run]:
                wrk(*server, request, 1, label="/".join(name))
        for round_ in range(1, rounds + 1):
            for members, hello_run in groups:
                order = members if round_ % 2 else members[::-1]
                for name, server, request in [*order, hello_run]:
                    samples.setdefault(name, []).append(wrk(
                        *server, request, seconds, label=f"{'/'.join(name)} (round {round_})"))
            print(f"round {round_} of {rounds} done", flush=True)
    print_table(label, trees, samples, seconds, rounds)


def print_table(label: str, trees: list[Tree], samples: dict, seconds: int,
                rounds: int) -> None:
    """One column group per tree: medians of req/s, p50 and p99, and the ratio of the
    median req/s to that of the hello-world runs beside it; then each further tree's
    change in req/s from the first (the median of the rounds' paired changes);
    hello-world's own rows (all its GET or POST runs)."""
    figures = {name: medians(results) for name, results in samples.items()}
    total = sum(r.requests for results in samples.values() for r in results)
    failed = sum(r.errors for results in samples.values() for r in results)
    first, others = trees[0], trees[1:]
    group = f"{'req/s':>9} {'p50 ms':>7} {'p99 ms':>7} {'×hello':>6}"
    names = {tree.label: f"{tree.label} vs {first.label}" for tree in others}
    widths = {tree.label: max(8, len(names[tree.label])) for tree in others}
    print(f"\n{label}: gunicorn 2 workers; wrk {WRK_THREADS} threads, {WRK_CONNECTIONS} "
          f"connections; medians of {rounds} rounds × {seconds} s")
    print(f"{'':<24}" + "".join(f" | {tree.label:<{len(group)}}" for tree in trees)
          + "".join(f" | {'Δ req/s':>{widths[tree.label]}}" for tree in others))
    header = (f"{'endpoint':<24}" + "".join(f" | {group}" for _ in trees)
              + "".join(f" | {names[tree.label]:>{widths[tree.label]}}" for tree in others))
    print(header)
    print("-" * len(header))
    for endpoint in ENDPOINTS:
        hello = figures[("hello", endpoint.key)].rps
        row = f"{endpoint.label:<24}"
        for tree in trees:
            f = figures[(tree.label, endpoint.key)]
            row += f" | {f.rps:9.1f} {f.p50_ms:7.2f} {f.p99_ms:7.2f} {f.rps / hello:6.2f}"
        for tree in others:
            change = (paired_change(samples[(first.label, endpoint.key)],
                                    samples[(tree.label, endpoint.key)]))
            row += f" | {f'{change * 100:+.1f}%':>{widths[tree.label]}}"
        print(row)
    for method in HELLO:
        f = medians([r for endpoint in ENDPOINTS if endpoint.hello == method
                     for r in samples[("hello", endpoint.key)]])
        print(f"{'hello-world ' + method + ' /':<24} | {f.rps:9.1f} {f.p50_ms:7.2f} "
              f"{f.p99_ms:7.2f}")
    print(f"non-2xx answers and socket errors: {failed} in {total} requests")
    print("req/s per round: " + "; ".join(
        f"{'/'.join(name)} " + " ".join(f"{x:.0f}" for x in f.rounds)
        for name, f in figures.items()))


def paired_change(before: list, after: list) -> float:
    """The median over rounds of after/before - 1 (each round's runs ran side by side)."""
    return statistics.median(b.rps / a.rps for a, b in zip(before, after)) - 1


# ----------------------------------------------------------------- trees
def describe(path: Path) -> str:
    """The tree's commit, and whether it has uncommitted changes."""
    try:
        commit = subprocess.run(["git", "-C", str(path), "rev-parse", "--short", "HEAD"],
                                capture_output=True, text=True, timeout=30).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(path), "status", "--porcelain",
                                "--untracked-files=no"], capture_output=True, text=True,
                               timeout=30).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "not a git checkout"
    return f"commit {commit or '?'}{' + uncommitted changes' if dirty else ''}"


def trees_from(paths: list[str], current: bool) -> list[Tree]:
    trees, seen = [], {}
    for raw in paths:
        path = Path(raw).resolve()
        if not (path / "wsgi.py").exists() or not (path / "backend").is_dir():
            raise SystemExit(f"bench.http: --tree {raw}: not a checkout of this repository "
                             f"(no wsgi.py and backend/)")
        trees.append(path)
    if current:
        trees.append(ROOT)
    if not trees:
        raise SystemExit("bench.http: nothing to serve (--no-current without --tree)")
    out = []
    for path in trees:
        label = "current" if path == ROOT else path.name
        seen[label] = seen.get(label, 0) + 1
        out.append(Tree(label if seen[label] == 1 else f"{label}#{seen[label]}", path))
    return out


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="2 s rounds instead of 5 s")
    parser.add_argument("--no-pg", action="store_true", help="skip the PostgreSQL run")
    parser.add_argument("--tree", action="append", default=[], metavar="PATH",
                        help="also serve this checkout (repeatable; the first is the 'before')")
    parser.add_argument("--no-current", action="store_true",
                        help="do not serve this tree (only the --tree ones)")
    parser.add_argument("--rounds", type=int, default=ROUNDS)
    args = parser.parse_args([] if argv is None and __name__ != "__main__" else argv)
    wrk_binary()
    trees = trees_from(args.tree, not args.no_current)
    seconds = 2 if args.quick else 5
    prepare = next((tree for tree in trees if tree.path == ROOT), trees[0])
    if prepare.path != ROOT:
        # the seeding below runs in this process: its ``backend`` is that tree's
        if "backend" in sys.modules:
            raise SystemExit("bench.http: backend was imported before choosing its tree")
        sys.path.insert(0, str(prepare.path))
    for tree in trees:
        package = Path(served_package(tree.path))
        if not package.is_relative_to(tree.path):
            raise SystemExit(f"bench.http: {tree.path} would serve backend from {package}")
        print(f"{tree.label}: {tree.path} ({describe(tree.path)}), backend from {package}")
    print(f"the database is prepared (migrated, seeded) with {prepare.label}'s code")
    try:
        run("SQLite", None, trees, prepare, seconds, args.rounds)
        if not args.no_pg:
            from tests.servers import ServiceMissing, create_pg_database, throwaway_postgres

            try:
                with throwaway_postgres() as server:
                    run("PostgreSQL", create_pg_database(server, "bench_http"), trees,
                        prepare, seconds, args.rounds)
            except ServiceMissing as exc:
                print(f"PostgreSQL skipped: {exc}")
    except LoadFailed as exc:
        raise SystemExit(f"bench.http FAILED: {exc}") from exc


if __name__ == "__main__":
    sys.exit(main())
