"""Owner chat (客服对话) and the hand-off to the front desk.

One conversation per resident. States:

    bot ──(asks for a person, or the bot fails twice in a row)──▶ waiting
    waiting ──(a desk member claims it)──▶ open
    open ──(released, or no activity for CHAT_IDLE_RELEASE_MINUTES)──▶ bot
    waiting ──(nobody claimed it for CHAT_WAITING_EXPIRE_HOURS)──▶ bot

The bot is silent while a person holds the conversation (open). While waiting it
still answers what it can, so a resident is not left without an answer outside
office hours. Desk replies to residents who wrote through WeChat are sent as
customer-service messages by a job (jobs/chat.py), recorded in the outbox.
"""
from __future__ import annotations

import logging
import os
import threading
import time
from dataclasses import dataclass
from functools import lru_cache
from datetime import datetime, timedelta
from functools import lru_cache
from types import SimpleNamespace

from flask import current_app
from sqlalchemy import bindparam, func, or_, select, update
from sqlalchemy.exc import IntegrityError

from backend import bot
from backend.errors import Conflict, Forbidden, NotFound
from backend.extensions import db
from backend.outbox import enqueue
from backend.models import (
    BotMiss,
    Channel,
    Conversation,
    ConversationState,
    Delivery,
    Message,
    Role,
    Sender,
    StaffRole,
    User,
    WechatNonce,
    utcnow,
)
from backend.services.auth import load_user
from backend.services.notifications import notify
from backend.services.permissions import bound_rooms, has_role, staff_community_ids

log = logging.getLogger(__name__)

DESK_ROLES = ("desk", "manager")
MAX_FAILURES = 2  # consecutive unanswered questions before a person takes over


# ------------------------------------------------------------------ conversations
def _community_id(user: User) -> int | None:
    rooms = bound_rooms(user)
    if rooms:
        return rooms[0].community_id
    from backend.bot import asker_for

    community = asker_for(user).community
    return community.id if community else None


def conversation_for(user: User, *, create: bool = True) -> Conversation | None:
    """The resident's conversation (created on first use; one per resident, held by
    a unique key so two first messages at once still make one)."""
    conv = db.session.scalar(select(Conversation).where(Conversation.resident_id == user.id))
    if conv is not None or not create:
        return conv
    conv = Conversation(resident_id=user.id, community_id=_community_id(user))
    try:
        with db.session.begin_nested():
            db.session.add(conv)
    except IntegrityError:
        conv = db.session.scalar(select(Conversation).where(Conversation.resident_id == user.id))
    return conv


def _message(conv: Conversation, sender: Sender = Sender.system, text: str = "", **fields
             ) -> Message:
    msg = Message(conversation_id=conv.id, sender=sender, text=text, **fields)
    db.session.add(msg)
    return msg


@dataclass
class Exchange:
    """What a resident's message produced: their message and the reply (None when
    a person holds the conversation), and whether this message was seen before."""

    conversation: Conversation
    message: Message
    reply: Message | None
    duplicate: bool = False

    @property
    def messages(self) -> list[Message]:
        return [m for m in (self.message, self.reply) if m is not None]


def post_resident_message(user: User, text: str, *, channel: Channel = Channel.app,
                          wechat_msg_id: str | None = None, now: datetime | None = None,
                          readable: bool = True) -> Exchange:
    """Record what a resident wrote and let the bot answer unless a person holds the
    conversation. ``wechat_msg_id`` makes a WeChat push count once: a retry of the
    same MsgId returns the first exchange with ``duplicate=True``. ``readable`` is
    False for what the bot cannot read (a picture, a voice note without text): it is
    kept for the desk and the resident is asked to write instead."""
    now = now or utcnow()
    if wechat_msg_id is not None:
        seen = _exchange_for_msg_id(wechat_msg_id)
        if seen is not None:
            return seen
    conv = conversation_for(user)
    message = Message(conversation_id=conv.id, sender=Sender.resident, author_id=user.id,
                      text=text, wechat_msg_id=wechat_msg_id, created_at=now)
    try:
        with db.session.begin_nested():
            db.session.add(message)
    except IntegrityError:  # the same push arrived twice at once: the other one answers
        seen = _exchange_for_msg_id(wechat_msg_id)
        if seen is not None:
            return seen
        raise
    conv.channel = channel
    conv.last_activity_at = now
    if conv.community_id is None:
        conv.community_id = _community_id(user)
    if channel == Channel.wechat:
        user.last_message_at = now  # opens WeChat's 48-hour customer-service window
    reply = None
    if conv.state != ConversationState.open:
        if readable:
            reply = _message(conv, created_at=now, **_bot_turn(conv, user, text, now))
        else:
            reply = _message(conv, Sender.system, _template("unreadable"), created_at=now)
    db.session.flush()
    return Exchange(conv, message, reply)


