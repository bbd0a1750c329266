"""Evaluate the matcher on a labelled file (``flask --app wsgi bot-eval FILE.yaml``).

The file is a YAML list of ``{text, intent}``. The report gives, per intent,
precision (of the answers the bot gave as that intent, how many were right) and
recall (of the questions labelled with it, how many it found), then overall
accuracy and the misclassified questions. Pure: no Flask, no database.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from backend.bot.matcher import SAFE_LOADER, Matcher


@dataclass
class IntentScore:
    intent: str
    support: int  # labelled questions
    predicted: int  # answers given as this intent
    correct: int

    @property
    def precision(self) -> float:
        return self.correct / self.predicted if self.predicted else 0.0

    @property
    def recall(self) -> float:
        return self.correct / self.support if self.support else 0.0


@dataclass
class Report:
    total: int
    correct: int
    per_intent: list[IntentScore]
    errors: list[tuple[str, str, str]] = field(default_factory=list)  # text, expected, got

    @property
    def accuracy(self) -> float:
        return self.correct / self.total if self.total else 0.0

    def render(self) -> str:
        lines = [f"{'intent':<20}{'precision':>10}{'recall':>10}{'support':>9}"]
        for s in self.per_intent:
            precision = f"{s.precision:.2f}" if s.predicted else "-"
            lines.append(f"{s.intent:<20}{precision:>10}{s.recall:>10.2f}{s.support:>9}")
        lines.append(f"accuracy {self.correct}/{self.total} = {self.accuracy:.1%}")
        for text, expected, got in self.errors:
            lines.append(f"  MISS {text!r}: expected {expected}, got {got}")
        return "\n".join(lines)


def load_examples(path: str | Path) -> list[tuple[str, str]]:
    data = yaml.load(Path(path).read_text(encoding="utf-8"), Loader=SAFE_LOADER) or []
    if not isinstance(data, list):
        raise ValueError(f"{path}: expected a list of {{text, intent}}")
    out = []
    for number, item in enumerate(data, start=1):
        if not isinstance(item, dict) or "text" not in item or "intent" not in item:
            raise ValueError(f"{path}: item {number} needs 'text' and 'intent'")
        out.append((str(item["text"]), str(item["intent"])))
    return out


def evaluate(matcher: Matcher, examples: list[tuple[str, str]]) -> Report:
    support, predicted, correct = Counter(), Counter(), Counter()
    errors = []
    for text, expected in examples:
        got = matcher.match(text).intent
        support[expected] += 1
        predicted[got] += 1
        if got == expected:
            correct[expected] += 1
        else:
            errors.append((text, expected, got))
    intents = sorted(set(support) | set(predicted))
    per_intent = [IntentScore(i, support[i], predicted[i], correct[i]) for i in intents]
    return Report(len(examples), sum(correct.values()), per_intent, errors)
