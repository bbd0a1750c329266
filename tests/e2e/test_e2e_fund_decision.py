"""A civil-code decision (双过半) from voting to the posted result, as a city's rules
run it (#15's Done-when): the plan's files and the cost per m² on the phone → an
owner authorises a proxy with a signed 授权委托书 and the proxy votes for her → an
owner votes online (two more did earlier) → without the paper ballots the quorum
is not reached → the committee enters two paper ballots at the desk, each with the
sheet's photo, and the quorum is reached → the deadline passes and the
preliminary result is published (询异期) → an owner lodges a query, the committee
answers it → the query window passes and the committee finalises (已公布) → the
result PDF carries the tally's figures.

The clock: the vote is seeded through the services as the demo does, published and
opened days ago and closing an hour from now (the browser steps need the real
clock until then); then the process clock is moved past the deadline and past the
query window with time-machine (the server runs in this process), as its jobs
and a committee member would find it then. Nothing sleeps.
"""
from __future__ import annotations

import io
from datetime import timedelta
from decimal import Decimal

import pytest
import time_machine
from playwright.sync_api import expect

from tests.e2e.helpers import desk_login, phone_login

pytestmark = pytest.mark.e2e

TITLE = "1、2栋消防管网改造"
# in scope: 张伟 1-1-101, 李娜 1-1-102, 王芳 1-1-201 + 1-1-202, 陈静 2-1-101, and three
# owners without the app (2-1-102 杨磊 and 2-1-201 vote on paper; 2-1-202 does not vote)
SCOPE = ["1-1-101", "1-1-102", "1-1-201", "1-1-202", "2-1-101", "2-1-102", "2-1-201", "2-1-202"]
PAPER = ["2栋1单元102", "2栋1单元201"]
PHONE_TOKEN, DESK_TOKEN = "wuye.miniapp.token", "wuye.desk.token"


def _plan_pdf() -> bytes:
    from pypdf import PdfWriter

    writer = PdfWriter()
    writer.add_blank_page(width=595, height=842)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def seed_vote(app, jpeg_path) -> dict:
    """The proposal with its plan files, published and opened days ago (as the demo
    seeds its votes), closing an hour from now; 张伟 and 陈静 have voted online."""
    from werkzeug.datastructures import FileStorage

    from backend.extensions import db
    from backend.models import FundProposal, Room
    from backend.services import fund as fund_service
    from backend.services.attachments import check_files, store_attachments
    from backend.services.fund_ballots import cast_ballot
    from tests.fund_helpers import publish_and_start, user, utc_now

    with app.app_context():
        zhang = user("demo-zhang")
        rooms = {r.label: r for r in db.session.scalars(db.select(Room).where(
            Room.community_id == zhang.bindings[0].room.community_id))}
        ids = {}
        for key in SCOPE:
            building, unit, number = key.split("-")
            ids[key] = rooms[f"{building}栋{unit}单元{number}"].id
        checked = check_files([FileStorage(io.BytesIO(_plan_pdf()), filename="维修方案.pdf"),
                               FileStorage(io.BytesIO(jpeg_path.read_bytes()), filename="报价单.jpg")],
                              max_count=20)
        files = store_attachments(zhang.bindings[0].room.community_id, zhang.id, checked)
        now = utc_now()
        opened = now - timedelta(days=9)
        proposal = fund_service.create_proposal(zhang, {
            "title": TITLE, "description": "1、2栋消防管网锈蚀渗漏，消防部门检查要求整改。",
            "amount_yuan": Decimal("88720.00"), "scope": {"room_ids": list(ids.values())},
            "rule": "civil_code_use", "community": None, "closes_at": now + timedelta(hours=1),
            "attachment_ids": [f.id for f in files]},
            now=opened - timedelta(days=8))
        publish_and_start(proposal.id, zhang, at=opened)
        cast_ballot(zhang, proposal.id, ids["1-1-101"], "approve")
        cast_ballot(user("demo-chen"), proposal.id, ids["2-1-101"], "oppose")
        db.session.commit()
        stored = db.session.get(FundProposal, proposal.id)
        return {"id": proposal.id, "closes_at": stored.closes_at}


def api_get(page, path: str, token_key: str) -> dict:
    token = page.evaluate(f"window.localStorage.getItem({token_key!r})"
                          f" || window.sessionStorage.getItem({token_key!r})")
    response = page.request.get(path, headers={"Authorization": f"Bearer {token}"})
    assert response.ok, (path, response.status, response.text())
    return response


