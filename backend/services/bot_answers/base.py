"""What every answerer shares: who is asking (``Asker``), the context of one question
(``Context``: the match, the rules' templates, the community's settings), the answer
(``Answer``) and the registry answerers are found in by name (rules.yaml names them
under ``answer``; CTFd's ``CHALLENGE_CLASSES`` pattern).

An answerer never invents a figure: with no bound room it says how to bind one; with
no published figure it says so.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Callable

from backend.bot.matcher import Match, Rules
from backend.models import Community, Room, User
from backend.rules.money import format_number, format_yuan
from backend.services.community import DEFAULT_SETTINGS, setting

log = logging.getLogger(__name__)


@dataclass
class Asker:
    """Who is asking: the user, their community (None if unknown) and bound rooms
    (ORM objects: nothing an answerer does changes them)."""

    user: User | None
    community: Community | None
    rooms: list[Room] = field(default_factory=list)


@dataclass
class Context:
    asker: Asker
    match: Match
    rules: Rules
    text: str  # the message as typed

    def t(self, name: str, **values) -> str:
        """A template from rules.yaml filled in. A staff edit that breaks a
        placeholder shows the text unfilled rather than failing the answer."""
        template = self.rules.templates.get(name, "")
        try:
            return template.format(**values)
        except (KeyError, IndexError, ValueError):
            log.error("bot template %r does not fit its values %s", name, sorted(values))
            return template

    @property
    def community_name(self) -> str:
        return self.asker.community.name if self.asker.community else "本小区"

    def setting(self, key: str):
        if self.asker.community is None:
            return DEFAULT_SETTINGS.get(key)
        return setting(self.asker.community, key)


@dataclass
class Answer:
    text: str
    handoff: bool = False  # the asker should be put through to a person
    # Something the client can offer with one tap, e.g. filing a ticket.
    action: dict | None = None


Answerer = Callable[[Context], "Answer | str"]
ANSWERERS: dict[str, Answerer] = {}


def answerer(name: str):
    def register(fn: Answerer) -> Answerer:
        ANSWERERS[name] = fn
        return fn

    return register


def build_answer(name: str, ctx: Context) -> Answer:
    fn = ANSWERERS.get(name) or ANSWERERS["unknown"]
    result = fn(ctx)
    return Answer(result) if isinstance(result, str) else result


def money(value: Decimal) -> str:
    """"¥2,843,567.94": the one money format (backend.rules.money), as on the pages."""
    return format_yuan(value)


def area(value: Decimal) -> str:
    """"1,234.50": an area or other grouped decimal without a currency sign."""
    return format_number(value)


def no_room(ctx: Context, what: str) -> str:
    return ctx.t("no_room", what=what)
