"""Answerers: one per intent, registered by name (rules.yaml names them under
``answer``). Each builds the reply from the asker's own data through the services
(fees, bills, tickets, the fund, the community's settings and policy texts) and the
texts under ``templates`` in rules.yaml. An answerer never invents a figure: with no
bound room it says how to bind one; with no published figure it says so.
"""
from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Callable

from backend.bot.matcher import Match, Rules
from backend.models import Community, Room, User

log = logging.getLogger(__name__)


@dataclass
class Asker:
    """Who is asking: the user, their community (None if unknown) and bound rooms
    (ORM objects: nothing an answerer does changes them)."""

    user: User | None
    community: Community | None
    rooms: list[Room] = field(default_factory=list)


@dataclass
class Context:
    asker: Asker
    match: Match
    rules: Rules
    text: str  # the message as typed

    def t(self, name: str, **values) -> str:
        """A template from rules.yaml filled in. A staff edit that breaks a
        placeholder shows the text unfilled rather than failing the answer."""
        template = self.rules.templates.get(name, "")
        try:
            return template.format(**values)
        except (KeyError, IndexError, ValueError):
            log.error("bot template %r does not fit its values %s", name, sorted(values))
            return template

    @property
    def community_name(self) -> str:
        return self.asker.community.name if self.asker.community else "本小区"

    def setting(self, key: str):
        from backend.services.community import DEFAULT_SETTINGS, setting

        if self.asker.community is None:
            return DEFAULT_SETTINGS.get(key)
        return setting(self.asker.community, key)


@dataclass
class Answer:
    text: str
    handoff: bool = False  # the asker should be put through to a person
    # Something the client can offer with one tap, e.g. filing a ticket.
    action: dict | None = None


Answerer = Callable[[Context], "Answer | str"]
ANSWERERS: dict[str, Answerer] = {}


def answerer(name: str):
    def register(fn: Answerer) -> Answerer:
        ANSWERERS[name] = fn
        return fn

    return register


def build_answer(name: str, ctx: Context) -> Answer:
    fn = ANSWERERS.get(name) or ANSWERERS["unknown"]
    result = fn(ctx)
    return Answer(result) if isinstance(result, str) else result


def money(value: Decimal) -> str:
    return f"{Decimal(value):.2f}"


# ------------------------------------------------------------------ greeting / unknown
@answerer("greeting")
def greeting(ctx: Context) -> str:
    if re.search(r"谢|感谢|好的|知道了|明白了|再见|拜拜|ok", ctx.match.text):
        return ctx.t("thanks")
    return ctx.t("greeting", community=ctx.community_name)


@answerer("unknown")
def unknown(ctx: Context) -> str:
    return ctx.t("unknown")


@answerer("human")
def human(ctx: Context) -> Answer:
    return Answer(ctx.t("human_waiting", hours=ctx.setting("office_hours"),
                        emergency=ctx.setting("emergency_phone")), handoff=True)


# ------------------------------------------------------------------ fees
PERIOD_WORDS = (("quarter", r"季"), ("half_year", r"半年"), ("year", r"年"))
PERIOD_LABELS = {"quarter": "每季度", "half_year": "每半年", "year": "每年"}


def asked_periods(text: str) -> list[str]:
    """Which of quarter / half year / year the message asks about, besides the month."""
    out = []
    rest = text
    for period, pattern in PERIOD_WORDS:
        if re.search(pattern, rest):
            out.append(period)
            rest = re.sub(pattern, "", rest)  # 半年 is not also a year
    return out


_ROOM_NUMBER = re.compile(r"(?<!\d)(\d{3,4})(?!\d|年|元|块|平|m)")


def named_rooms(text: str, rooms: list[Room]) -> tuple[list[Room], bool]:
    """The asker's rooms the message names by number (all if it names none), and
    whether it named a room that is not theirs."""
    numbers = set(_ROOM_NUMBER.findall(text))
    if not numbers:
        return rooms, False
    mine = [r for r in rooms if r.number in numbers]
    return (mine, False) if mine else (rooms, True)


def no_room(ctx: Context, what: str) -> str:
    return ctx.t("no_room", what=what)


