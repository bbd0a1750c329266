"""The notice board (公告). Residents: ``/api/v1/notices`` (what is shown to them now,
unread marks, the read receipt by POST). Staff (desk, manager) and the committee:
``/api/v1/desk/notices`` (publish, withdraw, pin, read counts and who has not read)."""
from __future__ import annotations

from marshmallow import Schema, fields, validate

from backend.auth import current_user
from backend.errors import NotFound, ValidationFailed
from backend.extensions import db
from backend.models import Building
from backend.models.attachment import Attachment
from backend.routes.common import (
    AttachmentOut,
    Blueprint,
    LocalDateTime,
    RowId,
    decode_cursor,
    encode_cursor,
)
from backend.routes.labels import Label
from backend.rules.labels import ROLE_LABELS
from backend.rules.notices import CATEGORY_LABELS, SOURCE_LABELS, STATE_LABELS
from backend.services.attachments import attachment_response
from backend.services.notices import publish, reading, staff
from backend.services.notices.scope import scope_label

blp = Blueprint("notices", __name__, url_prefix="/api/v1", description="公告")

class NoticeBuildingOut(Schema):
    id = fields.Integer(required=True, attribute="building_id")
    name = fields.Function(lambda b: f"{b.building.name}栋", required=True)


class NoticeOut(Schema):
    id = fields.Integer(required=True)
    community_id = fields.Integer(required=True)
    title = fields.String(required=True)
    body = fields.String(required=True)
    category = fields.String(required=True)
    category_label = Label(CATEGORY_LABELS, "category", required=True)
    source = fields.String(required=True)
    source_label = Label(SOURCE_LABELS, "source", required=True)
    pinned = fields.Boolean(required=True)
    publish_at = LocalDateTime(required=True)
    expires_at = LocalDateTime(allow_none=True, required=True)
    scope_label = fields.Function(scope_label, required=True)
    buildings = fields.List(fields.Nested(NoticeBuildingOut), required=True)
    attachments = fields.Method("_attachments", required=True)

    def _attachments(self, notice):
        return [AttachmentOut().dump({**_att(a.attachment),
                                      "url": f"/api/v1/notices/{notice.id}/files/{a.attachment_id}"})
                for a in notice.attachments]


def _att(a: Attachment) -> dict:
    return {"id": a.id, "name": a.name, "content_type": a.content_type,
            "byte_size": a.byte_size, "pages": a.pages, "sha256": a.sha256}


class ResidentNoticeOut(NoticeOut):
    read = fields.Boolean(required=True)


class ResidentNoticePage(Schema):
    items = fields.List(fields.Nested(ResidentNoticeOut), required=True)
    unread = fields.Integer(required=True, metadata={"description": "unread notices shown now"})
    next_cursor = fields.String(allow_none=True, required=True)


class NoticeListArgs(Schema):
    limit = fields.Integer(load_default=20, validate=validate.Range(min=1, max=100))
    cursor = fields.String(load_default=None)
    category = fields.String(load_default=None, validate=validate.OneOf(list(CATEGORY_LABELS)))


class _View:
    """A notice with the figures of one view beside it (dumped by the route's schema)."""

    def __init__(self, notice, **extra):
        self._notice = notice
        self.__dict__.update(extra)

    def __getattr__(self, name):
        return getattr(self._notice, name)


def _resident(shown: reading.ShownNotice) -> _View:
    return _View(shown.notice, read=shown.read)


@blp.route("/notices", methods=["GET"])
@blp.arguments(NoticeListArgs, location="query")
@blp.response(200, ResidentNoticePage)
def list_notices(args):
    """Notices shown to the caller now (their current rooms' community or buildings),
    pinned first, newest first, each with ``read``; ``unread`` counts all of them."""
    offset = decode_cursor(args["cursor"]) or 0
    items, unread = reading.resident_notices(
        current_user(), limit=args["limit"] + 1, offset=offset, category=args["category"])
    more = len(items) > args["limit"]
    items = items[:args["limit"]]
    cursor = encode_cursor(offset + args["limit"]) if more else None
    return {"items": [_resident(s) for s in items], "unread": unread, "next_cursor": cursor}


