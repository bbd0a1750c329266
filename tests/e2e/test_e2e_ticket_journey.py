"""报事报修 end to end: an owner reports a leak with a photo on the phone → the desk
accepts and assigns it → the engineer starts, adds an after photo and resolves it →
the owner sees the progress and rates the work."""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.e2e.helpers import desk_login, phone_login

pytestmark = pytest.mark.e2e

DESCRIPTION = "厨房水槽下水管接口漏水，橱柜里都是水"


def test_owner_reports_desk_assigns_engineer_resolves_owner_rates(open_page, screenshot, jpeg_photo):
    owner = open_page("phone", "owner 李娜")
    phone_login(owner, "李娜")
    screenshot(owner, "miniapp-home")

    # --- the owner reports a leak with a photo
    owner.get_by_role("link", name="报事报修").click()
    expect(owner.locator("#nav-title")).to_have_text("报事报修")
    expect(owner.get_by_label("室内报修")).to_be_checked()
    expect(owner.get_by_label("报修房屋")).to_have_value(re.compile(r"\d+"))
    owner.get_by_label("位置").fill("厨房")
    owner.get_by_label("问题描述").fill(DESCRIPTION)
    owner.get_by_role("switch").check()
    owner.locator("#photo-input").set_input_files(str(jpeg_photo))
    preview = owner.locator(".photo-grid img.photo-img")
    expect(preview).to_have_count(1)
    expect(preview).to_have_attribute("src", re.compile(r"^blob:"))
    expect(owner.locator(".photo-grid .counter, .field-head .counter")).to_have_text("1/9")
    owner.get_by_role("button", name="提交").scroll_into_view_if_needed()
    screenshot(owner, "miniapp-report")
    owner.get_by_role("button", name="提交").click()

    expect(owner).to_have_url(re.compile(r"#/tickets/\d+$"))
    ticket_id = owner.url.rsplit("/", 1)[1]
    expect(owner.locator("#ticket-status")).to_have_text("待受理")
    expect(owner.locator(".kv", has_text="描述")).to_contain_text(DESCRIPTION)
    # the photo is processed after the upload; its thumbnail appears once ready
    thumb = owner.locator("[data-stage=report] img.photo-img")
    expect(thumb).to_have_attribute("src", re.compile(r"^blob:"))
    expect(owner.locator(".timeline-item").first).to_contain_text("提交工单")

    # --- the front desk accepts and assigns it to an engineer
    desk = open_page("desk", "desk 前台")
    desk_login(desk, username="desk")
    row = desk.locator(f"tr.queue-row[data-id='{ticket_id}']")
    expect(row).to_contain_text(DESCRIPTION)
    expect(row).to_contain_text("待受理")
    expect(row).to_contain_text("紧急")
    screenshot(desk, "desk-queue")
    row.get_by_role("link").click()
    expect(desk.locator("#ticket-status")).to_have_text("待受理")
    desk.get_by_role("button", name="受理").click()
    expect(desk.locator("#ticket-status")).to_have_text("已受理")
    picker = desk.get_by_label("维修人员")
    engineer_option = picker.locator("option", has_text="维修王师傅")
    expect(engineer_option).to_have_count(1)
    picker.select_option(engineer_option.get_attribute("value"))
    desk.locator("#do-assign").click()
    expect(desk.locator("#ticket-status")).to_have_text("已派单")
    expect(desk.locator(".kv", has_text="处理人")).to_contain_text("维修王师傅")
    screenshot(desk, "desk-ticket")

    # --- the engineer finds it among the tickets assigned to them, works and resolves it
    engineer = open_page("desk", "engineer 王师傅")
    desk_login(engineer, username="engineer")
    expect(engineer.get_by_label("派给我的")).to_be_checked()
    expect(engineer.locator(f"tr.queue-row[data-id='{ticket_id}']")).to_contain_text("已派单")
    # the assignment also arrived as a notification that opens the ticket
    engineer.get_by_role("link", name=re.compile("消息通知")).click()
    engineer.locator(".note-link", has_text=f"新派单：室内报修 #{ticket_id}").click()
    expect(engineer).to_have_url(re.compile(rf"#/tickets/{ticket_id}$"))
    engineer.get_by_role("button", name="开始处理").click()
    expect(engineer.locator("#ticket-status")).to_have_text("处理中")
    engineer.get_by_label("照片类型").select_option("after")
    engineer.get_by_label("选择照片").set_input_files(str(jpeg_photo))
    engineer.get_by_role("button", name="上传照片").click()
    expect(engineer.locator(".photo-stage", has_text="维修后")).to_be_visible()
    engineer.get_by_role("button", name="处理完成").click()
    expect(engineer.locator("#ticket-status")).to_have_text("已完成")

    # --- the owner sees it resolved, with the engineer's photo, and rates it
    owner.get_by_role("button", name="刷新").click()
    expect(owner.locator("#ticket-status")).to_have_text("已完成")
    expect(owner.locator(".timeline-item.latest")).to_contain_text("维修王师傅")
    expect(owner.locator("[data-stage=after] img.photo-img")).to_have_attribute("src", re.compile(r"^blob:"))
    owner.get_by_role("link", name="确认解决并评价").click()
    expect(owner.locator("#nav-title")).to_have_text("服务评价")
    owner.locator("label[for=score-5]").click()
    expect(owner.locator(".star-word")).to_have_text("非常满意")
    owner.get_by_label("评价内容").fill("师傅来得很快，修得也干净")
    owner.get_by_role("button", name="提交评价").click()
    expect(owner.locator("#ticket-status")).to_have_text("已关闭")
    expect(owner.locator("#my-rating")).to_contain_text("师傅来得很快")
    expect(owner.locator("#my-rating .star.on")).to_have_count(5)
    screenshot(owner, "miniapp-ticket")

    # the owner's list files it under the finished ones
    owner.get_by_role("button", name="返回").click()
    owner.get_by_role("navigation", name="主导航").get_by_role("link", name="工单").click()
    owner.get_by_role("tab", name="已完结").click()
    item = owner.locator(f".ticket-item[data-id='{ticket_id}']")
    expect(item).to_contain_text(DESCRIPTION)
    expect(item.locator(".ticket-status")).to_have_text("已关闭")
    owner.get_by_role("tab", name="处理中").click()
    expect(owner.locator(f".ticket-item[data-id='{ticket_id}']")).to_have_count(0)

    # the desk sees the rating on the ticket
    desk.get_by_role("button", name="刷新").click()
    expect(desk.locator("#ticket-status")).to_have_text("已关闭")
    expect(desk.locator(".kv", has_text="评价")).to_contain_text("★★★★★")

    # --- the owner's notifications tell the same story
    owner.goto("/miniapp/#/notifications")
    notes = owner.locator(".note-item")
    expect(notes.first).to_be_visible()
    expect(owner.locator(".note-list")).to_contain_text("已完成")
    screenshot(owner, "miniapp-notifications")
    notes.filter(has_text="已完成").first.click()
    expect(owner).to_have_url(re.compile(rf"#/tickets/{ticket_id}$"))