def _exchange_for_msg_id(msg_id: str) -> Exchange | None:
    message = db.session.scalar(select(Message).where(Message.wechat_msg_id == msg_id))
    if message is None:
        return None
    conv = db.session.get(Conversation, message.conversation_id)
    reply = db.session.scalar(
        select(Message).where(Message.conversation_id == conv.id, Message.id > message.id,
                              Message.sender.in_([Sender.bot, Sender.system]))
        .order_by(Message.id).limit(1))
    # only a reply to this message (not one to a later message)
    if reply is not None:
        later = db.session.scalar(select(Message.id).where(
            Message.conversation_id == conv.id, Message.sender == Sender.resident,
            Message.id > message.id, Message.id < reply.id).limit(1))
        if later is not None:
            reply = None
    return Exchange(conv, message, reply, duplicate=True)


def _template(name: str) -> str:
    return bot.rulebook().matcher.rules.templates.get(name, "")


def _bot_turn(conv, user, text: str, now: datetime, answer: bot.Reply | None = None) -> dict:
    """The bot's turn on a resident's message: the reply's fields (sender, text,
    intent, confidence, action), with the conversation's state moved on (hand-off,
    failure count) and a miss recorded. ``conv`` is the ORM Conversation or, on the
    WeChat push path, a plain ``_ConvRow``; ``answer`` may be worked out beforehand
    (``bot.reply`` only reads)."""
    if answer is None:
        answer = bot.reply(user, text)
    templates = bot.rulebook().matcher.rules.templates
    if answer.low_confidence:
        record_miss(conv.community_id, text, answer, now)
    if conv.state == ConversationState.waiting:
        if answer.handoff or not answer.answered:
            return _system_fields(templates.get("human_already", ""))
        return _bot_fields(answer)
    # state: bot
    if answer.handoff:
        hand_off(conv, now)
        return _bot_fields(answer)
    if not answer.answered:
        conv.bot_failures += 1
        if conv.bot_failures >= MAX_FAILURES:
            hand_off(conv, now)
            return _system_fields(templates.get("unknown_twice", ""), intent=answer.intent,
                                  confidence=answer.confidence)
        return _bot_fields(answer)
    conv.bot_failures = 0
    return _bot_fields(answer)


def _system_fields(text: str, **fields) -> dict:
    return dict(sender=Sender.system, text=text, **fields)


def _bot_fields(answer: bot.Reply) -> dict:
    return dict(sender=Sender.bot, text=answer.text, intent=answer.intent,
                confidence=answer.confidence, action=answer.action)


def _bot_message(conv: Conversation, answer: bot.Reply, now: datetime) -> Message:
    return _message(conv, created_at=now, **_bot_fields(answer))


def hand_off(conv: Conversation, now: datetime | None = None) -> None:
    """Put the conversation in the desk's queue and tell the desk."""
    if conv.state != ConversationState.bot:
        return
    now = now or utcnow()
    conv.state = ConversationState.waiting
    conv.waiting_since = now
    conv.bot_failures = 0
    conv.assignee_id = None
    resident = db.session.get(User, conv.resident_id)
    who = resident.name or "业主"
    rooms = "、".join(r.label for r in bound_rooms(resident)) or "未绑定房屋"
    for staff_id in desk_staff_ids(conv.community_id):
        notify(staff_id, "chat_waiting", f"{who}请求人工客服",
               f"{who}（{rooms}）正在等待人工客服接入。", f"/desk/conversations/{conv.id}")


