"""Demo data for maintenance-fund decisions (``flask seed-demo``): one open proposal
in 阳光花园 (replacing the lifts of building 1, objection rule, closing in 10 days)
and the fund's ledger. Idempotent: a second run changes nothing."""
from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from sqlalchemy import select

from backend.extensions import db
from backend.models import Community, FundProposal, User, utcnow
from backend.services import fund as fund_service
from backend.services.fund_ledger import import_fund_ledger

DEMO_TITLE = "1栋电梯整体更换"
DEMO_LEDGER = """ref,date,building,direction,amount_yuan,description
WX-2019-001,2019-06-30,1,in,1245600.00,首期维修资金归集（1栋）
WX-2019-002,2019-06-30,2,in,1198300.00,首期维修资金归集（2栋）
WX-2019-003,2019-06-30,3,in,356800.00,首期维修资金归集（3栋）
WX-2019-004,2019-06-30,商业,in,93900.00,首期维修资金归集（商业）
WX-2023-101,2023-12-31,,in,21563.18,2023年度维修资金利息
WX-2024-017,2024-08-15,2,out,36500.00,2栋生活水泵更换（应急使用）
WX-2024-101,2024-12-31,,in,22104.76,2024年度维修资金利息
WX-2025-023,2025-04-20,3,out,58200.00,3栋屋面防水维修（表决通过）
"""


def seed_demo_fund(community: Community) -> str:
    result = import_fund_ledger(community, DEMO_LEDGER)
    summary = f"fund ledger entries {result.created}" if result.created else ""
    exists = db.session.scalar(select(FundProposal.id).where(
        FundProposal.community_id == community.id, FundProposal.title == DEMO_TITLE))
    if exists is not None:
        return summary
    proposer = db.session.scalar(select(User).where(User.openid == "demo-zhang"))
    if proposer is None:
        return summary
    now = utcnow()
    proposal = fund_service.create_proposal(proposer, {
        "community": community.name,
        "title": DEMO_TITLE,
        "description": ("1栋两部电梯已运行18年，年检多次提出整改意见。拟整体更换为同品牌新型号电梯，"
                        "费用由1栋全体业主按专有部分面积分摊，从1栋维修资金账户列支。"
                        "报价单和施工方案可在物业服务中心查阅。"),
        "amount_yuan": Decimal("860000.00"),
        "scope": {"buildings": ["1"]},
        "rule": "objection",
        "closes_at": now + timedelta(days=10),
    }, now=now)
    fund_service.open_proposal(proposer, proposal.id, now=now)
    return ", ".join(s for s in (summary, "open fund proposal 1") if s)
