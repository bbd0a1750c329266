"""The fund tally rules and the ballot hash chain, alone (no app, no database).

Every case is computed by hand in the comment above it. Rooms are (room_id, area,
owner_key); owner_key 0 is the developer (all unsold rooms together)."""
from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from fractions import Fraction

import pytest

from backend.rules import fund_chain
from backend.rules.fund_rules import (
    EMERGENCY_CASES,
    OUTCOME_LABELS,
    RULE_LABELS,
    explain_rule,
    floored_days,
    fraction_label,
    objection_threshold_in_bounds,
)
from backend.rules.tally import (
    NO_QUORUM,
    PASSED,
    REJECTED,
    RULES,
    WITHDRAWN,
    EligibleRoom,
    Figures,
    Settings,
    aggregate,
    parse_threshold,
    tally,
)

D = Decimal


def rooms(*specs) -> list[EligibleRoom]:
    return [EligibleRoom(i + 1, D(area), key) for i, (area, key) in enumerate(specs)]


def votes(snapshot, by_owner: dict[int, str]) -> dict[int, str]:
    """An owner's one choice covers all their rooms (as the service stores it)."""
    return {r.room_id: by_owner[r.owner_key] for r in snapshot if r.owner_key in by_owner}


def objection(snapshot, objectors, basis="either", threshold="1/3"):
    return tally("objection", snapshot, votes(snapshot, {k: "object" for k in objectors}),
                 Settings(parse_threshold(threshold), basis))


# ------------------------------------------------------------------ headcount
def test_an_owner_of_several_rooms_and_the_developer_each_count_once():
    # owner 1: rooms of 50 + 70; owner 2: 100; developer: three unsold rooms of 80
    snapshot = rooms(("50.00", 1), ("70.00", 1), ("100.00", 2),
                     ("80.00", 0), ("80.00", 0), ("80.00", 0))
    counts = aggregate(("object",), snapshot, {})
    assert counts.eligible == Figures(rooms=6, area=D("460.00"), headcount=3)
    assert counts.participating == Figures(0, D("0.00"), 0)


def test_figures_are_exact_decimals():
    snapshot = rooms(("0.10", 1), ("0.20", 2))
    assert aggregate(("object",), snapshot, {}).eligible.area == D("0.30")


# ------------------------------------------------------------------ objection
def test_objection_exactly_one_third_does_not_reject():
    # 3 owners × 100 m²; one objects: area 100/300 = 1/3, headcount 1/3 → not MORE than 1/3
    snapshot = rooms(("100.00", 1), ("100.00", 2), ("100.00", 3))
    counts, outcome = objection(snapshot, {1})
    assert outcome == PASSED
    assert counts.choice("object") == Figures(1, D("100.00"), 1)


def test_objection_one_cent_over_a_third_of_the_area_rejects_on_area():
    # objecting 100.01 of 300.01 m²: 100.01 > 300.01/3 = 100.0033…; headcount exactly 1/3
    snapshot = rooms(("100.01", 1), ("100.00", 2), ("100.00", 3))
    assert objection(snapshot, {1}, "either")[1] == REJECTED
    assert objection(snapshot, {1}, "area")[1] == REJECTED
    assert objection(snapshot, {1}, "headcount")[1] == PASSED
    assert objection(snapshot, {1}, "both")[1] == PASSED


def test_objection_on_headcount_alone_with_small_rooms():
    # 4 owners; 2 small rooms object: headcount 2/4 > 1/3, area 20/320 < 1/3
    snapshot = rooms(("10.00", 1), ("10.00", 2), ("150.00", 3), ("150.00", 4))
    assert objection(snapshot, {1, 2}, "either")[1] == REJECTED
    assert objection(snapshot, {1, 2}, "headcount")[1] == REJECTED
    assert objection(snapshot, {1, 2}, "area")[1] == PASSED
    assert objection(snapshot, {1, 2}, "both")[1] == PASSED
    # both bases exceeded → rejected under "both" too: owners 3 and 4: 300/320, 2/4
    assert objection(snapshot, {3, 4}, "both")[1] == REJECTED


def test_objection_by_a_multi_room_owner_counts_one_person():
    # owner 1 holds rooms of 50 + 50; owners 2, 3, 4 one room of 100 each.
    # Owner 1 objects: area 100/400 = 1/4, headcount 1/4 → passes. (Counting rooms
    # as people would give 2/5 > 1/3.)
    snapshot = rooms(("50.00", 1), ("50.00", 1), ("100.00", 2), ("100.00", 3), ("100.00", 4))
    counts, outcome = objection(snapshot, {1})
    assert counts.choice("object") == Figures(2, D("100.00"), 1)
    assert counts.eligible.headcount == 4
    assert outcome == PASSED


