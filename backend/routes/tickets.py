"""Repairs and complaints (报事报修): report with photos, lists, detail with the
timeline, the state-machine actions, rating, follow-ups, and the photos themselves
(served only to people who may see the ticket)."""
from __future__ import annotations

from flask import current_app
from flask_smorest.fields import Upload
from marshmallow import Schema, ValidationError, fields, missing, validate, validates_schema
from webargs.fields import DelimitedList
from werkzeug.datastructures import FileStorage

from backend.auth import current_user, login_required, roles_required
from backend.errors import Conflict, NotFound
from backend.extensions import limiter
from backend.models import PhotoState, TicketKind, TicketStatus
from backend.routes.common import (
    Blueprint,
    LocalDateTime,
    PageArgs,
    RowId,
    chosen_files,
    decode_cursor,
    encode_cursor,
    per_user,
)
from backend.rules.ticket_states import (
    API_ACTIONS,
    EVENT_LABELS,
    KIND_LABELS,
    STATUS_LABELS,
)
from backend.services import tickets as ticket_service
from backend.services.storage import send_stored
from backend.timeutil import utcnow

KINDS = [k.value for k in TicketKind]
STATUSES = [s.value for s in TicketStatus]
MAX_PHOTOS = 9  # the mini-program picker's maximum (config MAX_PHOTOS)
PHOTO_CACHE = "private, max-age=86400"


def _upload_limit() -> str:
    return current_app.config["RATELIMIT_TICKETS"]


blp = Blueprint("tickets", __name__, url_prefix="/api/v1/tickets", description="报事报修")


# ----------------------------------------------------------------- request schemas
class PhotoUpload(Upload):
    """A file part. A browser form's empty file input (no file chosen: no file name,
    no bytes) counts as no photo."""

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, FileStorage):
            raise ValidationError("请上传图片文件")
        return value


class TicketCreateForm(Schema):
    kind = fields.String(required=True, validate=validate.OneOf(KINDS),
                         metadata={"description": "home_repair 室内报修, common_repair 公共报修, "
                                                  "complaint 投诉, suggestion 建议, inquiry 咨询"})
    description = fields.String(required=True, validate=validate.Length(min=1, max=2000))
    location = fields.String(load_default="", validate=validate.Length(max=200))
    room_id = RowId(load_default=None, allow_none=True,
                    metadata={"description": "required for home_repair"})
    community_id = RowId(load_default=None, allow_none=True,
                         metadata={"description": "only when the caller has rooms or "
                                                           "staff roles in several communities"})
    urgent = fields.Boolean(load_default=False)
    contact_phone = fields.String(load_default=None, allow_none=True,
                                  validate=validate.Regexp(r"^[0-9+\- ]{5,32}$",
                                                           error="电话号码格式不正确"))
    photos = fields.List(PhotoUpload(), load_default=list,
                         validate=validate.Length(max=MAX_PHOTOS, error="最多上传9张照片"),
                         metadata={"description": "0-9 photos (JPEG, PNG, WebP, HEIC), "
                                                  "each at most 10 MB"})

    @validates_schema
    def _room_for_home_repair(self, data, **kwargs):
        if data.get("kind") == "home_repair" and data.get("room_id") is None:
            raise ValidationError("室内报修必须选择房屋", field_name="room_id")


class PhotoForm(Schema):
    stage = fields.String(load_default=None, validate=validate.OneOf(["report", "before", "after"]),
                          metadata={"description": "report (reporter), before/after (staff); "
                                                   "default by role and status"})
    photos = fields.List(PhotoUpload(), required=True,
                         validate=validate.Length(min=1, max=MAX_PHOTOS, error="每次上传1-9张照片"))


class TicketListArgs(PageArgs):
    status = DelimitedList(fields.String(validate=validate.OneOf(STATUSES)),
                           metadata={"description": "one or more statuses, comma-separated"})
    kind = DelimitedList(fields.String(validate=validate.OneOf(KINDS)))
    assigned_to_me = fields.Boolean(load_default=False)
    overdue = fields.Boolean(load_default=None, allow_none=True)


