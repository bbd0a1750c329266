"""维修资金 end to end: a committee member drafts and publishes an objection vote
(否定表决) at the desk, the threshold and windows shown as the community's → the
publicity period (公示) passes and voting starts, as the start job does → owners in scope
lodge objections on their phones, confirming first and keeping a receipt → the
desk's live tally moves → the committee ends the vote before its deadline, which
only withdraws it, and owners see it withdrawn with its figures."""
from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

import pytest
from playwright.sync_api import expect

from tests.e2e.helpers import desk_login, phone_login

pytestmark = pytest.mark.e2e

TITLE = "1栋屋面防水层翻新"
BEIJING = timezone(timedelta(hours=8))


def publicity_passes(app, proposal_id: int) -> None:
    """The clock moved through the publicity period: the proposal published its
    notice period ago, and its vote started now, as the start job does then (the
    server runs on the real clock, so the publication is moved back instead)."""
    from backend.extensions import db
    from backend.models import FundProposal
    from backend.services import fund as fund_service

    with app.app_context():
        proposal = db.session.get(FundProposal, proposal_id)
        back = timedelta(days=proposal.notice_days)
        proposal.published_at -= back
        proposal.opens_at -= back
        db.session.flush()
        assert fund_service.start_scheduled(proposal_id)
        db.session.commit()


def object_on_phone(page, name: str, screenshot=None) -> str:
    """The owner opens the proposal, objects, confirms, and gets a receipt."""
    phone_login(page, name)
    page.get_by_role("link", name="维修资金", exact=True).click()
    page.locator(".proposal-item", has_text=TITLE).click()
    expect(page.locator("#proposal-status")).to_have_text("表决中")
    expect(page.locator(".deadline")).to_contain_text("还剩")
    page.locator("#go-vote").click()
    expect(page.get_by_label("我对该事项提出异议")).to_be_checked()
    page.get_by_role("button", name="提交异议").click()
    dialog = page.get_by_role("dialog")
    # under the objection rule an objection may be withdrawn before the deadline
    expect(dialog).to_contain_text("截止前可撤回异议")
    expect(dialog.locator(".confirm-choice")).to_have_text("提出异议")
    if screenshot:
        screenshot(page, "miniapp-vote-confirm")
    dialog.get_by_role("button", name="确认提交").click()
    expect(page.locator(".result-title")).to_have_text("异议已提交")
    receipt = page.locator("#receipt .receipt-code").inner_text()
    assert len(receipt) >= 20
    page.get_by_role("button", name="核验回执").click()
    expect(page.locator(".verify-out")).to_contain_text("回执已在表决日志中")
    expect(page.locator(".verify-out")).to_contain_text("校验完整")
    if screenshot:
        screenshot(page, "miniapp-receipt")
    return receipt