def test_objection_unsold_rooms_are_one_person_in_the_denominator():
    # owners 1 and 2 (10 m² each) and the developer's 3 unsold rooms: headcount 3.
    # Owner 1 objects: headcount exactly 1/3 → passes; owners 1 and 2: 2/3 → rejected.
    # (Counting the 3 unsold rooms as 3 people would give 1/5 and 2/5.)
    snapshot = rooms(("10.00", 1), ("10.00", 2), ("90.00", 0), ("90.00", 0), ("90.00", 0))
    assert objection(snapshot, {1}, "headcount")[1] == PASSED
    assert objection(snapshot, {1, 2}, "headcount")[1] == REJECTED


def test_objection_silence_is_consent():
    snapshot = rooms(("100.00", 1), ("100.00", 2))
    counts, outcome = objection(snapshot, set())
    assert outcome == PASSED and counts.participating.rooms == 0


def test_objection_threshold_is_a_setting():
    # one of two owners objects: 1/2. Exactly 1/2 does not exceed a 1/2 threshold;
    # it exceeds the default 1/3 and a 2/5 threshold.
    snapshot = rooms(("100.00", 1), ("100.00", 2))
    assert objection(snapshot, {1}, threshold="1/2")[1] == PASSED
    assert objection(snapshot, {1}, threshold="1/3")[1] == REJECTED
    assert objection(snapshot, {1}, threshold="0.4")[1] == REJECTED


# ------------------------------------------------------------------ civil code: using the fund
def use(snapshot, choices):
    return tally("civil_code_use", snapshot, votes(snapshot, choices))


def test_use_exactly_two_thirds_participating_is_a_quorum():
    # 3 owners × 100: owners 1, 2 vote (2/3 of area, 2/3 of people), both approve → passed
    snapshot = rooms(("100.00", 1), ("100.00", 2), ("100.00", 3))
    counts, outcome = use(snapshot, {1: "approve", 2: "approve"})
    assert counts.participating == Figures(2, D("200.00"), 2)
    assert outcome == PASSED


def test_use_below_two_thirds_is_no_quorum():
    # 3 owners × 100; only owner 1 votes (1/3) → no quorum even though all approve
    snapshot = rooms(("100.00", 1), ("100.00", 2), ("100.00", 3))
    assert use(snapshot, {1: "approve"})[1] == NO_QUORUM
    # just under 2/3 of the area with 2/3 of the people: 199.99 of 300.00 → no quorum
    snapshot = rooms(("100.00", 1), ("99.99", 2), ("100.01", 3))
    assert use(snapshot, {1: "approve", 2: "approve"})[1] == NO_QUORUM


def test_use_exactly_half_approving_does_not_pass():
    # 4 owners × 100, all vote: 2 approve, 2 oppose → exactly 1/2 → rejected
    snapshot = rooms(*[("100.00", k) for k in (1, 2, 3, 4)])
    outcome = use(snapshot, {1: "approve", 2: "approve", 3: "oppose", 4: "oppose"})[1]
    assert outcome == REJECTED


def test_use_abstentions_take_part_and_count_against_a_majority():
    # 3 owners × 100; owner 1 approves, owner 2 abstains: quorum 2/3 reached (abstaining
    # takes part), approval 100/200 = exactly 1/2 → rejected
    snapshot = rooms(("100.00", 1), ("100.00", 2), ("100.00", 3))
    counts, outcome = use(snapshot, {1: "approve", 2: "abstain"})
    assert counts.choice("abstain") == Figures(1, D("100.00"), 1)
    assert outcome == REJECTED
    # 5 owners: 3 approve, 1 abstains → 4/5 take part, 3/4 of them approve → passed
    snapshot = rooms(*[("100.00", k) for k in (1, 2, 3, 4, 5)])
    assert use(snapshot, {1: "approve", 2: "approve", 3: "approve", 4: "abstain"})[1] == PASSED


def test_use_needs_a_majority_of_area_and_of_people():
    # owners 1, 2 small (10 m²) approve; owner 3 large (100 m²) opposes:
    # people 2/3 approve, area 20/120 → rejected
    snapshot = rooms(("10.00", 1), ("10.00", 2), ("100.00", 3))
    assert use(snapshot, {1: "approve", 2: "approve", 3: "oppose"})[1] == REJECTED