def met(tally: dict, group: str) -> bool:
    """Whether every comparison of the group (quorum, approval) is met."""
    measures = [m for m in tally["measures"] if m["group"] == group]
    assert measures, tally["measures"]
    return all(m["met"] for m in measures)


def open_on_phone(page, name: str, proposal_id: int) -> None:
    phone_login(page, name)
    page.goto(f"/miniapp/#/fund/{proposal_id}")
    expect(page.locator(".proposal-hero-title")).to_have_text(TITLE)


def vote_on_phone(page, choice: str, *, proxy: bool = False) -> None:
    page.locator("#go-vote-proxy" if proxy else "#go-vote").click()
    if proxy:
        expect(page.locator("#proxy-note")).to_be_visible()
    page.get_by_label(choice, exact=True).check()
    page.get_by_role("button", name="提交表决").click()
    page.get_by_role("dialog").get_by_role("button", name="确认提交").click()
    expect(page.locator(".result-title")).to_have_text("表决已提交")


def enter_paper_ballot(desk, room_label: str, choice: str, photo) -> None:
    panel = desk.locator("#paper-ballot")
    panel.get_by_label("房屋", exact=True).fill(room_label)
    panel.locator("#paper-find").click()
    option = panel.locator("select[name=paper_room] option", has_text=room_label)
    expect(option).to_have_count(1)
    panel.get_by_label("表决房屋").select_option(option.get_attribute("value"))
    panel.get_by_label("选票上的选择").select_option(label=choice)
    panel.get_by_label("选票照片").set_input_files(photo)
    panel.get_by_role("button", name="录入纸质选票").click()
    dialog = desk.get_by_role("dialog")
    expect(dialog).to_contain_text(room_label)
    dialog.get_by_role("button", name="确认录入").click()
    expect(desk.locator("#tally")).to_be_visible()
    expect(desk.locator("table tr", has_text=room_label).locator(".ballot-kind")).to_contain_text("线下已投")


