"""Fund voting at scale, on SQLite and PostgreSQL:

1. a community of 20,000 rooms (the ledger benchmark's file: multi-room owners, unsold
   rooms) with a whole-community proposal open: the live tally (one aggregate query)
   must take ≤ 50 ms, before and after the ballots;
2. 5,000 owners cast their ballots through the HTTP API under gunicorn (2 workers) from
   concurrent keep-alive clients, with 1,000 of them tapping twice at the same time:
   every ballot is stored exactly once (5,000 × 201, 1,000 × 409, 5,000 rows, the
   hash chain verifies); throughput is compared with a hello-world app served the same
   way in the same run.

Run: .venv/bin/python -m bench.fund
"""
from __future__ import annotations

import random
import shutil
import statistics
import time
from datetime import timedelta

from sqlalchemy import delete, func, insert, select, update

from bench.common import app_for, gunicorn_server, http_load, json_request, prepare_database
from bench.ledger import ledger_csv
from tests.servers import ServiceMissing, create_pg_database, throwaway_postgres

ROOMS = 20_000
VOTERS = 5_000
DOUBLE_TAPS = 1_000
CONCURRENCY = 8
TALLY_TARGET_MS = 50.0
TALLY_RUNS = 30


def setup(env: dict) -> dict:
    """Ledger, committee member, an open whole-community proposal, 5,000 bound owners
    with tokens. Returns what the load needs."""
    from backend.extensions import db
    from backend.models import (FundProposal, OutboxJob, OwnerOfRecord, Role, Room, RoomBinding,
                                User, utcnow)
    from backend.services import fund as fund_service
    from backend.services.auth import issue_token
    from backend.services.community import get_or_create_community
    from backend.services.ledger import import_ledger

    app = app_for(env)
    with app.app_context():
        community, _ = get_or_create_community("基准小区")
        started = time.perf_counter()
        import_ledger(community, ledger_csv(ROOMS))
        db.session.commit()
        ledger_s = time.perf_counter() - started
        owners = db.session.execute(
            select(OwnerOfRecord.id, func.min(Room.id))
            .join(Room, Room.owner_id == OwnerOfRecord.id)
            .where(OwnerOfRecord.community_id == community.id)
            .group_by(OwnerOfRecord.id).order_by(OwnerOfRecord.id)
        ).all()
        chair_owner, chair_room = owners[0]
        db.session.get(OwnerOfRecord, chair_owner).is_committee = True
        chair = User(openid="bench-chair", name="主任")
        db.session.add(chair)
        db.session.flush()
        db.session.add(RoomBinding(user_id=chair.id, room_id=chair_room, relation=Role.owner,
                                   owner_id=chair_owner))
        db.session.commit()
        now = utcnow()
        proposal = fund_service.create_proposal(chair, {
            "title": "小区大门及围墙改造", "amount_yuan": "350000.00", "scope": {"community": True},
            "rule": "civil_code_use", "closes_at": now + timedelta(days=3)}, now=now)
        fund_service.open_proposal(chair, proposal.id, now=now)
        db.session.commit()
        proposal_id = proposal.id
    # (leaving the context runs the "voting opened" notice: the chair only, so far)
    with app.app_context():
        voters = owners[1:VOTERS + 1]
        user_ids = db.session.scalars(insert(User).returning(User.id), [
            {"openid": f"bench-voter-{oid}", "name": f"业主{oid}", "token_version": 1,
             "is_active": True, "created_at": now} for oid, _ in voters]).all()
        db.session.execute(insert(RoomBinding), [
            {"user_id": uid, "room_id": room_id, "relation": Role.owner, "owner_id": oid,
             "created_at": now} for uid, (oid, room_id) in zip(user_ids, voters)])
        db.session.commit()
        users = db.session.scalars(select(User).where(User.id.in_(user_ids)).order_by(User.id)).all()
        tokens = [issue_token(u) for u in users]
        rooms = [room_id for _, room_id in voters]
        # the notice fan-out job once everyone is bound (what owners get when voting opens)
        db.session.execute(update(FundProposal).where(FundProposal.id == proposal_id)
                           .values(open_notified_at=None))
        db.session.commit()
        started = time.perf_counter()
        notified = fund_service.notify_owners(proposal_id, "opened")
        db.session.commit()
        notify_s = time.perf_counter() - started
        db.session.execute(delete(OutboxJob).where(OutboxJob.name == "notify.wechat",
                                                   OutboxJob.done_at.is_(None)))  # no WeChat here
        db.session.commit()
        db.session.remove()
        db.engine.dispose()
    return {"app": app, "proposal_id": proposal_id, "tokens": tokens, "rooms": rooms,
            "ledger_s": ledger_s, "notify_s": notify_s, "notified": notified}


