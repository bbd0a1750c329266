"""Send a notification's WeChat subscribe message (retried with backoff; a refusal,
43101, is final and stops further messages of that template to that user)."""
from __future__ import annotations

import logging
from urllib.parse import quote

from flask import current_app
from sqlalchemy import select

from backend import wechat
from backend.extensions import db
from backend.jobs.registry import PermanentJobError, job
from backend.models import Notification, User, WechatSubscription, utcnow

log = logging.getLogger(__name__)


def template_for(kind: str) -> str:
    cfg = current_app.config
    if kind.startswith("notice"):
        return cfg.get("WECHAT_TEMPLATE_NOTICE", "")
    if kind.startswith("fund"):
        return cfg.get("WECHAT_TEMPLATE_FUND", "")
    if kind.startswith("payment"):
        return cfg.get("WECHAT_TEMPLATE_PAYMENT", "")
    return cfg.get("WECHAT_TEMPLATE_TICKET", "")


def page_for(link: str | None) -> str | None:
    """The mini-program page a subscribe message opens: WeChat wants a page path, so
    every notification opens the entry page, which routes by the in-app link."""
    if not link:
        return None
    return f"{current_app.config['WECHAT_ENTRY_PAGE']}?link={quote(link, safe='')}"


@job("notify.wechat", queue="default", timeout=30, retries=3, intervals=(10, 60, 300))
def send_wechat_notification(notification_id: int, data: dict) -> None:
    note = db.session.get(Notification, notification_id)
    if note is None or note.wechat_state != "pending":
        return  # already handled: running twice sends once
    user = db.session.get(User, note.user_id)
    template = template_for(note.kind)
    if not (user and user.openid and template and current_app.config.get("WECHAT_APPID")):
        note.wechat_state = "skipped"
        db.session.commit()
        return
    refused = db.session.scalar(select(WechatSubscription.id).where(
        WechatSubscription.user_id == user.id, WechatSubscription.template_id == template,
        WechatSubscription.refused_at.is_not(None)).limit(1))
    if refused is not None:
        note.wechat_state = "refused"
        db.session.commit()
        return
    values = data or {"thing1": note.title, "thing2": note.body or note.title}
    try:
        wechat.send_subscribe_message(user.openid, template, values, page=page_for(note.link))
    except wechat.WechatError as exc:
        if exc.errcode == wechat.ERR_SUBSCRIBE_REFUSED:
            note.wechat_state = "refused"
            db.session.add(WechatSubscription(user_id=user.id, template_id=template,
                                              remaining=0, refused_at=utcnow()))
            db.session.commit()
            raise PermanentJobError(str(exc)) from exc
        if exc.permanent:
            note.wechat_state = "failed"
            db.session.commit()
            raise PermanentJobError(str(exc)) from exc
        raise  # network or transient: rq retries with backoff
    note.wechat_state = "sent"
    db.session.commit()
