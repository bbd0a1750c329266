"""A resident's conversation and its states: found or started (one per resident),
handed to the desk, given back to the bot, and the periodic release of those left
idle (the change only: backend/jobs/chat.py commits it)."""
from __future__ import annotations

from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import or_, select
from sqlalchemy.exc import IntegrityError

from backend.extensions import db
from backend.models import (
    Channel,
    Conversation,
    ConversationState,
    Delivery,
    Message,
    Role,
    Sender,
    StaffRole,
    User,
    utcnow,
)
from backend.outbox import enqueue
from backend.services.bot_answers import asker_for
from backend.services.notifications import notify
from backend.services.permissions import bound_rooms

IDLE_RELEASED = "由于长时间没有新消息，本次人工服务已结束；如需继续请回复“人工”。"
WAITING_EXPIRED = ("抱歉，客服暂时未能接入。智能客服将继续为您服务；如需人工请在办公时间回复“人工”"
                   "或致电物业服务中心。")


def community_id_for(user: User) -> int | None:
    """The community a resident's conversation belongs to: their first bound room's,
    else the one the bot answers them for (see ``asker_for``)."""
    rooms = bound_rooms(user)
    if rooms:
        return rooms[0].community_id
    community = asker_for(user).community
    return community.id if community else None


def conversation_for(user: User, *, create: bool = True) -> Conversation | None:
    """The resident's conversation (started on first use; one per resident, held by
    a unique key so two first messages at once still make one)."""
    conv = db.session.scalar(select(Conversation).where(Conversation.resident_id == user.id))
    if conv is not None or not create:
        return conv
    conv = Conversation(resident_id=user.id, community_id=community_id_for(user))
    try:
        with db.session.begin_nested():
            db.session.add(conv)
    except IntegrityError:  # started a moment ago by a concurrent first message
        conv = db.session.scalar(select(Conversation).where(Conversation.resident_id == user.id))
    return conv


def add_message(conv: Conversation, sender: Sender = Sender.system, text: str = "",
                **fields) -> Message:
    msg = Message(conversation_id=conv.id, sender=sender, text=text, **fields)
    db.session.add(msg)
    return msg


def deliver_by_wechat(msg: Message) -> None:
    """Send ``msg`` to a WeChat resident as a customer-service message: a job, recorded
    in this transaction (backend/jobs/chat.py sends it once)."""
    msg.delivery = Delivery.pending
    db.session.flush()
    enqueue("chat.send_wechat", msg.id, key=f"chat-wechat-{msg.id}")


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


def back_to_bot(conv: Conversation, text: str, now: datetime,
                author_id: int | None = None) -> None:
    """End a person's turn (or the wait for one): the bot answers again, and the
    resident is told why."""
    conv.state = ConversationState.bot
    conv.assignee_id = None
    conv.waiting_since = None
    conv.bot_failures = 0
    msg = add_message(conv, Sender.system, text, author_id=author_id, created_at=now)
    if conv.channel == Channel.wechat:
        deliver_by_wechat(msg)


def release_idle(now: datetime | None = None) -> int:
    """Open conversations with no activity for a while go back to the bot; waiting
    ones nobody claimed for long are closed with an apology (both are told). The
    caller commits (the periodic job)."""
    now = now or utcnow()
    cfg = current_app.config
    idle = now - timedelta(minutes=cfg["CHAT_IDLE_RELEASE_MINUTES"])
    expired = now - timedelta(hours=cfg["CHAT_WAITING_EXPIRE_HOURS"])
    convs = list(db.session.scalars(select(Conversation).where(or_(
        (Conversation.state == ConversationState.open) & (Conversation.last_activity_at < idle),
        (Conversation.state == ConversationState.waiting)
        & (Conversation.last_activity_at < expired),
    )).with_for_update(skip_locked=True)))
    for conv in convs:
        open_ = conv.state == ConversationState.open
        back_to_bot(conv, IDLE_RELEASED if open_ else WAITING_EXPIRED, now)
    db.session.flush()
    return len(convs)
