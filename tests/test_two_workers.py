"""Scheduled work runs once across several workers: two app servers (gunicorn
processes) record work, two real ``flask worker`` processes (rq workers with the
scheduler, as deployed) tick and run it, all against one Redis and one database.
Each worker schedules the periodic tick when it starts, so both may tick: each
overdue ticket is still escalated once, and each outbox job is run once."""
from __future__ import annotations

import contextlib
import http.client
import os
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest
import requests
from redis import Redis
from rq import Worker

from backend.extensions import db
from backend.models import Notification, OutboxJob, Ticket, TicketEvent, User
from tests.conftest import SECRET, wait_for
from tests.servers import free_port

ROOT = Path(__file__).resolve().parent.parent
DEADLINE = 120  # seconds, for a busy machine; on an idle one the test takes well under 20


def _environment(database_url, redis_url, tmp_path) -> dict:
    env = dict(os.environ)
    env.update({
        "DATABASE_URL": database_url, "REDIS_URL": redis_url, "SECRET_KEY": SECRET,
        "INSTANCE_DIR": str(tmp_path), "MEDIA_DIR": str(tmp_path / "media"),
        # no WeChat here: each notification's subscribe-message job marks it skipped
        "WECHAT_APPID": "", "RATELIMIT_ENABLED": "false", "LOG_LEVEL": "WARNING",
    })
    return env


@contextlib.contextmanager
def app_servers(count: int, env: dict, tmp_path: Path):
    """``count`` app servers (gunicorn, one process each), started together; yields
    their base URLs once every one answers."""
    servers = []
    try:
        for index in range(count):
            port = free_port()
            log = open(tmp_path / f"app{index}.log", "wb")
            proc = subprocess.Popen(
                [sys.executable, "-m", "gunicorn", "--workers", "1", "--bind",
                 f"127.0.0.1:{port}", "--log-level", "warning", "wsgi:app"],
                cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
            servers.append((proc, port, log))

        def answering(port):
            try:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
                conn.request("GET", "/healthz")
                return conn.getresponse().status < 500
            except OSError:
                return False

        deadline = time.monotonic() + DEADLINE
        for proc, port, log in servers:
            while not answering(port):
                assert proc.poll() is None, (tmp_path / log.name).read_text()[-2000:]
                assert time.monotonic() < deadline, "app server did not start"
                time.sleep(0.1)
        yield [f"http://127.0.0.1:{port}" for _, port, _ in servers]
    finally:
        for proc, _, log in servers:
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
            log.close()


def _report(base: str, headers: dict, where: str) -> int:
    """A resident reports a repair through one app server (multipart, as the app
    sends it)."""
    form = {"kind": (None, "common_repair"), "description": (None, f"{where}楼道灯不亮"),
            "location": (None, where)}
    response = requests.post(f"{base}/api/v1/tickets", headers=headers, files=form, timeout=30)
    assert response.status_code == 201, response.text
    return response.json()["id"]


def _overdue_tickets(app, post_ticket, headers, count: int) -> list[int]:
    """Tickets reported an hour ago and never accepted (due within 30 minutes)."""
    ids = []
    for n in range(count):
        response = post_ticket(headers, description=f"{n + 1}号楼电梯异响")
        assert response.status_code == 201, response.json
        ids.append(response.json["id"])
    hour = timedelta(hours=1)
    with app.app_context():
        for ticket in db.session.scalars(db.select(Ticket).where(Ticket.id.in_(ids))):
            ticket.created_at -= hour
            ticket.accept_due_at -= hour
            ticket.due_at -= hour
        db.session.commit()
    return ids


@pytest.mark.usefixtures("community")
def test_two_workers_on_two_app_servers_run_each_scheduled_unit_of_work_once(
        app, owner, staff, post_ticket, rq_worker, database_url, redis_url, tmp_path):
    staff("manager")  # escalations notify the community's manager
    desk = staff("desk")
    resident = owner("O-1")
    overdue = _overdue_tickets(app, post_ticket, resident, 2)
    with app.app_context():
        before = db.session.scalar(db.select(db.func.max(OutboxJob.id))) or 0

    env = _environment(database_url, redis_url, tmp_path)
    for _ in range(2):  # each schedules the tick as it starts, so both may tick
        rq_worker(WECHAT_APPID="")
    with app_servers(2, env, tmp_path) as bases:
        # a report through each server, accepted there by the desk: the resident's
        # notification job goes through Redis to either worker
        fresh = []
        for n, base in enumerate(bases, 3):
            fresh.append(_report(base, resident, f"{n}号楼"))
            accepted = requests.post(f"{base}/api/v1/tickets/{fresh[-1]}/actions", timeout=30,
                                     headers=desk, json={"action": "accept"})
            assert accepted.status_code == 200, accepted.text
        redis = Redis.from_url(redis_url)
        wait_for(lambda: len(Worker.all(connection=redis)) == 2, timeout=DEADLINE)

        def settled():
            with app.app_context():
                escalated = db.session.scalar(db.select(db.func.count()).select_from(Ticket)
                                              .where(Ticket.escalated_at.is_not(None)))
                waiting = db.session.scalar(db.select(db.func.count()).select_from(OutboxJob)
                                            .where(OutboxJob.done_at.is_(None)))
                return escalated == len(overdue) and waiting == 0

        wait_for(settled, timeout=DEADLINE)

    with app.app_context():
        manager = db.session.scalar(db.select(User).filter_by(username="manager-user"))
        for ticket_id in overdue + fresh:
            events = db.session.scalars(db.select(TicketEvent).filter_by(
                ticket_id=ticket_id, type="escalated")).all()
            assert len(events) == (1 if ticket_id in overdue else 0), ticket_id
        notes = db.session.scalars(db.select(Notification).filter_by(
            user_id=manager.id, kind="ticket_overdue")).all()
        assert sorted(n.title for n in notes) == sorted(
            f"工单超时：公共报修 #{t}" for t in overdue)
        # every job recorded since (the servers' and the escalations') ran exactly once,
        # on a worker
        jobs = db.session.scalars(db.select(OutboxJob).where(OutboxJob.id > before)).all()
        assert {j.args[0] for j in jobs if j.name == "notify.wechat"} >= {n.id for n in notes}
        assert len(jobs) > len(notes)  # the servers recorded work too
        assert all(j.attempts == 1 and j.done_at and not j.failed for j in jobs)
        sent = db.session.scalars(db.select(Notification).where(Notification.id.in_(
            [j.args[0] for j in jobs if j.name == "notify.wechat"]))).all()
        assert {n.wechat_state for n in sent} == {"skipped"}