def desk_staff_ids(community_id: int | None) -> list[int]:
    """Desk staff of the community (managers and admins when it has none)."""
    for roles in ((Role.desk,), (Role.manager, Role.admin)):
        query = select(StaffRole.user_id).where(StaffRole.role.in_(roles))
        if community_id is not None:
            query = query.where(StaffRole.community_id == community_id)
        ids = sorted(set(db.session.scalars(query)))
        if ids:
            return ids
    return []


def ask(user: User, text: str, now: datetime | None = None) -> bot.Reply:
    """A one-off question (POST /bot/ask): answered without recording the exchange,
    except that a request for a person hands the resident's conversation to the desk
    (with the question, so the desk sees why) and a miss is counted for review."""
    now = now or utcnow()
    answer = bot.reply(user, text)
    if answer.low_confidence:
        record_miss(_community_id(user), text, answer, now)
    if answer.handoff:
        conv = conversation_for(user)
        _message(conv, Sender.resident, text, author_id=user.id, created_at=now)
        conv.last_activity_at = now
        if conv.state == ConversationState.bot:
            hand_off(conv, now)
            _bot_message(conv, answer, now)
    return answer


# ------------------------------------------------------------------ bot misses
def record_miss(community_id: int | None, text: str, answer: bot.Reply,
                now: datetime | None = None) -> None:
    """Count a question the bot could not answer (or answered unsurely) under its
    normalised text, so the most frequent ones can be turned into rules."""
    normalized = (answer.match.text or text.strip())[:200]
    if not normalized:
        return
    now = now or utcnow()
    key = community_id or 0
    guess = answer.match.candidates[0][0] if answer.match.candidates else None
    connection = db.session.connection()
    connection.execute(_miss_upsert(connection.dialect.name), {
        "m_key": key, "m_normalized": normalized, "m_question": text.strip()[:500],
        "m_guess": guess, "m_confidence": answer.confidence, "m_now": now})


@lru_cache(maxsize=4)
def _miss_upsert(dialect_name: str):
    """One statement that adds a miss or counts it again (both databases have
    INSERT ... ON CONFLICT DO UPDATE), built once: concurrent requests cannot race."""
    from sqlalchemy.dialects import postgresql, sqlite

    table = BotMiss.__table__
    insert = (postgresql if dialect_name == "postgresql" else sqlite).insert(table).values(
        community_key=bindparam("m_key"), normalized=bindparam("m_normalized"),
        question=bindparam("m_question"), intent_guess=bindparam("m_guess"),
        confidence=bindparam("m_confidence"), count=1, first_seen_at=bindparam("m_now"),
        last_seen_at=bindparam("m_now"))
    latest = insert.excluded
    return insert.on_conflict_do_update(
        index_elements=[table.c.community_key, table.c.normalized],
        set_={"count": table.c.count + 1, "question": latest.question,
              "intent_guess": latest.intent_guess, "confidence": latest.confidence,
              "last_seen_at": latest.last_seen_at})


def top_misses(community_ids: set[int], limit: int = 20, include_unscoped: bool = True
               ) -> list[BotMiss]:
    keys = set(community_ids) | ({0} if include_unscoped else set())
    return list(db.session.scalars(
        select(BotMiss).where(BotMiss.community_key.in_(keys))
        .order_by(BotMiss.count.desc(), BotMiss.last_seen_at.desc()).limit(limit)))


# ------------------------------------------------------------------ the desk
def desk_community_ids(staff: User) -> set[int]:
    return staff_community_ids(staff, *DESK_ROLES)


def desk_scope(staff: User):
    """Conversations a desk member may see: their communities', and those of
    residents who have no community yet (someone must help them bind a room)."""
    ids = desk_community_ids(staff)
    return or_(Conversation.community_id.in_(ids), Conversation.community_id.is_(None))


def conversation_for_staff(staff: User, conversation_id: int) -> Conversation:
    conv = db.session.scalar(select(Conversation).where(
        Conversation.id == conversation_id, desk_scope(staff)))
    if conv is None:
        raise NotFound("找不到该会话", code="conversation_not_found")
    return conv


def desk_query(staff: User, state: str | None):
    query = select(Conversation).where(desk_scope(staff))
    if state:
        query = query.where(Conversation.state == ConversationState(state))
    return query


