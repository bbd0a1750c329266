"""What staff and the committee see of the notice board: every notice of their
communities (withdrawn and scheduled ones too), each with how many residents in
scope have read it, and who in scope has not (name, room, phone: to call or visit)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import joinedload, selectinload

from backend.extensions import db
from backend.models import Room, User, utcnow
from backend.models.notice import Notice, NoticeAttachment, NoticeBuilding, NoticeRead
from backend.services.notices.publish import get_for_publisher, manager_community_ids
from backend.services.notices.scope import audience_bindings


def state_of(notice: Notice, now: datetime) -> str:
    """scheduled | shown | expired | withdrawn (labels in rules/notices.py)."""
    if notice.withdrawn_at is not None:
        return "withdrawn"
    if notice.publish_at > now:
        return "scheduled"
    if notice.expires_at is not None and notice.expires_at <= now:
        return "expired"
    return "shown"


@dataclass
class NoticeStats:
    notice: Notice
    audience: int
    read: int
    state: str


@dataclass
class Unread:
    user_id: int
    name: str
    phone: str | None
    room: str
    relation: str


def _audience_ids(notice: Notice) -> set[int]:
    return {u.id for u, _b, _r in db.session.execute(audience_bindings(notice)).all()}


def _read_ids(notice_id: int) -> set[int]:
    return set(db.session.scalars(select(NoticeRead.user_id).where(
        NoticeRead.notice_id == notice_id)))


def staff_notices(user: User, community_id: int | None = None, *, limit: int = 50,
                  before_id: int | None = None, now: datetime | None = None) -> list[NoticeStats]:
    now = now or utcnow()
    ids = manager_community_ids(user)
    if community_id is not None:
        ids &= {community_id}
    query = (select(Notice).where(Notice.community_id.in_(ids))
             .options(selectinload(Notice.buildings).joinedload(NoticeBuilding.building),
                      selectinload(Notice.attachments).joinedload(NoticeAttachment.attachment))
             .order_by(Notice.id.desc()).limit(limit))
    if before_id is not None:
        query = query.where(Notice.id < before_id)
    notices = list(db.session.scalars(query))
    return [stats_of(n, now) for n in notices]


def stats_of(notice: Notice, now: datetime | None = None) -> NoticeStats:
    # Read count = residents in scope now who have read it (a receipt of someone who
    # has since moved out does not count towards this building's readers).
    audience = _audience_ids(notice)
    read = len(audience & _read_ids(notice.id))
    return NoticeStats(notice, len(audience), read, state_of(notice, now or utcnow()))


def staff_notice(user: User, notice_id: int) -> NoticeStats:
    return stats_of(get_for_publisher(user, notice_id))


def unread_residents(user: User, notice_id: int) -> list[Unread]:
    """Residents in scope who have not opened the notice, a line per room."""
    notice = get_for_publisher(user, notice_id)
    read = _read_ids(notice.id)
    rows = db.session.execute(audience_bindings(notice).options(
        joinedload(Room.building), joinedload(Room.unit))).all()
    return [Unread(u.id, u.shown_name, u.phone, room.label, binding.relation.value)
            for u, binding, room in rows if u.id not in read]