@answerer("fee.amount")
def fee_amount(ctx: Context) -> str:
    from backend.models import ROOM_KIND_LABELS
    from backend.rules.fees import fee_for
    from backend.services.fees import as_line, bills_for_rooms, room_fees

    if not ctx.asker.rooms:
        return no_room(ctx, "物业费")
    rooms, other = named_rooms(ctx.match.text, ctx.asker.rooms)
    periods = asked_periods(ctx.match.text)
    lines = [ctx.t("fee_amount_other_room")] if other else []
    lines.append(ctx.t("fee_amount_head"))
    fees = room_fees(rooms)
    total = Decimal("0.00")
    priced = 0
    for fee in fees:
        room = fee.room
        if fee.unit_price is None:
            lines.append(ctx.t("fee_amount_no_price", room=room.label,
                               kind=ROOM_KIND_LABELS[room.kind]))
            continue
        line = ctx.t("fee_amount_line", room=room.label, area=money(room.area_m2),
                     price=money(fee.unit_price), monthly=money(fee.monthly))
        for period in periods:
            line += ctx.t("fee_amount_period", period=PERIOD_LABELS[period],
                          amount=money(fee_for(room.area_m2, fee.unit_price, period)))
        lines.append(line)
        total += fee.monthly
        priced += 1
    if priced > 1:
        extra = "".join(
            ctx.t("fee_amount_period", period=PERIOD_LABELS[p],
                  amount=money(sum((fee_for(f.room.area_m2, f.unit_price, p)
                                    for f in fees if f.unit_price is not None), Decimal("0.00"))))
            for p in periods)
        lines.append(ctx.t("fee_amount_total", total=money(total), extra=extra))
    latest = {}
    for bill in bills_for_rooms([r.id for r in rooms]):  # newest period first per room
        latest.setdefault(bill.room_id, bill)
    for room in rooms:
        bill = latest.get(room.id)
        if bill is not None:
            outstanding = as_line(bill).outstanding
            status = ("已缴清" if outstanding == 0
                      else f"未缴 {money(outstanding)} 元，截止 {bill.due_date.isoformat()}")
            lines.append(ctx.t("fee_amount_bill", room=room.label, period=bill.period,
                               amount=money(bill.amount), status=status))
    return "\n".join(lines)


@answerer("fee.arrears")
def fee_arrears(ctx: Context) -> str:
    from backend.services.fees import arrears_for, as_line, bills_for_rooms
    from backend.timeutil import local_today

    if not ctx.asker.rooms:
        return no_room(ctx, "欠费")
    rooms = {r.id: r for r in ctx.asker.rooms}
    bills = bills_for_rooms(list(rooms))
    if not bills:
        return ctx.t("fee_arrears_no_bills", phone=ctx.setting("office_phone"))
    today = local_today()
    total, late = arrears_for(bills, today)
    lines_of = {b.id: as_line(b) for b in bills}
    upcoming = [b for b in bills
                if lines_of[b.id].outstanding > 0 and not lines_of[b.id].overdue(today)]
    upcoming_text = ""
    if upcoming:
        upcoming_text = ctx.t(
            "fee_arrears_upcoming",
            amount=money(sum((lines_of[b.id].outstanding for b in upcoming), Decimal(0))),
            periods="、".join(sorted({b.period for b in upcoming})))
    if not late:
        return ctx.t("fee_arrears_none", upcoming=upcoming_text)
    lines = [ctx.t("fee_arrears_head")]
    for bill in late:
        lines.append(ctx.t("fee_arrears_line", room=rooms[bill.room_id].label, period=bill.period,
                           amount=money(lines_of[bill.id].outstanding),
                           due=bill.due_date.isoformat()))
    lines.append(ctx.t("fee_arrears_total", total=money(total)))
    if upcoming_text:
        lines.append(upcoming_text)
    return "\n".join(lines)


@answerer("fee.standard")
def fee_standard(ctx: Context) -> str:
    from backend.models import ROOM_KIND_LABELS
    from backend.services.community import fee_standards

    community = ctx.asker.community
    standards = fee_standards(community) if community else []
    if not standards:
        return ctx.t("fee_standard_none", phone=ctx.setting("office_phone"))
    lines = [ctx.t("fee_standard_head", community=community.name)]
    prices = {}
    for s in standards:
        prices[s.kind] = s.unit_price
        lines.append(ctx.t("fee_standard_line", label=ROOM_KIND_LABELS[s.kind],
                           price=money(s.unit_price)))
    mine = "".join(
        ctx.t("fee_standard_mine", room=r.label, label=ROOM_KIND_LABELS[r.kind],
              price=money(prices[r.kind]))
        for r in ctx.asker.rooms if r.kind in prices and r.community_id == community.id)
    lines.append(ctx.t("fee_standard_tail", mine=mine))
    return "\n".join(lines)


@answerer("fee.payment")
def fee_payment(ctx: Context) -> str:
    methods = ctx.setting("payment_methods") or []
    if isinstance(methods, str):
        methods = [methods]
    return ctx.t("fee_payment", methods="\n".join(f"· {m}" for m in methods),
                 due_day=ctx.setting("payment_due_day"))


@answerer("fee.invoice")
def fee_invoice(ctx: Context) -> str:
    return ctx.t("fee_invoice", procedure=ctx.setting("invoice_procedure"),
                 phone=ctx.setting("office_phone"))


