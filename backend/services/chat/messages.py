"""What a resident writes and what the bot answers: the one way a resident's message
is recorded, from the app's chat page and from the WeChat push alike
(``record_resident_message``), a one-off question (``ask``), and reading the
conversation back."""
from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from backend.extensions import db
from backend.models import (
    Channel,
    Conversation,
    ConversationState,
    Delivery,
    Message,
    Sender,
    User,
    utcnow,
)
from backend.services import bot_answers
from backend.services.chat.conversations import (
    add_message,
    community_id_for,
    conversation_for,
    deliver_by_wechat,
    follow_community,
    hand_off,
    unbound_hand_off_text,
)
from backend.services.chat.misses import record_miss

MAX_FAILURES = 2  # consecutive unanswered questions before a person takes over


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


def record_resident_message(user: User, text: str, *, channel: Channel = Channel.app,
                            wechat_msg_id: str | None = None, readable: bool = True,
                            passive: bool = True, now: datetime | None = None) -> Exchange:
    """Record what a resident wrote and let the bot answer unless a person holds the
    conversation (in the current transaction; the request commits).

    ``wechat_msg_id`` (a WeChat push's MsgId) makes the message count once per
    sender: the unique key on (author, MsgId) decides, and a retry gets the first exchange back with
    ``duplicate=True``, writing nothing. ``readable`` is False for what the bot cannot
    read (a picture, a voice note without text): it is kept for the desk and the
    resident is asked to write instead. For a WeChat resident the reply goes back in
    the push's response (``passive``) or, else, as a customer-service message sent
    by a job."""
    now = now or utcnow()
    if wechat_msg_id is not None:
        seen = exchange_for_msg_id(wechat_msg_id, user)
        if seen is not None:
            return seen
    conv = conversation_for(user)
    follow_community(conv, user)  # a room bound since the last message
    # worked out before anything is written (it only reads): locks are held briefly
    answer = None
    if readable and conv.state != ConversationState.open:
        answer = bot_answers.reply(user, text)
    message = Message(conversation_id=conv.id, sender=Sender.resident, author_id=user.id,
                      text=text, wechat_msg_id=wechat_msg_id, created_at=now)
    try:
        with db.session.begin_nested():
            db.session.add(message)
    except IntegrityError:  # the same push arrived twice at once: the first one answers
        seen = exchange_for_msg_id(wechat_msg_id, user) if wechat_msg_id is not None else None
        if seen is not None:
            return seen
        raise
    conv.channel = channel
    conv.last_activity_at = now
    if channel == Channel.wechat:
        user.last_message_at = now  # opens WeChat's 48-hour customer-service window
    reply = None
    if conv.state != ConversationState.open:
        fields = (_bot_turn(conv, user, text, now, answer) if answer is not None
                  else _system_fields(bot_answers.template("unreadable")))
        reply = add_message(conv, created_at=now, **fields)
        if channel == Channel.wechat:
            if passive:
                reply.delivery = Delivery.passive
            else:
                deliver_by_wechat(reply)
    db.session.flush()
    return Exchange(conv, message, reply)


def exchange_for_msg_id(msg_id: str, user: User) -> Exchange | None:
    """The exchange a WeChat MsgId of ``user``'s recorded, if any: its message and the
    reply to it (not a reply to a later message). Another resident's message with the
    same MsgId is theirs."""
    message = db.session.scalar(select(Message).where(
        Message.author_id == user.id, Message.wechat_msg_id == msg_id))
    if message is None:
        return None
    conv = db.session.get(Conversation, message.conversation_id)
    reply = db.session.scalar(
        select(Message).where(Message.conversation_id == conv.id, Message.id > message.id,
                              Message.sender.in_([Sender.bot, Sender.system]))
        .order_by(Message.id).limit(1))
    if reply is not None:
        later = db.session.scalar(select(Message.id).where(
            Message.conversation_id == conv.id, Message.sender == Sender.resident,
            Message.id > message.id, Message.id < reply.id).limit(1))
        if later is not None:
            reply = None
    return Exchange(conv, message, reply, duplicate=True)


def _bot_turn(conv: Conversation, user: User, text: str, now: datetime,
              answer: bot_answers.Reply) -> dict:
    """The bot's turn on a resident's message: the reply's fields (sender, text,
    intent, confidence, action), with the conversation's state moved on (hand-off,
    failure count) and a miss recorded."""
    if answer.low_confidence:
        record_miss(conv.community_id, text, answer, now)
    if conv.state == ConversationState.waiting:
        if answer.handoff or not answer.answered:
            return _system_fields(bot_answers.template("human_already"))
        return _bot_fields(answer)
    # state: bot
    if answer.handoff:
        if not hand_off(conv, now):
            return _system_fields(unbound_hand_off_text(), intent=answer.intent,
                                  confidence=answer.confidence)
        return _bot_fields(answer)
    if not answer.answered:
        conv.bot_failures += 1
        if conv.bot_failures >= MAX_FAILURES:
            if not hand_off(conv, now):
                conv.bot_failures = 0
                return _system_fields(unbound_hand_off_text(), intent=answer.intent,
                                      confidence=answer.confidence)
            return _system_fields(bot_answers.template("unknown_twice"), intent=answer.intent,
                                  confidence=answer.confidence)
        return _bot_fields(answer)
    conv.bot_failures = 0
    return _bot_fields(answer)


def _system_fields(text: str, **fields) -> dict:
    return dict(sender=Sender.system, text=text, **fields)


def _bot_fields(answer: bot_answers.Reply) -> dict:
    return dict(sender=Sender.bot, text=answer.text, intent=answer.intent,
                confidence=answer.confidence, action=answer.action)


def ask(user: User, text: str, now: datetime | None = None) -> bot_answers.Reply:
    """A one-off question (POST /bot/ask): answered without recording the exchange,
    except that a request for a person hands the resident's conversation to their
    community's desk (with the question, so the desk sees why) and a miss is counted
    for review. A resident without a room is told to bind one instead."""
    now = now or utcnow()
    answer = bot_answers.reply(user, text)
    community_id = community_id_for(user)
    if answer.low_confidence:
        record_miss(community_id, text, answer, now)
    if answer.handoff and community_id is None:
        return replace(answer, text=unbound_hand_off_text(), handoff=False)
    if answer.handoff:
        conv = conversation_for(user)
        follow_community(conv, user)
        add_message(conv, Sender.resident, text, author_id=user.id, created_at=now)
        conv.last_activity_at = now
        if conv.state == ConversationState.bot:
            hand_off(conv, now)
            add_message(conv, created_at=now, **_bot_fields(answer))
    return answer


def messages_after(conv: Conversation, after: int | None, limit: int) -> list[Message]:
    """Messages with an id above ``after``, oldest first; without a cursor the latest
    ``limit``, oldest first."""
    query = select(Message).where(Message.conversation_id == conv.id)
    if after:
        return list(db.session.scalars(query.where(Message.id > after)
                                       .order_by(Message.id).limit(limit)))
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
