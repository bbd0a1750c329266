"""What a resident sees of the notice board: the notices shown now in their scope
(pinned first, newest first) with unread marks, one notice, and the read receipt
recorded when they open it (a POST: reading a list or a notice writes nothing)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import exists, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from backend.errors import NotFound
from backend.extensions import db
from backend.models import User, utcnow
from backend.models.notice import Notice, NoticeAttachment, NoticeBuilding, NoticeRead
from backend.services.notices.scope import shown_at, visible_to


@dataclass
class ShownNotice:
    notice: Notice
    read: bool


def _loaded():
    return (selectinload(Notice.buildings).joinedload(NoticeBuilding.building),
            selectinload(Notice.attachments).joinedload(NoticeAttachment.attachment))


def _read_flag(user_id: int):
    return exists().where(NoticeRead.notice_id == Notice.id,
                          NoticeRead.user_id == user_id).correlate(Notice)


def resident_notices(user: User, *, limit: int = 20, offset: int = 0,
                     category: str | None = None, now: datetime | None = None
                     ) -> tuple[list[ShownNotice], int]:
    """The notices shown to the user now, pinned first then newest, and how many of
    all of them are unread. Paged by position (``offset``): the order is not by id,
    and a board holds tens of notices, not thousands."""
    now = now or utcnow()
    conditions = [visible_to(user.id), shown_at(now)]
    if category:
        conditions.append(Notice.category == category)
    query = (select(Notice, _read_flag(user.id).label("read")).where(*conditions)
             .options(*_loaded())
             .order_by(Notice.pinned.desc(), Notice.publish_at.desc(), Notice.id.desc()))
    rows = db.session.execute(query.offset(offset).limit(limit)).all()
    unread = db.session.scalar(select(db.func.count(Notice.id)).where(
        visible_to(user.id), shown_at(now), ~_read_flag(user.id))) or 0
    return [ShownNotice(n, bool(r)) for n, r in rows], unread


def resident_notice(user: User, notice_id: int, now: datetime | None = None) -> ShownNotice:
    now = now or utcnow()
    row = db.session.execute(
        select(Notice, _read_flag(user.id).label("read"))
        .where(Notice.id == notice_id, visible_to(user.id), shown_at(now))
        .options(*_loaded())).first()
    if row is None:
        raise NotFound("找不到该公告，可能已撤回或过期", code="notice_not_found")
    return ShownNotice(row[0], bool(row[1]))


def mark_read(user: User, notice_id: int, now: datetime | None = None) -> ShownNotice:
    """Record the read receipt (the first one counts; opening again changes nothing)."""
    shown = resident_notice(user, notice_id, now)
    if not shown.read:
        try:
            with db.session.begin_nested():
                db.session.add(NoticeRead(notice_id=notice_id, user_id=user.id,
                                          read_at=now or utcnow()))
        except IntegrityError:
            pass  # a second tab recorded it first
        shown.read = True
    return shown
