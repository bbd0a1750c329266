"""Publishing and withdrawing notices. Staff (desk, manager) and committee members of
a community publish; the subscribe messages go out through the outbox at the
publish time (``notices.announce``), never inside the request."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from backend.errors import Conflict, Forbidden, NotFound, ValidationFailed
from backend.extensions import db
from backend.models import Building, Role, User, utcnow
from backend.models.notice import Notice, NoticeAttachment, NoticeBuilding
from backend.outbox import enqueue
from backend.rules.notices import CATEGORY_LABELS
from backend.services.permissions import committee_community_ids, staff_community_ids

PUBLISHER_ROLES = (Role.desk, Role.manager)
MAX_ATTACHMENTS = 9


def publisher_community_ids(user: User) -> set[int]:
    """Communities where the user may publish: desk, manager (admin counts) or committee."""
    return staff_community_ids(user, *PUBLISHER_ROLES) | committee_community_ids(user)


def manager_community_ids(user: User) -> set[int]:
    """Communities whose notices the user sees as staff (read counts, history)."""
    return staff_community_ids(user) | committee_community_ids(user)


def check_publisher(user: User, community_id: int) -> str:
    """The source a notice by this user records, or 403."""
    if community_id in staff_community_ids(user, *PUBLISHER_ROLES):
        return "staff"
    if community_id in committee_community_ids(user):
        return "committee"
    raise Forbidden("只有物业前台、项目经理或业委会委员可以发布公告", code="not_publisher")


def _building_ids(community_id: int, ids: list[int]) -> list[int]:
    wanted = sorted(set(ids))
    known = set(db.session.scalars(select(Building.id).where(
        Building.community_id == community_id, Building.id.in_(wanted)))) if wanted else set()
    unknown = [i for i in wanted if i not in known]
    if unknown:
        raise ValidationFailed("所选楼栋不属于本小区", code="unknown_building",
                               details={"fields": {"building_ids": unknown}})
    return wanted


def create_notice(community_id: int, *, title: str, body: str, category: str,
                  building_ids: list[int] | None = None, pinned: bool = False,
                  publish_at: datetime | None = None, expires_at: datetime | None = None,
                  attachment_ids: list[int] | None = None, created_by: User | None = None,
                  source: str = "staff", source_key: str | None = None,
                  announce: bool = True, now: datetime | None = None) -> Notice:
    """Record a notice and schedule its subscribe messages for its publish time
    (``announce=False``: on the board only, for notices whose news already went out
    another way or that are not urgent, as the system's own)."""
    now = now or utcnow()
    title, body = (title or "").strip(), (body or "").strip()
    problems = {}
    if not title:
        problems["title"] = ["请填写标题"]
    elif len(title) > 100:
        problems["title"] = ["标题不能超过100个字"]
    if not body:
        problems["body"] = ["请填写正文"]
    elif len(body) > 10000:
        problems["body"] = ["正文不能超过10000个字"]
    if category not in CATEGORY_LABELS:
        problems["category"] = ["请选择公告类别"]
    publish_at = publish_at or now
    if expires_at is not None and expires_at <= max(publish_at, now):
        problems["expires_at"] = ["失效时间须晚于发布时间和当前时间"]
    if problems:
        first = next(iter(problems.values()))[0]
        raise ValidationFailed(first, code="invalid_notice", details={"fields": problems})
    from backend.services.attachments import get_attachments

    attachments = get_attachments(community_id, attachment_ids or [])
    if len(attachments) > MAX_ATTACHMENTS:
        raise ValidationFailed(f"附件最多{MAX_ATTACHMENTS}个", code="too_many_files",
                               details={"fields": {"attachment_ids": [f"最多{MAX_ATTACHMENTS}个"]}})
    notice = Notice(community_id=community_id, title=title, body=body, category=category,
                    source=source, source_key=source_key, pinned=bool(pinned),
                    publish_at=publish_at, expires_at=expires_at, created_at=now,
                    created_by_id=created_by.id if created_by else None,
                    announced_at=None if announce else now)
    notice.buildings = [NoticeBuilding(building_id=b)
                        for b in _building_ids(community_id, building_ids or [])]
    notice.attachments = [NoticeAttachment(attachment_id=a.id, position=i)
                          for i, a in enumerate(attachments)]
    db.session.add(notice)
    db.session.flush()
    if announce:
        enqueue("notices.announce", notice.id, key=f"notice-announce-{notice.id}",
                run_after=publish_at)
    return notice


def get_for_publisher(user: User, notice_id: int) -> Notice:
    notice = db.session.get(Notice, notice_id)
    if notice is None or notice.community_id not in manager_community_ids(user):
        raise NotFound("找不到该公告", code="notice_not_found")
    return notice


def withdraw(user: User, notice_id: int, now: datetime | None = None) -> Notice:
    """Take a notice off the board; it stays in the staff's history."""
    notice = get_for_publisher(user, notice_id)
    check_publisher(user, notice.community_id)
    if notice.withdrawn_at is not None:
        raise Conflict("该公告已撤回", code="notice_withdrawn")
    notice.withdrawn_at = now or utcnow()
    notice.withdrawn_by_id = user.id
    db.session.flush()
    return notice


def set_pinned(user: User, notice_id: int, pinned: bool) -> Notice:
    notice = get_for_publisher(user, notice_id)
    check_publisher(user, notice.community_id)
    notice.pinned = bool(pinned)
    db.session.flush()
    return notice
