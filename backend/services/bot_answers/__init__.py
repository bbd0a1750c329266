"""The bot's answers (智能客服): ``reply(user, text)`` matches the question with the
pure matcher (backend/bot: rules.yaml, normaliser, matcher) and builds the answer
from the asker's own data through the answerer registered for the intent
(base.py's registry; fees.py, fund.py, repairs.py, general.py register them).

The answerers live under services because they read through the services (fees,
bills, tickets, the fund, the community's settings); backend/bot imports nothing of
ours but itself, so dependencies point down: services → bot.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass

from flask import current_app

from backend.bot.matcher import DEFAULT_RULES, UNKNOWN, Match, RuleBook
from backend.models import User
from backend.services.bot_answers import fees, fund, general, repairs  # noqa: F401 - register
from backend.services.bot_answers import notices as _notices  # noqa: F401,E402 - register
from backend.services.bot_answers.base import ANSWERERS, Answer, Asker, Context, build_answer
from backend.services.community import community_by_id, only_community
from backend.services.permissions import bound_rooms, home_community, staff_community_ids

__all__ = ["ANSWERERS", "Asker", "Reply", "asker_for", "reply", "rulebook"]

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


def template(name: str) -> str:
    """A fixed text from rules.yaml's ``templates`` (empty if staff removed it)."""
    return rulebook().matcher.rules.templates.get(name, "")


def asker_for(user: User | None) -> Asker:
    """The user, the rooms they are bound to now (``permissions.bound_rooms``) and
    their community (for staff and residents without a room: the community they
    work in, or the only one there is)."""
    if user is None:
        return Asker(None, None, [])
    rooms = bound_rooms(user)
    community = home_community(user)
    if community is None:
        staff_ids = sorted(staff_community_ids(user))
        # else the only community there is (none yet, or several: nothing says which)
        community = community_by_id(staff_ids[0]) if staff_ids else only_community()
    return Asker(user, community, rooms)


def reply(user: User | None, text: str, asker: Asker | None = None) -> Reply:
    """Match ``text`` and build the answer for ``user``. Reads only."""
    matcher = rulebook().matcher
    match = matcher.match(text)
    rules = matcher.rules
    ctx = Context(asker or asker_for(user), match, rules, text)
    answer: Answer = build_answer(rules.answer_name(match.intent), ctx)
    return Reply(
        intent=match.intent, text=answer.text, confidence=match.confidence,
        handoff=answer.handoff, action=answer.action, match=match,
        low_confidence=match.intent == UNKNOWN or match.confidence < rules.low_confidence,
    )
