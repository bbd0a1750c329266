"""The caller's in-app notifications."""
from __future__ import annotations

from marshmallow import Schema, fields
from sqlalchemy import select, update

from backend.auth import current_user
from backend.extensions import db
from backend.models import Notification, utcnow
from backend.routes.common import Blueprint, LocalDateTime, PageArgs, paginate

blp = Blueprint("notifications", __name__, url_prefix="/api/v1/notifications",
                description="消息通知")


class NotificationOut(Schema):
    id = fields.Integer(required=True)
    kind = fields.String(required=True)
    title = fields.String(required=True)
    body = fields.String(required=True)
    link = fields.String(allow_none=True)
    created_at = LocalDateTime(required=True)
    read = fields.Boolean(required=True)


class NotificationPage(Schema):
    items = fields.List(fields.Nested(NotificationOut), required=True)
    next_cursor = fields.String(allow_none=True, required=True)
    unread = fields.Integer(required=True)


def _out(n: Notification) -> dict:
    return {"id": n.id, "kind": n.kind, "title": n.title, "body": n.body, "link": n.link,
            "created_at": n.created_at, "read": n.read_at is not None}


@blp.route("", methods=["GET"])
@blp.arguments(PageArgs, location="query")
@blp.response(200, NotificationPage)
def list_notifications(args):
    """Newest first."""
    user = current_user()
    query = select(Notification).where(Notification.user_id == user.id)
    items, cursor = paginate(db.session, query, Notification.id, args["limit"], args["cursor"])
    unread = db.session.scalar(
        select(db.func.count()).select_from(Notification)
        .where(Notification.user_id == user.id, Notification.read_at.is_(None))
    )
    return {"items": [_out(n) for n in items], "next_cursor": cursor, "unread": unread}


@blp.route("/read", methods=["POST"])
@blp.response(204)
def mark_all_read():
    """Mark all of the caller's notifications read."""
    user = current_user()
    db.session.execute(
        update(Notification).where(Notification.user_id == user.id, Notification.read_at.is_(None))
        .values(read_at=utcnow())
    )
