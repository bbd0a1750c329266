"""Intent matching (pure: no Flask, no database, no I/O except reading rules.yaml).

The rules (rules.yaml, edited by staff) give each intent weighted keywords, weighted
regular-expression patterns that may use named concept groups (``{FEE}`` stands for
物业费|管理费|...), negative keywords that count against it, and a priority that
breaks ties. A message is normalised (normalize.py), every intent is scored, and the
best one wins if its score reaches ``min_score``; otherwise the intent is
``unknown``. Confidence combines the winning score with its lead over the runner-up.

``RuleBook`` reloads the file when its modification time changes; a broken edit is
logged and the previous rules stay in force.
"""
from __future__ import annotations

import logging
import os
import re
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

# libyaml's safe loader when PyYAML has it (its wheels do): the same documents, parsed
# about ten times faster, so the first message after a start is not held up
SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

from backend.bot.normalize import Normalizer

log = logging.getLogger(__name__)

UNKNOWN = "unknown"
DEFAULT_RULES = Path(__file__).with_name("rules.yaml")
_CONCEPT = re.compile(r"\{([A-Z][A-Z0-9_]*)\}")


class RulesError(ValueError):
    """rules.yaml is malformed (the message says where)."""


@dataclass(frozen=True)
class Match:
    intent: str
    confidence: float
    score: float
    text: str  # the normalised message
    # (intent, score) of the best candidates, best first: for review and eval
    candidates: tuple[tuple[str, float], ...] = ()

    @property
    def answered(self) -> bool:
        return self.intent != UNKNOWN


@dataclass
class _Intent:
    name: str
    priority: int
    answer: str
    keywords: list[tuple[str, float]]
    patterns: list[tuple[re.Pattern, float]]
    negative: list[tuple[str, float]]


@dataclass(frozen=True)
class PolicyPart:
    """A part of a policy text: asked about with any of ``ask`` (normalised words),
    found in the text as the sentences holding any of ``find``."""

    name: str
    ask: tuple[str, ...]
    find: tuple[str, ...]


@dataclass
class Rules:
    """Compiled rules: what ``Matcher`` runs, plus the texts answerers use."""

    normalizer: Normalizer
    intents: list[_Intent]
    min_score: float
    low_confidence: float
    templates: dict[str, str] = field(default_factory=dict)
    source: dict[str, Any] = field(default_factory=dict)
    # Concept groups compiled on their own, for answerers that sort a matched message
    # (e.g. COMMON_FACILITY: a fault there is a 公共报修).
    concepts: dict[str, re.Pattern] = field(default_factory=dict)
    # policy topic → its parts (policy_parts in rules.yaml): which part of a long
    # policy text a question asks about.
    policy_parts: dict[str, list["PolicyPart"]] = field(default_factory=dict)

    def concept(self, name: str) -> re.Pattern | None:
        return self.concepts.get(name)

    def answer_name(self, intent: str) -> str:
        for item in self.intents:
            if item.name == intent:
                return item.answer
        return intent


def compile_rules(data: dict[str, Any]) -> Rules:
    """Validate and compile the parsed YAML; raises RulesError naming the problem."""
    if not isinstance(data, dict) or not isinstance(data.get("intents"), dict):
        raise RulesError("rules: top-level 'intents' mapping is required")
    concepts = {}
    for name, words in (data.get("concepts") or {}).items():
        if not isinstance(words, list) or not words:
            raise RulesError(f"concept {name}: a non-empty list of words is required")
        concepts[name] = words
    normalizer = Normalizer(data.get("chars") or {}, data.get("replace") or {})
    # Concept words are written like messages, so they go through the same
    # normalisation (a concept listing 物業費 still matches).
    alternations = {
        name: "(?:" + "|".join(re.escape(w) for w in sorted(
            {normalizer(str(x)) for x in words} - {""}, key=len, reverse=True)) + ")"
        for name, words in concepts.items()
    }

    def expand(pattern: str, where: str) -> re.Pattern:
        def repl(m: re.Match) -> str:
            if m.group(1) not in alternations:
                raise RulesError(f"{where}: unknown concept {{{m.group(1)}}} in {pattern!r}")
            return alternations[m.group(1)]

        try:
            return re.compile(_CONCEPT.sub(repl, pattern))
        except re.error as exc:
            raise RulesError(f"{where}: bad pattern {pattern!r}: {exc}") from exc

    intents = []
    for name, spec in data["intents"].items():
        spec = spec or {}
        where = f"intent {name}"
        if name == UNKNOWN:
            continue  # unknown is what is left; it has no rules
        keywords = _weighted(spec.get("keywords"), where)
        negative = _weighted(spec.get("negative"), where)
        patterns = [(expand(str(p), where), w) for p, w in _weighted(spec.get("patterns"), where,
                                                                     normalise=False)]
        intents.append(_Intent(
            name=name,
            priority=int(spec.get("priority", 0)),
            answer=str(spec.get("answer", name)),
            keywords=[(normalizer(k), w) for k, w in keywords if normalizer(k)],
            patterns=patterns,
            negative=[(normalizer(k), w) for k, w in negative if normalizer(k)],
        ))
    thresholds = data.get("thresholds") or {}
    templates = data.get("templates") or {}
    if not isinstance(templates, dict):
        raise RulesError("templates: a mapping of name → text is required")
    return Rules(
        concepts={name: re.compile(alt) for name, alt in alternations.items()},
        policy_parts=_policy_parts(data.get("policy_parts"), normalizer),
        normalizer=normalizer,
        intents=intents,
        min_score=float(thresholds.get("min_score", 2.0)),
        low_confidence=float(thresholds.get("low_confidence", 0.5)),
        templates={str(k): str(v) for k, v in templates.items()},
        source=data,
    )


