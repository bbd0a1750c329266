"""The tally of a maintenance-fund decision (专项维修资金表决): pure functions over the
eligibility snapshot and the ballots. No I/O; the service computes the same figures
with one aggregate query and hands them to ``decide``.

Headcount (Supreme People's Court interpretation on building ownership, arts. 8-9):
one owner of record counts as one person however many rooms they hold in scope, and
all unsold rooms held by the developer count as one person together. A snapshot row
carries an ``owner_key``: the owner of record's id, or ``DEVELOPER_KEY`` (0).

Vote rules are a registry keyed by name (``RULES``), each knowing its choices, the
comparisons it makes (``measures``: part of a whole against a share, what the pages
draw as bars) and how those comparisons decide. Thresholds are exact fractions:
"exactly 1/3 objecting" is not "more than 1/3", and decimals of area are compared
without rounding.
"""
from __future__ import annotations

import re
from abc import ABC, abstractmethod
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction

DEVELOPER_KEY = 0  # all unsold rooms: one person together (the developer)

PASSED, REJECTED, NO_QUORUM, PENDING = "passed", "rejected", "no_quorum", "pending"
WITHDRAWN = "withdrawn"  # closed before the deadline without a result
BASES = ("area", "headcount", "either", "both")
DEFAULT_THRESHOLD = Fraction(1, 3)  # 否定表决: rejected when objections exceed it
DEFAULT_BASIS = "either"
QUORUM = Fraction(2, 3)  # 民法典 art. 278: 2/3 of area AND 2/3 of headcount take part
MAJORITY = Fraction(1, 2)  # more than half of the participating area and headcount
SUPERMAJORITY = Fraction(3, 4)  # at least three quarters (items 6-8)
ZERO_AREA = Decimal("0.00")


@dataclass(frozen=True)
class Figures:
    """Rooms, exclusive area (m²) and headcount of a set of rooms."""

    rooms: int = 0
    area: Decimal = ZERO_AREA
    headcount: int = 0

    def as_json(self) -> dict:
        return {"rooms": self.rooms, "area_m2": f"{self.area:.2f}", "headcount": self.headcount}

    @classmethod
    def from_json(cls, data: Mapping) -> Figures:
        return cls(int(data["rooms"]), Decimal(data["area_m2"]), int(data["headcount"]))


@dataclass(frozen=True)
class EligibleRoom:
    """One row of the snapshot taken when voting opens."""

    room_id: int
    area: Decimal
    owner_key: int  # owner of record id, or DEVELOPER_KEY


@dataclass(frozen=True)
class Counts:
    eligible: Figures
    participating: Figures
    by_choice: dict[str, Figures] = field(default_factory=dict)

    def choice(self, name: str) -> Figures:
        return self.by_choice.get(name, Figures())


def figures(rooms: Iterable[EligibleRoom]) -> Figures:
    rooms = list(rooms)
    return Figures(len(rooms), sum((r.area for r in rooms), ZERO_AREA),
                   len({r.owner_key for r in rooms}))


def aggregate(choices_of_rule: Iterable[str], snapshot: Iterable[EligibleRoom],
              ballots: Mapping[int, str]) -> Counts:
    """Figures for the snapshot and each choice. ``ballots`` maps a room id to the
    choice that covers it (an owner's one choice covers all their rooms in scope);
    rooms outside the snapshot are ignored."""
    snapshot = list(snapshot)
    voted = [r for r in snapshot if r.room_id in ballots]
    return Counts(
        eligible=figures(snapshot),
        participating=figures(voted),
        by_choice={c: figures(r for r in voted if ballots[r.room_id] == c) for c in choices_of_rule},
    )


# ------------------------------------------------------------------ comparisons
MORE_THAN, AT_LEAST = "more_than", "at_least"
AREA, HEADCOUNT = "area", "headcount"
QUORUM_GROUP, APPROVAL_GROUP, OBJECTION_GROUP = "quorum", "approval", "objection"


