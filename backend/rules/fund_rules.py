"""Names and fixed lists of maintenance-fund decisions (专项维修资金), in the words
owners read: one label per code (rules, statuses, outcomes, choices, bases, emergency
cases, the comparisons a tally makes), a plain-language explanation of each rule,
and the bounds no community setting may pass (the shortest voting window and
publicity period, the highest objection threshold). The pages, the notifications
and the bot all read these; the pages get them from ``GET /api/v1/labels`` and the
payloads, never from a copy of their own.
"""
from __future__ import annotations

from fractions import Fraction

from backend.rules.tally import (
    APPROVAL_GROUP,
    OBJECTION_GROUP,
    QUORUM,
    QUORUM_GROUP,
    SUPERMAJORITY,
    Measure,
    parse_threshold,
)

# ------------------------------------------------------------------ bounds of the settings
# However a community sets them, owners get at least this many days to object or vote,
# and a result is publicised at least this long before its money may be spent.
FLOOR_DAYS = 3
# The community setting that holds each voted rule's shortest window (days from the
# moment voting opens to ``closes_at``); emergency use has no vote.
WINDOW_SETTINGS: dict[str, str] = {
    "objection": "fund_objection_days",
    "civil_code_use": "fund_vote_days",
    "civil_code_major": "fund_vote_days",
}
PUBLICITY_SETTING = "fund_publicity_days"
# 否定表决 is legal only as long as objections from at most half of the owners (or
# area) can stop a use: a higher threshold would let a use pass against a majority.
MAX_OBJECTION_THRESHOLD = Fraction(1, 2)


def objection_threshold_in_bounds(text: str | Fraction) -> Fraction:
    """The threshold a community may set: "1/3", "0.4", "50%"… strictly above 0 and
    at most 1/2. ValueError otherwise."""
    value = parse_threshold(text)
    if value > MAX_OBJECTION_THRESHOLD:
        raise ValueError(f"threshold {text!r} above 1/2")
    return value


def floored_days(days) -> int:
    """A period setting as it applies: never below ``FLOOR_DAYS``."""
    return max(int(days), FLOOR_DAYS)

# The rule's name as every page, notice and answer shows it. civil_code_use: owners
# with 2/3 of the area and 2/3 of the headcount take part, more than half of the
# participating area and headcount approve; civil_code_major: at least 3/4 of them.
RULE_LABELS: dict[str, str] = {
    "objection": "否定表决",
    "civil_code_use": "双过半（参与表决）",
    "civil_code_major": "双四分之三（参与表决）",
    "emergency": "应急使用（无需表决）",
}

# 应急使用 (Ministry of Housing order No. 165 art. 24 and local lists): the only cases in
# which the fund may be used without a vote. Codes are stable API values.
EMERGENCY_CASES: dict[str, str] = {
    "roof_wall_leak": "屋面、外墙防水损坏造成渗漏",
    "lift_failure": "电梯故障危及人身安全或被责令停止运行",
    "water_supply_failure": "高层供水水泵或供水主管损坏导致停水",
    "facade_falling": "楼体外立面存在脱落危险",
    "drain_failure": "排水设施堵塞、爆裂或塌陷",
    "fire_system_order": "消防设施经消防部门责令限期整改",
}

STATUS_LABELS: dict[str, str] = {
    "draft": "草稿",
    "scheduled": "待开始",
    "voting": "表决中",
    "closed": "已结束",
    "approved": "已批准",
}

OUTCOME_LABELS: dict[str, str] = {
    "pending": "表决进行中",
    "passed": "通过",
    "rejected": "未通过",
    "no_quorum": "参与未达法定比例",
    # closed before its deadline without a result (never a pass): see tally.VoteRule.decide_early
    "withdrawn": "已撤回",
}

CHOICE_LABELS: dict[str, str] = {
    "object": "提出异议",
    "approve": "同意",
    "oppose": "反对",
    "abstain": "弃权",
}

BASIS_LABELS: dict[str, str] = {
    "area": "按专有部分面积",
    "headcount": "按业主人数",
    "either": "面积或人数任一项超过",
    "both": "面积和人数均超过",
}


# What each comparison of a tally (backend/rules/tally.py ``Measure``) measures.
MEASURE_LABELS: dict[str, str] = {
    "participating_area": "参与表决面积",
    "participating_headcount": "参与表决人数",
    "approving_area": "同意面积",
    "approving_headcount": "同意人数",
    "objecting_area": "异议面积",
    "objecting_headcount": "异议人数",
}

COMPARISON_LABELS: dict[str, str] = {"more_than": "超过", "at_least": "不少于"}

# Headings of the groups of comparisons (the wholes they are shares of).
MEASURE_GROUP_LABELS: dict[str, str] = {
    QUORUM_GROUP: "参与情况（占范围内总数）",
    APPROVAL_GROUP: "同意情况（占参与表决的）",
    OBJECTION_GROUP: "异议情况（占范围内总数）",
}


def requirement_text(measure: Measure) -> str:
    """What a comparison asks, in words: "不少于三分之二", "超过二分之一",
    "超过三分之一即否决"."""
    text = COMPARISON_LABELS[measure.comparison] + fraction_label(measure.threshold)
    return text + "即否决" if measure.group == OBJECTION_GROUP else text


