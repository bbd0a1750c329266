"""委托投票: an owner authorises another user of the app to vote for their rooms in
one proposal, with the signed 授权委托书 uploaded as an attachment.

- The owner names the person by the phone number of their account; one authority
  per owner and proposal at a time (a new one replaces the old).
- The owner can revoke it, or vote themselves, until the proxy has voted; once either
  has voted the owner's ballot exists and the other is refused (one ballot per owner).
- The proxy's ballot is a ``proxy`` entry of the chain naming the authority
  (services/fund_ballots.py ``cast_ballot``); the proxy sees the proposal for as long
  as the authority stands, even from another community.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from backend.errors import Conflict, Forbidden, NotFound, ValidationFailed
from backend.extensions import db
from backend.models import FundProposal, FundRule, ProposalStatus, User, utcnow
from backend.models.fund import BallotAction, FundBallot, FundProxy
from backend.services.fund.access import lock_visible


def _owner_key(user: User, proposal: FundProposal, room_id: int) -> int:
    from backend.services.fund_ballots import owner_rooms

    rooms = owner_rooms(proposal, room_id)
    if not any(rooms[0].voted_for_by(binding) for binding in user.bindings):
        raise Forbidden("只有该房屋的产权人（表决开始时登记的业主）可以委托他人投票",
                        code="not_owner_of_record")
    return rooms[0].owner_key


def _voted(proposal: FundProposal, voter_key: int) -> bool:
    return db.session.scalar(select(FundBallot.id).where(
        FundBallot.proposal_id == proposal.id, FundBallot.voter_key == voter_key,
        FundBallot.action == BallotAction.cast)) is not None


def active_proxy(proposal_id: int, voter_key: int) -> FundProxy | None:
    return db.session.scalar(select(FundProxy).where(
        FundProxy.proposal_id == proposal_id, FundProxy.voter_key == voter_key,
        FundProxy.revoked_at.is_(None)).order_by(FundProxy.id.desc()).limit(1))


def proxies_held(user: User, proposal_id: int) -> list[FundProxy]:
    """The standing authorities that let ``user`` vote for someone in this proposal."""
    return list(db.session.scalars(select(FundProxy).where(
        FundProxy.proposal_id == proposal_id, FundProxy.proxy_user_id == user.id,
        FundProxy.revoked_at.is_(None)).order_by(FundProxy.id)))


def holds_proxy(user: User, proposal_id: int) -> bool:
    return bool(proxies_held(user, proposal_id))


def grant_proxy(user: User, proposal_id: int, room_id: int, phone: str, document_id: int,
                now: datetime | None = None) -> FundProxy:
    from backend.services.attachments import get_attachments

    now = now or utcnow()
    proposal = lock_visible(user, proposal_id)
    if proposal.rule == FundRule.emergency:
        raise Conflict("应急使用无需业主投票", code="no_vote_for_emergency")
    if proposal.status != ProposalStatus.voting or not proposal.takes_ballots(now):
        raise Conflict("只能在表决期间委托投票", code="not_voting")
    voter_key = _owner_key(user, proposal, room_id)
    if _voted(proposal, voter_key):
        raise Conflict("您已投票，不能再委托他人", code="already_voted")
    phone = phone.strip()
    proxy_user = db.session.scalar(select(User).where(User.phone == phone).order_by(User.id).limit(1))
    if proxy_user is None:
        raise NotFound("找不到使用该手机号的小程序用户，请受托人先登录小程序并绑定手机号",
                       code="proxy_user_not_found")
    if proxy_user.id == user.id:
        raise ValidationFailed("不能委托自己", code="proxy_is_self",
                               details={"fields": {"phone": ["不能是您自己"]}})
    (document,) = get_attachments(proposal.community_id, [document_id])
    previous = active_proxy(proposal.id, voter_key)
    if previous is not None:
        previous.revoked_at = now
    proxy = FundProxy(proposal_id=proposal.id, voter_key=voter_key, owner_user_id=user.id,
                      proxy_user_id=proxy_user.id, document_id=document.id,
                      document_sha256=document.sha256, created_at=now)
    db.session.add(proxy)
    db.session.flush()
    return proxy


def revoke_proxy(user: User, proposal_id: int, room_id: int,
                 now: datetime | None = None) -> FundProxy:
    now = now or utcnow()
    proposal = lock_visible(user, proposal_id)
    voter_key = _owner_key(user, proposal, room_id)
    proxy = active_proxy(proposal.id, voter_key)
    if proxy is None:
        raise NotFound("没有生效的委托", code="proxy_not_found")
    if _voted(proposal, voter_key):
        raise Conflict("受托人已投票，委托不能再撤销", code="already_voted")
    proxy.revoked_at = now
    db.session.flush()
    return proxy


def my_proxy(user: User, proposal: FundProposal) -> FundProxy | None:
    """The authority the owner gave for this proposal, if it stands."""
    from backend.services.fund.scope import voter_keys

    keys = voter_keys(user, proposal.id) if proposal.genesis_hash else set()
    for key in sorted(keys):
        proxy = active_proxy(proposal.id, key)
        if proxy is not None:
            return proxy
    return None
