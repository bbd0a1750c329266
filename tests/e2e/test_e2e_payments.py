"""Paying on the phone (issue #16): 王芳, in arrears, asks the bot 我欠多少物业费 and
taps its 去缴费 → on the bills she picks two overdue bills of a room and pays → the
development stand-in posts WeChat Pay's signed notice → the receipt opens; back on
the bills the two show paid, and the bot's arrears answer drops by exactly those two
(read from the page, written in the one money format). She starts paying her other
room and cancels: at the desk the manager sees that order pending and the paid one,
and refunds part of it (the stand-in's signed refund notice finishes it)."""
from __future__ import annotations

import re
from decimal import Decimal

import pytest
from playwright.sync_api import expect

from backend.rules.money import format_yuan
from tests.e2e.helpers import desk_login, phone_login

pytestmark = pytest.mark.e2e

TOTAL = re.compile(r"合计欠缴 ¥([\d,]+\.\d{2})")


def ask_arrears(page) -> tuple[Decimal, object]:
    """Ask the bot in the chat tab; its arrears total and its answer bubble."""
    page.goto(page.url.split("#")[0] + "#/chat")
    bot = page.locator(".chat-msg.from-bot")
    expect(page.locator(".chat-list")).not_to_contain_text("加载中")
    before = bot.count()
    page.get_by_label("输入消息").fill("我欠多少物业费")
    page.get_by_role("button", name="发送").click()
    expect(bot).to_have_count(before + 1)
    answer = bot.last
    expect(answer).to_contain_text("合计欠缴")
    found = TOTAL.search(answer.inner_text())
    return Decimal(found.group(1).replace(",", "")), answer


def test_owner_in_arrears_pays_two_bills(open_page):
    page = open_page("phone", "owner 王芳")
    phone_login(page, "王芳")
    owed_before, answer = ask_arrears(page)
    answer.get_by_role("link", name="去缴费").click()
    expect(page.locator("#nav-title")).to_have_text("物业缴费")

    overdue = page.locator("li.bill-row", has=page.locator(".tag", has_text="逾期"))
    expect(overdue.first).to_be_visible()
    card = page.locator("section.card", has=overdue).first
    rows = card.locator(overdue)
    other_room = page.locator("section.card[data-room]", has=overdue).last.get_attribute("data-room")
    assert other_room != card.get_attribute("data-room")  # 王芳 owes on both her rooms
    assert rows.count() >= 2
    paying = []
    for i in range(2):
        row = rows.nth(i)
        row.locator(".bill-pick").check()
        owed = row.locator(".bill-owed").inner_text()  # "未缴 ¥275.80"
        paying.append(Decimal(owed.split("¥")[1].replace(",", "")))
    for extra in card.locator(".bill-pick:checked").all()[2:]:
        extra.uncheck()  # exactly the two read above
    expect(card.locator(".bill-pick:checked")).to_have_count(2)
    unpaid_before = card.locator(".bill-pick").count()
    page.once("dialog", lambda dialog: dialog.accept())
    card.get_by_role("button", name="缴纳所选").click()
    expect(page.locator("#receipt")).to_contain_text("已支付")
    expect(page.locator("#receipt")).to_contain_text(re.compile(r"微信支付单号\s*42"))
    expect(page.locator("#receipt")).to_contain_text(format_yuan(sum(paying, Decimal("0"))))
    paid_order = page.url.rsplit("id=", 1)[1]

    page.get_by_role("link", name="返回账单").click()
    card = page.locator("section.card", has=page.locator(".bill-row")).first
    expect(card.locator(".bill-pick")).to_have_count(unpaid_before - 2)
    # 如何缴费 is answered here, on the bills, naming the pay page that now exists
    page.get_by_role("button", name="如何缴费").click()
    expect(page.locator("#how-to-pay-answer")).to_contain_text("在线缴纳（微信支付）")
    expect(page).to_have_url(re.compile(r"#/bills"))

    owed_after, _ = ask_arrears(page)
    assert owed_after == owed_before - sum(paying)
    expect(page.locator(".chat-msg.from-bot").last).to_contain_text(
        f"合计欠缴 {format_yuan(owed_after)}")

    # a payment started and cancelled stays pending until the reconciliation closes it
    # (the pay page for one room, as the bot's 去缴费 opens it: that room first, its
    # overdue bills picked)
    page.goto(page.url.split("#")[0] + f"#/bills?room={other_room}")
    other = page.locator("section.card[data-room]").first
    expect(other).to_have_attribute("data-room", other_room)
    late = other.locator("li.bill-row", has=page.locator(".tag", has_text="逾期"))
    assert late.count() >= 2
    expect(other.locator(".bill-pick:checked")).to_have_count(late.count())
    page.once("dialog", lambda dialog: dialog.dismiss())
    other.get_by_role("button", name="缴纳所选").click()
    expect(other.locator(".pay-status")).to_contain_text("已取消支付")

    desk = open_page("desk", "manager")
    desk_login(desk, username="manager")
    desk.locator(".side-link", has_text="在线缴费").click()
    expect(desk.locator("#top-title")).to_have_text("在线缴费")
    paid_row = desk.locator(f"#payments tr[data-order='{paid_order}']")
    expect(paid_row.locator(".order-status")).to_have_text("已支付")
    desk.get_by_role("link", name=re.compile(r"^待支付 \d+$")).click()
    expect(desk.locator("#payments tr[data-status='pending']").first).to_be_visible()
    expect(desk.locator("#payments tr[data-status='paid']")).to_have_count(0)
    desk.get_by_role("link", name="全部").click()
    paid_row.get_by_label("退款金额").fill("10.00")
    paid_row.get_by_label("退款原因").fill("多缴")
    desk.once("dialog", lambda dialog: dialog.accept())
    paid_row.get_by_role("button", name="退款").click()
    expect(paid_row.locator(".order-refunds")).to_have_text("¥10.00 已退款（多缴）")

    # the front desk sees the same orders, but refunds are the manager's
    front = open_page("desk", "desk 前台")
    desk_login(front, username="desk")
    front.goto("/desk/#/payments")
    row = front.locator(f"#payments tr[data-order='{paid_order}']")
    expect(row.locator(".order-refunds")).to_have_text("¥10.00 已退款（多缴）")
    expect(row.get_by_role("button", name="退款")).to_have_count(0)
    expect(front.locator("#view")).to_contain_text("退款由物业经理办理")
