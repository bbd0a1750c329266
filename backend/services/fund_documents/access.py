"""Who may download a fund decision's documents.

- the result PDF: whoever may read the plan (owners in scope, the community's staff
  and committee: ``comments.may_read_plan``) of a proposal they may see
  (``access.get_proposal``); 404 for anyone else, as for the proposal itself
- ballot sheets and the participation workbook: the community's staff and committee
- the ballot log with choices: the committee only, as the audit log shows choices
  to the committee only (services/fund_ballots.py ``audit``)
"""
from __future__ import annotations

from backend.errors import Forbidden
from backend.models import FundProposal, FundRule, User
from backend.services.fund.access import get_proposal, is_committee_of, not_found
from backend.services.fund.comments import may_read_plan
from backend.services.permissions import committee_community_ids, staff_community_ids


def _voted(proposal: FundProposal) -> FundProposal:
    if proposal.rule == FundRule.emergency:
        # no ballots, no sheets, no log: an emergency use is signed, not voted
        from backend.errors import Conflict

        raise Conflict("应急使用不进行表决，没有表决文件", code="no_vote_for_emergency")
    return proposal


def proposal_for_result(user: User, proposal_id: int) -> FundProposal:
    proposal = get_proposal(user, proposal_id)
    if not may_read_plan(user, proposal):
        raise not_found()
    return _voted(proposal)


def proposal_for_staff(user: User, proposal_id: int) -> FundProposal:
    proposal = get_proposal(user, proposal_id)
    if proposal.community_id not in staff_community_ids(user) | committee_community_ids(user):
        raise Forbidden("只有物业工作人员或业委会委员可以下载", code="not_staff_or_committee")
    return _voted(proposal)


def proposal_for_ballot_log(user: User, proposal_id: int) -> FundProposal:
    proposal = get_proposal(user, proposal_id)
    if not is_committee_of(user, proposal):
        raise Forbidden("表决记录（含选择）只有业委会委员可以导出", code="not_committee")
    return _voted(proposal)
