"""The owner-chat bot (智能客服): rules staff edit (rules.yaml), a normaliser and a
matcher (pure, see normalize.py and matcher.py), and answerers registered by intent
name that build replies from the asker's own data (answers.py).

``reply(user, text)`` is the one entry point the services use; the rules are loaded
once per app and reloaded when rules.yaml changes.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass

from flask import current_app
from backend.bot.answers import ANSWERERS, Answer, Asker, Context, build_answer
from backend.bot.matcher import UNKNOWN, DEFAULT_RULES, Match, RuleBook

__all__ = ["ANSWERERS", "Reply", "asker_for", "reply", "rulebook"]

_LOCK = threading.Lock()


@dataclass(frozen=True)
class Reply:
    intent: str
    text: str
    confidence: float
    handoff: bool
    action: dict | None
    match: Match
    low_confidence: bool

    @property
    def answered(self) -> bool:
        return self.intent != UNKNOWN


def rulebook() -> RuleBook:
    """The app's rules (loaded on first use, then reloaded when the file changes)."""
    book = current_app.extensions.get("bot_rulebook")
    if book is None:
        with _LOCK:
            book = current_app.extensions.get("bot_rulebook")
            if book is None:
                book = RuleBook(current_app.config.get("BOT_RULES_PATH") or DEFAULT_RULES)
                current_app.extensions["bot_rulebook"] = book
    return book


def asker_for(user) -> Asker:
    """The user, their bound rooms and their community (for staff and residents
    without a room: the community they work in, or the only one there is)."""
    from backend.services.community import community_by_id, only_community
    from backend.services.permissions import staff_community_ids

    if user is None:
        return Asker(None, None, [])
    rooms = [b.room for b in user.bindings]
    community = rooms[0].community if rooms else None
    if community is None:
        staff_ids = sorted(staff_community_ids(user))
        # else the only community there is (none yet, or several: nothing says which)
        community = community_by_id(staff_ids[0]) if staff_ids else only_community()
    return Asker(user, community, rooms)


def reply(user, text: str, asker: Asker | None = None) -> Reply:
    """Match ``text`` and build the answer for ``user``."""
    book = rulebook()
    matcher = book.matcher
    match = matcher.match(text)
    rules = matcher.rules
    ctx = Context(asker or asker_for(user), match, rules, text)
    answer: Answer = build_answer(rules.answer_name(match.intent), ctx)
    return Reply(
        intent=match.intent, text=answer.text, confidence=match.confidence,
        handoff=answer.handoff, action=answer.action, match=match,
        low_confidence=match.intent == UNKNOWN or match.confidence < rules.low_confidence,
    )
