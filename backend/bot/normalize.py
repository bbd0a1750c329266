"""Text normalisation for owners' messages (pure: no Flask, no database).

Owners type on phones: full-width letters and digits, traditional characters,
emoji, stray punctuation and spaces, homophone typos (保修 for 报修, 物业废 for
物业费) and English mixed in ("物业fee", "APP"). ``Normalizer`` turns a message
into one canonical form that the rules in rules.yaml are written against:

1. NFKC (full-width → half-width, ㎡ → m2, compatibility forms), lower case;
2. single characters mapped (traditional → simplified variants);
3. phrase replacements, longest first in one pass (typos, English words, variants);
4. everything that is not a letter, digit or CJK character removed;
5. runs of one character collapsed to two ("吗吗吗" → "吗吗").

Replacements are applied once, left to right, so they never cascade.
"""
from __future__ import annotations

import re
import unicodedata
from typing import Mapping

# Punctuation, symbols, emoji and spaces (anything but letters/digits/CJK) go.
_DROP = re.compile(r"[\W_]+", re.UNICODE)
_RUNS = re.compile(r"(.)\1{2,}")


class Normalizer:
    def __init__(self, chars: Mapping[str, str] | None = None,
                 replace: Mapping[str, str] | None = None):
        self._chars = str.maketrans({k: v for k, v in (chars or {}).items() if len(k) == 1})
        self._replace: dict[str, str] = {}
        parts = []
        # Longest first so "物业管理费" wins over "管理费"; ASCII words only match
        # whole (not inside another Latin word: "hi" is not in "this").
        for wrong in sorted((replace or {}), key=len, reverse=True):
            key = self._prepare(wrong)
            if not key:
                continue
            self._replace[key] = self._prepare(replace[wrong])
            escaped = re.escape(key)
            if key.isascii() and key[0].isalnum():
                escaped = rf"(?<![a-z]){escaped}(?![a-z])"
            parts.append(escaped)
        self._pattern = re.compile("|".join(parts)) if parts else None

    def _prepare(self, text: str) -> str:
        return unicodedata.normalize("NFKC", text).lower().translate(self._chars)

    def __call__(self, text: str) -> str:
        text = self._prepare(text or "")
        if self._pattern is not None:
            text = self._pattern.sub(self._sub, text)
        text = _DROP.sub("", text)
        return _RUNS.sub(r"\1\1", text)

    def _sub(self, match: re.Match) -> str:
        return self._replace[match.group(0)]