def claim(staff: User, conversation_id: int, now: datetime | None = None) -> Conversation:
    """Take a conversation (from the queue, or from the bot). Two desk members
    claiming at once: one wins, the other gets 409."""
    now = now or utcnow()
    conv = conversation_for_staff(staff, conversation_id)
    if conv.state == ConversationState.open and conv.assignee_id == staff.id:
        return conv
    taken = db.session.execute(
        update(Conversation)
        .where(Conversation.id == conv.id, Conversation.state != ConversationState.open)
        .values(state=ConversationState.open, assignee_id=staff.id, last_activity_at=now,
                bot_failures=0)
        .execution_options(synchronize_session=False)).rowcount
    db.session.refresh(conv)
    if not taken:
        holder = conv.assignee.name if conv.assignee else "其他客服"
        raise Conflict(f"该会话已由{holder}接入", code="conversation_claimed",
                       details={"assignee_id": conv.assignee_id})
    _message(conv, Sender.system, f"客服{staff.name or staff.username}已接入，将为您服务。",
             author_id=staff.id, created_at=now)
    db.session.flush()
    return conv


def release(staff: User, conversation_id: int, now: datetime | None = None) -> Conversation:
    conv = conversation_for_staff(staff, conversation_id)
    if conv.state != ConversationState.open:
        raise Conflict("该会话当前没有客服接入", code="conversation_not_open")
    if conv.assignee_id != staff.id and not _supervises(staff, conv):
        raise Forbidden("只有接入该会话的客服或项目经理可以结束服务", code="not_assignee")
    _back_to_bot(conv, "本次人工服务已结束，智能客服将继续为您服务；如需人工请回复“人工”。",
                 now or utcnow(), author_id=staff.id)
    db.session.flush()
    return conv


def _supervises(staff: User, conv: Conversation) -> bool:
    return conv.community_id is not None and has_role(staff, Role.manager, conv.community_id)


def _back_to_bot(conv: Conversation, text: str, now: datetime, author_id: int | None = None):
    conv.state = ConversationState.bot
    conv.assignee_id = None
    conv.waiting_since = None
    conv.bot_failures = 0
    msg = _message(conv, Sender.system, text, author_id=author_id, created_at=now)
    if conv.channel == Channel.wechat:
        _deliver_by_wechat(msg)


def staff_reply(staff: User, conversation_id: int, text: str,
                now: datetime | None = None) -> Message:
    """A desk member's answer. The conversation must be held by them (claim first).
    For a WeChat resident it is sent as a customer-service message by a job."""
    now = now or utcnow()
    conv = conversation_for_staff(staff, conversation_id)
    if conv.state != ConversationState.open or conv.assignee_id != staff.id:
        raise Conflict("请先接入该会话再回复", code="conversation_not_claimed")
    msg = _message(conv, Sender.staff, text, author_id=staff.id, created_at=now)
    conv.last_activity_at = now
    if conv.channel == Channel.wechat:
        _deliver_by_wechat(msg)
    db.session.flush()
    return msg


def _deliver_by_wechat(msg: Message) -> None:
    msg.delivery = Delivery.pending
    db.session.flush()
    enqueue("chat.send_wechat", msg.id, key=f"chat-wechat-{msg.id}")


def messages_after(conv: Conversation, after: int | None, limit: int) -> list[Message]:
    query = select(Message).where(Message.conversation_id == conv.id)
    if after:
        query = query.where(Message.id > after)
        return list(db.session.scalars(query.order_by(Message.id).limit(limit)))
    # no cursor: the latest ``limit`` messages, oldest first
    latest = list(db.session.scalars(query.order_by(Message.id.desc()).limit(limit)))
    return latest[::-1]


def last_messages(conv_ids: list[int], per_conversation: int = 5) -> dict[int, list[Message]]:
    """The last few messages of each conversation, in one query."""
    if not conv_ids:
        return {}
    ranked = (select(Message.id, func.row_number().over(
        partition_by=Message.conversation_id, order_by=Message.id.desc()).label("rank"))
        .where(Message.conversation_id.in_(conv_ids)).subquery())
    rows = db.session.scalars(
        select(Message).join(ranked, ranked.c.id == Message.id)
        .where(ranked.c.rank <= per_conversation).order_by(Message.id))
    out: dict[int, list[Message]] = {cid: [] for cid in conv_ids}
    for msg in rows:
        out[msg.conversation_id].append(msg)
    return out