def _policy_parts(value, normalizer: Normalizer) -> dict[str, list[PolicyPart]]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise RulesError("policy_parts: a mapping of topic → parts is required")
    out: dict[str, list[PolicyPart]] = {}
    for topic, parts in value.items():
        if not isinstance(parts, dict):
            raise RulesError(f"policy_parts {topic}: a mapping of part → {{ask, find}} is required")
        out[str(topic)] = []
        for name, spec in parts.items():
            where = f"policy_parts {topic}.{name}"
            if not isinstance(spec, dict) or not spec.get("ask") or not spec.get("find"):
                raise RulesError(f"{where}: non-empty 'ask' and 'find' word lists are required")
            ask = tuple(w for w in (normalizer(str(x)) for x in spec["ask"]) if w)
            # find words are looked up in the policy text as staff wrote it
            find = tuple(str(x) for x in spec["find"] if str(x))
            out[str(topic)].append(PolicyPart(str(name), ask, find))
    return out


def _weighted(value, where: str, normalise: bool = True) -> list[tuple[str, float]]:
    """A list of words (weight 1) or a mapping word → weight."""
    if value is None:
        return []
    if isinstance(value, list):
        return [(str(v), 1.0) for v in value]
    if isinstance(value, dict):
        out = []
        for key, weight in value.items():
            try:
                out.append((str(key), float(weight)))
            except (TypeError, ValueError) as exc:
                raise RulesError(f"{where}: weight of {key!r} must be a number") from exc
        return out
    raise RulesError(f"{where}: expected a list or a mapping, got {type(value).__name__}")


class Matcher:
    """Scores a message against every intent. Stateless and thread-safe."""

    def __init__(self, rules: Rules):
        self.rules = rules

    def match(self, message: str) -> Match:
        rules = self.rules
        text = rules.normalizer(message)
        if not text:
            return Match(UNKNOWN, 0.0, 0.0, text)
        scored = []
        for intent in rules.intents:
            score = 0.0
            for word, weight in intent.keywords:
                if word in text:
                    score += weight
            for pattern, weight in intent.patterns:
                if pattern.search(text):
                    score += weight
            if score <= 0:
                continue
            for word, weight in intent.negative:
                if word in text:
                    score -= weight
            if score > 0:
                scored.append((score, intent.priority, intent.name))
        if not scored:
            return Match(UNKNOWN, 0.0, 0.0, text)
        scored.sort(reverse=True)
        best, _, name = scored[0]
        second = scored[1][0] if len(scored) > 1 else 0.0
        candidates = tuple((n, round(s, 2)) for s, _, n in scored[:3])
        confidence = round((best / (best + 1.0)) * (1.0 - 0.5 * second / best), 2)
        if best < rules.min_score:
            return Match(UNKNOWN, confidence, best, text, candidates)
        return Match(name, confidence, best, text, candidates)


def load_rules(path: str | os.PathLike = DEFAULT_RULES) -> Rules:
    try:
        with open(path, encoding="utf-8") as fh:
            data = yaml.load(fh, Loader=SAFE_LOADER)
    except yaml.YAMLError as exc:
        raise RulesError(f"{path}: not valid YAML: {exc}") from exc
    return compile_rules(data)


class RuleBook:
    """The rules from a file, reloaded when the file changes (checked at most once
    per ``check_every`` seconds, so a busy bot does not stat the file per message)."""

    def __init__(self, path: str | os.PathLike = DEFAULT_RULES, check_every: float = 1.0):
        self.path = Path(path)
        self.check_every = check_every
        self._lock = threading.Lock()
        self._mtime = self._stat()
        self._matcher = Matcher(load_rules(self.path))
        self._checked = time.monotonic()

    def _stat(self) -> float | None:
        try:
            return self.path.stat().st_mtime_ns
        except OSError:
            return None

    @property
    def matcher(self) -> Matcher:
        now = time.monotonic()
        if now - self._checked >= self.check_every:
            self._checked = now
            self.reload_if_changed()
        return self._matcher

    def reload_if_changed(self) -> bool:
        mtime = self._stat()
        if mtime is None or mtime == self._mtime:
            return False
        with self._lock:
            if mtime == self._mtime:
                return False
            self._mtime = mtime
            try:
                self._matcher = Matcher(load_rules(self.path))
            except (RulesError, OSError) as exc:
                log.error("bot rules not reloaded, keeping the previous ones: %s", exc)
                return False
        log.info("bot rules reloaded from %s", self.path)
        return True

    def match(self, message: str) -> Match:
        return self.matcher.match(message)