def fraction_label(value: Fraction | str) -> str:
    """1/3 → 三分之一 (the way notices write it)."""
    value = parse_threshold(value) if isinstance(value, str) else value
    digits = "零一二三四五六七八九十"

    def cn(n: int) -> str:
        if n <= 10:
            return digits[n]
        if n < 20:
            return "十" + (digits[n - 10] if n > 10 else "")
        if n < 100:
            return digits[n // 10] + "十" + (digits[n % 10] if n % 10 else "")
        return str(n)

    return f"{cn(value.denominator)}分之{cn(value.numerator)}"


def explain_rule(rule: str, threshold: Fraction | str = "1/3", basis: str = "either",
                 publicity_days: int = 7, window_days: int | None = None) -> str:
    """A plain explanation of how a decision under ``rule`` is made; ``window_days``:
    the shortest voting (objection) window, when it is known."""
    if rule == "objection":
        share = fraction_label(threshold)
        condition = {
            "area": f"提出异议的业主专有部分面积超过总面积的{share}",
            "headcount": f"提出异议的业主人数超过总人数的{share}",
            "either": f"提出异议的业主专有部分面积或人数任一项超过总数的{share}",
            "both": f"提出异议的业主专有部分面积和人数均超过总数的{share}",
        }[basis]
        period = f"异议期不少于{window_days}天，" if window_days else ""
        return (f"采用否定表决：使用方案公示后，业主只需对不同意的方案提出异议，未提出异议视为同意。"
                f"{period}{condition}时方案不通过，否则通过（恰好等于{share}不算超过）。"
                "异议期内提前结束只能撤回方案，不视为通过。"
                f"表决结果公示{publicity_days}天，公示期满后方可支取。")
    quorum = fraction_label(QUORUM)
    period = f"表决期不少于{window_days}天；" if window_days else ""
    early = "提前结束表决时，除非全部业主均已表决，否则只能撤回方案。"
    if rule == "civil_code_use":
        return (f"依据民法典第二百七十八条，使用维修资金须由专有部分面积占比{quorum}以上且人数占比"
                f"{quorum}以上的业主参与表决，并经参与表决专有部分面积过半数且参与表决人数过半数的业主同意"
                f"（恰好一半不算过半；弃权计入参与）。{period}{early}"
                f"表决结果公示{publicity_days}天，公示期满后方可支取。")
    if rule == "civil_code_major":
        share = fraction_label(SUPERMAJORITY)
        return ("依据民法典第二百七十八条，筹集维修资金、改建重建建筑物、改变共有部分用途，须由专有部分面积"
                f"占比{quorum}以上且人数占比{quorum}以上的业主参与表决，并经参与表决专有部分面积{share}以上"
                f"且参与表决人数{share}以上的业主同意（弃权计入参与）。{period}{early}"
                f"表决结果公示{publicity_days}天，公示期满后方可支取。")
    if rule == "emergency":
        cases = "；".join(EMERGENCY_CASES.values())
        return ("发生危及房屋安全和人身财产安全的紧急情况时，可应急使用维修资金，无需业主表决，"
                f"但仅限以下情形：{cases}。须由业委会委员和物业项目经理共同签字确认，"
                f"使用情况和费用向相关业主公示{publicity_days}天。")
    raise ValueError(f"unknown rule {rule!r}")


HEADCOUNT_NOTE = ("计算人数时，一位产权人拥有多套房屋只算一人；开发商尚未出售的房屋合计算一人。"
                  "面积按不动产登记簿记载的专有部分面积计算。")


# ------------------------------------------------------------------ decision steps (#15)
# The step a decision is at, as owners, the desk and the bot name it. One definition:
# ``stage_of`` below, from the status as it stands now and whether the result is final.
STAGE_LABELS: dict[str, str] = {
    "draft": "草稿",
    "publicity": "公示中",  # published, owners read the plan and ask; voting not yet open
    "voting": "表决中",
    "query": "询异期",  # preliminary result published, queries taken
    "published": "已公布",  # final result published and frozen
    "approved": "已批准",  # emergency use
}

# How a ballot entered the log (what the owner's own ballot shows).
BALLOT_KIND_LABELS: dict[str, str] = {
    "online": "线上已投",
    "paper": "线下已投",
    "proxy": "委托投票",
}

BALLOT_ACTION_LABELS: dict[str, str] = {
    "cast": "投票",
    "withdraw": "撤回异议",
    "change": "更改选择",
}


def stage_of(status: str, finalised: bool) -> str:
    """The decision step of a proposal whose status (as it stands now) is ``status``."""
    status = getattr(status, "value", status)
    if status == "scheduled":
        return "publicity"
    if status == "closed":
        return "published" if finalised else "query"
    return status


def cost_per_m2(amount, area):
    """The amount shared over the scope's area (sum of its rooms' areas), yuan per m²
    to the cent, half up; None for no area."""
    from decimal import ROUND_HALF_UP, Decimal

    area = Decimal(area or 0)
    if area <= 0:
        return None
    return (Decimal(amount) / area).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
