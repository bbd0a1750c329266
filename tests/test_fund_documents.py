"""Documents of a fund decision (#15 item 7): the result PDF's figures are the tally
API's and name no one's choice; ballot sheets have a page per room that can vote and
print the proposal's URL; the committee's workbooks hold the audit log's entries
and the tally's participation; who may download which."""
from __future__ import annotations

import io
import re
from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest
from openpyxl import load_workbook
from pypdf import PdfReader

from backend.extensions import db
from tests.fund_helpers import close_at_deadline, grant_proxy_wang_to_zhao, upload_photo

CHOICE_WORDS = ("同意", "反对", "弃权", "提出异议")


def _url(proposal) -> str:
    return f"/api/v1/fund-proposals/{proposal['id']}"


def _pdf_pages(response) -> list[str]:
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    assert response.mimetype == "application/pdf"
    return [page.extract_text() for page in PdfReader(io.BytesIO(response.data)).pages]


def _sheet_rows(response) -> list[tuple]:
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    assert response.mimetype == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    sheet = load_workbook(io.BytesIO(response.data)).active
    return list(sheet.iter_rows(values_only=True))


@pytest.fixture
def decided(app, client, owner, committee, staff, rooms_by_label, fund_proposal, images,
            wechat_api):
    """A civil-code vote on building 1: 张三 online (approve), 李四 on paper (oppose),
    王五's two rooms by proxy 赵六 (approve); closed at its deadline and finalised."""
    chair = committee("O-1")
    proposal = fund_proposal(rule="civil_code_use")
    desk = staff("desk")
    wang, zhao = grant_proxy_wang_to_zhao(app, client, owner, rooms_by_label, images, proposal)
    assert client.post(f"{_url(proposal)}/ballots", headers=chair, json={
        "room_id": rooms_by_label["1-1-101"], "choice": "approve"}).status_code == 201
    photo = upload_photo(client, desk, images)
    assert client.post(f"{_url(proposal)}/paper-ballots", headers=desk, json={
        "room_id": rooms_by_label["1-1-102"], "choice": "oppose",
        "photo_id": photo["id"]}).status_code == 201
    assert client.post(f"{_url(proposal)}/ballots", headers=zhao, json={
        "room_id": rooms_by_label["1-1-201"], "choice": "approve"}).status_code == 201
    close_at_deadline(app, proposal["id"])
    return {"proposal": proposal, "chair": chair, "desk": desk, "li": owner("O-2"),
            "zhao": zhao, "qian": owner("O-5"), "photo": photo}


def test_the_result_pdf_prints_the_tallys_figures_and_no_ones_choice(client, decided):
    proposal, li = decided["proposal"], decided["li"]
    tally = client.get(f"{_url(proposal)}/tally", headers=li).json
    assert tally["frozen"] is True
    response = client.get(f"{_url(proposal)}/result.pdf", headers=li)
    text = "\n".join(_pdf_pages(response))
    flat = re.sub(r"\s+", " ", text)

    def row(name, figures):
        return f"{name} {figures['rooms']} {figures['area_m2']} {figures['headcount']}"

    assert row("范围内（可表决）", tally["eligible"]) in flat
    assert row("参与表决", tally["participating"]) in flat
    for choice, label in (("approve", "同意"), ("oppose", "反对"), ("abstain", "弃权")):
        assert row(label, tally["counts"][choice]) in flat
    for measure in tally["measures"]:
        assert (f"{measure['label']} {measure['part']} {measure['whole']} {measure['share']}"
                in flat), measure
        assert measure["requirement"] in flat
    assert tally["outcome_label"] in flat and "已公布" in flat
    assert tally["chain_head"] in flat.replace(" ", "")
    assert f"记录条数 {tally['ballots']}" in flat
    # the rooms that took part and how, never what they chose nor who they are
    rooms = flat.split("参与表决的房屋", 1)[1]
    assert "1栋1单元101" in rooms and "1栋1单元202" in rooms
    assert {"线上已投", "线下已投", "委托投票"} <= set(re.findall(r"线上已投|线下已投|委托投票", rooms))
    assert not any(word in rooms.replace("不公示各户的选择", "") for word in CHOICE_WORDS)
    assert not any(name in flat for name in ("张三", "李四", "王五", "赵六"))
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    disposition = response.headers["Content-Disposition"]
    assert disposition.startswith('attachment; filename="fund-result-') and "filename*=UTF-8''" in disposition


