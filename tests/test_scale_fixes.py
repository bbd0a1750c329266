"""Bugs the scale benchmark found.

The ``fund.notify`` job sent any event it did not know as the result notice: it
claimed the result's notified-at flag (so the real result notice never went out)
and read a result not frozen yet (``'NoneType' object is not subscriptable``), as
happened when proposals were published before notices knew the "published" event."""
from __future__ import annotations

import pytest

from backend.extensions import db
from backend.models import FundProposal, OutboxJob
from backend.outbox import enqueue
from tests.fund_helpers import close_at_deadline


@pytest.fixture
def app(make_app):
    return make_app(WECHAT_APPID="")  # the in-app notices are what is checked


def kinds(client, headers) -> list[str]:
    return [n["kind"] for n in client.get("/api/v1/notifications", headers=headers).json["items"]]


def notify_job(app, proposal_id: int, event: str) -> OutboxJob:
    """The job recorded and committed as a service would (it runs inline after the commit)."""
    with app.app_context():
        job_id = enqueue("fund.notify", proposal_id, event).id
        db.session.commit()
    with app.app_context():
        return db.session.get(OutboxJob, job_id)


def test_a_result_notice_before_the_close_sends_nothing_and_the_real_one_still_goes(
        app, client, owner, fund_proposal):
    voter = owner("O-2")
    proposal = fund_proposal()
    job = notify_job(app, proposal["id"], "result")
    assert job.done_at is not None and not job.failed and job.last_error is None
    assert "fund_result" not in kinds(client, voter)
    close_at_deadline(app, proposal["id"])
    assert kinds(client, voter).count("fund_result") == 1


def test_an_unknown_notice_event_fails_once_and_claims_no_flag(app, client, owner, fund_proposal):
    voter = owner("O-2")
    proposal = fund_proposal()
    job = notify_job(app, proposal["id"], "publish")
    assert job.failed and "unknown fund notice event" in job.last_error
    assert job.attempts == 1  # not retried: retrying cannot help
    with app.app_context():
        assert db.session.get(FundProposal, proposal["id"]).result_notified_at is None
    close_at_deadline(app, proposal["id"])
    assert kinds(client, voter).count("fund_result") == 1