def test_committee_opens_vote_owners_object_tally_moves_early_close_withdraws(open_page, screenshot,
                                                                             live_server, jpeg_photo):
    committee = open_page("desk", "committee 张伟")
    desk_login(committee, committee="张伟")
    expect(committee.locator("#top-title")).to_have_text("维修资金")

    # --- draft and open an objection vote for building 1
    committee.locator("#new-proposal").click()
    committee.get_by_label("事项名称").fill(TITLE)
    committee.get_by_label("说明").fill("1栋屋面多处渗漏，拟整体翻新防水层，费用按1栋业主专有面积分摊。")
    committee.get_by_label("使用金额（元）").fill("128000.00")
    # the plan's files go up with the draft (owners in scope open them on the phone)
    committee.get_by_label("方案、预算与报价（PDF 或图片，可多选）").set_input_files(jpeg_photo)
    committee.get_by_label("分摊范围").select_option("buildings")
    committee.get_by_label("楼栋").fill("1")
    committee.get_by_label("表决规则").select_option("objection")
    expect(committee.locator(".rule-help")).to_contain_text("异议")
    # the community's threshold and basis, not inputs; the window's minimum from the server
    expect(committee.locator("#objection-threshold")).to_have_text("1/3")
    expect(committee.locator("[name=objection_threshold], [name=objection_basis]")).to_have_count(0)
    expect(committee.locator("#window-hint")).to_contain_text("不少于7天")
    # long enough for the 7-day publicity period and then the whole objection window
    deadline = datetime.now(BEIJING) + timedelta(days=16)
    committee.get_by_label("表决截止时间（北京时间）").fill(deadline.strftime("%Y-%m-%dT18:00"))
    screenshot(committee, "desk-fund-new")
    committee.get_by_role("button", name="保存草稿").click()
    expect(committee).to_have_url(re.compile(r"#/fund/\d+$"))
    proposal_id = committee.url.rsplit("/", 1)[1]
    expect(committee.locator("#proposal-status")).to_have_text("草稿")
    expect(committee.locator("#plan-files .plan-file")).to_have_text("leak.jpg")
    expect(committee.locator("#cost-per-m2")).to_contain_text("每平方米")
    # the button says what it does: it publishes the publicity, voting follows by itself
    expect(committee.locator("#open-vote")).to_have_text("发布公示")
    committee.locator("#open-vote").click()
    committee.get_by_role("dialog").get_by_role("button", name="发布公示").click()
    # published first: owners read it for the publicity period, then voting starts
    expect(committee.locator("#proposal-status")).to_have_text("待开始")
    expect(committee.locator("#proposal-stage")).to_have_text("公示中")
    expect(committee.locator("#stage-line")).to_contain_text("自动开始表决")
    expect(committee.locator("#open-vote")).to_have_count(0)
    publicity_passes(live_server["app"], int(proposal_id))
    committee.reload()
    expect(committee.locator("#proposal-status")).to_have_text("表决中")
    object_headcount = committee.locator("#tally-objecting_headcount .tally-value")
    expect(object_headcount).to_contain_text("0 人 /")
    eligible = committee.locator(".tally-scope").inner_text()
    assert "业主" in eligible

    # --- an owner outside the scope may not vote
    outsider = open_page("phone", "owner 刘洋 (building 3)")
    phone_login(outsider, "刘洋")
    outsider.goto("/miniapp/#/fund")
    outsider.locator(".proposal-item", has_text=TITLE).click()
    expect(outsider.locator("#my-vote")).to_contain_text("没有本事项分摊范围内的房屋")
    expect(outsider.locator("#go-vote")).to_have_count(0)

    # --- owners object; the committee's live tally follows
    li = open_page("phone", "owner 李娜")
    object_on_phone(li, "李娜", screenshot)
    expect(object_headcount).to_contain_text("1 人 /")

    wang = open_page("phone", "owner 王芳 (two rooms)")
    object_on_phone(wang, "王芳")
    # one owner with two rooms is one person with both rooms' area
    expect(object_headcount).to_contain_text("2 人 /")
    expect(committee.locator("#tally-object-rooms")).to_contain_text("3 户")
    expect(committee.locator(".ballots-table, table", has_text="王芳")).to_be_visible()
    screenshot(committee, "desk-tally")

    # an objection may be withdrawn before the deadline: a new log entry, the tally follows
    wang.goto(f"/miniapp/#/fund/{proposal_id}")
    expect(wang.locator("#plan-files .plan-file")).to_have_count(1)
    wang.locator("#withdraw-objection").click()
    wang.get_by_role("dialog").get_by_role("button", name="撤回异议").click()
    expect(wang.locator("#my-room-status")).to_contain_text("已撤回异议")
    expect(wang.locator("#withdraw-objection")).to_have_count(0)
    expect(object_headcount).to_contain_text("1 人 /")

    # a ballot is final: the owner's vote page now shows the receipt, not the form
    li.goto(f"/miniapp/#/fund/{proposal_id}/vote")
    expect(li.locator("#receipt")).to_be_visible()
    expect(li.get_by_role("button", name="提交异议")).to_have_count(0)

    # --- the committee ends it before the deadline: that only withdraws it, never a pass
    close = committee.locator("#close-vote")
    expect(close).to_have_text("提前终止并撤回")
    close.click()
    dialog = committee.get_by_role("dialog")
    expect(dialog).to_contain_text("不视为通过")
    dialog.get_by_role("button", name="撤回事项").click()
    expect(committee.locator("#proposal-status")).to_have_text("已结束")
    expect(committee.locator(".detail-head .outcome")).to_have_attribute("data-outcome", "withdrawn")
    expect(committee.locator(".detail-head .outcome")).to_have_text("已撤回")
    expect(committee.locator(".live-dot")).to_be_hidden()

    # the owner sees it withdrawn, the figures frozen, and their receipt
    li.goto("/miniapp/#/fund")
    li.locator(".proposal-item", has_text=TITLE).click()
    expect(li.locator("#proposal-status")).to_have_text("已结束")
    expect(li.locator(".proposal-hero .outcome")).to_have_text("已撤回")
    expect(li.locator("#tally")).to_contain_text("撤回该事项（不视为通过）")
    expect(li.locator("#tally")).to_contain_text("已冻结并公示")
    expect(li.locator("#receipt .ballot-choice")).to_contain_text("提出异议")
    screenshot(li, "miniapp-proposal")
