"""Signing in, binding a room, errors shown in the user's words, keyboard use, and
the manager's monthly report."""
from __future__ import annotations

import csv
import io
import re

import pytest
from playwright.sync_api import expect

from backend.seed import demo_ledger_csv
from tests.e2e.helpers import desk_login

pytestmark = pytest.mark.e2e


def ledger_owner(building: str, unit: str) -> dict:
    """A room of the demo ledger (the property company's register) with an owner."""
    rows = csv.DictReader(io.StringIO(demo_ledger_csv()))
    return next(r for r in rows if r["building"] == building and r["unit"] == unit and r["owner_ref"])


def test_new_wechat_user_binds_a_room_and_sees_the_ledgers_refusal_first(open_page, screenshot, live_server):
    room = ledger_owner("2", "2")
    page = open_page("phone", "new resident")
    page.goto("/miniapp/")
    screenshot(page, "miniapp-login")
    page.get_by_label("微信 openid（演示）").fill("e2e-new-owner")
    page.get_by_role("button", name="进入并绑定房屋").click()
    expect(page.locator("#nav-title")).to_have_text("绑定房屋")

    page.get_by_label("楼栋").fill(room["building"])
    page.get_by_label("单元").fill(room["unit"])
    page.get_by_label("房号").fill(room["number"])
    page.get_by_label("业主姓名").fill(room["owner_name"])
    page.get_by_label("手机号").fill("13000000000")
    # what the API itself says about this mismatch is what the page must show
    token = page.evaluate("localStorage.getItem('wuye.miniapp.token')")
    refusal = page.request.post("/api/v1/me/rooms", headers={"Authorization": f"Bearer {token}"}, data={
        "building": room["building"], "unit": room["unit"], "number": room["number"],
        "owner_name": room["owner_name"], "phone": "13000000000"})
    assert refusal.status == 403
    message = refusal.json()["error"]["message"]
    page.get_by_role("button", name="验证并绑定").click()
    expect(page.get_by_role("alert")).to_have_text(message)

    page.get_by_label("手机号").fill(room["phone"])
    page.get_by_role("button", name="验证并绑定").click()
    label = f"{room['building']}栋{room['unit']}单元{room['number']}"
    expect(page.locator(".hero-room")).to_contain_text(label)
    page.get_by_role("navigation", name="主导航").get_by_role("link", name="我的").click()
    expect(page.locator(".room-list")).to_contain_text(label)
    expect(page.locator(".profile-roles")).to_contain_text("业主")


def test_an_expired_login_returns_to_the_login_page_with_the_reason(open_page):
    page = open_page("phone", "stale token")
    page.goto("/miniapp/")
    page.evaluate("localStorage.setItem('wuye.miniapp.token', 'not-a-valid-token')")
    page.goto("/miniapp/#/tickets")
    expect(page.locator("#nav-title")).to_have_text("登录")
    expect(page.locator("#toast")).to_have_text("登录凭证无效，请重新登录")


def test_the_phone_app_works_from_the_keyboard(open_page):
    page = open_page("phone", "keyboard")
    page.goto("/miniapp/")
    expect(page.locator(".login-choice").first).to_be_visible()
    for _ in range(15):  # Tab through the skip link and the navigation bar to a resident
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.classList.contains('login-choice')"):
            break
    focused = page.locator(".login-choice:focus")
    expect(focused).to_have_count(1)
    # the focus is visible (a ring drawn with box-shadow)
    assert focused.evaluate("el => getComputedStyle(el).boxShadow") != "none"
    name = focused.locator(".cell-title").evaluate("el => el.firstChild.textContent")
    page.keyboard.press("Enter")
    expect(page.locator(".hero-hello")).to_contain_text(name)

    for _ in range(20):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.textContent.trim() === '报事报修'"):
            break
    page.keyboard.press("Enter")
    expect(page.locator("#nav-title")).to_have_text("报事报修")
    # the kind is a radio group: arrow keys move the choice
    page.get_by_label("室内报修").focus()
    page.keyboard.press("ArrowRight")
    expect(page.get_by_label("公共报修")).to_be_checked()
    expect(page.locator("#kind-hint")).to_contain_text("公共区域")
    # a confirmation opened from the keyboard closes with Escape and casts nothing
    token = page.evaluate("localStorage.getItem('wuye.miniapp.token')")
    headers = {"Authorization": f"Bearer {token}"}
    proposals = page.request.get("/api/v1/fund-proposals?status=voting", headers=headers).json()["items"]
    votable = next(p["id"] for p in proposals
                   if page.request.get(f"/api/v1/fund-proposals/{p['id']}", headers=headers).json()["can_vote"])
    page.goto(f"/miniapp/#/fund/{votable}/vote")
    submit = page.get_by_role("button", name="提交异议")
    submit.focus()
    page.keyboard.press("Enter")
    dialog = page.get_by_role("dialog")
    expect(dialog).to_be_visible()
    expect(dialog.get_by_role("button", name="返回修改")).to_be_focused()
    page.keyboard.press("Escape")
    expect(dialog).to_have_count(0)
    expect(submit).to_be_enabled()
    assert page.request.get(f"/api/v1/fund-proposals/{votable}", headers=headers).json()["can_vote"] is True

    page.goto("/miniapp/#/me")
    page.get_by_role("button", name="退出登录").focus()
    page.keyboard.press("Enter")
    expect(page.locator("#nav-title")).to_have_text("登录")


def test_manager_reads_the_monthly_service_report(open_page, screenshot):
    page = open_page("desk", "manager")
    desk_login(page, username="manager")
    page.get_by_role("link", name="服务报表").click()
    expect(page.locator("#top-title")).to_have_text("月度服务报表")
    kpis = page.locator("#kpis")
    expect(kpis).to_contain_text("按时完成率")
    total = int(kpis.locator(".kpi", has_text="工单总数").locator(".kpi-value").inner_text())
    assert total > 0  # the demo community has this month's tickets
    # the chart by kind adds up to the total
    values = page.locator("#chart-kind .chart-value").all_text_contents()
    assert sum(int(re.match(r"\d+", v).group()) for v in values) == total
    expect(page.locator("#chart-trend rect")).not_to_have_count(0)
    expect(page.locator(".trend-table tbody tr")).to_have_count(6)
    screenshot(page, "desk-report")

    # an earlier month with no tickets reads as such, without breaking the page
    page.get_by_label("选择月份").fill("2020-01")
    page.get_by_label("选择月份").dispatch_event("change")
    expect(page.locator("#kpis .kpi", has_text="工单总数").locator(".kpi-value")).to_have_text("0")