@blp.route("/notices/<id:notice_id>", methods=["GET"])
@blp.response(200, ResidentNoticeOut)
def get_notice(notice_id):
    """One notice shown to the caller (reading it records nothing: see ``/read``)."""
    return _resident(reading.resident_notice(current_user(), notice_id))


@blp.route("/notices/<id:notice_id>/read", methods=["POST"])
@blp.response(200, ResidentNoticeOut)
def read_notice(notice_id):
    """The caller opened the notice: record the read receipt (once)."""
    return _resident(reading.mark_read(current_user(), notice_id))


@blp.route("/notices/<id:notice_id>/files/<id:attachment_id>", methods=["GET"])
@blp.response(200)
def notice_file(notice_id, attachment_id):
    """An attachment of a notice, to residents it is shown to and to its staff."""
    user = current_user()
    try:
        notice = reading.resident_notice(user, notice_id).notice
    except NotFound:
        notice = publish.get_for_publisher(user, notice_id)
    for link in notice.attachments:
        if link.attachment_id == attachment_id:
            return attachment_response(link.attachment)
    raise NotFound("找不到该文件", code="file_not_found")


# ------------------------------------------------------------------ staff
class StaffNoticeOut(NoticeOut):
    state = fields.String(required=True)
    state_label = Label(STATE_LABELS, "state", required=True)
    audience = fields.Integer(required=True, metadata={"description": "residents in scope now"})
    read_count = fields.Integer(required=True)
    withdrawn_at = LocalDateTime(allow_none=True, required=True)
    created_by = fields.String(allow_none=True, required=True)
    created_at = LocalDateTime(required=True)


def _staff(stats: staff.NoticeStats) -> _View:
    n = stats.notice
    return _View(n, state=stats.state, audience=stats.audience, read_count=stats.read,
                 created_by=n.created_by.shown_name if n.created_by else None)


class StaffNoticeList(Schema):
    items = fields.List(fields.Nested(StaffNoticeOut), required=True)


class StaffListArgs(Schema):
    community_id = RowId(load_default=None)
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=200))
    cursor = fields.String(load_default=None)


class NoticeIn(Schema):
    community_id = RowId(load_default=None, metadata={
        "description": "default: the caller's only community"})
    title = fields.String(required=True, validate=validate.Length(min=1, max=100))
    body = fields.String(required=True, validate=validate.Length(min=1, max=10000))
    category = fields.String(required=True, validate=validate.OneOf(
        list(CATEGORY_LABELS), error="请选择公告类别"))
    building_ids = fields.List(RowId(), load_default=list, validate=validate.Length(max=200),
                               metadata={"description": "empty: the whole community"})
    attachment_ids = fields.List(RowId(), load_default=list, validate=validate.Length(max=9))
    pinned = fields.Boolean(load_default=False)
    publish_at = fields.AwareDateTime(load_default=None, metadata={
        "description": "ISO 8601 with offset; later = scheduled (shown from then)"})
    expires_at = fields.AwareDateTime(load_default=None)


class PinIn(Schema):
    pinned = fields.Boolean(required=True)


class UnreadOut(Schema):
    user_id = fields.Integer(required=True)
    name = fields.String(required=True)
    phone = fields.String(allow_none=True, required=True)
    room = fields.String(required=True)
    relation = fields.String(required=True)
    relation_label = Label(ROLE_LABELS, "relation", required=True)


class UnreadList(Schema):
    items = fields.List(fields.Nested(UnreadOut), required=True)


class BuildingOut(Schema):
    id = fields.Integer(required=True)
    name = fields.String(required=True)


class CommunityOptionOut(Schema):
    id = fields.Integer(required=True)
    name = fields.String(required=True)
    buildings = fields.List(fields.Nested(BuildingOut), required=True)


