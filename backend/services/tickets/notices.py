"""Who hears about a ticket (in-app notification and WeChat subscribe message): the
reporter about status changes they did not make, the assignee about new work, the
desk and manager about urgent reports."""
from __future__ import annotations

from sqlalchemy import select

from backend.extensions import db
from backend.models import Role, StaffRole, Ticket, TicketStatus, User, utcnow
from backend.rules.ticket_states import KIND_LABELS, STATUS_LABELS
from backend.services.notifications import notify
from backend.timeutil import local_text

S = TicketStatus

STATUS_HINTS = {
    S.accepted: "物业已受理，将尽快安排处理",
    S.assigned: "已安排工作人员处理",
    S.in_progress: "工作人员正在处理",
    S.resolved: "已处理完成，请在小程序中评价",
    S.closed: "工单已关闭，感谢您的反馈",
    S.cancelled: "工单已取消",
    S.rejected: "工单未被受理",
}


def staff_of(community_id: int, *roles: Role) -> list[User]:
    """Active staff holding any of ``roles`` in the community."""
    return list(db.session.scalars(
        select(User).join(StaffRole, StaffRole.user_id == User.id)
        .where(StaffRole.community_id == community_id, StaffRole.role.in_(roles),
               User.is_active.is_(True))
        .distinct().order_by(User.id)))


def link(ticket: Ticket) -> str:
    return f"/tickets/{ticket.id}"


def short(text: str, size: int) -> str:
    text = " ".join((text or "").split())
    return text if len(text) <= size else text[: size - 1] + "…"


def room_label(ticket: Ticket) -> str:
    return ticket.room.label if ticket.room is not None else ""


def alert_urgent(ticket: Ticket) -> None:
    """An urgent report reaches the community's desk and manager at once."""
    for person in staff_of(ticket.community_id, Role.desk, Role.manager):
        notify(person, "ticket_urgent",
               f"紧急{KIND_LABELS[ticket.kind.value]}：{short(ticket.description, 30)}",
               f"{ticket.location or room_label(ticket)}，请尽快受理", link=link(ticket))


def tell_about_change(ticket: Ticket, actor: User | None, action: str, note: str | None) -> None:
    """The reporter hears about every status change they did not make themselves
    (in-app + WeChat subscribe message); the assignee hears about new work."""
    status_label = STATUS_LABELS[ticket.status.value]
    kind_label = KIND_LABELS[ticket.kind.value]
    hint = STATUS_HINTS.get(ticket.status, "")
    if action == "assign" and ticket.assignee is not None:
        hint = f"已安排{ticket.assignee.shown_name}处理"
    if action == "reopen":
        hint = "已重新安排处理"
    if ticket.status == S.rejected and note:
        hint = f"原因：{note}"
    actor_id = actor.id if actor is not None else None
    if ticket.reporter_id and ticket.reporter_id != actor_id:
        now = utcnow()
        notify(ticket.reporter_id, "ticket_status", f"您的{kind_label}{status_label}",
               f"{short(ticket.description, 40)}。{hint}", link=link(ticket),
               wechat_data={"thing1": short(ticket.description, 20) or kind_label,
                            "phrase2": status_label, "time3": local_text(now),
                            "thing4": hint or status_label})
    if ticket.assignee_id and ticket.assignee_id != actor_id and action in ("assign", "reopen"):
        title = "新派单" if action == "assign" else "业主反馈未修好"
        notify(ticket.assignee_id, "ticket_assigned", f"{title}：{kind_label} #{ticket.id}",
               f"{room_label(ticket) or ticket.location}。{short(ticket.description, 40)}",
               link=link(ticket))


def tell_rated(ticket: Ticket, actor: User, score: int, comment: str | None) -> None:
    """The assignee hears how their work was rated."""
    if ticket.assignee_id and ticket.assignee_id != actor.id:
        notify(ticket.assignee_id, "ticket_rated", f"工单 #{ticket.id} 收到 {score} 星评价",
               comment or "", link=link(ticket))
