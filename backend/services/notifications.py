"""Tell a user something: an in-app notification, plus a WeChat subscribe message
sent by a job (backend/jobs/notify.py) when the user came through WeChat."""
from __future__ import annotations

from backend.extensions import db
from backend.outbox import enqueue
from backend.models import Notification, User


def notify(user: User | int, kind: str, title: str, body: str = "", link: str | None = None,
           *, wechat_data: dict | None = None) -> Notification:
    """Record a notification in the current transaction; the WeChat message follows
    after commit. ``kind`` selects the subscribe template (jobs/notify.py:
    notice_*, fund_*, payment_*, else the ticket template); ``wechat_data`` is the template's field values."""
    user_id = user if isinstance(user, int) else user.id
    note = Notification(user_id=user_id, kind=kind, title=title[:100], body=body, link=link)
    db.session.add(note)
    db.session.flush()
    enqueue("notify.wechat", note.id, wechat_data or {})
    return note
