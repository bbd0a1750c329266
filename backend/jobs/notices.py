"""Notice-board jobs: hand a notice's subscribe messages out at its publish time, and
post the automatic notices (fee standard, fund statement) when their data changed."""
from __future__ import annotations

import logging

from sqlalchemy import update

from backend.extensions import db
from backend.jobs.registry import job, periodic
from backend.models import utcnow
from backend.models.notice import Notice
from backend.rules.notices import CATEGORY_LABELS
from backend.services.notices.scope import audience_user_ids
from backend.services.notifications import notify
from backend.timeutil import local_text

log = logging.getLogger(__name__)


@job("notices.announce", queue="default", timeout=600, retries=3, intervals=(10, 60, 300))
def announce(notice_id: int) -> None:
    """Tell every resident in scope, once (claimed by a conditional UPDATE); a notice
    withdrawn before its publish time is never announced. The runner starts this job
    no earlier than the notice's publish time."""
    notice = db.session.get(Notice, notice_id)
    if notice is None or notice.withdrawn_at is not None or notice.publish_at > utcnow():
        return
    claimed = db.session.execute(
        update(Notice).where(Notice.id == notice_id, Notice.announced_at.is_(None))
        .values(announced_at=utcnow()).execution_options(synchronize_session=False)).rowcount
    if claimed != 1:
        return
    data = {"thing1": notice.title[:20], "time2": local_text(notice.publish_at),
            "thing3": CATEGORY_LABELS.get(notice.category, "公告")}
    users = audience_user_ids(notice)
    for user_id in users:
        notify(user_id, "notice_published", f"公告：{notice.title}", notice.body[:200],
               f"/notices/{notice.id}", wechat_data=data)
    db.session.commit()
    log.info("notice %s announced to %d resident(s)", notice_id, len(users))


@periodic("notices.auto", every_seconds=300)
def post_automatic() -> None:
    """收费标准公示 and 维修资金使用情况公示 when the data changed since the last one."""
    from backend.services.notices.system import post_changed

    posted = post_changed()
    db.session.commit()
    if posted:
        log.info("notices: %d automatic notice(s) posted", posted)
