"""Maintenance-fund decisions (专项维修资金), by capability:

- access.py     who may see a proposal and who may act on it
- settings.py   the community's rules in force (threshold, basis, windows, publicity)
- scope.py      the scope, the eligibility snapshot, who votes for which room
- proposals.py  drafting, opening (now or scheduled), emergency signatures
- results.py    the figures and outcome as they stand (live, due, frozen)
- closing.py    closing exactly once (the preliminary result), then finalising it
- comments.py   owners' questions (公示期) and queries (询异期), the committee's answers
- proxies.py    委托投票: an owner's authority for another user to vote
- notices.py    telling the owners in scope
- views.py      a proposal as a reader sees it now (lists and detail alike)
- queries.py    the list, and the open votes that concern a user (the bot)

Ballots and the hash-chained log are in services/fund_ballots.py, the fund's money
in services/fund_ledger.py. Services change rows and never commit: the request, the
job or the CLI command does. What callers import from ``backend.services.fund``
is re-exported here.
"""
from __future__ import annotations

from backend.services.fund.access import (  # noqa: F401
    can_manage,
    can_see,
    get_proposal,
    is_committee_of,
    lock_proposal,
    managing_community_ids,
    visible_community_ids,
)
from backend.services.fund.scope import (  # noqa: F401
    my_ballots,
    my_rooms,
    normalise_scope,
    owner_user_ids,
    scope_label,
    settings_text,
    snapshot_rows,
    take_snapshot,
    voter_keys,
)
from backend.services.fund.settings import FundSettings, fund_settings, set_fund_rule  # noqa: F401
from backend.services.fund.proposals import (  # noqa: F401
    check_window,
    create_proposal,
    open_proposal,
    sign_proposal,
    start_scheduled,
)
from backend.services.fund.results import (  # noqa: F401
    Tally,
    closing_tally,
    current_tally,
    early_close_withdraws,
    live_counts,
    owners_yet_to_vote,
    rule_settings,
)
from backend.services.fund.closing import (  # noqa: F401
    close_by_committee,
    close_voting,
    due_proposal_ids,
    finalise,
    settle_due,
)
from backend.services.fund.notices import notify_owners  # noqa: F401
from backend.services.fund.views import ProposalView, detail_of, view_of  # noqa: F401
from backend.services.fund.queries import list_proposals, open_proposals_for  # noqa: F401
# the bot thinks of the fund as one service
from backend.services.fund_ledger import FundBalance, fund_balance  # noqa: F401