# ------------------------------------------------------------------ periodic
def release_idle(now: datetime | None = None) -> int:
    """Open conversations with no activity for a while go back to the bot; waiting
    ones nobody claimed for long are closed with an apology (both are told)."""
    now = now or utcnow()
    cfg = current_app.config
    idle = now - timedelta(minutes=cfg["CHAT_IDLE_RELEASE_MINUTES"])
    expired = now - timedelta(hours=cfg["CHAT_WAITING_EXPIRE_HOURS"])
    convs = list(db.session.scalars(select(Conversation).where(or_(
        (Conversation.state == ConversationState.open) & (Conversation.last_activity_at < idle),
        (Conversation.state == ConversationState.waiting) & (Conversation.last_activity_at < expired),
    )).with_for_update(skip_locked=True)))
    for conv in convs:
        if conv.state == ConversationState.open:
            text = "由于长时间没有新消息，本次人工服务已结束；如需继续请回复“人工”。"
        else:
            text = "抱歉，客服暂时未能接入。智能客服将继续为您服务；如需人工请在办公时间回复“人工”或致电物业服务中心。"
        _back_to_bot(conv, text, now)
    db.session.commit()
    return len(convs)


# ------------------------------------------------------------------ WeChat push
REDIS_RETRY_AFTER = 30.0  # seconds to skip a Redis that just failed

# What ``check_nonce`` found.
NONCE_CLAIMED = "claimed"  # new, and now held in Redis
NONCE_REPLAYED = "replayed"  # seen before
NONCE_PENDING = "pending"  # not in the database yet: claimed with the push's own writes

_NONCE_SEEN = select(WechatNonce.nonce).where(WechatNonce.nonce == bindparam("nonce"))


def check_nonce(key: str, ttl: int) -> str:
    """Whether a push's "timestamp:nonce" is new (within ``ttl`` seconds).

    Redis ``SET NX EX`` when configured and reachable (tight timeouts, and a Redis
    that just failed is skipped for 30 s so the push stays inside WeChat's 5 s):
    ``claimed`` or ``replayed``. Otherwise the ``wechat_nonce`` table, shared by all
    workers: ``replayed`` when recorded, else ``pending`` — ``claim_nonce`` records it
    in the transaction that records the push, and its primary key decides between
    two copies arriving at once."""
    guard = _nonce_redis()
    if guard is not None and time.monotonic() >= guard["down_until"]:
        try:
            fresh = _redis_set_nx(guard, f"wuye:wechat-nonce:{key}", ttl)
            return NONCE_CLAIMED if fresh else NONCE_REPLAYED
        except Exception as exc:  # noqa: BLE001 - any Redis failure: fall back to the DB
            guard["down_until"] = time.monotonic() + REDIS_RETRY_AFTER
            log.warning("nonce guard: Redis unavailable, using the database: %s", exc)
    # begun now, the Session's transaction is where the read runs (one pooled
    # connection for the request), and where the nonce is recorded later
    db.session.connection()
    if db.session.execute(_NONCE_SEEN, {"nonce": key[:100]}).all():
        return NONCE_REPLAYED
    return NONCE_PENDING


def claim_nonce(key: str, now: datetime | None = None) -> bool:
    """Record a nonce in the current transaction; False if it was recorded already
    (a concurrent copy of the request got there first)."""
    conn = db.session.connection()
    return conn.execute(_push_statements(conn.dialect.name).nonce,
                        {"nonce": key[:100], "seen_at": now or utcnow()}).first() is not None


def _nonce_redis() -> dict | None:
    """The app's Redis client for the nonce guard, with its own down-until clock."""
    url = current_app.config.get("REDIS_URL")
    if not url:
        return None
    guard = current_app.extensions.get("wechat_nonce_redis")
    if guard is None:
        from redis import Redis
        from redis.backoff import NoBackoff
        from redis.retry import Retry

        # one try, a quarter of a second: the push must answer within WeChat's 5 s
        conn = Redis.from_url(url, socket_connect_timeout=0.25, socket_timeout=0.25,
                              retry=Retry(NoBackoff(), 0))
        guard = current_app.extensions["wechat_nonce_redis"] = {
            "conn": conn, "down_until": 0.0, "held": threading.local()}
    return guard


