"""Notice board (公告) codes and their labels: the categories a notice is filed under
and where a notice came from (staff, or the system posting a fee, fund or vote change)."""
from __future__ import annotations

CATEGORY_LABELS: dict[str, str] = {
    "outage": "停水停电",
    "fee": "收费公示",
    "fund": "维修资金公示",
    "vote_result": "表决结果",
    "event": "社区活动",
    "other": "其他",
}

SOURCE_LABELS: dict[str, str] = {
    "staff": "物业发布",
    "committee": "业委会发布",
    "fee_standard": "收费标准变更（自动）",
    "fund_ledger": "维修资金收支（自动）",
    "fund_statement": "维修资金月度公示（自动）",
    "fund_result": "表决结果（自动）",
}

# What staff see of a notice's life (services/notices/staff.py ``state_of``).
STATE_LABELS: dict[str, str] = {
    "scheduled": "待发布",
    "shown": "展示中",
    "expired": "已过期",
    "withdrawn": "已撤回",
}