class NoticeOptionsOut(Schema):
    communities = fields.List(fields.Nested(CommunityOptionOut), required=True)
    categories = fields.Dict(keys=fields.String(), values=fields.String(), required=True)


@blp.route("/desk/notices/options", methods=["GET"])
@blp.response(200, NoticeOptionsOut)
def notice_options():
    """What the publish form offers: the caller's communities with their buildings,
    and the categories."""
    user = current_user()
    ids = publish.publisher_community_ids(user)
    if not ids:
        raise_forbidden()
    from sqlalchemy import select
    from backend.models import Community

    communities = []
    for c in db.session.scalars(select(Community).where(Community.id.in_(ids)).order_by(Community.id)):
        names = db.session.execute(select(Building.id, Building.name).where(
            Building.community_id == c.id)).all()
        names.sort(key=lambda r: (len(r.name), r.name))
        communities.append({"id": c.id, "name": c.name,
                            "buildings": [{"id": r.id, "name": f"{r.name}栋"} for r in names]})
    return {"communities": communities, "categories": CATEGORY_LABELS}


def raise_forbidden():
    from backend.errors import Forbidden

    raise Forbidden("只有物业前台、项目经理或业委会委员可以管理公告", code="not_publisher")


@blp.route("/desk/notices", methods=["GET"])
@blp.arguments(StaffListArgs, location="query")
@blp.response(200, StaffNoticeList)
def staff_list(args):
    """Every notice of the caller's communities, newest first, with read counts."""
    user = current_user()
    if not publish.manager_community_ids(user):
        raise_forbidden()
    items = staff.staff_notices(user, args["community_id"], limit=args["limit"],
                                before_id=decode_cursor(args["cursor"]))
    return {"items": [_staff(s) for s in items]}


@blp.route("/desk/notices", methods=["POST"])
@blp.arguments(NoticeIn)
@blp.response(201, StaffNoticeOut)
def create(data):
    """Publish a notice (now, or at ``publish_at``); the residents in scope get a
    subscribe message at the publish time."""
    user = current_user()
    ids = publish.publisher_community_ids(user)
    community_id = data["community_id"]
    if community_id is None:
        if len(ids) != 1:
            if not ids:
                raise_forbidden()
            raise ValidationFailed("请选择小区", code="community_required",
                                   details={"fields": {"community_id": ["请选择小区"]}})
        community_id = next(iter(ids))
    source = publish.check_publisher(user, community_id)
    notice = publish.create_notice(
        community_id, title=data["title"], body=data["body"], category=data["category"],
        building_ids=data["building_ids"], pinned=data["pinned"], publish_at=data["publish_at"],
        expires_at=data["expires_at"], attachment_ids=data["attachment_ids"], created_by=user,
        source=source)
    return _staff(staff.stats_of(notice))


@blp.route("/desk/notices/<id:notice_id>", methods=["GET"])
@blp.response(200, StaffNoticeOut)
def staff_get(notice_id):
    return _staff(staff.staff_notice(current_user(), notice_id))


@blp.route("/desk/notices/<id:notice_id>/unread", methods=["GET"])
@blp.response(200, UnreadList)
def staff_unread(notice_id):
    """Residents in scope who have not opened it (a line per room: name, room, phone)."""
    return {"items": staff.unread_residents(current_user(), notice_id)}


@blp.route("/desk/notices/<id:notice_id>/withdraw", methods=["POST"])
@blp.response(200, StaffNoticeOut)
def staff_withdraw(notice_id):
    """No longer shown to residents; kept in the history."""
    return _staff(staff.stats_of(publish.withdraw(current_user(), notice_id)))


@blp.route("/desk/notices/<id:notice_id>/pin", methods=["POST"])
@blp.arguments(PinIn)
@blp.response(200, StaffNoticeOut)
def staff_pin(data, notice_id):
    return _staff(staff.stats_of(publish.set_pinned(current_user(), notice_id, data["pinned"])))
