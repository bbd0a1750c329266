"""Answerers about repairs and complaints: how to report one (with a ticket the
client can offer to file), and the state of the asker's open tickets."""
from __future__ import annotations

import re

from backend.rules.ticket_states import EVENT_LABELS, KIND_LABELS, STATUS_LABELS
from backend.services.bot_answers.base import Answer, Context, answerer
from backend.services.tickets import tickets_for_resident
from backend.timeutil import local_text

_COMMON_AREA = re.compile(r"电梯|楼道|路灯|单元门|门禁|小区|车库|大门|公共|绿化|外墙|屋顶|楼顶|楼梯|"
                          r"走廊|道闸|监控|消防|水泵|井盖|垃圾房|车棚|健身")
_URGENT = re.compile(r"漏水|爆|停电|没电|困|燃气|煤气|冒烟|漏电|着火|火|跑水|淹|停水|塌")
_JUST_ASKING = re.compile(r"^(我要|我想|想|要|需要|申请|帮我)?(报修|维修|修理)(一下)?$")


@answerer("repair.report")
def repair_report(ctx: Context) -> Answer:
    text = ctx.match.text
    kind = "common_repair" if _COMMON_AREA.search(text) else "home_repair"
    urgent = bool(_URGENT.search(text))
    lines = [ctx.t("repair_report", where="“公共报修”" if kind == "common_repair" else "“室内报修”")]
    if urgent:
        lines.append(ctx.t("repair_report_urgent", emergency=ctx.setting("emergency_phone")))
    lines.append(ctx.t("repair_report_offer"))
    description = None if _JUST_ASKING.match(text) else ctx.text.strip()[:500]
    return Answer("\n".join(lines), action={
        "type": "create_ticket", "kind": kind, "urgent": urgent, "description": description})


@answerer("repair.status")
def repair_status(ctx: Context) -> str:
    if ctx.asker.user is None:
        return ctx.t("repair_status_none")
    tickets = tickets_for_resident(ctx.asker.user, open_only=True, limit=5)
    if not tickets:
        return ctx.t("repair_status_none")
    lines = [ctx.t("repair_status_head")]
    for ticket in tickets:
        latest = ""
        if ticket.events:
            event = ticket.events[-1]
            label = EVENT_LABELS.get(event.type, event.type)
            if event.note:
                label += f"：{event.note}"
            latest = ctx.t("repair_status_latest", at=local_text(event.at), event=label)
        summary = ticket.description
        if len(summary) > 20:
            summary = summary[:19] + "…"
        lines.append(ctx.t("repair_status_line", id=ticket.id,
                           kind=KIND_LABELS.get(ticket.kind.value, ticket.kind.value),
                           summary=summary,
                           status=STATUS_LABELS.get(ticket.status.value, ticket.status.value),
                           latest=latest))
    return "\n".join(lines)


@answerer("complaint")
def complaint(ctx: Context) -> Answer:
    return Answer(ctx.t("complaint"), action={
        "type": "create_ticket", "kind": "complaint", "urgent": False,
        "description": ctx.text.strip()[:500] if len(ctx.match.text) > 4 else None})
