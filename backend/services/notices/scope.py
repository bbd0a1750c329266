"""Who a notice is for: residents with a current binding (``RoomBinding.is_current``)
in its community, or in one of its buildings when it names some. One definition for
the resident's list, the staff's read counts and the subscribe messages."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import and_, exists, or_, select

from backend.models import Room, RoomBinding, User
from backend.models.notice import Notice, NoticeBuilding


def in_scope_of_room(notice_cls=Notice):
    """A condition on (Notice, Room): the room is inside the notice's scope."""
    nb = NoticeBuilding
    return and_(
        Room.community_id == notice_cls.community_id,
        or_(~exists().where(nb.notice_id == notice_cls.id).correlate(notice_cls),
            exists().where(nb.notice_id == notice_cls.id, nb.building_id == Room.building_id)
            .correlate(notice_cls, Room)),
    )


def visible_to(user_id: int):
    """A condition on Notice: some current binding of the user is in its scope."""
    return exists().where(
        RoomBinding.user_id == user_id, RoomBinding.is_current,
        Room.id == RoomBinding.room_id, in_scope_of_room(),
    ).correlate(Notice)


def shown_at(now: datetime):
    """A condition on Notice: published, not expired, not withdrawn."""
    return and_(Notice.publish_at <= now, Notice.withdrawn_at.is_(None),
                or_(Notice.expires_at.is_(None), Notice.expires_at > now))


def audience_bindings(notice: Notice):
    """A select of (User, RoomBinding, Room) for every current binding in scope, a
    resident once per room (ordered by room)."""
    return (select(User, RoomBinding, Room)
            .join(RoomBinding, RoomBinding.user_id == User.id)
            .join(Room, Room.id == RoomBinding.room_id)
            .where(RoomBinding.is_current, User.is_active.is_(True),
                   Room.community_id == notice.community_id,
                   *([Room.building_id.in_([b.building_id for b in notice.buildings])]
                     if notice.buildings else []))
            .order_by(Room.building_id, Room.unit_id, Room.number, User.id))


def audience_user_ids(notice: Notice) -> list[int]:
    from backend.extensions import db

    query = (select(RoomBinding.user_id).join(Room, Room.id == RoomBinding.room_id)
             .join(User, User.id == RoomBinding.user_id)
             .where(RoomBinding.is_current, User.is_active.is_(True),
                    Room.community_id == notice.community_id))
    if notice.buildings:
        query = query.where(Room.building_id.in_([b.building_id for b in notice.buildings]))
    return sorted(set(db.session.scalars(query)))


def scope_label(notice: Notice) -> str:
    if not notice.buildings:
        return "全体住户"
    return "、".join(f"{b.building.name}栋" for b in notice.buildings)
