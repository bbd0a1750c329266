"""Owner chat (客服对话): one conversation per resident, its messages, and the
questions the bot could not answer (for staff to turn into rules)."""
from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from backend.models.base import Base, UTCDateTime, str_enum, utcnow
from backend.models.user import User


class ConversationState(str, enum.Enum):
    bot = "bot"  # the bot answers
    waiting = "waiting"  # asked for a person (or the bot failed twice): in the desk's queue
    open = "open"  # a desk member holds it; the bot is silent


class Channel(str, enum.Enum):
    app = "app"  # the mini-program's chat page
    wechat = "wechat"  # WeChat customer-service messages (message push)


class Sender(str, enum.Enum):
    resident = "resident"
    bot = "bot"
    staff = "staff"
    system = "system"


class Delivery(str, enum.Enum):
    """How a reply reached a WeChat resident."""

    passive = "passive"  # in the push's own response (within WeChat's 5 s)
    pending = "pending"  # a job sends it as a customer-service message
    sent = "sent"
    undelivered = "undelivered"  # outside the 48 h / 5-reply window (45015): final


class Conversation(Base):
    __tablename__ = "conversation"
    __table_args__ = (
        Index("ix_conversation_state_activity", "state", "last_activity_at"),
        Index("ix_conversation_community_state", "community_id", "state"),
        CheckConstraint("bot_failures >= 0", name="failures_non_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    resident_id: Mapped[int] = mapped_column(
        ForeignKey("user.id", ondelete="CASCADE"), unique=True
    )
    # The resident's community (from their rooms); NULL while they have bound none.
    community_id: Mapped[int | None] = mapped_column(
        ForeignKey("community.id", ondelete="SET NULL")
    )
    state: Mapped[ConversationState] = mapped_column(
        str_enum(ConversationState, "conversation_state"), default=ConversationState.bot
    )
    channel: Mapped[Channel] = mapped_column(str_enum(Channel, "conversation_channel"),
                                             default=Channel.app)
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    # Consecutive questions the bot could not answer; two in a row hand over.
    bot_failures: Mapped[int] = mapped_column(default=0)
    waiting_since: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_activity_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    resident: Mapped[User] = relationship(foreign_keys=[resident_id])
    assignee: Mapped[User | None] = relationship(foreign_keys=[assignee_id])


class Message(Base):
    __tablename__ = "chat_message"
    __table_args__ = (
        Index("ix_chat_message_conversation_id_id", "conversation_id", "id"),
        # WeChat retries a push up to 3 times: a sender's MsgId is stored once (a
        # MsgId is not known to be unique across senders: each resident's counts)
        UniqueConstraint("author_id", "wechat_msg_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    conversation_id: Mapped[int] = mapped_column(
        ForeignKey("conversation.id", ondelete="CASCADE")
    )
    sender: Mapped[Sender] = mapped_column(str_enum(Sender, "chat_sender"))
    author_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    text: Mapped[str] = mapped_column(Text)
    intent: Mapped[str | None] = mapped_column(String(32))  # bot replies: the intent answered
    confidence: Mapped[float | None] = mapped_column()
    # What the client can offer with the reply, e.g. {"type": "create_ticket", ...}
    action: Mapped[dict | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    wechat_msg_id: Mapped[str | None] = mapped_column(String(64))
    delivery: Mapped[Delivery | None] = mapped_column(str_enum(Delivery, "chat_delivery"))
    delivery_error: Mapped[str | None] = mapped_column(String(200))

    author: Mapped[User | None] = relationship()


class BotMiss(Base):
    """A question the bot did not answer or answered with low confidence, counted
    by its normalised text so the desk sees the most frequent first."""

    __tablename__ = "bot_miss"
    __table_args__ = (
        UniqueConstraint("community_key", "normalized"),
        Index("ix_bot_miss_count", "count"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # community id, or 0 for residents without a community (a plain column so the
    # unique key also holds for them: NULLs are never equal in a unique index)
    community_key: Mapped[int] = mapped_column(default=0)
    normalized: Mapped[str] = mapped_column(String(200))
    question: Mapped[str] = mapped_column(String(500))  # the latest wording seen
    intent_guess: Mapped[str | None] = mapped_column(String(32))
    confidence: Mapped[float] = mapped_column(default=0.0)
    count: Mapped[int] = mapped_column(default=1)
    first_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class WechatNonce(Base):
    """Nonces of WeChat pushes seen recently, with the digest of the request that
    first used each: the replay guard when Redis is down or not configured (rows
    older than twice the timestamp window are purged). See services/chat/nonces.py."""

    __tablename__ = "wechat_nonce"

    nonce: Mapped[str] = mapped_column(String(100), primary_key=True)  # "timestamp:nonce"
    # SHA-256 (hex) of the request's method, query and body; "" for rows from before it
    digest: Mapped[str] = mapped_column(String(64), default="", server_default="")
    seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
