"""Demo notices for ``flask seed-demo``: a pinned notice for the whole community, a
planned outage for one building, and the automatic fee standard and fund statement.
Idempotent (``source_key``); on the board only (no WeChat messages for demo data)."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from backend.extensions import db
from backend.models import Building, Community, utcnow
from backend.models.notice import Notice
from backend.services.notices.publish import create_notice
from backend.services.notices.system import post_fee_standard, post_fund_statement

DEMO_NOTICES = [
    ("demo-notice-fire-drill", "关于开展冬季消防演练的通知", "event", None, True,
     "各位业主、住户：本周六上午10:00在小区中心广场开展冬季消防演练，届时消防车将进入小区，"
     "请勿在消防通道停放车辆。演练期间会有警报声，请勿惊慌。感谢配合！"),
    ("demo-notice-water-2", "2栋二次供水水箱清洗停水通知", "outage", "2", False,
     "2栋业主、住户：因二次供水水箱年度清洗消毒，后天9:00-15:00 2栋停水，请提前储水。"
     "如有特殊困难请联系物业服务中心。"),
]


def seed_demo_notices(community: Community) -> str:
    created = 0
    now = utcnow()
    for key, title, category, building, pinned, body in DEMO_NOTICES:
        if db.session.scalar(select(Notice.id).where(Notice.source_key == key)) is not None:
            continue
        buildings = []
        if building:
            buildings = list(db.session.scalars(select(Building.id).where(
                Building.community_id == community.id, Building.name == building)))
        create_notice(community.id, title=title, body=body, category=category,
                      building_ids=buildings, pinned=pinned, source="staff", source_key=key,
                      publish_at=now - timedelta(hours=2), announce=False, now=now)
        created += 1
    for post in (post_fee_standard, post_fund_statement):
        if post(community, now) is not None:
            created += 1
    return f"notices {created}" if created else ""
