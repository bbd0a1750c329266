"""The WeChat push's replay guard. A push is signed over (timestamp, nonce) only, so
a captured signature could carry another body: each "timestamp:nonce" is held with a
digest of the request that first used it (method, query and body). A request with a
new nonce is ``FRESH``; one whose nonce is held with the SAME digest is WeChat's
``RETRY`` of it (or a byte-identical replay: handled again, the MsgId's unique key
makes it change nothing); a different digest is a ``REPLAY`` and refused.

The nonce is held in Redis (``SET key digest NX EX``, the app's one client) when
REDIS_URL is set, else in the ``wechat_nonce`` table. Redis unreachable:

- in production (WECHAT_NONCE_FAIL_CLOSED, derived in config.finalise) the guard
  refuses to decide (``GuardUnavailable``, the push answers 503): a nonce held in
  Redis is not in the table, so deciding from the table would let a replay through
  on another server. WeChat retries, and a retry once Redis answers again is handled
  as a fresh push. Redis is tried on every push (its client's timeouts are short,
  so the 503 comes well inside WeChat's 5 s);
- elsewhere (development, tests) the table decides, and a Redis that just failed is
  skipped for REDIS_RETRY_AFTER seconds, so the push keeps answering inside 5 s.

Holding a nonce needs no undoing when the push then fails: its retry carries the
same digest."""
from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Iterable
from datetime import datetime
from urllib.parse import urlencode

from flask import current_app
from redis.exceptions import RedisError
from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from backend.extensions import redis_client
from backend.models import WechatNonce, utcnow

log = logging.getLogger(__name__)

FRESH, RETRY, REPLAY = "fresh", "retry", "replay"
KEY_PREFIX = "wuye:wechat-nonce:"
REDIS_RETRY_AFTER = 30.0  # seconds to skip a Redis that just failed (fallback mode)


class GuardUnavailable(RuntimeError):
    """Redis did not answer and the guard may not fall back to the database."""


def request_digest(method: str, args: Iterable[tuple[str, str]], body: bytes) -> str:
    """What identifies a request: its method, its query (in a canonical order) and
    its body."""
    digest = hashlib.sha256()
    for part in (method.encode(), urlencode(sorted(args)).encode(), body):
        digest.update(len(part).to_bytes(8, "big"))
        digest.update(part)
    return digest.hexdigest()


def _verdict(held: str | None, digest: str) -> str:
    return RETRY if held == digest else REPLAY


def check_in_redis(key: str, digest: str, ttl: int) -> str | None:
    """The verdict on ``key`` from Redis (holding it for ``ttl`` seconds if new), or
    None when Redis is not configured, or not answering outside production (the
    database decides then). Not answering in production raises ``GuardUnavailable``."""
    client = redis_client()
    if client is None:
        return None
    fail_closed = current_app.config.get("WECHAT_NONCE_FAIL_CLOSED", False)
    guard = current_app.extensions.setdefault("wechat_nonce_guard", {"redis_down_until": 0.0})
    if not fail_closed and time.monotonic() < guard["redis_down_until"]:
        return None
    name = KEY_PREFIX + key
    try:
        if client.set(name, digest, nx=True, ex=ttl):
            return FRESH
        held = client.get(name)
    except RedisError as exc:
        if fail_closed:
            log.error("nonce guard: Redis (REDIS_URL) unreachable, WeChat push %s refused "
                      "with 503 for WeChat to retry (production keeps nonces only in "
                      "Redis, no database fallback): %s", key, exc)
            raise GuardUnavailable(str(exc)) from exc
        guard["redis_down_until"] = time.monotonic() + REDIS_RETRY_AFTER
        log.warning("nonce guard: Redis unavailable, using the database: %s", exc)
        return None
    # the key lives twice the timestamp window: gone only once the push is stale anyway
    return _verdict(held.decode() if held is not None else None, digest)


def check_in_database(session: Session, key: str, digest: str,
                      now: datetime | None = None) -> str:
    """The verdict on ``key`` from the ``wechat_nonce`` table, recording it if new, in
    ``session``'s transaction (the caller commits). The primary key decides between
    two copies arriving at once."""
    try:
        with session.begin_nested():
            # a plain INSERT (no ORM object): the server check is a GET, which never
            # changes rows through the ORM (appclass._reads_never_write)
            session.execute(insert(WechatNonce).values(nonce=key, digest=digest,
                                                       seen_at=now or utcnow()))
        return FRESH
    except IntegrityError:
        held = session.scalar(select(WechatNonce.digest).where(WechatNonce.nonce == key))
    return _verdict(held, digest)
