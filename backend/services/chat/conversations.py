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
from backend.services.community import only_community, setting
from backend.services.notifications import notify
from backend.services.permissions import bound_rooms, home_community

IDLE_RELEASED = "由于长时间没有新消息，本次人工服务已结束；如需继续请回复“人工”。"
WAITING_EXPIRED = ("抱歉，客服暂时未能接入。智能客服将继续为您服务；如需人工请在办公时间回复“人工”"
                   "或致电物业服务中心。")
UNBOUND_HAND_OFF = "请先在小程序“我的—绑定房屋”中绑定您的房屋，物业客服才能接入；"


def community_id_for(user: User) -> int | None:
    """The community a resident's conversation belongs to: that of the room they bound
    most recently (of those bound now), or None while they have none. Only that
    community's desk sees the conversation; with None, no desk does."""
    community = home_community(user)
    return community.id if community is not None else None


def follow_community(conv: Conversation, user: User) -> None:
    """Move the conversation to the resident's community as it is now (they bound a
    room, or one in another community). A desk member of the former community who
    held it lets go: the bot answers until the new community's desk takes it."""
    community_id = community_id_for(user)
    if community_id == conv.community_id:
        return
    conv.community_id = community_id
    if conv.state == ConversationState.open:
        conv.state = ConversationState.bot
        conv.assignee_id = None
        conv.bot_failures = 0
    elif conv.state == ConversationState.waiting:
        if community_id is None:
            conv.state, conv.waiting_since = ConversationState.bot, None
        else:
            notify_desk(conv)


def unbound_hand_off_text() -> str:
    """What a resident without a room is told when they ask for a person: no desk
    can take them before they bind one (the emergency phone when there is only one
    community to take it from)."""
    community = only_community()
    if community is None:
        return UNBOUND_HAND_OFF + "紧急情况请拨打您所在小区物业服务中心的24小时值班电话。"
    return UNBOUND_HAND_OFF + f"紧急情况请拨打24小时值班电话 {setting(community, 'emergency_phone')}。"


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
    """Desk staff of the community (managers and admins when it has none); nobody
    for a conversation without a community."""
    if community_id is None:
        return []
    for roles in ((Role.desk,), (Role.manager, Role.admin)):
        ids = sorted(set(db.session.scalars(select(StaffRole.user_id).where(
            StaffRole.role.in_(roles), StaffRole.community_id == community_id))))
        if ids:
            return ids
    return []


def hand_off(conv: Conversation, now: datetime | None = None) -> bool:
    """Put the conversation in its community's desk queue and tell the desk. False
    (nothing changes) when it has no community: the resident must bind a room
    first (``unbound_hand_off_text``)."""
    if conv.community_id is None:
        return False
    if conv.state != ConversationState.bot:
        return True
    now = now or utcnow()
    conv.state = ConversationState.waiting
    conv.waiting_since = now
    conv.bot_failures = 0
    conv.assignee_id = None
    notify_desk(conv)
    return True


def notify_desk(conv: Conversation) -> None:
    resident = db.session.get(User, conv.resident_id)
    who = resident.shown_name
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