def test_civil_code_vote_with_paper_and_proxy_ballots_through_the_query_window_to_the_pdf(
        open_page, live_server, jpeg_photo):
    app = live_server["app"]
    seeded = seed_vote(app, jpeg_photo)
    proposal_id = seeded["id"]

    # --- 王芳 reads the plan and authorises 刘洋 (another owner of the community) to vote
    wang = open_page("phone", "owner 王芳")
    open_on_phone(wang, "王芳", proposal_id)
    expect(wang.locator("#proposal-stage")).to_have_text("表决中")
    expect(wang.locator("#stage-line")).to_contain_text("截止")
    expect(wang.locator("#cost-per-m2")).to_contain_text("每平方米约 ¥100.00")  # 88,720 / 887.20 m²
    expect(wang.locator("#plan-files .plan-file")).to_have_count(2)
    with wang.expect_popup() as popup:
        wang.locator("#plan-files .plan-file", has_text="维修方案.pdf").click()
    assert popup.value.url.startswith("blob:")
    popup.value.close()
    wang.locator("#proxy summary").click()
    wang.get_by_label("受托人姓名").fill("刘洋")
    wang.get_by_label("受托人手机号").fill("13800000004")
    wang.get_by_label("授权委托书（签字后拍照或PDF）").set_input_files(jpeg_photo)
    wang.get_by_role("button", name="提交委托").click()
    expect(wang.locator("#proxy-status")).to_contain_text("已委托 刘洋")
    expect(wang.locator("#revoke-proxy")).to_be_visible()
    expect(wang.locator("#my-room-status")).to_contain_text("已委托 刘洋 投票")
    # until the proxy votes, she may still vote herself
    expect(wang.locator("#go-vote")).to_have_text("自己投票")

    # --- 刘洋 votes for her rooms as her proxy
    liu = open_page("phone", "proxy 刘洋")
    open_on_phone(liu, "刘洋", proposal_id)
    expect(liu.locator("#proxy-held")).to_contain_text("1栋1单元201")
    vote_on_phone(liu, "同意", proxy=True)
    expect(liu.locator("#receipt .ballot-kind")).to_contain_text("委托投票")
    wang.reload()
    expect(wang.locator("#my-room-status")).to_contain_text("委托投票")
    expect(wang.locator("#revoke-proxy")).to_have_count(0)
    expect(wang.locator("#go-vote")).to_have_count(0)

    # --- 李娜 votes online
    li = open_page("phone", "owner 李娜")
    open_on_phone(li, "李娜", proposal_id)
    vote_on_phone(li, "同意")

    # online and proxy ballots alone: 4 of 7 owners, 526.80 of 887.20 m², no quorum
    tally_path = f"/api/v1/fund-proposals/{proposal_id}/tally"
    before = api_get(li, tally_path, PHONE_TOKEN).json()
    assert before["participating"]["headcount"] == 4 and before["eligible"]["headcount"] == 7
    assert before["participating"]["area_m2"] == "526.80"
    assert not met(before, "quorum") and before["outcome"] == "pending"

    # --- the committee enters two paper ballots at the desk, with the sheets' photos
    desk = open_page("desk", "committee 张伟")
    desk_login(desk, committee="张伟")
    desk.goto(f"/desk/#/fund/{proposal_id}")
    expect(desk.locator("#proposal-stage")).to_have_text("表决中")
    for room in PAPER:
        enter_paper_ballot(desk, room, "同意", jpeg_photo)
    after = api_get(li, tally_path, PHONE_TOKEN).json()
    assert after["participating"]["headcount"] == 6 and after["participating"]["area_m2"] == "751.60"
    assert met(after, "quorum") and met(after, "approval")
    expect(desk.locator("table tr", has_text="王芳").locator(".ballot-kind")).to_have_text("委托投票")

    with time_machine.travel(seeded["closes_at"] + timedelta(minutes=1), tick=True) as clock:
        # --- the deadline has passed: the close job freezes the preliminary result
        with app.app_context():
            from backend.extensions import db
            from backend.models import FundProposal
            from backend.services.fund.closing import settle_due

            assert settle_due(proposal_id)
            db.session.commit()
            query_ends_at = db.session.get(FundProposal, proposal_id).query_ends_at
        li.goto(f"/miniapp/#/fund/{proposal_id}")
        expect(li.locator("#proposal-stage")).to_have_text("询异期")
        expect(li.locator("#stage-line")).to_contain_text("询异期至")
        expect(li.locator("#tally")).to_contain_text("初步统计结果")
        li.get_by_label("询异", exact=True).fill("我家1栋1单元102的票计入了吗？")
        li.get_by_role("button", name="提交询异").click()
        expect(li.locator("#questions .question", has_text="1栋1单元102")).to_contain_text("待业委会答复")

        desk.reload()
        expect(desk.locator("#proposal-stage")).to_have_text("询异期")
        expect(desk.locator("#finalise-hint")).to_contain_text("询异期至")
        expect(desk.locator("#finalise")).to_have_count(0)
        query = desk.locator("#questions .question", has_text="1栋1单元102")
        query.get_by_label("答复").fill("已计入，请以回执在表决日志中核验。")
        query.get_by_role("button", name="答复").click()
        expect(desk.locator("#questions .question", has_text="1栋1单元102")).to_contain_text("已计入")

        # --- the query window passes: the committee publishes the final result
        clock.move_to(query_ends_at + timedelta(minutes=1))
        desk.reload()
        desk.locator("#finalise").click()
        desk.get_by_role("dialog").get_by_role("button", name="公布最终结果").click()
        expect(desk.locator("#proposal-stage")).to_have_text("已公布")
        li.reload()
        expect(li.locator("#proposal-stage")).to_have_text("已公布")
        expect(li.locator("#questions")).to_contain_text("已计入")

        final = api_get(li, tally_path, PHONE_TOKEN).json()
        assert final["frozen"] and final["outcome"] == "passed"
        assert final["counts"] == after["counts"]

        # --- the result PDF for the notice board shows the tally's figures
        response = api_get(desk, f"/api/v1/fund-proposals/{proposal_id}/result.pdf", DESK_TOKEN)
    from pypdf import PdfReader

    assert response.headers["content-type"].startswith("application/pdf")
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(response.body())).pages)
    text = text.replace(" ", "")
    for figures in (final["eligible"], final["participating"], final["counts"]["approve"],
                    final["counts"]["oppose"]):
        assert figures["area_m2"] in text.replace(",", ""), figures
    assert final["chain_head"][:16] in text