def test_use_multi_room_owner_counts_once_in_participation_and_approval():
    # owner 1: rooms 60 + 60; owners 2, 3: 100 each. Total area 320, headcount 3.
    # owner 1 and owner 2 approve, owner 3 opposes: all take part;
    # approve area 220/320 > 1/2, approve heads 2/3 > 1/2 → passed
    snapshot = rooms(("60.00", 1), ("60.00", 1), ("100.00", 2), ("100.00", 3))
    counts, outcome = use(snapshot, {1: "approve", 2: "approve", 3: "oppose"})
    assert counts.choice("approve") == Figures(3, D("220.00"), 2)
    assert counts.participating.headcount == 3
    assert outcome == PASSED


def test_use_unsold_rooms_weigh_in_the_quorum():
    # owners 1, 2 (100 m² each) and the developer's 3 unsold rooms of 100: area 500,
    # headcount 3. Both owners approve: people 2/3 but area 200/500 < 2/3 → no quorum.
    snapshot = rooms(("100.00", 1), ("100.00", 2), ("100.00", 0), ("100.00", 0), ("100.00", 0))
    counts, outcome = use(snapshot, {1: "approve", 2: "approve"})
    assert counts.eligible == Figures(5, D("500.00"), 3)
    assert outcome == NO_QUORUM


def test_use_with_nobody_voting_is_no_quorum():
    snapshot = rooms(("100.00", 1))
    assert use(snapshot, {})[1] == NO_QUORUM


# ------------------------------------------------------------------ civil code: major matters
def major(snapshot, choices):
    return tally("civil_code_major", snapshot, votes(snapshot, choices))


def test_major_exactly_three_quarters_passes():
    # 4 owners × 100, all vote, 3 approve: 3/4 of area and people → passed
    snapshot = rooms(*[("100.00", k) for k in (1, 2, 3, 4)])
    assert major(snapshot, {1: "approve", 2: "approve", 3: "approve", 4: "oppose"})[1] == PASSED


def test_major_just_under_three_quarters_of_the_area_fails():
    # approving 300.00 of 400.01 participating m² < 3/4 (people exactly 3/4) → rejected
    snapshot = rooms(("100.00", 1), ("100.00", 2), ("100.00", 3), ("100.01", 4))
    assert major(snapshot, {1: "approve", 2: "approve", 3: "approve", 4: "oppose"})[1] == REJECTED


def test_major_abstention_counts_as_not_approving():
    # 4 owners, 3 approve and 1 abstains: 3/4 → passed; 2 approve, 2 abstain → rejected
    snapshot = rooms(*[("100.00", k) for k in (1, 2, 3, 4)])
    assert major(snapshot, {1: "approve", 2: "approve", 3: "approve", 4: "abstain"})[1] == PASSED
    assert major(snapshot, {1: "approve", 2: "approve", 3: "abstain", 4: "abstain"})[1] == REJECTED


def test_major_quorum_as_for_use():
    snapshot = rooms(*[("100.00", k) for k in (1, 2, 3)])
    assert major(snapshot, {1: "approve"})[1] == NO_QUORUM


def test_rooms_outside_the_snapshot_are_ignored():
    snapshot = rooms(("100.00", 1), ("100.00", 2))
    counts = aggregate(("object",), snapshot, {1: "object", 99: "object"})
    assert counts.participating == Figures(1, D("100.00"), 1)


# ------------------------------------------------------------------ settings and labels
@pytest.mark.parametrize("text,value", [("1/3", Fraction(1, 3)), ("2/5", Fraction(2, 5)),
                                        ("0.5", Fraction(1, 2)), ("50%", Fraction(1, 2)),
                                        (" 1 / 4 ", Fraction(1, 4))])
def test_thresholds_parse_exactly(text, value):
    assert parse_threshold(text) == value


@pytest.mark.parametrize("text", ["0", "1", "3/2", "1/0", "abc", "", "-1/3", "1e-3"])
def test_bad_thresholds_are_refused(text):
    with pytest.raises(ValueError):
        parse_threshold(text)


def test_fixed_lists_for_pages_and_the_bot():
    assert set(RULE_LABELS) == {"objection", "civil_code_use", "civil_code_major", "emergency"}
    assert len(EMERGENCY_CASES) == 6 and all(EMERGENCY_CASES.values())
    assert fraction_label("1/3") == "三分之一" and fraction_label("3/4") == "四分之三"
    assert "三分之一" in explain_rule("objection")
    assert "面积和人数均超过" in explain_rule("objection", basis="both")
    assert "过半数" in explain_rule("civil_code_use")
    assert "异议期不少于7天" in explain_rule("objection", window_days=7)
    assert "撤回" in explain_rule("objection") and "撤回" in explain_rule("civil_code_major")


