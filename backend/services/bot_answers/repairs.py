"""Answerers about repairs and complaints: how to report one (with a ticket the
client can offer to file), and the state of the asker's open tickets."""
from __future__ import annotations

import re

from backend.rules.ticket_states import EVENT_LABELS, KIND_LABELS, STATUS_LABELS
from backend.services.bot_answers.base import Answer, Context, answerer
from backend.services.tickets import tickets_for_resident
from backend.timeutil import local_text

_JUST_ASKING = re.compile(r"^(我要|我想|想|要|需要|申请|帮我)?(报修|维修|修理)(一下)?$")
_NEVER = re.compile(r"(?!)")


def _concept(ctx: Context, name: str) -> re.Pattern:
    # rules.yaml defines the words (staff edit them); a file without the concept
    # matches nothing rather than failing the answer
    return ctx.rules.concept(name) or _NEVER


def repair_kind(ctx: Context) -> str:
    """公共报修 when the message names a shared part of the estate (the concept
    COMMON_FACILITY in rules.yaml, the one list of them), else 室内报修."""
    return "common_repair" if _concept(ctx, "COMMON_FACILITY").search(ctx.match.text) else "home_repair"


def dial(phone: str | None) -> str | None:
    """The number to dial in a phone setting such as "0571-00000001（24小时）"."""
    match = re.search(r"\+?\d[\d\- ]{2,}\d", phone or "")
    return re.sub(r"[\- ]", "", match.group()) if match else None


@answerer("repair.report")
def repair_report(ctx: Context) -> Answer:
    text = ctx.match.text
    kind = repair_kind(ctx)
    urgent = bool(_concept(ctx, "URGENT").search(text))
    where = "“公共报修”" if kind == "common_repair" else "“室内报修”"
    emergency = ctx.setting("emergency_phone")
    if urgent:
        # an emergency leads with the 24-hour phone; the form is for following it up
        lines = [ctx.t("repair_emergency", emergency=emergency)]
        if _concept(ctx, "LIFE_SAFETY").search(text):
            lines.append(ctx.t("repair_emergency_life"))
        lines.append(ctx.t("repair_emergency_also", where=where))
    else:
        lines = [ctx.t("repair_report", where=where)]
    lines.append(ctx.t("repair_report_offer"))
    description = None if _JUST_ASKING.match(text) else ctx.text.strip()[:500]
    action = {"type": "create_ticket", "kind": kind, "urgent": urgent, "description": description}
    if urgent and dial(emergency):
        action["call"] = dial(emergency)  # the client shows a call button first
    return Answer("\n".join(lines), action=action)


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