def _redis_set_nx(guard: dict, name: str, ttl: int) -> bool:
    """``SET name 1 NX EX ttl`` on a connection this thread keeps from the client's
    pool (a command without the client's per-call checkout, retry and reply
    wrappers: the same timeouts apply). A connection that failed is dropped."""
    held = guard["held"]
    conn = getattr(held, "conn", None)
    if conn is None or held.pid != os.getpid():
        conn = held.conn = guard["conn"].connection_pool.get_connection()
        held.pid = os.getpid()
    try:
        conn.send_command("SET", name, "1", "NX", "EX", ttl)
        return conn.read_response() is not None  # OK, or nil when the key exists
    except BaseException:
        held.conn = None
        conn.disconnect()
        guard["conn"].connection_pool.release(conn)
        raise


def release_nonce(key: str) -> None:
    """Forget a nonce claimed in Redis by a push that was not recorded after all, so
    that WeChat's retry of it is let in (the MsgId still counts the message once)."""
    guard = _nonce_redis()
    if guard is None or time.monotonic() < guard["down_until"]:
        return
    try:
        guard["conn"].delete(f"wuye:wechat-nonce:{key}")
    except Exception as exc:  # noqa: BLE001 - the retry is refused as a replay then
        log.warning("nonce guard: could not release %s: %s", key, exc)


class NonceReplayed(Exception):
    """The push's nonce was recorded by a concurrent copy of the same request."""


class _ConvRow:
    """A conversation as the push path reads it (what ``_bot_turn`` and ``hand_off``
    read and change), without an ORM entity; ``changes`` gives what to write back."""

    FIELDS = ("community_id", "state", "bot_failures", "waiting_since", "assignee_id")
    __slots__ = ("id", "resident_id", "_before") + FIELDS

    def __init__(self, conv_id: int, row):
        self.id = conv_id
        self.resident_id = row.resident_id
        for name in self.FIELDS:
            setattr(self, name, getattr(row, name))
        self._before = tuple(getattr(row, name) for name in self.FIELDS)

    def changes(self) -> dict:
        return {name: getattr(self, name) for name, old in zip(self.FIELDS, self._before)
                if getattr(self, name) != old}


_CONV = Conversation.__table__
_MSG = Message.__table__
_RESIDENT_BY_OPENID = (
    select(User.id, Conversation.id.label("conversation_id"), Conversation.state)
    .outerjoin(Conversation, Conversation.resident_id == User.id)
    .where(User.openid == bindparam("openid")))


@lru_cache(maxsize=None)
def _push_statements(dialect: str) -> SimpleNamespace:
    """The push path's writes as Core statements, built once per dialect."""
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    return SimpleNamespace(
        user=insert(User.__table__).on_conflict_do_nothing(index_elements=["openid"])
        .returning(User.__table__.c.id),
        conversation=insert(_CONV).on_conflict_do_nothing(index_elements=["resident_id"])
        .returning(_CONV.c.id, _CONV.c.state),
        nonce=insert(WechatNonce.__table__).on_conflict_do_nothing(index_elements=["nonce"])
        .returning(WechatNonce.__table__.c.nonce),
        # the MsgId's unique key decides: no row back means a retry of a recorded push
        message=insert(_MSG).on_conflict_do_nothing(index_elements=["wechat_msg_id"])
        .returning(_MSG.c.id),
        reply=insert(_MSG).returning(_MSG.c.id),
        touch=update(_CONV).where(_CONV.c.id == bindparam("cid"))
        .values(channel=bindparam("channel"), last_activity_at=bindparam("now"))
        .returning(_CONV.c.resident_id, *(_CONV.c[name] for name in _ConvRow.FIELDS)),
        seen=update(User.__table__).where(User.__table__.c.id == bindparam("uid"))
        .values(last_message_at=bindparam("now")),
    )


def _resident_ids(openid: str) -> tuple[int, int | None, ConversationState | None]:
    """(user id, conversation id, conversation state) for an openid: ids None when
    the user or their conversation does not exist yet."""
    rows = db.session.execute(_RESIDENT_BY_OPENID, {"openid": openid}).all()
    if rows:
        return rows[0]
    return None, None, None