class ActionIn(Schema):
    action = fields.String(required=True, validate=validate.OneOf(API_ACTIONS))
    note = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=1000),
                         metadata={"description": "required for reject (reason) and follow_up"})
    assignee_id = RowId(load_default=None, allow_none=True,
                        metadata={"description": "required for assign"})


class RatingIn(Schema):
    score = fields.Integer(required=True, strict=True, validate=validate.Range(min=1, max=5))
    comment = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=1000))


class AssigneeArgs(Schema):
    community_id = RowId(load_default=None)


# ----------------------------------------------------------------- response schemas
# Each schema dumps the model object itself (Ticket, TicketEvent, TicketPhoto, User):
# it is the one definition of the payload, for lists and details alike.
class Code(fields.String):
    """An enum member as its code ("in_progress")."""

    def _serialize(self, value, attr, obj, **kwargs):
        return super()._serialize(getattr(value, "value", value), attr, obj, **kwargs)


class Label(fields.String):
    """The label of the object's code in ``source`` from one of the rules' tables
    (STATUS_LABELS, ...); an unknown code shows as itself."""

    def __init__(self, labels: dict[str, str], source: str, **kwargs):
        super().__init__(**kwargs)
        self.labels, self.source = labels, source

    def get_value(self, obj, attr, accessor=None, default=missing):
        return super().get_value(obj, self.source, accessor, default)

    def _serialize(self, value, attr, obj, **kwargs):
        if value is None:
            return None
        code = getattr(value, "value", value)
        return self.labels.get(code, code)


class PersonOut(Schema):
    id = fields.Integer(required=True)
    name = fields.String(attribute="shown_name", required=True,
                         metadata={"description": "the name, else 工作人员 (staff) or 业主"})


class PhotoOut(Schema):
    id = fields.Integer(required=True)
    state = Code(required=True, metadata={"description": "processing, ready, failed"})
    stage = Code(required=True, metadata={"description": "report, before, after"})
    thumb_url = fields.Method("_thumb_url", allow_none=True, required=True,
                              metadata={"type": "string"})
    url = fields.Method("_url", allow_none=True, required=True, metadata={"type": "string"})
    width = fields.Integer(allow_none=True)
    height = fields.Integer(allow_none=True)

    @staticmethod
    def _variant_url(photo, variant: str) -> str | None:
        if photo.state != PhotoState.ready:
            return None
        return f"/api/v1/tickets/{photo.ticket_id}/photos/{photo.id}/{variant}"

    def _thumb_url(self, photo) -> str | None:
        return self._variant_url(photo, "thumb")

    def _url(self, photo) -> str | None:
        return self._variant_url(photo, "display")


class EventOut(Schema):
    at = LocalDateTime(required=True)
    type = fields.String(required=True)
    label = Label(EVENT_LABELS, "type", required=True)
    actor = fields.Nested(PersonOut, allow_none=True, required=True,
                          metadata={"description": "null: the system"})
    from_status = fields.String(data_key="from", allow_none=True, required=True)
    to_status = fields.String(data_key="to", allow_none=True, required=True)
    note = fields.String(allow_none=True, required=True)


class TicketSummaryOut(Schema):
    id = fields.Integer(required=True)
    kind = Code(required=True)
    kind_label = Label(KIND_LABELS, "kind", required=True)
    status = Code(required=True)
    status_label = Label(STATUS_LABELS, "status", required=True)
    urgent = fields.Boolean(required=True)
    description = fields.String(required=True)
    location = fields.String(required=True)
    room_id = fields.Integer(allow_none=True, required=True)
    room = fields.Method("_room", allow_none=True, required=True,
                         metadata={"type": "string", "description": "3栋2单元1502"})
    reporter = fields.Nested(PersonOut, allow_none=True, required=True)
    assignee = fields.Nested(PersonOut, allow_none=True, required=True)
    created_at = LocalDateTime(required=True)
    updated_at = LocalDateTime(required=True)
    accept_due_at = LocalDateTime(required=True)
    due_at = LocalDateTime(required=True)
    overdue = fields.Method("_overdue", required=True, metadata={"type": "boolean"})
    escalated = fields.Boolean(required=True)
    rating = fields.Integer(allow_none=True, required=True)

    def _room(self, ticket) -> str | None:
        return ticket.room.label if ticket.room is not None else None

    def _overdue(self, ticket) -> bool:
        return ticket.is_overdue(utcnow())