def test_the_result_pdf_is_for_owners_in_scope_staff_and_committee(client, owner, staff, decided,
                                                                  fund_proposal):
    url = f"{_url(decided['proposal'])}/result.pdf"
    # while voting there is no result yet
    voting = fund_proposal(rule="civil_code_use")
    early = client.get(f"{_url(voting)}/result.pdf", headers=decided["li"])
    assert early.status_code == 409 and early.json["error"]["code"] == "result_not_ready"
    assert client.get(url, headers=decided["desk"]).status_code == 200
    assert client.get(url, headers=decided["chair"]).status_code == 200
    # 钱七 owns a shop outside building 1: no plan, no result file, as for the plan's files
    outside = client.get(url, headers=decided["qian"])
    assert outside.status_code == 404 and outside.json["error"]["code"] == "proposal_not_found"
    other = staff("desk", "desk-elsewhere", community_of=_other_community(client))
    assert client.get(url, headers=other).status_code == 404


def _other_community(client) -> dict:
    from backend.services.community import get_or_create_community

    with client.application.app_context():
        c, _ = get_or_create_community("别的小区")
        db.session.commit()
        return {"id": c.id}


def test_an_objection_result_lists_no_rooms(app, client, owner, fund_proposal, rooms_by_label,
                                           wechat_api):
    proposal = fund_proposal()  # objection
    li = owner("O-2")
    assert client.post(f"{_url(proposal)}/ballots", headers=li, json={
        "room_id": rooms_by_label["1-1-102"], "choice": "object"}).status_code == 201
    close_at_deadline(app, proposal["id"])
    flat = re.sub(r"\s+", " ", "\n".join(_pdf_pages(
        client.get(f"{_url(proposal)}/result.pdf", headers=owner("O-1")))))
    tally = client.get(f"{_url(proposal)}/tally", headers=li).json
    assert f"提出异议 {tally['counts']['object']['rooms']} {tally['counts']['object']['area_m2']}" in flat
    assert "1栋1单元102" not in flat and "不公示参与房屋名单" in flat


def test_ballot_sheets_have_a_page_per_room_that_can_vote_with_the_proposal_url(
        app, client, owner, staff, committee, fund_proposal, wechat_api):
    proposal = fund_proposal(rule="civil_code_use", scope={"community": True})
    app.config["PUBLIC_BASE_URL"] = "https://wuye.example.com"  # restored after the test
    response = client.get(f"{_url(proposal)}/ballot-sheets.pdf", headers=staff("desk"))
    pages = _pdf_pages(response)
    # 8 rooms, 2 of them unsold (nobody can vote for those)
    labels = ["1栋1单元101", "1栋1单元102", "1栋1单元201", "1栋1单元202", "2栋1单元101", "S栋1单元S01"]
    assert len(pages) == len(labels)
    url = f"https://wuye.example.com/miniapp/#/fund/{proposal['id']}"
    for page, label in zip(pages, labels):
        flat = re.sub(r"\s+", " ", page)
        assert label in flat and url in page.replace("\n", "")
        assert all(choice in flat for choice in ("同意", "反对", "弃权"))
        assert proposal["title"] in flat and "¥120,000.00" in flat
    assert "张三" in pages[0] and "钱七" in pages[-1]
    assert client.get(f"{_url(proposal)}/ballot-sheets.pdf", headers=committee("O-1")).status_code == 200
    refused = client.get(f"{_url(proposal)}/ballot-sheets.pdf", headers=owner("O-2"))
    assert refused.status_code == 403 and refused.json["error"]["code"] == "not_staff_or_committee"
    # a large community prints building by building
    one = _pdf_pages(client.get(f"{_url(proposal)}/ballot-sheets.pdf?building=2", headers=staff("desk")))
    assert len(one) == 1 and "2栋1单元101" in one[0]
    none = client.get(f"{_url(proposal)}/ballot-sheets.pdf?building=9", headers=staff("desk"))
    assert none.status_code == 404 and none.json["error"]["code"] == "building_not_in_scope"


