"""Fund votes with a past, for tests that must stand after a deadline or a publicity
period: drafted, opened, voted and closed through the services at chosen times (as
the demo seed does), so nothing waits days and the hash chain stays true (every
step is hashed at the time it happened)."""
from __future__ import annotations

import io
from datetime import datetime, timedelta, timezone
from decimal import Decimal

from backend.extensions import db
from backend.models import FundProposal, User


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


def user(openid: str) -> User:
    return db.session.scalar(db.select(User).filter_by(openid=openid))


def vote_at(app, *, opened: datetime, days: float = 8, rule: str = "objection",
            ballots: tuple[tuple[str, int, str], ...] = (), close: bool = False,
            final: bool = True, by: str = "openid-O-1", **fields) -> int:
    """A vote drafted and opened by committee member ``by`` at ``opened``, closing
    ``days`` later; ``ballots`` = (openid, room id, choice), cast a minute apart
    after opening; ``close``: closed at its deadline, as the job does, and (``final``)
    finalised by the committee as the query window ends. Published (公示) the
    community's notice period before ``opened``, voting starting then. The users
    must exist (sign them in with the ``owner``/``committee`` fixtures first)."""
    with app.app_context():
        opener = user(by)
        body = {"title": "1栋电梯更换", "description": "", "amount_yuan": Decimal("120000.00"),
                "scope": {"buildings": ["1"]}, "rule": rule, "community": None,
                "closes_at": opened + timedelta(days=days)}
        body.update(fields)
        from backend.services import fund as fund_service
        from backend.services.fund_ballots import cast_ballot

        published = opened - timedelta(days=notice_days(proposal_community(opener)))
        proposal = fund_service.create_proposal(opener, body, now=published)
        publish_and_start(proposal.id, opener, at=opened)
        for minute, (openid, room_id, choice) in enumerate(ballots, start=1):
            cast_ballot(user(openid), proposal.id, room_id, choice,
                        now=opened + timedelta(minutes=minute))
        if close:
            closes_at = db.session.get(FundProposal, proposal.id).closes_at
            assert fund_service.close_voting(proposal.id, now=closes_at + timedelta(seconds=1))
            if final:
                finalise_now(proposal.id, opener)
        db.session.commit()
        return proposal.id


def closing_in(app, seconds: float, *, days: float = 8, **kwargs) -> int:
    """A vote opened ``days`` ago that closes ``seconds`` from now (ballots can still
    be cast through the API until then)."""
    return vote_at(app, opened=utc_now() + timedelta(seconds=seconds) - timedelta(days=days),
                   days=days, **kwargs)


def close_at_deadline(app, proposal_id: int, *, final: bool = True,
                      by: str = "openid-O-1") -> None:
    """Close a vote as its job does once ``closes_at`` has come (however far ahead);
    ``final``: the committee member ``by`` finalises it as the query window ends."""
    from backend.services import fund as fund_service

    with app.app_context():
        closes_at = db.session.get(FundProposal, proposal_id).closes_at
        assert fund_service.close_voting(proposal_id, now=closes_at + timedelta(seconds=1))
        if final:
            finalise_now(proposal_id, user(by))
        db.session.commit()


# ------------------------------------------------------------------ decision steps
def proposal_community(opener: User):
    from backend.models import Community
    from backend.services.fund.access import managing_community_ids

    return db.session.get(Community, min(managing_community_ids(opener)))


def notice_days(community) -> int:
    from backend.services.fund.settings import fund_settings

    return fund_settings(community).notice_days


def publish_and_start(proposal_id: int, opener: User, *, at: datetime | None = None) -> None:
    """Publish a draft (公示) the community's notice period before ``at`` (default
    now) and start its vote at ``at``, as the start job does: the clock moved through
    the publicity period. The caller commits."""
    from backend.services import fund as fund_service

    at = at or utc_now()
    published = at - timedelta(days=notice_days(db.session.get(FundProposal, proposal_id).community))
    fund_service.open_proposal(opener, proposal_id, now=published)
    assert fund_service.start_scheduled(proposal_id, now=max(
        at, db.session.get(FundProposal, proposal_id).opens_at))


def finalise_now(proposal_id: int, committee_member: User) -> None:
    """Finalise a closed vote as its query window ends (no queries lodged). The
    caller commits."""
    from backend.services import fund as fund_service

    proposal = db.session.get(FundProposal, proposal_id)
    if proposal.finalised_at is None:
        fund_service.finalise(committee_member, proposal_id, now=proposal.query_ends_at)


def start_published(app, proposal_id: int, by: str = "openid-O-1", *,
                    token: str | None = None) -> None:
    """A draft published (公示) a notice period ago by ``by`` (or the holder of the
    ``Authorization`` header ``token``), its vote starting now."""
    from backend.services.auth import user_from_token

    with app.app_context():
        opener = user_from_token(token.split()[-1]) if token else user(by)
        publish_and_start(proposal_id, opener)
        db.session.commit()


# ------------------------------------------------------------------ ballots through the API
def cast_ballot(client, headers, proposal_id, room_id, choice) -> dict:
    """One online ballot through ``POST /fund-proposals/<id>/ballots``, which must be taken."""
    response = client.post(f"/api/v1/fund-proposals/{proposal_id}/ballots", headers=headers,
                           json={"room_id": room_id, "choice": choice})
    assert response.status_code == 201, response.json
    return response.json


def upload_photo(client, headers, images) -> dict:
    """One JPEG through ``POST /attachments`` (a paper ballot's photo, a 授权委托书)."""
    response = client.post("/api/v1/attachments", headers=headers, content_type="multipart/form-data",
                           data={"files": [(io.BytesIO(images.jpeg()), "ballot.jpg")]})
    assert response.status_code == 201, response.json
    return response.json["items"][0]


def grant_proxy_wang_to_zhao(app, client, owner, rooms_by_label, images, proposal) -> tuple:
    """王五 (O-3) authorises 赵六 (O-4, phone 13900000004) for his rooms, with a signed
    授权委托书; returns their headers (wang, zhao)."""
    wang, zhao = owner("O-3"), owner("O-4")
    with app.app_context():
        user("openid-O-4").phone = "13900000004"
        db.session.commit()
    document = upload_photo(client, wang, images)
    granted = client.post(f"/api/v1/fund-proposals/{proposal['id']}/proxy", headers=wang, json={
        "room_id": rooms_by_label["1-1-201"], "phone": "13900000004", "document_id": document["id"]})
    assert granted.status_code == 201, granted.json
    return wang, zhao
