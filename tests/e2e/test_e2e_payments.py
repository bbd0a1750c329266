"""Paying on the phone (issue #16): 王芳, in arrears, selects two unpaid bills of a
room and pays → the development stand-in posts WeChat Pay's signed notice → the
receipt opens; back on the bills the two show paid, and the bot's arrears answer
drops to the rest."""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.e2e.helpers import phone_login

pytestmark = pytest.mark.e2e


def test_owner_in_arrears_pays_two_bills(open_page):
    page = open_page("phone", "owner 王芳")
    phone_login(page, "王芳")
    page.goto(page.url.split("#")[0] + "#/bills")
    card = page.locator("section.card", has=page.locator(".bill-pick")).first
    picks = card.locator(".bill-pick")
    expect(picks.first).to_be_visible()
    unpaid_before = picks.count()
    assert unpaid_before >= 2
    picks.nth(0).check()
    picks.nth(1).check()
    page.once("dialog", lambda dialog: dialog.accept())
    card.get_by_role("button", name="缴纳所选").click()
    expect(page.locator("#receipt")).to_contain_text("已支付")
    expect(page.locator("#receipt")).to_contain_text(re.compile(r"微信支付单号\s*42"))
    page.get_by_role("link", name="返回账单").click()
    card = page.locator("section.card", has=page.locator(".bill-row")).first
    expect(card.locator(".bill-pick")).to_have_count(unpaid_before - 2)
    page.get_by_role("button", name="如何缴费").click()
    expect(page.locator("#how-to-pay-answer")).to_contain_text("小程序")