@pytest.mark.parametrize("text,value", [("1/2", Fraction(1, 2)), ("50%", Fraction(1, 2)),
                                        ("1/3", Fraction(1, 3)), ("0.01", Fraction(1, 100))])
def test_a_community_may_set_an_objection_threshold_up_to_one_half(text, value):
    assert objection_threshold_in_bounds(text) == value


@pytest.mark.parametrize("text", ["0.51", "2/3", "0.999", "0", "1"])
def test_an_objection_threshold_above_one_half_is_not_lawful(text):
    # above 1/2 a use would pass although most of the owners objected
    with pytest.raises(ValueError):
        objection_threshold_in_bounds(text)


def test_periods_never_go_below_the_floor():
    assert [floored_days(d) for d in (0, 2, 3, 7, "10")] == [3, 3, 3, 7, 10]


# ------------------------------------------------------------------ closing early
def test_an_early_close_never_passes_an_objection_vote():
    # nobody objected (would pass at the deadline), or everyone did: withdrawn either way
    snapshot = rooms(("100.00", 1), ("100.00", 2))
    rule = RULES["objection"]
    for objectors in ([], [1, 2]):
        counts = objection(snapshot, objectors)[0]
        assert rule.decide_early(counts, owners_yet_to_vote=2 - len(objectors)) == WITHDRAWN
    assert OUTCOME_LABELS[WITHDRAWN] == "已撤回"


@pytest.mark.parametrize("name", ["civil_code_use", "civil_code_major"])
def test_an_early_close_decides_a_civil_code_vote_only_when_nobody_is_left_to_vote(name):
    # owners 1-3 of 100 m² each and unsold rooms (the developer, who cannot vote)
    snapshot = rooms(("100.00", 1), ("100.00", 2), ("100.00", 3), ("50.00", 0))
    rule = RULES[name]
    two = aggregate(rule.choices, snapshot, votes(snapshot, {1: "approve", 2: "approve"}))
    assert rule.decide_early(two, owners_yet_to_vote=1) == WITHDRAWN
    everyone = aggregate(rule.choices, snapshot,
                         votes(snapshot, {1: "approve", 2: "approve", 3: "approve"}))
    # 300 of 350 m² and 3 of 4 people take part; all of them approve
    assert rule.decide_early(everyone, owners_yet_to_vote=0) == rule.decide(everyone) == PASSED


# ------------------------------------------------------------------ measures
def test_measures_are_the_comparisons_the_decision_makes():
    # owners 1-3: 100, 100, 200 m²; owners 1 and 3 take part, 3 approves
    snapshot = rooms(("100.00", 1), ("100.00", 2), ("200.00", 3))
    counts, outcome = tally("civil_code_use", snapshot, votes(snapshot, {1: "oppose", 3: "approve"}))
    measures = {m.name: m for m in RULES["civil_code_use"].measures(counts)}
    # 300/400 m² ≥ 2/3 and 2/3 people ≥ 2/3: a quorum
    assert measures["participating_area"].share == Fraction(3, 4)
    assert measures["participating_headcount"].met is True
    # approving 200/300 m² > 1/2, but 1/2 people is not more than half
    assert (measures["approving_area"].met, measures["approving_headcount"].met) == (True, False)
    assert outcome == REJECTED


def test_objection_measures_decide_by_the_basis():
    # owner 1 holds 200 of 300 m²: objecting area 2/3 > 1/3, headcount 1/3 is not more
    snapshot = rooms(("200.00", 1), ("50.00", 2), ("50.00", 3))
    counts = objection(snapshot, [1])[0]
    area, heads = RULES["objection"].measures(counts)
    assert (area.met, heads.met) == (True, False)
    assert objection(snapshot, [1], basis="either")[1] == REJECTED
    assert objection(snapshot, [1], basis="both")[1] == PASSED
    assert heads.share == Fraction(1, 3) and heads.threshold == Fraction(1, 3)


def test_shares_of_nothing_are_zero():
    counts = aggregate(("approve", "oppose", "abstain"), [], {})
    assert all(m.share == 0 for m in RULES["civil_code_major"].measures(counts))
    assert RULES["civil_code_major"].decide(counts) == NO_QUORUM


