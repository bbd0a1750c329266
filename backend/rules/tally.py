"""The tally of a maintenance-fund decision (专项维修资金表决): pure functions over the
eligibility snapshot and the ballots. No I/O; the service computes the same figures
with one aggregate query and hands them to ``decide``.

Headcount (Supreme People's Court interpretation on building ownership, arts. 8-9):
one owner of record counts as one person however many rooms they hold in scope, and
all unsold rooms held by the developer count as one person together. A snapshot row
carries an ``owner_key``: the owner of record's id, or ``DEVELOPER_KEY`` (0).

Vote rules are a registry keyed by name (``RULES``), each knowing its choices and
how to decide. Thresholds are exact fractions: "exactly 1/3 objecting" is not
"more than 1/3", and decimals of area are compared without rounding.
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
BASES = ("area", "headcount", "either", "both")
DEFAULT_THRESHOLD = Fraction(1, 3)
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
def _more_than(part, share: Fraction, whole) -> bool:
    """part > share × whole, exactly (Decimal and int both convert to Fraction)."""
    return Fraction(part) > share * Fraction(whole)


def _at_least(part, share: Fraction, whole) -> bool:
    return Fraction(part) >= share * Fraction(whole)


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
    basis: str = "either"


class VoteRule(ABC):
    name: str = ""
    choices: tuple[str, ...] = ()
    votes = True

    @abstractmethod
    def decide(self, counts: Counts, settings: Settings = Settings()) -> str:
        """The outcome (PASSED, REJECTED or NO_QUORUM) for these counts."""


class ObjectionRule(VoteRule):
    """否定表决: owners only lodge objections; silence is not an objection. Rejected when
    the objecting share of the scope EXCEEDS the threshold, on the configured basis:
    area, headcount, either (default: whichever exceeds) or both (both must)."""

    name = "objection"
    choices = ("object",)

    def decide(self, counts: Counts, settings: Settings = Settings()) -> str:
        if settings.basis not in BASES:
            raise ValueError(f"unknown basis {settings.basis!r}")
        objecting, scope = counts.choice("object"), counts.eligible
        by_area = _more_than(objecting.area, settings.threshold, scope.area)
        by_head = _more_than(objecting.headcount, settings.threshold, scope.headcount)
        rejected = {
            "area": by_area,
            "headcount": by_head,
            "either": by_area or by_head,
            "both": by_area and by_head,
        }[settings.basis]
        return REJECTED if rejected else PASSED


class CivilCodeRule(VoteRule):
    """民法典 art. 278: owners holding at least 2/3 of the area AND 2/3 of the headcount
    take part (abstentions take part); then the approving share of the participating
    area AND headcount decides."""

    choices = ("approve", "oppose", "abstain")

    def __init__(self, name: str, share: Fraction, strictly_more: bool):
        self.name, self.share, self.strictly_more = name, share, strictly_more

    def quorum(self, counts: Counts) -> bool:
        part, scope = counts.participating, counts.eligible
        return (scope.rooms > 0
                and _at_least(part.area, QUORUM, scope.area)
                and _at_least(part.headcount, QUORUM, scope.headcount))

    def decide(self, counts: Counts, settings: Settings = Settings()) -> str:
        if not self.quorum(counts):
            return NO_QUORUM
        approve, part = counts.choice("approve"), counts.participating
        compare = _more_than if self.strictly_more else _at_least
        passed = (compare(approve.area, self.share, part.area)
                  and compare(approve.headcount, self.share, part.headcount))
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
