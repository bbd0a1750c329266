"""Households on the phone: an owner (李娜, not on the committee: 我的 shows no
stray "null") invites a tenant in 我的房屋 → a new WeChat user opens the link, signs
in and joins → the tenant reports a fault and chats → on the fund pages the tenant has no
vote button and the API refuses a ballot (403) → the owner sees the tenant."""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from backend.seed import DEMO_FUND_TITLE
from tests.e2e.helpers import phone_login

pytestmark = pytest.mark.e2e


def test_owner_invites_a_tenant_who_reports_and_chats_but_cannot_vote(open_page, screenshot):
    owner = open_page("phone", "owner 李娜")
    phone_login(owner, "李娜")
    owner.get_by_role("navigation", name="主导航").get_by_role("link", name="我的").click()
    expect(owner.locator(".room-list")).to_contain_text("1栋1单元102")
    expect(owner.locator("#view")).not_to_contain_text("null")
    owner.get_by_role("link", name="管理 / 邀请家人").click()
    expect(owner.locator("#nav-title")).to_have_text("我的房屋")
    card = owner.locator(".household", has_text="1栋1单元102")
    card.get_by_label("邀请身份").select_option("tenant")
    card.get_by_role("button", name="生成邀请码").click()
    code = card.locator(".invite-code")
    expect(code).to_have_text(re.compile(r"^[2-9A-Z]{8}$"))
    expect(card.locator(".invite-expiry")).to_contain_text("仅可使用一次")
    link = card.locator(".invite-link").get_attribute("href")
    assert link.endswith(f"#/join?code={code.inner_text()}")
    screenshot(owner, "miniapp-household-invite")

    # the tenant opens the link before signing in: the code waits for the sign-in
    tenant = open_page("phone", "tenant")
    tenant.goto(link)
    expect(tenant.locator(".join-card")).to_contain_text("请先登录")
    tenant.get_by_role("link", name="去登录").click()
    tenant.get_by_label("微信 openid（演示）").fill("e2e-household-tenant")
    tenant.get_by_role("button", name="进入并绑定房屋").click()
    expect(tenant.locator("#nav-title")).to_have_text("绑定房屋")
    tenant.locator(".pending-join").get_by_role("link", name="立即加入").click()
    expect(tenant.locator("#nav-title")).to_have_text("加入房屋")
    tenant.get_by_role("button", name="确认加入").click()
    expect(tenant.locator("#nav-title")).to_have_text("我的房屋")
    expect(tenant.locator(".household", has_text="1栋1单元102")).to_contain_text("租户")
    # the link is used: a second try is refused in the user's words
    tenant.goto(link)
    tenant.get_by_role("button", name="确认加入").click()
    expect(tenant.get_by_role("alert")).to_contain_text("已被使用")

    tenant.goto("/miniapp/#/home")
    tenant.get_by_role("link", name="报事报修").click()
    expect(tenant.get_by_label("室内报修")).to_be_checked()
    tenant.get_by_label("位置").fill("卫生间")
    tenant.get_by_label("问题描述").fill("卫生间地漏返水，租户报修")
    tenant.get_by_role("button", name="提交").click()
    expect(tenant).to_have_url(re.compile(r"#/tickets/\d+$"))
    expect(tenant.locator("#ticket-status")).to_have_text("待受理")

    tenant.goto("/miniapp/#/chat")
    tenant.get_by_label("输入消息").fill("租户可以办理门禁卡吗")
    tenant.get_by_role("button", name="发送").click()
    expect(tenant.locator(".chat-list")).to_contain_text("租户可以办理门禁卡吗")

    # the owner has not shared the bills: the page says so (no "all paid")
    tenant.goto("/miniapp/#/bills")
    expect(tenant.locator("#bills-not-shared")).to_contain_text("业主尚未向您开放")
    expect(tenant.locator("#arrears-amount")).to_have_count(0)

    tenant.goto("/miniapp/#/home")
    tenant.get_by_role("link", name="维修资金", exact=True).click()
    tenant.locator(".proposal-item", has_text=DEMO_FUND_TITLE).click()
    expect(tenant.locator("#proposal-status")).to_have_text("表决中")
    expect(tenant.locator("#my-vote")).to_be_visible()
    expect(tenant.locator("#go-vote")).to_have_count(0)
    proposal_id = tenant.url.rsplit("/", 1)[1]
    token = tenant.evaluate("localStorage.getItem('wuye.miniapp.token')")
    auth = {"Authorization": f"Bearer {token}"}
    room = tenant.request.get("/api/v1/me", headers=auth).json()["rooms"][0]
    assert room["relation"] == "tenant"
    ballot = tenant.request.post(f"/api/v1/fund-proposals/{proposal_id}/ballots", headers=auth,
                                 data={"room_id": room["id"], "choice": "object"})
    assert ballot.status == 403

    owner.reload()
    members = owner.locator(".household", has_text="1栋1单元102").locator(".member-list")
    expect(members).to_contain_text("租户")
    expect(members.locator(".member-bills")).not_to_be_checked()
