"""The notice board in the browser: the desk publishes a notice to building 1 with a
photo and a PDF attached → 李娜 (1栋) sees it unread on 首页, opens it (the read
receipt, the photo shown, the PDF listed with its pages) → the desk sees the read count
and who has not read; 刘洋 (3栋) never sees it."""
from __future__ import annotations

import io
import re

from PIL import Image
from pypdf import PdfWriter

import pytest
from playwright.sync_api import expect

from tests.e2e.helpers import desk_login, phone_login

pytestmark = pytest.mark.e2e

TITLE = "1栋电梯井道检修停电通知"


def png_bytes() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (640, 480), (30, 120, 200)).save(out, "PNG")
    return out.getvalue()


def pdf_bytes(pages: int) -> bytes:
    writer = PdfWriter()
    for _ in range(pages):
        writer.add_blank_page(width=595, height=842)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def test_a_building_notice_is_read_by_its_resident_and_counted_at_the_desk(open_page, screenshot):
    desk = open_page("desk", "desk 前台小周")
    desk_login(desk, username="desk")
    desk.locator(".side-link", has_text="公告管理").click()
    expect(desk.locator("#top-title")).to_have_text("公告管理")
    desk.locator("#new-notice").click()
    desk.get_by_label("标题").fill(TITLE)
    desk.get_by_label("正文").fill("明天9:00-11:00 1栋电梯井道检修，公共照明停电，电梯暂停使用。")
    desk.get_by_label("类别").select_option("outage")
    desk.get_by_label("范围").select_option("buildings")
    desk.locator("#notice-buildings label", has_text=re.compile(r"^\s*1栋$")).locator("input").check()
    desk.locator("input[name=files]").set_input_files([
        {"name": "井道.png", "mimeType": "image/png", "buffer": png_bytes()},
        {"name": "检修方案.pdf", "mimeType": "application/pdf", "buffer": pdf_bytes(2)},
    ])
    screenshot(desk, "desk-notice-new")
    desk.get_by_role("button", name="发布").click()
    row = desk.locator("#notice-table tr", has_text=TITLE)
    expect(row).to_contain_text("1栋")
    expect(row.locator(".read-count")).to_have_text(re.compile(r"^0/\d+$"))

    resident = open_page("phone", "resident 李娜")
    phone_login(resident, "李娜")
    item = resident.locator(".notice-item[href^='#/notices/']", has_text=TITLE)
    expect(item).to_contain_text("未读")
    item.click()
    expect(resident.locator("#nav-title")).to_have_text("公告详情")
    expect(resident.locator("#notice-title")).to_have_text(TITLE)
    expect(resident.locator("#notice-body")).to_contain_text("电梯暂停使用")
    photo = resident.locator(".notice-image[alt^='井道']")  # stored re-encoded (井道.jpg)
    expect(photo).to_have_attribute("src", re.compile(r"^blob:"))
    assert photo.evaluate("img => img.decode().then(() => img.naturalWidth)") > 0
    expect(resident.locator(".notice-file")).to_have_text("📄 检修方案.pdf（2页）")
    resident.goto("/miniapp/#/notices")
    entry = resident.locator("#notice-list .note-item", has_text=TITLE)
    expect(entry).to_be_visible()
    expect(entry).not_to_contain_text("未读")
    screenshot(resident, "miniapp-notices")

    desk.reload()
    row = desk.locator("#notice-table tr", has_text=TITLE)
    expect(row.locator(".read-count")).to_have_text(re.compile(r"^1/\d+$"))
    row.locator(".notice-open").click()
    expect(desk.locator("#notice-read-count")).to_contain_text("已读 1 人")
    unread = desk.locator("#unread-table")
    expect(unread).not_to_contain_text("李娜")
    expect(unread).to_contain_text("张伟")  # 1栋1单元101, to call or visit
    screenshot(desk, "desk-notice-reads")

    outsider = open_page("phone", "resident 刘洋")
    phone_login(outsider, "刘洋")
    expect(outsider.locator(".notice-list")).not_to_contain_text("加载中")
    expect(outsider.locator(".notice-list")).not_to_contain_text(TITLE)
    outsider.goto("/miniapp/#/notices")
    expect(outsider.locator("#notice-list")).not_to_contain_text("加载中")
    expect(outsider.locator("#notice-list")).not_to_contain_text(TITLE)
