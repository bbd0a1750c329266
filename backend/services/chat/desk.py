"""The front desk's side of the chat (前台/客服): which conversations a desk member
sees, taking one (one holder at a time), giving it back, and replying."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import joinedload

from backend.errors import Conflict, Forbidden, NotFound
from backend.extensions import db
from backend.models import (
    Channel,
    Conversation,
    ConversationState,
    Message,
    Role,
    Room,
    RoomBinding,
    Sender,
    User,
    utcnow,
)
from backend.services.chat.conversations import add_message, back_to_bot, deliver_by_wechat
from backend.services.permissions import has_role, staff_community_ids

DESK_ROLES = ("desk", "manager")
RELEASED = "本次人工服务已结束，智能客服将继续为您服务；如需人工请回复“人工”。"

# what the desk shows of each conversation: the resident, their rooms, the holder
_CONTEXT = (
    joinedload(Conversation.resident).selectinload(User.bindings).joinedload(RoomBinding.room)
    .options(joinedload(Room.building), joinedload(Room.unit)),
    joinedload(Conversation.assignee),
)


def desk_community_ids(staff: User) -> set[int]:
    return staff_community_ids(staff, *DESK_ROLES)


def desk_scope(staff: User):
    """Conversations a desk member may see: their communities' only. One without a
    community (a resident who has bound no room) is no desk's: the resident is told
    to bind a room first."""
    return Conversation.community_id.in_(desk_community_ids(staff))


def conversation_for_staff(staff: User, conversation_id: int) -> Conversation:
    conv = db.session.scalar(select(Conversation).where(
        Conversation.id == conversation_id, desk_scope(staff)).options(*_CONTEXT))
    if conv is None:
        raise NotFound("找不到该会话", code="conversation_not_found")
    return conv


def desk_query(staff: User, state: str | None):
    """The conversations a desk member sees (optionally in one state), with what the
    desk shows of each loaded together."""
    query = select(Conversation).where(desk_scope(staff)).options(*_CONTEXT)
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
    add_message(conv, Sender.system, f"客服{staff.name or staff.username}已接入，将为您服务。",
                author_id=staff.id, created_at=now)
    db.session.flush()
    return conv


def release(staff: User, conversation_id: int, now: datetime | None = None) -> Conversation:
    """Give the conversation back to the bot (its holder, or a manager of the
    community)."""
    conv = conversation_for_staff(staff, conversation_id)
    if conv.state != ConversationState.open:
        raise Conflict("该会话当前没有客服接入", code="conversation_not_open")
    if conv.assignee_id != staff.id and not _supervises(staff, conv):
        raise Forbidden("只有接入该会话的客服或项目经理可以结束服务", code="not_assignee")
    back_to_bot(conv, RELEASED, now or utcnow(), author_id=staff.id)
    db.session.flush()
    return conv


def _supervises(staff: User, conv: Conversation) -> bool:
    return conv.community_id is not None and has_role(staff, Role.manager, conv.community_id)


def staff_reply(staff: User, conversation_id: int, text: str,
                now: datetime | None = None) -> Message:
    """A desk member's answer. The conversation must be held by them (claim first).
    For a WeChat resident it is sent as a customer-service message by a job."""
    now = now or utcnow()
    conv = conversation_for_staff(staff, conversation_id)
    if conv.state != ConversationState.open or conv.assignee_id != staff.id:
        raise Conflict("请先接入该会话再回复", code="conversation_not_claimed")
    msg = add_message(conv, Sender.staff, text, author_id=staff.id, created_at=now)
    conv.last_activity_at = now
    if conv.channel == Channel.wechat:
        deliver_by_wechat(msg)
    db.session.flush()
    return msg
