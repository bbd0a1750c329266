"""The community's rules for fund decisions, as they apply: the objection threshold
and basis (the same for every proposal of the community: a proposal cannot choose
its own), the shortest voting window of each rule and the shortest publicity of a
result, never below the floor of rules/fund_rules.py. Set by an administrator
(``flask --app wsgi set-fund-rule``) within the legal bounds; a vote keeps the
values in force when it opened (stored on the proposal and hashed into its genesis).
"""
from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

from backend.errors import AppError, ValidationFailed
from backend.models import Community, FundRule
from backend.rules.fund_rules import (
    FLOOR_DAYS,
    PUBLICITY_SETTING,
    WINDOW_SETTINGS,
    floored_days,
    objection_threshold_in_bounds,
)
from backend.rules.tally import BASES, threshold_text
from backend.services.community import DEFAULT_SETTINGS, setting

MAX_DAYS = 90  # a proposal's publicity and a community's periods
# Settings of the decision steps (issue #15), with their defaults where a community
# has not set them: the publicity of a proposal before voting opens (公示, days,
# floored like every period), the query window after the preliminary result (询异,
# days, at least one) and whether a civil-code ballot may be changed once.
NOTICE_SETTING, QUERY_SETTING, CHANGE_SETTING = (
    "fund_notice_days", "fund_query_days", "fund_allow_change")
STEP_DEFAULTS = {NOTICE_SETTING: 7, QUERY_SETTING: 3, CHANGE_SETTING: False}
MIN_QUERY_DAYS = 1


@dataclass(frozen=True)
class FundSettings:
    objection_threshold: Fraction
    objection_basis: str
    window_days: dict[str, int]  # voted rule → shortest window
    publicity_days: int
    notice_days: int = 7  # shortest publicity of a proposal before voting opens
    query_days: int = 3  # query window after the preliminary result
    allow_change: bool = False  # civil-code: one change of a cast ballot

    @property
    def threshold_text(self) -> str:
        return threshold_text(self.objection_threshold)

    def min_window_days(self, rule: FundRule | str) -> int | None:
        """The shortest voting window of ``rule`` in days (None: emergency, no vote)."""
        return self.window_days.get(getattr(rule, "value", rule))


def fund_settings(community: Community | None) -> FundSettings:
    """The community's fund settings as they apply (periods floored); None: the
    defaults a new community gets."""
    def value(key: str):
        if key in STEP_DEFAULTS:
            return ((community.settings or {}) if community is not None else {}).get(
                key, STEP_DEFAULTS[key])
        return setting(community, key) if community is not None else DEFAULT_SETTINGS[key]

    try:
        threshold = objection_threshold_in_bounds(value("objection_threshold"))
    except ValueError as exc:
        # only a hand-edited settings row gets here (set-fund-rule checks the bounds)
        raise AppError("本小区的异议比例设置有误（须大于0且不超过1/2），请管理员重新设置",
                       code="fund_settings_invalid", status=409) from exc
    basis = value("objection_basis")
    if basis not in BASES:
        raise AppError("本小区的异议计算方式设置有误，请管理员重新设置",
                       code="fund_settings_invalid", status=409)
    return FundSettings(
        objection_threshold=threshold, objection_basis=basis,
        window_days={rule: floored_days(value(key)) for rule, key in WINDOW_SETTINGS.items()},
        publicity_days=floored_days(value(PUBLICITY_SETTING)),
        notice_days=floored_days(value(NOTICE_SETTING)),
        query_days=max(int(value(QUERY_SETTING)), MIN_QUERY_DAYS),
        allow_change=bool(value(CHANGE_SETTING)))


def set_fund_rule(community: Community, *, objection_threshold: str | None = None,
                  objection_basis: str | None = None, objection_days: int | None = None,
                  vote_days: int | None = None, publicity_days: int | None = None,
                  notice_days: int | None = None, query_days: int | None = None,
                  allow_change: bool | None = None) -> FundSettings:
    """Change the community's fund settings (an administrator, through the CLI).
    Every value is checked before any is changed; open votes keep their own."""
    changes: dict = {}
    problems: dict[str, list[str]] = {}
    if objection_threshold is not None:
        try:
            changes["objection_threshold"] = threshold_text(
                objection_threshold_in_bounds(objection_threshold))
        except ValueError:
            # above 1/2, a use would pass against the objections of most owners
            problems["objection_threshold"] = ["须为大于0且不超过1/2的分数、小数或百分比，如 1/3、30%"]
    if objection_basis is not None:
        if objection_basis in BASES:
            changes["objection_basis"] = objection_basis
        else:
            problems["objection_basis"] = [f"可选：{'、'.join(BASES)}"]
    if query_days is not None:
        if MIN_QUERY_DAYS <= query_days <= MAX_DAYS:
            changes[QUERY_SETTING] = int(query_days)
        else:
            problems[QUERY_SETTING] = [f"须为{MIN_QUERY_DAYS}到{MAX_DAYS}天"]
    if allow_change is not None:
        changes[CHANGE_SETTING] = bool(allow_change)
    for key, value in (("fund_objection_days", objection_days), ("fund_vote_days", vote_days),
                       (PUBLICITY_SETTING, publicity_days), (NOTICE_SETTING, notice_days)):
        if value is None:
            continue
        if FLOOR_DAYS <= value <= MAX_DAYS:
            changes[key] = int(value)
        else:
            problems[key] = [f"须为{FLOOR_DAYS}到{MAX_DAYS}天"]
    if problems:
        raise ValidationFailed("维修资金表决设置有误：" + "；".join(
            f"{key} {'、'.join(texts)}" for key, texts in problems.items()),
            code="invalid_fund_settings", details={"fields": problems})
    if not changes:
        raise ValidationFailed("请至少指定一项设置", code="invalid_fund_settings")
    # a new dict: the JSON column notices the change
    community.settings = {**(community.settings or {}), **changes}
    return fund_settings(community)