def time_tally(app, proposal_id: int) -> tuple[float, float, object]:
    """Median and worst of TALLY_RUNS live tallies (the one aggregate query), in ms."""
    from backend.extensions import db
    from backend.models import FundProposal
    from backend.services import fund as fund_service

    with app.app_context():
        proposal = db.session.get(FundProposal, proposal_id)
        fund_service.live_counts(proposal)  # warm the cache and the plan
        times = []
        for _ in range(TALLY_RUNS):
            started = time.perf_counter()
            counts = fund_service.live_counts(proposal)
            times.append((time.perf_counter() - started) * 1000)
        db.session.remove()
    return statistics.median(times), max(times), counts


def run(label: str, env: dict) -> None:
    data = setup(env)
    app, proposal_id = data["app"], data["proposal_id"]
    print(f"{label}: {ROOMS} rooms imported in {data['ledger_s']:.1f} s; proposal {proposal_id} open "
          f"to the whole community; {VOTERS} owners bound")
    print(f"{label}: voting-opened notice to {data['notified']} owners (in-app + WeChat jobs "
          f"recorded) in {data['notify_s']:.1f} s (a background job)")
    median, worst, counts = time_tally(app, proposal_id)
    print(f"{label}: tally before ballots  median {median:6.2f} ms  max {worst:6.2f} ms  "
          f"(eligible {counts.eligible.rooms} rooms, {counts.eligible.area} m², "
          f"{counts.eligible.headcount} people)")

    choices = ["approve", "approve", "oppose", "abstain"]
    rng = random.Random(4)
    requests = [json_request("POST", f"/api/v1/fund-proposals/{proposal_id}/ballots",
                             {"room_id": room, "choice": choices[i % 4]}, token)
                for i, (token, room) in enumerate(zip(data["tokens"], data["rooms"]))]
    requests += rng.sample(requests, DOUBLE_TAPS)  # the same ballot sent twice at once
    rng.shuffle(requests)
    with gunicorn_server("bench.hello:app", env=env, workers=2) as (host, port):
        baseline = http_load(host, port, [json_request("POST", "/", {"hello": "world"})],
                             concurrency=CONCURRENCY, duration=5.0)
    with gunicorn_server("wsgi:app", env={**env, "WECHAT_APPID": ""}, workers=2) as (host, port):
        result = http_load(host, port, requests, concurrency=CONCURRENCY, warmup=0)
    print(baseline.line(f"{label}: baseline hello-world POST"))
    print(result.line(f"{label}: ballots through the API"))

    from backend.extensions import db
    from backend.models import FundBallot, FundBallotRoom
    from backend.services.fund_ballots import verify

    with app.app_context():
        stored = db.session.scalar(select(func.count()).select_from(FundBallot).where(
            FundBallot.proposal_id == proposal_id))
        voters = db.session.scalar(select(func.count(func.distinct(FundBallot.voter_key))).where(
            FundBallot.proposal_id == proposal_id))
        covered = db.session.scalar(select(func.count()).select_from(FundBallotRoom).where(
            FundBallotRoom.proposal_id == proposal_id))
        started = time.perf_counter()
        report = verify(proposal_id)
        verify_ms = (time.perf_counter() - started) * 1000
        db.session.remove()
    ok_201, dup_409 = result.statuses.get(201, 0), result.statuses.get(409, 0)
    lost = VOTERS - stored
    correct = (ok_201 == VOTERS and dup_409 == DOUBLE_TAPS and stored == VOTERS
               and voters == VOTERS and report.ok and result.errors == 0)
    print(f"{label}: {ok_201} × 201, {dup_409} × 409 (double taps), {stored} ballots stored by "
          f"{voters} owners covering {covered} rooms; lost {lost}, duplicated {stored - voters}; "
          f"hash chain {'verifies' if report.ok else 'BROKEN'} ({verify_ms:.0f} ms) → "
          f"{'OK' if correct else 'WRONG'}")
    ratio = result.rps / baseline.rps if baseline.rps else float("nan")
    print(f"{label}: ballot throughput {result.rps:.1f} req/s vs baseline {baseline.rps:.1f} req/s "
          f"→ ratio {ratio:.2f}")
    median, worst, counts = time_tally(app, proposal_id)
    print(f"{label}: tally after ballots   median {median:6.2f} ms  max {worst:6.2f} ms  "
          f"(participating {counts.participating.rooms} rooms, {counts.participating.headcount} people) "
          f"target ≤ {TALLY_TARGET_MS:.0f} ms: {'OK' if median <= TALLY_TARGET_MS else 'MISSED'}")


def run_and_clean(label: str, env: dict) -> None:
    try:
        run(label, env)
    finally:
        shutil.rmtree(env["INSTANCE_DIR"], ignore_errors=True)


def main() -> None:
    print(f"fund benchmark: {ROOMS} rooms, {VOTERS} ballots (+{DOUBLE_TAPS} double taps), "
          f"{CONCURRENCY} concurrent clients, gunicorn 2 workers")
    run_and_clean("SQLite", prepare_database())
    try:
        with throwaway_postgres() as server:
            run_and_clean("PostgreSQL", prepare_database(create_pg_database(server, "bench_fund")))
    except ServiceMissing as exc:
        print(f"PostgreSQL skipped: {exc}")


if __name__ == "__main__":
    main()
