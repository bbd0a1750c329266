"""Background work: the outbox, inline mode, Redis down, and a real rq worker."""
from __future__ import annotations

from backend.extensions import db
from backend.jobs.queue import relay_pending
from backend.models import Notification, OutboxJob, User
from backend.services.notifications import notify
from tests.conftest import wait_for


def _user(app) -> int:
    with app.app_context():
        user = User(openid="o-jobs", name="测试")
        db.session.add(user)
        db.session.commit()
        return user.id


def _state(app, note_id):
    with app.app_context():
        return db.session.get(Notification, note_id).wechat_state


def test_inline_jobs_run_after_commit(make_app):
    app = make_app(WECHAT_APPID="")  # no WeChat configured: the job marks it skipped
    uid = _user(app)
    with app.app_context():
        note_id = notify(uid, "ticket_status", "工单已受理").id
        db.session.commit()
    assert _state(app, note_id) == "skipped"
    with app.app_context():
        job = db.session.scalar(db.select(OutboxJob))
        assert job.done_at is not None and job.attempts == 1


def test_rolled_back_work_records_no_job(make_app):
    app = make_app(WECHAT_APPID="")
    uid = _user(app)
    with app.app_context():
        notify(uid, "ticket_status", "不会发送")
        db.session.rollback()
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count()).select_from(OutboxJob)) == 0
        assert db.session.scalar(db.select(db.func.count()).select_from(Notification)) == 0


def test_running_a_job_twice_changes_nothing_the_second_time(make_app):
    from backend.jobs.queue import run_outbox_job

    app = make_app(WECHAT_APPID="")
    uid = _user(app)
    with app.app_context():
        note_id = notify(uid, "ticket_status", "一次").id
        db.session.commit()
    with app.app_context():
        job_id = db.session.scalar(db.select(OutboxJob.id))
        assert run_outbox_job(job_id, _inline=True) == "already-done"
        assert db.session.get(OutboxJob, job_id).attempts == 1
    assert _state(app, note_id) == "skipped"


def test_work_survives_redis_down_and_runs_on_a_real_worker_when_back(
        make_app, redis_url, rq_worker):
    down = make_app(REDIS_URL="redis://127.0.0.1:1/0", WECHAT_APPID="")
    uid = _user(down)
    with down.app_context():
        note_id = notify(uid, "ticket_status", "Redis 宕机时创建").id
        db.session.commit()  # must not raise or hang: Redis is down
    with down.app_context():
        job = db.session.scalar(db.select(OutboxJob))
        assert job.enqueued_at is None and job.done_at is None
    assert _state(down, note_id) == "pending"

    rq_worker(WECHAT_APPID="")  # a real `flask worker` process; it relays on start
    wait_for(lambda: _state(down, note_id) == "skipped", timeout=30)

    def job_done():
        # the job commits its work, then its outbox row is marked done
        with down.app_context():
            return db.session.scalar(db.select(OutboxJob)).done_at is not None

    wait_for(job_done, timeout=30)


def test_jobs_committed_with_redis_up_run_on_the_worker(make_app, redis_url, rq_worker):
    app = make_app(REDIS_URL=redis_url, WECHAT_APPID="")
    rq_worker(WECHAT_APPID="")
    uid = _user(app)
    with app.app_context():
        note_id = notify(uid, "ticket_status", "正常入队").id
        db.session.commit()
    with app.app_context():
        assert db.session.scalar(db.select(OutboxJob)).enqueued_at is not None
    wait_for(lambda: _state(app, note_id) == "skipped", timeout=30)


def test_relay_pushes_each_pending_job_once(make_app, redis_url):
    from redis import Redis
    from rq import Queue

    down = make_app(REDIS_URL="redis://127.0.0.1:1/0", WECHAT_APPID="")
    uid = _user(down)
    with down.app_context():
        for i in range(3):
            notify(uid, "ticket_status", f"第{i}条")
        db.session.commit()
    up = make_app(REDIS_URL=redis_url, WECHAT_APPID="")
    with up.app_context():
        assert relay_pending() == 3
        assert relay_pending() == 0
    assert Queue("default", connection=Redis.from_url(redis_url)).count == 3


def test_flask_tick_with_redis_leaves_the_jobs_to_the_workers(make_app, redis_url):
    """`flask tick` run by hand beside the workers hands due jobs to the queue; it does
    not run them itself, where a worker could run the same job at the same time."""
    from redis import Redis
    from rq import Queue

    down = make_app(REDIS_URL="redis://127.0.0.1:1/0", WECHAT_APPID="")
    uid = _user(down)
    with down.app_context():
        note_id = notify(uid, "ticket_status", "待发送").id
        db.session.commit()
    up = make_app(REDIS_URL=redis_url, WECHAT_APPID="")
    result = up.test_cli_runner().invoke(args=["tick"])
    assert result.exit_code == 0, result.output
    assert "relayed 1 job(s)" in result.output
    assert Queue("default", connection=Redis.from_url(redis_url)).count == 1
    assert _state(up, note_id) == "pending"  # not sent by the command
