"""What a new resident stumbled on (issue #14), in the browser: one money format on
the pages and in the bot (the JS formatter gives the Python formatter's text), the
picker refusing a file that is no picture at once, text over the limit refused with
a counter, the welcome toast clear of the form, the chat's last message clear of the
input bar and no quick questions while a person serves, and the desk still signed
in in a new tab (and signed out in every tab at once)."""
from __future__ import annotations

from decimal import Decimal

import pytest
from playwright.sync_api import expect

from backend.rules.money import format_yuan
from tests.e2e.helpers import desk_login, phone_login

pytestmark = pytest.mark.e2e

AMOUNTS = ["0", "0.5", "7", "12.3", "999.99", "999.995", "1000", "2843567.94", "-12000.5",
           "-0.004", "100000000", "12345678901.205"]


def overlaps(a, b) -> bool:
    return not (a["x"] + a["width"] <= b["x"] or b["x"] + b["width"] <= a["x"]
                or a["y"] + a["height"] <= b["y"] or b["y"] + b["height"] <= a["y"])


def test_pages_and_bot_write_money_the_same_way(open_page):
    page = open_page("phone", "new resident")
    page.goto("/miniapp/")
    expect(page.locator("#nav-title")).to_have_text("登录")
    shown = page.evaluate("""async (amounts) => {
        const { money } = await import(document.querySelector('script[type=module]').src
            .replace('/miniapp/app.js', '/shared/format.js'));
        return amounts.map((a) => money(a));
    }""", AMOUNTS)
    assert shown == [format_yuan(Decimal(a)) for a in AMOUNTS]


def test_new_resident_picker_toast_and_long_text(open_page, tmp_path, jpeg_photo):
    page = open_page("phone", "new resident")
    page.goto("/miniapp/")
    page.get_by_role("button", name="进入并绑定房屋").click()
    expect(page.locator("#nav-title")).to_have_text("绑定房屋")
    toast = page.locator("#toast.toast-show")
    expect(toast).to_contain_text("欢迎")
    box = toast.bounding_box()
    for control in page.locator("#view input, #view button, #view select").all():
        if control.is_visible():
            assert not overlaps(box, control.bounding_box()), control.evaluate("e => e.outerHTML")

    # a text file renamed .jpg is refused when picked, with the reason; a real photo is taken
    fake = tmp_path / "发票.jpg"
    fake.write_text("这不是照片", encoding="utf-8")
    page.goto("/miniapp/#/report?kind=common_repair")
    picker = page.locator("#photo-input")
    picker.set_input_files(str(fake))
    expect(page.locator("#toast")).to_contain_text("发票.jpg：无法识别为图片")
    expect(page.locator(".photo-tile .photo-img")).to_have_count(0)
    picker.set_input_files(str(jpeg_photo))
    expect(page.locator(".photo-tile .photo-img")).to_have_count(1)

    # a description over 2,000 characters is not cut: counted, and refused with the reason
    page.get_by_label("问题描述").fill("楼道灯坏了。" * 400)
    expect(page.locator("#description-count")).to_have_text("2400/2000")
    page.get_by_role("button", name="提交").click()
    expect(page.locator(".form-status")).to_contain_text("问题描述最多 2000 字，当前 2400 字")
    assert page.get_by_label("问题描述").input_value() == "楼道灯坏了。" * 400


def test_chat_end_clear_of_the_input_and_no_quick_questions_with_a_person(open_page):
    page = open_page("phone", "owner 张伟")
    phone_login(page, "张伟")
    page.get_by_role("navigation", name="主导航").get_by_role("link", name="客服").click()
    page.get_by_label("输入消息").fill("快递柜坏了打不开")
    page.get_by_role("button", name="发送").click()
    answer = page.locator(".chat-msg.from-bot").last
    expect(answer).to_contain_text("公共报修")
    expect(answer.get_by_role("link", name="一键报修")).to_have_attribute("href", "#/report?kind=common_repair&description=%E5%BF%AB%E9%80%92%E6%9F%9C%E5%9D%8F%E4%BA%86%E6%89%93%E4%B8%8D%E5%BC%80")
    page.get_by_label("输入消息").fill("装修能周末施工吗")
    page.get_by_role("button", name="发送").click()
    policy = page.locator(".chat-msg.from-bot").last
    expect(policy).to_contain_text("周六、周日")
    expect(policy).not_to_contain_text("押金")
    policy.get_by_role("button", name="查看完整规定").click()
    expect(page.locator(".chat-msg.from-bot").last).to_contain_text("押金")
    last = page.locator(".chat-msg").last.bounding_box()
    bar = page.locator(".chat-bottom").bounding_box()
    assert bar["y"] - (last["y"] + last["height"]) >= 8

    # text over the limit: counted and refused before sending, nothing cut
    page.get_by_label("输入消息").fill("很长" * 600)
    expect(page.locator("#chat-count")).to_have_text("1200/1000")
    page.get_by_role("button", name="发送").click()
    expect(page.locator("#toast")).to_contain_text("消息最多 1000 字")
    assert len(page.get_by_label("输入消息").input_value()) == 1200
    page.get_by_label("输入消息").fill("")

    expect(page.locator(".chat-quick")).to_be_visible()
    page.locator(".chat-quick").get_by_role("button", name="转人工").click()
    expect(page.locator(".chat-banner")).to_have_text("已为您转接人工客服，请稍候…")
    expect(page.locator(".chat-quick")).to_be_hidden()


def test_desk_stays_signed_in_in_a_new_tab_and_signs_out_everywhere(open_page):
    desk = open_page("desk", "desk 前台")
    desk_login(desk, username="desk")
    tab = desk.context.new_page()
    tab.goto("/desk/#/tickets")
    expect(tab.locator(".side-user-name")).not_to_be_empty()
    expect(tab.locator("#top-title")).to_have_text("工单队列")
    desk.get_by_role("button", name="退出").click()
    expect(tab.get_by_label("用户名")).to_be_visible()
    token = tab.evaluate("localStorage.getItem('wuye.desk.token')")
    assert token is None

