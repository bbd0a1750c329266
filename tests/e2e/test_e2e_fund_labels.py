"""维修资金 labels in the browser: every proposal of the demo (one of each rule, and
voting, closed with each outcome, approved, draft) reads the same in its list row and
on its detail page — rule, status and outcome — and what it reads is the server's
label for its code (GET /api/v1/labels), in the mini-program and in the desk console.
"""
from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.e2e.helpers import desk_login, phone_login

pytestmark = pytest.mark.e2e


def api_get(page, path: str, token_key: str):
    """The API as the signed-in page sees it (its token from the page's storage)."""
    token = page.evaluate(f"window.localStorage.getItem({token_key!r})"
                          f" || window.sessionStorage.getItem({token_key!r})")
    response = page.request.get(path, headers={"Authorization": f"Bearer {token}"})
    assert response.ok, (path, response.status)
    return response.json()


def server_labels(page) -> dict:
    response = page.request.get("/api/v1/labels")
    assert response.ok
    return response.json()


def rows_and_details(page, proposals, *, row: str, list_hash: str, title: str, open_row,
                     detail_rule) -> dict[str, dict]:
    """Read each list row, then its detail page: {id: {"row": {...}, "detail": {...}}}."""
    page.goto(list_hash)
    rows = page.locator(row)
    expect(rows.first).to_be_visible()
    seen = {}
    for i in range(rows.count()):
        item = rows.nth(i)
        outcome = item.locator(".outcome")
        seen[item.get_attribute("data-id")] = {"row": {
            "rule": item.locator(".proposal-rule").inner_text(),
            "status": item.locator(".proposal-status").inner_text(),
            "outcome": outcome.inner_text() if outcome.count() else None,
        }}
    for proposal_id, shown in seen.items():
        page.goto(f"{list_hash}/{proposal_id}")
        expect(page.locator(title)).to_have_text(proposals[int(proposal_id)]["title"])
        status = page.locator("#proposal-status")
        expect(status).to_be_visible()
        outcome = page.locator(open_row)
        shown["detail"] = {
            "rule": detail_rule(page).inner_text(),
            "status": status.inner_text(),
            "outcome": outcome.inner_text() if outcome.count() else None,
        }
    return seen


def check(seen: dict, proposals: dict, labels: dict) -> set[tuple[str, str]]:
    kinds = set()
    for proposal_id, shown in seen.items():
        p = proposals[int(proposal_id)]
        expected = {"rule": labels["fund_rule"][p["rule"]],
                    "status": labels["fund_status"][p["status"]],
                    "outcome": labels["fund_outcome"][p["outcome"]] if p["outcome"] else None}
        assert shown["row"] == shown["detail"] == expected, (p["title"], shown, expected)
        kinds.add((p["rule"], p["status"]))
    return kinds


def test_fund_list_and_detail_read_the_servers_labels_on_the_phone(open_page):
    page = open_page("phone", "owner 张伟")
    phone_login(page, "张伟")
    labels = server_labels(page)
    proposals = {p["id"]: p for p in api_get(page, "/api/v1/fund-proposals?limit=100",
                                             "wuye.miniapp.token")["items"]}
    seen = rows_and_details(
        page, proposals, row=".proposal-item", list_hash="/miniapp/#/fund",
        title=".proposal-hero-title", open_row=".proposal-hero .outcome",
        detail_rule=lambda p: p.locator(".facts .kv", has_text="表决规则").locator("dd"))
    kinds = check(seen, proposals, labels)
    # the demo's decisions: one of each voting rule and the emergency path (the phone
    # lists no drafts)
    assert {("objection", "voting"), ("objection", "closed"), ("civil_code_use", "closed"),
            ("emergency", "approved")} <= kinds
    assert labels["fund_rule"]["civil_code_use"] == "双过半（参与表决）"


def test_fund_list_and_detail_read_the_servers_labels_at_the_desk(open_page):
    page = open_page("desk", "committee 张伟")
    desk_login(page, committee="张伟")
    labels = server_labels(page)
    proposals = {p["id"]: p for p in api_get(page, "/api/v1/fund-proposals?limit=100",
                                             "wuye.desk.token")["items"]}
    seen = rows_and_details(
        page, proposals, row="tr.queue-row", list_hash="/desk/#/fund", title="#top-title",
        open_row=".detail-head .outcome",
        detail_rule=lambda p: p.locator("#proposal-rule"))
    kinds = check(seen, proposals, labels)
    assert {("objection", "voting"), ("objection", "closed"), ("civil_code_use", "closed"),
            ("emergency", "approved"), ("civil_code_major", "draft")} <= kinds
    outcomes = {proposals[int(i)]["outcome"] for i in seen}
    assert {"passed", "no_quorum"} <= outcomes
