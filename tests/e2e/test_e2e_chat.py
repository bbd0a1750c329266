"""在线客服 end to end: an owner asks the bot their fee and gets the same figure their
bills page shows → asks for a person → the desk claims the conversation and replies
→ the owner sees the reply on the phone; the desk hands it back to the bot."""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.e2e.helpers import desk_login, phone_login

pytestmark = pytest.mark.e2e

REPLY = "王芳您好，我是前台小周。物业费可在小程序“物业缴费”页面在线缴纳，也可到物业服务中心前台缴纳。"


def test_owner_asks_bot_fee_then_a_person_desk_replies(open_page, screenshot):
    owner = open_page("phone", "owner 王芳")
    phone_login(owner, "王芳")

    # what the bills page says one room costs a month (area × published unit price)
    owner.get_by_role("link", name="物业缴费").click()
    formula = owner.locator(".card", has_text="1栋1单元201").locator(".fee-formula")
    expect(formula).to_contain_text("98.50㎡ × ¥0.70/㎡·月")
    monthly = re.search(r"= ¥([\d,.]+)$", formula.inner_text()).group(1)
    expect(owner.locator("#arrears-amount")).to_have_text(re.compile(r"^¥[1-9][\d,]*\.\d\d$"))
    screenshot(owner, "miniapp-bills")

    # --- the bot answers with the owner's own figures
    owner.get_by_role("button", name="返回").click()
    owner.get_by_role("navigation", name="主导航").get_by_role("link", name="客服").click()
    expect(owner.locator("#nav-title")).to_have_text("在线客服")
    owner.get_by_label("输入消息").fill("我家物业费一个月多少钱")
    owner.get_by_role("button", name="发送").click()
    bot_answer = owner.locator(".chat-msg.from-bot").last
    expect(bot_answer).to_contain_text(monthly)
    expect(bot_answer).to_contain_text("1栋1单元202")

    # --- asking for a person puts the conversation in the desk's queue
    owner.locator(".chat-quick").get_by_role("button", name="转人工").click()
    expect(owner.locator(".chat-banner")).to_have_text("已为您转接人工客服，请稍候…")

    desk = open_page("desk", "desk 前台")
    desk_login(desk, username="desk")
    desk.get_by_role("link", name=re.compile("客服会话")).click()
    waiting = desk.locator(".conv-item", has_text="王芳")
    expect(waiting).to_contain_text("1栋1单元201")
    waiting.click()
    expect(desk.locator("#conv-messages")).to_contain_text("我家物业费一个月多少钱")
    expect(desk.locator("#conv-messages")).to_contain_text(monthly)
    desk.locator("#claim").click()
    expect(desk.locator(".conv-head")).to_contain_text("人工服务中")
    desk.get_by_label("回复内容").fill(REPLY)
    desk.get_by_label("回复内容").press("Enter")
    expect(desk.locator("#conv-messages .msg-staff").last).to_contain_text(REPLY)
    expect(desk.get_by_label("回复内容")).to_have_value("")

    # --- the owner's chat shows the reply without reloading
    staff_bubble = owner.locator(".chat-msg.from-staff").last
    expect(staff_bubble).to_contain_text(REPLY)
    expect(staff_bubble).to_contain_text("前台小周")
    expect(owner.locator(".chat-banner")).to_contain_text("正在为您服务")
    screenshot(owner, "miniapp-chat")

    # while a person holds the conversation the bot stays silent
    bot_count = owner.locator(".chat-msg.from-bot").count()
    owner.get_by_label("输入消息").fill("好的，谢谢，我晚上去前台交")
    owner.get_by_label("输入消息").press("Enter")
    expect(owner.locator(".chat-msg.from-me").last).to_contain_text("我晚上去前台交")
    expect(desk.locator("#conv-messages .msg-resident").last).to_contain_text("我晚上去前台交")
    expect(owner.locator(".chat-msg.from-bot")).to_have_count(bot_count)
    screenshot(desk, "desk-chats")

    # --- the desk hands the conversation back to the bot
    desk.locator("#release").click()
    expect(desk.locator(".conv-head")).to_contain_text("机器人接待")


def test_a_fault_told_to_the_bot_becomes_a_prefilled_report(open_page):
    owner = open_page("phone", "owner 陈静")
    phone_login(owner, "陈静")
    owner.get_by_role("navigation", name="主导航").get_by_role("link", name="客服").click()
    owner.get_by_label("输入消息").fill("家里水管爆了一直在漏水")
    owner.get_by_label("输入消息").press("Enter")
    offer = owner.locator(".chat-msg.from-bot").last.get_by_role("link", name="一键报修")
    offer.click()
    expect(owner.locator("#nav-title")).to_have_text("报事报修")
    expect(owner.get_by_label("问题描述")).to_have_value("家里水管爆了一直在漏水")
    expect(owner.get_by_label("室内报修")).to_be_checked()
    expect(owner.get_by_role("switch")).to_be_checked()
    owner.get_by_label("位置").fill("厨房")
    owner.get_by_role("button", name="提交").click()
    expect(owner.locator("#ticket-status")).to_have_text("待受理")
    expect(owner.locator(".kv", has_text="类型")).to_contain_text("紧急")