class TicketOut(TicketSummaryOut):
    contact_phone = fields.String(allow_none=True, required=True)
    accepted_at = LocalDateTime(allow_none=True, required=True)
    resolved_at = LocalDateTime(allow_none=True, required=True)
    closed_at = LocalDateTime(allow_none=True, required=True)
    rating_comment = fields.String(allow_none=True, required=True)
    rated_at = LocalDateTime(allow_none=True, required=True)
    needs_follow_up = fields.Boolean(required=True)
    followed_up_at = LocalDateTime(allow_none=True, required=True)
    photos = fields.List(fields.Nested(PhotoOut), required=True)
    events = fields.List(fields.Nested(EventOut), required=True)
    actions = fields.Method("_actions", required=True, metadata={
        "type": "array", "items": {"type": "string"},
        "description": "what the caller may do now"})

    def _actions(self, ticket) -> list[str]:
        return ticket_service.available_actions(current_user(), ticket)


class TicketPage(Schema):
    items = fields.List(fields.Nested(TicketSummaryOut), required=True)
    next_cursor = fields.String(allow_none=True, required=True)


class PhotoList(Schema):
    items = fields.List(fields.Nested(PhotoOut), required=True)


class AssigneeOut(PersonOut):
    name = fields.String(required=True)  # as entered (the picker lists staff by name)
    roles = fields.List(fields.String(), required=True)


class AssigneeList(Schema):
    items = fields.List(fields.Nested(AssigneeOut), required=True)


def page(tickets, after: int | None) -> dict:
    """A ``TicketPage`` of tickets."""
    return {"items": tickets, "next_cursor": encode_cursor(after) if after is not None else None}


# ----------------------------------------------------------------- routes
@blp.route("", methods=["POST"])
@login_required  # before the body is parsed: strangers cannot make us read 90 MB
@limiter.limit(_upload_limit, key_func=per_user)
@blp.arguments(TicketCreateForm(), location="form", content_type="multipart/form-data")
@blp.response(201, TicketOut)
@blp.alt_response(413, description="a photo over 10 MB, or too many pixels")
@blp.alt_response(415, description="a photo that is not JPEG, PNG, WebP or HEIC")
def create_ticket(form):
    """Report a repair, complaint, suggestion or inquiry, with 0-9 photos.

    Photos are processed after the response: each shows ``"state": "processing"``
    until its variants exist."""
    return ticket_service.report_ticket(
        current_user(), kind=form["kind"], description=form["description"],
        location=form["location"], room_id=form["room_id"], community_id=form["community_id"],
        urgent=form["urgent"], contact_phone=form["contact_phone"],
        uploads=chosen_files(form["photos"]))


@blp.route("", methods=["GET"])
@blp.arguments(TicketListArgs(), location="query")
@blp.response(200, TicketPage)
def list_tickets(args):
    """The caller's tickets (staff: their community's), newest first."""
    tickets, after = ticket_service.list_page(
        current_user(), statuses=args.get("status"), kinds=args.get("kind"),
        assigned_to_me=args["assigned_to_me"], overdue_only=args["overdue"],
        limit=args["limit"], after_id=decode_cursor(args["cursor"]))
    return page(tickets, after)


@blp.route("/follow-ups", methods=["GET"])
@roles_required("desk", "manager")
@blp.arguments(PageArgs(), location="query")
@blp.response(200, TicketPage)
def follow_ups(args):
    """回访 list: tickets closed without a rating (or rated 1-2 stars) that nobody has
    called back yet. Record the call with the ``follow_up`` action."""
    tickets, after = ticket_service.follow_up_page(
        current_user(), limit=args["limit"], after_id=decode_cursor(args["cursor"]))
    return page(tickets, after)


