"""Answerer about the notice board (公告): the notices shown to the asker now (their
rooms' community or buildings), only the outage ones when the question is about
停水/停电."""
from __future__ import annotations

import re

from backend.rules.notices import CATEGORY_LABELS
from backend.services.bot_answers.base import Context, answerer, no_room
from backend.services.notices.reading import resident_notices
from backend.timeutil import local

OUTAGE = re.compile(r"停水|停电|停气|断水|断电|没水|没电")
MAX_NOTICES = 3
SUMMARY_CHARS = 60


def _summary(body: str) -> str:
    text = " ".join(body.split())
    return text if len(text) <= SUMMARY_CHARS else text[:SUMMARY_CHARS] + "…"


@answerer("notice.recent")
def recent_notices(ctx: Context) -> str:
    user = ctx.asker.user
    if user is None or not ctx.asker.rooms:
        return no_room(ctx, "小区通知")
    outage = bool(OUTAGE.search(ctx.match.text))
    shown, _unread = resident_notices(user, limit=MAX_NOTICES,
                                      category="outage" if outage else None)
    if not shown:
        if outage:
            return ctx.t("notice_outage_none", emergency=ctx.setting("emergency_phone"))
        return ctx.t("notice_none")
    lines = [ctx.t("notice_outage_head" if outage else "notice_head", scope=ctx.community_name)]
    for item in shown:
        n = item.notice
        lines.append(ctx.t("notice_line", category=CATEGORY_LABELS.get(n.category, n.category),
                           title=n.title, published=local(n.publish_at).strftime("%m月%d日"),
                           summary=_summary(n.body)))
    lines.append(ctx.t("notice_more"))
    return "\n".join(lines)