def _first_message_ids(conn, statements, openid: str, user_id: int | None
                       ) -> tuple[int, int, ConversationState]:
    """Create the user behind an openid and/or their conversation (their first
    message); two first messages at once make one of each (unique keys)."""
    if user_id is None:
        user_id = conn.execute(statements.user, {"openid": openid, "name": ""}).scalar()
        if user_id is None:  # created by a concurrent first message a moment ago
            user_id = db.session.execute(_RESIDENT_BY_OPENID, {"openid": openid}).all()[0].id
    community_id = _community_id(load_user(user_id))
    row = conn.execute(statements.conversation, {
        "resident_id": user_id, "community_id": community_id}).one_or_none()
    if row is None:
        row = db.session.execute(_RESIDENT_BY_OPENID, {"openid": openid}).all()[0]
        return user_id, row.conversation_id, row.state
    return user_id, row.id, row.state


def receive_wechat_message(openid: str, text: str, *, msg_id: str, readable: bool = True,
                           passive: bool = True, nonce: str | None = None,
                           now: datetime | None = None) -> str | None:
    """Record a message pushed by WeChat and the bot's reply, in the current
    transaction (the caller commits); what ``post_resident_message`` does for the
    chat page, written with a few Core statements instead of ORM entities.

    The bot's answer is worked out first (it only reads), so writes come last and
    locks are held briefly. ``msg_id`` counts the push once: a retry writes nothing
    and gets the first reply again if that went back passively (else None).
    ``passive``: the reply goes back in the push's response; else it is marked
    pending and a job sends it as a customer-service message. ``nonce``: a
    "timestamp:nonce" to record with it (the database replay guard); NonceReplayed
    if a concurrent copy recorded it first. Returns the passive reply's text, or
    None (nothing to say now: a person holds the conversation, or not passive)."""
    now = now or utcnow()
    # begun first, so every read runs in this transaction (and under its bounds)
    conn = db.session.connection()
    statements = _push_statements(conn.dialect.name)
    user_id, conv_id, state = _resident_ids(openid)
    if conv_id is None:
        user_id, conv_id, state = _first_message_ids(conn, statements, openid, user_id)
    principal = load_user(user_id)
    answer = bot.reply(principal, text) if readable and state != ConversationState.open else None

    if nonce is not None and conn.execute(statements.nonce, {
            "nonce": nonce[:100], "seen_at": now}).first() is None:
        raise NonceReplayed(nonce)
    message_id = conn.execute(statements.message, {
        "conversation_id": conv_id, "sender": Sender.resident, "author_id": user_id,
        "text": text, "wechat_msg_id": msg_id, "created_at": now}).scalar()
    if message_id is None:  # a retry of a push recorded before
        reply = _exchange_for_msg_id(msg_id).reply
        return reply.text if reply is not None and reply.delivery == Delivery.passive else None
    conv = _ConvRow(conv_id, conn.execute(statements.touch, {
        "cid": conv_id, "channel": Channel.wechat, "now": now}).one())
    # opens WeChat's 48-hour customer-service window
    conn.execute(statements.seen, {"uid": user_id, "now": now})
    if conv.community_id is None:
        conv.community_id = _community_id(principal)
    fields = None
    if conv.state != ConversationState.open:
        if readable:
            fields = _bot_turn(conv, principal, text, now, answer)
        else:
            fields = _system_fields(_template("unreadable"))
    changes = conv.changes()
    if changes:
        conn.execute(update(_CONV).where(_CONV.c.id == conv_id).values(**changes))
    if fields is None:
        return None
    reply_id = conn.execute(statements.reply, dict(
        fields, conversation_id=conv_id, created_at=now,
        delivery=Delivery.passive if passive else Delivery.pending)).scalar_one()
    if not passive:
        enqueue("chat.send_wechat", reply_id, key=f"chat-wechat-{reply_id}")
        return None
    return fields["text"]


# ------------------------------------------------------------------ demo data
def seed_demo_chat(community) -> str:
    """Demo (flask seed-demo): 李娜 asked the bot about her fee and then for a person,
    so the desk console has someone in its queue. Idempotent."""
    user = db.session.scalar(select(User).where(User.openid == "demo-li"))
    if user is None or conversation_for(user, create=False) is not None:
        return ""
    for text in ("你好", "物业费多少钱", "我要找物业的人"):
        post_resident_message(user, text)
    return "chat 1 waiting"