def _more_than(part, share: Fraction, whole) -> bool:
    """part > share × whole, exactly (Decimal and int both convert to Fraction)."""
    return Fraction(part) > share * Fraction(whole)


def _at_least(part, share: Fraction, whole) -> bool:
    return Fraction(part) >= share * Fraction(whole)


_COMPARE = {MORE_THAN: _more_than, AT_LEAST: _at_least}


@dataclass(frozen=True)
class Measure:
    """One comparison a rule makes: ``part`` of ``whole`` (area in m² or headcount)
    against ``threshold``, either strictly more than it or at least it."""

    name: str  # e.g. "participating_area"
    group: str  # QUORUM_GROUP, APPROVAL_GROUP or OBJECTION_GROUP
    basis: str  # AREA or HEADCOUNT
    part: Decimal | int
    whole: Decimal | int
    threshold: Fraction
    comparison: str  # MORE_THAN or AT_LEAST

    @property
    def met(self) -> bool:
        return _COMPARE[self.comparison](self.part, self.threshold, self.whole)

    @property
    def share(self) -> Fraction:
        """part / whole, exactly (0 of nothing is 0)."""
        return Fraction(self.part) / Fraction(self.whole) if self.whole else Fraction(0)


def _pair(group: str, prefix: str, part: Figures, whole: Figures, threshold: Fraction,
          comparison: str) -> list[Measure]:
    return [Measure(f"{prefix}_{AREA}", group, AREA, part.area, whole.area, threshold, comparison),
            Measure(f"{prefix}_{HEADCOUNT}", group, HEADCOUNT, part.headcount, whole.headcount,
                    threshold, comparison)]


def parse_threshold(text: str | Fraction) -> Fraction:
    """"1/3", "0.5" or "50%" → a Fraction strictly between 0 and 1."""
    if isinstance(text, Fraction):
        value = text
    else:
        raw = str(text).strip()
        try:
            if re.fullmatch(r"\d+\s*/\s*\d+", raw):
                num, den = (int(p) for p in raw.split("/"))
                value = Fraction(num, den)
            elif re.fullmatch(r"\d+(\.\d+)?%", raw):
                value = Fraction(Decimal(raw[:-1])) / 100
            elif re.fullmatch(r"\d*\.\d+|\d+", raw):
                value = Fraction(Decimal(raw))
            else:
                raise ValueError(raw)
        except (ValueError, ZeroDivisionError) as exc:
            raise ValueError(f"invalid threshold {text!r}") from exc
    if not (0 < value < 1):
        raise ValueError(f"threshold {text!r} must be between 0 and 1")
    return value


def threshold_text(value: Fraction) -> str:
    return f"{value.numerator}/{value.denominator}"


# ------------------------------------------------------------------ rules
@dataclass(frozen=True)
class Settings:
    """Per-proposal settings of the objection rule (cities differ)."""

    threshold: Fraction = DEFAULT_THRESHOLD
    basis: str = DEFAULT_BASIS


class VoteRule(ABC):
    name: str = ""
    choices: tuple[str, ...] = ()
    votes = True

    def measures(self, counts: Counts, settings: Settings = Settings()) -> list[Measure]:
        """The comparisons ``decide`` makes, in the order the pages show them."""
        return []

    @abstractmethod
    def decide(self, counts: Counts, settings: Settings = Settings()) -> str:
        """The outcome (PASSED, REJECTED or NO_QUORUM) for these counts."""

    def decide_early(self, counts: Counts, settings: Settings = Settings(), *,
                     owners_yet_to_vote: int) -> str:
        """The outcome of closing before the deadline. Owners who have not voted yet
        could still change the result, so the vote is only withdrawn (WITHDRAWN,
        never a pass) unless every owner who can vote has voted: then no ballot can
        come and the result is already certain."""
        return WITHDRAWN if owners_yet_to_vote > 0 else self.decide(counts, settings)


