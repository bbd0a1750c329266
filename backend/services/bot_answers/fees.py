"""Answerers about the property fee (物业费): what the asker's rooms cost per month (and
per quarter, half year or year when asked), their arrears, the community's fee
standards, how to pay and how to get an invoice.

Bills and arrears cover only the rooms whose bills the asker may see
(``permissions.may_see_bills``); a member the owner has not allowed is told to ask
the owner. The pay page is offered (an ``open_page`` action) and named as a channel
only while online payment is on (``wechatpay.enabled``): the bot never promises
what the product does not do."""
from __future__ import annotations

import re
from decimal import Decimal

from backend import wechatpay
from backend.models import ROOM_KIND_LABELS, Room
from backend.rules.fees import fee_for
from backend.services.bot_answers.base import Answer, Context, answerer, area, money, no_room
from backend.services.community import fee_standards
from backend.services.fees import arrears_for, as_line, bills_for_rooms, room_fees
from backend.services.permissions import may_see_bills
from backend.timeutil import local_today

def pay_action(room_ids) -> dict:
    """The pay page for the asker's own unpaid bills: one room's bills picked for
    payment when they are all of one room, else the bills page of all their rooms."""
    rooms = sorted(set(room_ids))
    href = f"#/bills?room={rooms[0]}" if len(rooms) == 1 else "#/bills"
    return {"type": "open_page", "label": "去缴费", "href": href}


def ask_owner(ctx: Context) -> str:
    """A family member or tenant the owner has not allowed bills (one text: rules.yaml)."""
    return ctx.t("fee_bills_ask_owner", what="物业费")


def bill_rooms_of(ctx: Context) -> list[Room]:
    user = ctx.asker.user
    if user is None:
        return []
    return [r for r in ctx.asker.rooms if may_see_bills(user, r)]


def online_payment() -> bool:
    return wechatpay.enabled()


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


@answerer("fee.amount")
def fee_amount(ctx: Context) -> str:
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
        line = ctx.t("fee_amount_line", room=room.label, area=area(room.area_m2),
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
    allowed = {r.id for r in bill_rooms_of(ctx)}  # bills only where the asker may see them
    for bill in bills_for_rooms([r.id for r in rooms if r.id in allowed]):  # newest first
        latest.setdefault(bill.room_id, bill)
    for room in rooms:
        bill = latest.get(room.id)
        if bill is not None:
            outstanding = as_line(bill).outstanding
            status = ("已缴清" if outstanding == 0
                      else f"未缴 {money(outstanding)}，截止 {bill.due_date.isoformat()}")
            lines.append(ctx.t("fee_amount_bill", room=room.label, period=bill.period,
                               amount=money(bill.amount), status=status))
    return "\n".join(lines)


@answerer("fee.arrears")
def fee_arrears(ctx: Context) -> str:
    if not ctx.asker.rooms:
        return no_room(ctx, "欠费")
    rooms = {r.id: r for r in ctx.asker.rooms if may_see_bills(ctx.asker.user, r)}
    if not rooms:  # a family member or tenant the owner has not allowed bills
        return ask_owner(ctx)
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
        text = ctx.t("fee_arrears_none", upcoming=upcoming_text)
        # bills not yet due can be paid ahead of time
        return (Answer(text, action=pay_action(b.room_id for b in upcoming))
                if upcoming and online_payment() else text)
    lines = [ctx.t("fee_arrears_head")]
    for bill in late:
        lines.append(ctx.t("fee_arrears_line", room=rooms[bill.room_id].label, period=bill.period,
                           amount=money(lines_of[bill.id].outstanding),
                           due=bill.due_date.isoformat()))
    pay = (ctx.t("fee_arrears_pay_online") if online_payment()
           else ctx.t("fee_arrears_pay_offline", phone=ctx.setting("office_phone")))
    lines.append(ctx.t("fee_arrears_total", total=money(total), pay=pay))
    if upcoming_text:
        lines.append(upcoming_text)
    text = "\n".join(lines)
    return Answer(text, action=pay_action(b.room_id for b in late)) if online_payment() else text


@answerer("fee.standard")
def fee_standard(ctx: Context) -> str:
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
def fee_payment(ctx: Context) -> str | Answer:
    methods = ctx.setting("payment_methods") or []
    if isinstance(methods, str):
        methods = [methods]
    # the community's channels; the mini-program's only while online payment is on
    methods = [m for m in methods if "小程序" not in m]
    online = online_payment()
    if online:
        methods.insert(0, ctx.t("fee_payment_online_channel"))
    text = ctx.t("fee_payment", methods="\n".join(f"· {m}" for m in methods),
                 due_day=ctx.setting("payment_due_day"))
    bill_rooms = bill_rooms_of(ctx)
    if ctx.asker.rooms and not bill_rooms:
        return text + "\n" + ask_owner(ctx)
    if not (online and bill_rooms):
        return text
    unpaid = {b.room_id for b in bills_for_rooms([r.id for r in bill_rooms])
              if as_line(b).outstanding > 0}
    return Answer(text, action=pay_action(unpaid or [r.id for r in bill_rooms]))


@answerer("fee.invoice")
def fee_invoice(ctx: Context) -> str:
    return ctx.t("fee_invoice", procedure=ctx.setting("invoice_procedure"),
                 phone=ctx.setting("office_phone"))
