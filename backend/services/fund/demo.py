"""Demo decisions with a past (backend/seed.py): a draft published the community's
notice period before ``at`` and its vote started at ``at``, as the start job does,
and a closed vote finalised as its query window ended."""
from __future__ import annotations

from datetime import datetime, timedelta

from backend.extensions import db
from backend.models import FundProposal, User
from backend.services.fund.closing import finalise
from backend.services.fund.proposals import open_proposal, start_scheduled
from backend.services.fund.settings import fund_settings


def publish_and_start(opener: User, proposal_id: int, *, at: datetime) -> None:
    proposal = db.session.get(FundProposal, proposal_id)
    published = at - timedelta(days=fund_settings(proposal.community).notice_days)
    open_proposal(opener, proposal_id, now=published)
    start_scheduled(proposal_id, now=max(at, proposal.opens_at))


def finalise_at_query_end(committee_member: User, proposal_id: int) -> None:
    proposal = db.session.get(FundProposal, proposal_id)
    if proposal.finalised_at is None:
        finalise(committee_member, proposal_id, now=proposal.query_ends_at)
