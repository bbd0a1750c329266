"""Questions the bot could not answer (or answered unsurely), counted under their
normalised text so the desk sees the most frequent first and can turn them into
rules."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite

from backend.extensions import db
from backend.models import BotMiss, utcnow


def record_miss(community_id: int | None, text: str, answer,
                now: datetime | None = None) -> None:
    """Count a miss (``answer``: the bot's ``Reply``). One statement adds it or counts
    it again (INSERT ... ON CONFLICT DO UPDATE on both databases), so concurrent
    requests cannot race on the unique key."""
    normalized = (answer.match.text or text.strip())[:200]
    if not normalized:
        return
    now = now or utcnow()
    dialect = postgresql if db.session.get_bind().dialect.name == "postgresql" else sqlite
    insert = dialect.insert(BotMiss).values(
        community_key=community_id or 0, normalized=normalized, question=text.strip()[:500],
        intent_guess=answer.match.candidates[0][0] if answer.match.candidates else None,
        confidence=answer.confidence, count=1, first_seen_at=now, last_seen_at=now)
    latest, table = insert.excluded, BotMiss.__table__
    db.session.execute(insert.on_conflict_do_update(
        index_elements=["community_key", "normalized"],
        set_={"count": table.c.count + 1, "question": latest.question,
              "intent_guess": latest.intent_guess, "confidence": latest.confidence,
              "last_seen_at": latest.last_seen_at}))


def top_misses(community_ids: set[int], limit: int = 20, include_unscoped: bool = False
               ) -> list[BotMiss]:
    """The most frequent misses of these communities. Those of residents without a
    community (key 0) only with ``include_unscoped``: they belong to no community's
    staff (their wording may name a person or a room anywhere)."""
    keys = set(community_ids) | ({0} if include_unscoped else set())
    return list(db.session.scalars(
        select(BotMiss).where(BotMiss.community_key.in_(keys))
        .order_by(BotMiss.count.desc(), BotMiss.last_seen_at.desc()).limit(limit)))