def test_ballot_sheets_during_publicity_and_not_for_a_draft(client, committee, staff, fund_proposal,
                                                            wechat_api):
    chair = committee("O-1")
    # the deadline leaves the publicity period and the voting window
    closes = (datetime.now(timezone.utc) + timedelta(days=30)).isoformat()
    draft = fund_proposal(open=False, rule="civil_code_use", closes_at=closes)
    url = f"{_url(draft)}/ballot-sheets.pdf"
    refused = client.get(url, headers=chair)
    assert refused.status_code == 409 and refused.json["error"]["code"] == "sheets_not_available"
    published = client.post(f"{_url(draft)}/open", headers=chair)
    assert published.status_code == 200, published.json
    assert published.json["stage"] == "publicity"
    # before voting starts there is no snapshot yet: the rooms in scope as they are now
    pages = _pdf_pages(client.get(url, headers=staff("desk")))
    assert len(pages) == 4 and "王五" in pages[2] and "1栋1单元202" in pages[3]


def test_public_base_url_defaults_to_the_local_server():
    from backend.config import from_environment

    assert from_environment({})["PUBLIC_BASE_URL"] == "http://127.0.0.1:5000"
    assert from_environment({"PUBLIC_BASE_URL": "https://wuye.example.com/"})[
        "PUBLIC_BASE_URL"] == "https://wuye.example.com"


def test_the_ballot_log_workbook_is_the_audit_log(client, decided):
    proposal, chair = decided["proposal"], decided["chair"]
    audit = client.get(f"{_url(proposal)}/audit?limit=100", headers=chair).json
    header, *rows = _sheet_rows(client.get(f"{_url(proposal)}/ballots.xlsx", headers=chair))
    assert header[0] == "序号" and len(rows) == len(audit["entries"]) == audit["ballots"] == 3
    labels = {"approve": "同意", "oppose": "反对"}
    for row, entry in zip(rows, audit["entries"]):
        seq, at, rooms, kind, action, choice, voter, entered_by, photo, entry_hash, prev = row
        assert seq == entry["seq"] and entry_hash == entry["entry_hash"] and prev == entry["prev_hash"]
        assert at == datetime.fromisoformat(entry["cast_at"]).replace(tzinfo=None)
        assert entry["cast_at"].endswith("+08:00")
        assert choice == labels[entry["choice"]] and voter == entry["voter"]
        assert rooms == "、".join(r["label"] for r in entry["rooms"])
    assert [r[3] for r in rows] == ["线上已投", "线下已投", "委托投票"]
    assert rows[1][7] and rows[1][8] == decided["photo"]["sha256"]
    assert rows[2][2] == "1栋1单元201、1栋1单元202"


def test_the_participation_workbook_matches_the_tally(client, decided):
    proposal = decided["proposal"]
    tally = client.get(f"{_url(proposal)}/tally", headers=decided["chair"]).json
    header, *rows = _sheet_rows(client.get(f"{_url(proposal)}/participation.xlsx",
                                           headers=decided["desk"]))
    assert header[:2] == ("房屋", "专有部分面积（m²）")
    assert len(rows) == tally["eligible"]["rooms"] == 4
    voted = [r for r in rows if r[3] == "是"]
    assert len(voted) == tally["participating"]["rooms"]
    # areas are numbers, summing to the tally's to the cent
    assert all(isinstance(r[1], (int, float)) for r in rows)
    total = sum(Decimal(str(r[1])) for r in voted).quantize(Decimal("0.01"))
    assert str(total) == tally["participating"]["area_m2"]
    assert {r[4] for r in voted} == {"线上已投", "线下已投", "委托投票"}
    assert not any(word in str(cell) for r in rows for cell in r for word in CHOICE_WORDS)


def test_owners_and_staff_cannot_export_the_ballot_log(client, owner, decided):
    proposal = decided["proposal"]
    for headers in (decided["li"], decided["desk"]):
        refused = client.get(f"{_url(proposal)}/ballots.xlsx", headers=headers)
        assert refused.status_code == 403
    assert client.get(f"{_url(proposal)}/participation.xlsx", headers=decided["li"]).status_code == 403
    assert client.get(f"{_url(proposal)}/participation.xlsx", headers=decided["qian"]).status_code == 403