@blp.route("/assignees", methods=["GET"])
@roles_required("desk", "manager")
@blp.arguments(AssigneeArgs(), location="query")
@blp.response(200, AssigneeList)
def assignees(args):
    """The engineers (维修人员) a ticket can be assigned to; empty when the community
    has none yet."""
    people = ticket_service.assignable_staff(current_user(), args["community_id"])
    return {"items": [{"id": p.id, "name": p.name, "roles": roles} for p, roles in people]}


@blp.route("/<id:ticket_id>", methods=["GET"])
@blp.response(200, TicketOut)
@blp.alt_response(404, description="no such ticket, or one the caller may not see")
def get_ticket(ticket_id):
    """One ticket with its photos and event timeline."""
    return ticket_service.get_ticket(current_user(), ticket_id)


@blp.route("/<id:ticket_id>/actions", methods=["POST"])
@blp.arguments(ActionIn())
@blp.response(200, TicketOut)
@blp.alt_response(403, description="the caller's role may not take this action")
@blp.alt_response(404, description="no such ticket, or one the caller may not see")
@blp.alt_response(409, description="not possible in the ticket's current status")
def ticket_action(data, ticket_id):
    """Take an action: desk accepts, assigns, rejects; the assignee starts and
    resolves; the reporter cancels (before work starts) or reopens a resolved
    ticket; desk or manager close and record follow-ups. The manager may take any
    staff action."""
    return ticket_service.act(current_user(), ticket_id, data["action"], note=data["note"],
                              assignee_id=data["assignee_id"])


@blp.route("/<id:ticket_id>/rating", methods=["POST"])
@blp.arguments(RatingIn())
@blp.response(201, TicketOut)
@blp.alt_response(409, description="already rated, or not resolved yet")
@blp.alt_response(404, description="no such ticket, or one the caller may not see")
def rate_ticket(data, ticket_id):
    """The reporter rates a resolved ticket, once (1-5 stars, optional comment)."""
    return ticket_service.rate(current_user(), ticket_id, data["score"], data["comment"])


@blp.route("/<id:ticket_id>/photos", methods=["POST"])
@login_required
@limiter.limit(_upload_limit, key_func=per_user)
@blp.arguments(PhotoForm(), location="form", content_type="multipart/form-data")
@blp.response(201, PhotoList)
@blp.alt_response(404, description="no such ticket, or one the caller may not see")
def add_photos(form, ticket_id):
    """Add photos: the reporter to the report; staff before/after photos (维修前/后)."""
    added = ticket_service.add_ticket_photos(current_user(), ticket_id, chosen_files(form["photos"]),
                                             form["stage"])
    return {"items": added}


@blp.route("/<id:ticket_id>/photos/<id:photo_id>/<any(thumb, display):variant>",
           methods=["GET"])
@blp.alt_response(404, description="no such ticket, or one the caller may not see")
@blp.doc(responses={"200": {"description": "JPEG image",
                            "content": {"image/jpeg": {"schema": {"type": "string",
                                                                  "format": "binary"}}}}})
def photo_file(ticket_id, photo_id, variant):
    """A photo's display (long side ≤ 1280) or thumbnail (≤ 320) variant, re-encoded
    without metadata. Only for people who may see the ticket (others get 404)."""
    photo = ticket_service.get_photo(current_user(), ticket_id, photo_id)
    if photo.state != PhotoState.ready:
        raise Conflict("照片正在处理中，请稍后再看", code="photo_processing",
                       details={"state": photo.state.value})
    key = photo.thumb_key if variant == "thumb" else photo.display_key
    try:
        response = send_stored(key, "image/jpeg", f"ticket-{ticket_id}-{photo_id}-{variant}.jpg",
                               PHOTO_CACHE)
    except FileNotFoundError as exc:
        raise NotFound("找不到该照片", code="photo_not_found") from exc
    if response.status_code != 302:
        response.headers["Content-Disposition"] = "inline"
    return response