class ObjectionRule(VoteRule):
    """否定表决: owners only lodge objections; silence is not an objection. Rejected when
    the objecting share of the scope EXCEEDS the threshold, on the configured basis:
    area, headcount, either (default: whichever exceeds) or both (both must)."""

    name = "objection"
    choices = ("object",)

    def measures(self, counts: Counts, settings: Settings = Settings()) -> list[Measure]:
        return _pair(OBJECTION_GROUP, "objecting", counts.choice("object"), counts.eligible,
                     settings.threshold, MORE_THAN)

    def decide(self, counts: Counts, settings: Settings = Settings()) -> str:
        if settings.basis not in BASES:
            raise ValueError(f"unknown basis {settings.basis!r}")
        by_area, by_head = (m.met for m in self.measures(counts, settings))
        rejected = {
            "area": by_area,
            "headcount": by_head,
            "either": by_area or by_head,
            "both": by_area and by_head,
        }[settings.basis]
        return REJECTED if rejected else PASSED

    def decide_early(self, counts: Counts, settings: Settings = Settings(), *,
                     owners_yet_to_vote: int) -> str:
        """Silence counts as consent only once the objection period is over: closed
        early, an objection vote is withdrawn, whoever has objected."""
        return WITHDRAWN


class CivilCodeRule(VoteRule):
    """民法典 art. 278: owners holding at least 2/3 of the area AND 2/3 of the headcount
    take part (abstentions take part); then the approving share of the participating
    area AND headcount decides."""

    choices = ("approve", "oppose", "abstain")

    def __init__(self, name: str, share: Fraction, strictly_more: bool):
        self.name, self.share, self.strictly_more = name, share, strictly_more

    def measures(self, counts: Counts, settings: Settings = Settings()) -> list[Measure]:
        return (_pair(QUORUM_GROUP, "participating", counts.participating, counts.eligible,
                      QUORUM, AT_LEAST)
                + _pair(APPROVAL_GROUP, "approving", counts.choice("approve"), counts.participating,
                        self.share, MORE_THAN if self.strictly_more else AT_LEAST))

    def quorum(self, counts: Counts) -> bool:
        return counts.eligible.rooms > 0 and all(
            m.met for m in self.measures(counts) if m.group == QUORUM_GROUP)

    def decide(self, counts: Counts, settings: Settings = Settings()) -> str:
        if not self.quorum(counts):
            return NO_QUORUM
        passed = all(m.met for m in self.measures(counts) if m.group == APPROVAL_GROUP)
        return PASSED if passed else REJECTED


class EmergencyRule(VoteRule):
    """应急使用: no vote; signed by a committee member and the manager."""

    name = "emergency"
    votes = False

    def decide(self, counts: Counts, settings: Settings = Settings()) -> str:
        raise ValueError("emergency use has no vote")


RULES: dict[str, VoteRule] = {
    "objection": ObjectionRule(),
    # item 5 (using the fund): more than half
    "civil_code_use": CivilCodeRule("civil_code_use", MAJORITY, strictly_more=True),
    # items 6-8 (raising the fund, rebuilding, changing use): at least three quarters
    "civil_code_major": CivilCodeRule("civil_code_major", SUPERMAJORITY, strictly_more=False),
    "emergency": EmergencyRule(),
}
ALL_CHOICES = ("object", "approve", "oppose", "abstain")


def decide(rule: str, counts: Counts, settings: Settings = Settings()) -> str:
    return RULES[rule].decide(counts, settings)


def tally(rule: str, snapshot: Iterable[EligibleRoom], ballots: Mapping[int, str],
          settings: Settings = Settings()) -> tuple[Counts, str]:
    """Counts and outcome from the snapshot and the room → choice map."""
    counts = aggregate(RULES[rule].choices, snapshot, ballots)
    return counts, decide(rule, counts, settings)