# ------------------------------------------------------------------ maintenance fund
def fund_topics(text: str) -> list[str]:
    """Which rules the question is about; all of them when it does not say."""
    topics = []
    if re.search(r"紧急|应急|危险|困人", text):
        topics.append("emergency")
    if re.search(r"反对|异议|否定|三分之一|不投票|没投票|公示", text):
        topics.append("objection")
    if re.search(r"同意|过半|半数|三分之二|多少人|几成|多少业主|比例|通过", text):
        topics.append("civil_code_use")
    if re.search(r"重建|改建|筹集|续筹|改变用途|四分之三", text):
        topics.append("civil_code_major")
    return topics or ["civil_code_use", "objection", "emergency"]


@answerer("fund.rule")
def fund_rule(ctx: Context) -> str:
    from backend.rules.fund_rules import HEADCOUNT_NOTE, explain_rule

    days = ctx.setting("fund_publicity_days")
    lines = [ctx.t("fund_rule_intro", community=ctx.community_name)]
    for topic in fund_topics(ctx.match.text):
        lines.append("· " + explain_rule(topic, threshold=str(ctx.setting("objection_threshold")),
                                         basis=str(ctx.setting("objection_basis")),
                                         publicity_days=int(days)))
    lines.append(HEADCOUNT_NOTE)
    return "\n".join(lines)


_BUILDING = re.compile(r"([0-9a-z]{1,4})(?:号楼|栋|幢|座)")


@answerer("fund.balance")
def fund_balance(ctx: Context) -> str:
    from backend.errors import NotFound
    from backend.services.fund import fund_balance as balance_of

    community = ctx.asker.community
    if community is None:
        return no_room(ctx, "维修资金")
    text = ctx.match.text
    building = None
    found = _BUILDING.search(text)
    if found:
        building = found.group(1).upper()
    elif re.search(r"我们楼|我家楼|我们这栋|我们栋|本楼|我们这幢|我住的楼|我们单元", text) and ctx.asker.rooms:
        building = ctx.asker.rooms[0].building.name
    scope = f"{building}栋" if building else community.name
    try:
        balance = balance_of(community.id, building)
    except NotFound:
        return ctx.t("fund_balance_no_building", building=building)
    if not balance.recent and balance.total_in == 0 and balance.total_out == 0:
        return ctx.t("fund_balance_none", scope=scope, phone=ctx.setting("office_phone"))
    lines = [ctx.t("fund_balance_head", scope=scope, balance=money(balance.balance),
                   total_in=money(balance.total_in), total_out=money(balance.total_out))]
    if balance.recent:
        lines.append(ctx.t("fund_balance_recent"))
        for line in balance.recent:
            amount = money(line.amount)
            lines.append(ctx.t("fund_balance_line", date=line.date.isoformat(),
                               description=line.description,
                               amount=("+" + amount) if line.amount > 0 else amount))
    return "\n".join(lines)


@answerer("fund.vote")
def fund_vote(ctx: Context) -> str:
    from backend.services.fund import open_proposals_for
    from backend.services.permissions import owned_rooms
    from backend.timeutil import local_text

    if not ctx.asker.rooms or ctx.asker.user is None:
        return no_room(ctx, "表决") + "\n" + ctx.t("fund_vote_how")
    proposals = open_proposals_for(ctx.asker.user)
    if not proposals:
        return ctx.t("fund_vote_none") + "\n" + ctx.t("fund_vote_how")
    lines = [ctx.t("fund_vote_head")]
    for proposal, voted in proposals:
        lines.append(ctx.t("fund_vote_line", title=proposal.title,
                           closes=local_text(proposal.closes_at),
                           status=ctx.t("fund_vote_voted" if voted else "fund_vote_not_voted")))
    if not ctx.asker.user or not owned_rooms(ctx.asker.user):
        lines.append(ctx.t("fund_vote_no_room"))
    lines.append(ctx.t("fund_vote_how"))
    return "\n".join(lines)


# ------------------------------------------------------------------ repairs and complaints
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
    from backend.rules.ticket_states import EVENT_LABELS, KIND_LABELS, STATUS_LABELS
    from backend.services.tickets import tickets_for_resident
    from backend.timeutil import local_text

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
        summary = ticket.description if len(ticket.description) <= 20 else ticket.description[:19] + "…"
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


# ------------------------------------------------------------------ policies and contacts
POLICY_TOPICS = {"policy.decoration": "decoration", "policy.pet": "pet",
                 "policy.parking": "parking", "policy.garbage": "garbage"}


def _policy(topic: str) -> Answerer:
    def answer(ctx: Context) -> str:
        from backend.services.community import policy

        text = policy(ctx.asker.community, topic) if ctx.asker.community else None
        if text is None:
            return ctx.t("policy_missing", phone=ctx.setting("office_phone"))
        return ctx.t("policy", title=text.title, body=text.body)

    return answer


for _intent, _topic in POLICY_TOPICS.items():
    answerer(_intent)(_policy(_topic))


@answerer("service.hours")
def service_hours(ctx: Context) -> str:
    return ctx.t("service_hours", address=ctx.setting("office_address"),
                 hours=ctx.setting("office_hours"), phone=ctx.setting("office_phone"),
                 emergency=ctx.setting("emergency_phone"))