# ------------------------------------------------------------------ hash chain
T0 = datetime(2026, 11, 21, 8, 0, 0, 123456, tzinfo=timezone.utc)


def build_chain(proposal_id=7, ballots=((11, (1, 2), "object"), (12, (3,), "object"),
                                        (13, (4,), "object"))):
    snapshot = rooms(("50.00", 11), ("50.00", 11), ("80.00", 12), ("90.00", 13), ("70.00", 0))
    genesis = fund_chain.genesis_hash(proposal_id, "objection", T0 + timedelta(days=7), "1/3|either",
                                      snapshot)
    entries, prev = [], genesis
    for seq, (key, room_ids, choice) in enumerate(ballots, start=1):
        cast_at = T0 + timedelta(minutes=seq)
        receipt = f"receipt-{seq}"
        digest = fund_chain.ballot_digest(proposal_id, seq, key, room_ids, choice, cast_at, receipt)
        entry_hash = fund_chain.link_hash(prev, proposal_id, seq, digest)
        entries.append(fund_chain.LogEntry(100 + seq, seq, key, room_ids, choice, cast_at, receipt,
                                           digest, prev, entry_hash))
        prev = entry_hash
    by_key: dict[int, list[int]] = {}
    for r in snapshot:
        by_key.setdefault(r.owner_key, []).append(r.room_id)
    return genesis, entries, by_key, snapshot


def test_an_untouched_chain_verifies_up_to_the_published_head():
    genesis, entries, by_key, _ = build_chain()
    problems = fund_chain.verify_chain(7, genesis, entries, by_key,
                                       published_head=entries[-1].entry_hash, published_count=3)
    assert problems == []


def test_an_edited_choice_is_found_at_its_entry():
    genesis, entries, by_key, _ = build_chain()
    entries[1] = replace(entries[1], choice="approve")
    problems = fund_chain.verify_chain(7, genesis, entries, by_key)
    assert [(p.kind, p.seq) for p in problems] == [("edited", 2)]


def test_an_edit_with_recomputed_hashes_still_breaks_the_next_link():
    genesis, entries, by_key, _ = build_chain()
    e = entries[0]
    digest = fund_chain.ballot_digest(7, 1, e.voter_key, e.room_ids, "approve", e.cast_at, e.receipt)
    entries[0] = replace(e, choice="approve", digest=digest,
                         entry_hash=fund_chain.link_hash(e.prev_hash, 7, 1, digest))
    problems = fund_chain.verify_chain(7, genesis, entries, by_key)
    assert [(p.kind, p.seq) for p in problems] == [("broken_link", 2)]


def test_a_deleted_ballot_is_found_where_it_was():
    genesis, entries, by_key, _ = build_chain()
    del entries[1]
    problems = fund_chain.verify_chain(7, genesis, entries, by_key)
    assert ("deleted", 2) in [(p.kind, p.seq) for p in problems]
    assert ("broken_link", 3) in [(p.kind, p.seq) for p in problems]


def test_deleting_the_last_ballot_shows_against_the_published_head():
    genesis, entries, by_key, _ = build_chain()
    head = entries[-1].entry_hash
    problems = fund_chain.verify_chain(7, genesis, entries[:-1], by_key,
                                       published_head=head, published_count=3)
    assert {p.kind for p in problems} == {"deleted", "published"}


def test_a_ballot_appended_after_the_result_is_found():
    genesis, entries, by_key, _ = build_chain()
    head = entries[-1].entry_hash
    problems = fund_chain.verify_chain(7, genesis, entries, by_key, published_head=entries[1].entry_hash,
                                       published_count=2)
    assert ("inserted", 3) in [(p.kind, p.seq) for p in problems]
    assert head != entries[1].entry_hash


def test_a_ballot_covering_the_wrong_rooms_is_found():
    genesis, entries, by_key, _ = build_chain(ballots=((11, (1,), "object"),))
    problems = fund_chain.verify_chain(7, genesis, entries, by_key)
    assert [(p.kind, p.seq) for p in problems] == [("rooms", 1)]


def test_the_genesis_hash_covers_the_snapshot():
    _, _, _, snapshot = build_chain()
    closes = T0 + timedelta(days=7)
    base = fund_chain.genesis_hash(7, "objection", closes, "1/3|either", snapshot)
    changed = [replace(snapshot[0], area=D("51.00"))] + snapshot[1:]
    assert fund_chain.genesis_hash(7, "objection", closes, "1/3|either", changed) != base
    assert fund_chain.genesis_hash(7, "objection", closes, "1/2|either", snapshot) != base
