"""Fund votes with a past, for tests that must stand after a deadline or a publicity
period: drafted, opened, voted and closed through the services at chosen times (as
the demo seed does), so nothing waits days and the hash chain stays true (every
step is hashed at the time it happened)."""
from __future__ import annotations

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
            by: str = "openid-O-1", **fields) -> int:
    """A vote drafted and opened by committee member ``by`` at ``opened``, closing
    ``days`` later; ``ballots`` = (openid, room id, choice), cast a minute apart
    after opening; ``close``: closed at its deadline, as the job does. The users
    must exist (sign them in with the ``owner``/``committee`` fixtures first)."""
    with app.app_context():
        opener = user(by)
        body = {"title": "1栋电梯更换", "description": "", "amount_yuan": Decimal("120000.00"),
                "scope": {"buildings": ["1"]}, "rule": rule, "community": None,
                "closes_at": opened + timedelta(days=days)}
        body.update(fields)
        from backend.services import fund as fund_service
        from backend.services.fund_ballots import cast_ballot

        proposal = fund_service.create_proposal(opener, body, now=opened)
        fund_service.open_proposal(opener, proposal.id, now=opened)
        for minute, (openid, room_id, choice) in enumerate(ballots, start=1):
            cast_ballot(user(openid), proposal.id, room_id, choice,
                        now=opened + timedelta(minutes=minute))
        if close:
            closes_at = db.session.get(FundProposal, proposal.id).closes_at
            assert fund_service.close_voting(proposal.id, now=closes_at + timedelta(seconds=1))
        db.session.commit()
        return proposal.id


def closing_in(app, seconds: float, *, days: float = 8, **kwargs) -> int:
    """A vote opened ``days`` ago that closes ``seconds`` from now (ballots can still
    be cast through the API until then)."""
    return vote_at(app, opened=utc_now() + timedelta(seconds=seconds) - timedelta(days=days),
                   days=days, **kwargs)


def close_at_deadline(app, proposal_id: int) -> None:
    """Close a vote as its job does once ``closes_at`` has come (however far ahead)."""
    from backend.services import fund as fund_service

    with app.app_context():
        closes_at = db.session.get(FundProposal, proposal_id).closes_at
        assert fund_service.close_voting(proposal_id, now=closes_at + timedelta(seconds=1))
        db.session.commit()
