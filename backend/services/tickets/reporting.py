"""Reporting a ticket (a resident, or the desk on a resident's phone call) and the
photos on it: the report's own, and staff's before/after photos (维修前/维修后)."""
from __future__ import annotations

from flask import current_app
from backend.errors import Conflict, Forbidden, NotFound, ValidationFailed
from backend.extensions import db
from backend.models import (
    PhotoStage,
    Room,
    Ticket,
    TicketKind,
    TicketPhoto,
    TicketStatus,
    User,
    utcnow,
)
from backend.rules import ticket_states as rules
from backend.rules.ticket_states import OPEN_STATUSES, STATUS_LABELS
from backend.services import photos as photo_service
from backend.services.permissions import current_bindings, staff_community_ids
from backend.services.tickets.notices import alert_urgent
from backend.services.tickets.service_levels import service_levels
from backend.services.tickets.timeline import record
from backend.services.tickets.visibility import actor_roles, get_ticket, household_room_ids

S = TicketStatus
MAX_DESCRIPTION = 2000


def _resident_community_ids(user: User) -> set[int]:
    return {b.room.community_id for b in current_bindings(user)}


def _default_community(user: User) -> int:
    communities = _resident_community_ids(user) | staff_community_ids(user)
    if not communities:
        raise Forbidden("请先在“我的房屋”中绑定房屋，再报事报修", code="no_room_bound")
    if len(communities) > 1:
        raise ValidationFailed("请选择报事的房屋", code="room_required",
                               details={"fields": {"room_id": ["请选择房屋"]}})
    return communities.pop()


def report_ticket(actor: User, *, kind: str, description: str, location: str = "",
                  room_id: int | None = None, community_id: int | None = None,
                  urgent: bool = False, contact_phone: str | None = None,
                  uploads: list | None = None) -> Ticket:
    """A resident (or the desk, on a resident's phone call) reports an issue with up
    to 9 photos. Every photo is checked before anything is stored; the photos'
    variants are made by a job after the commit."""
    kind = TicketKind(kind)
    description = (description or "").strip()
    if not description:
        raise ValidationFailed("请描述需要处理的问题", code="validation_error",
                               details={"fields": {"description": ["不能为空"]}})
    room = None
    if room_id is not None:
        room = db.session.get(Room, room_id)
        allowed = room is not None and (
            room_id in household_room_ids(actor)
            or room.community_id in staff_community_ids(actor))
        if not allowed:
            raise NotFound("找不到该房屋，请先绑定房屋", code="room_not_found")
    if kind == TicketKind.home_repair and room is None:
        raise ValidationFailed("室内报修请选择房屋", code="room_required",
                               details={"fields": {"room_id": ["室内报修必须选择房屋"]}})
    if room is not None:
        community = room.community_id
    elif community_id is not None:
        if community_id not in staff_community_ids(actor) | _resident_community_ids(actor):
            raise NotFound("找不到该小区", code="community_not_found")
        community = community_id
    else:
        community = _default_community(actor)

    images = photo_service.check_uploads(uploads or [])

    now = utcnow()
    accept_due, due = rules.due_times(kind, urgent, now, service_levels())
    ticket = Ticket(community_id=community, reporter_id=actor.id, room_id=room.id if room else None,
                    kind=kind, status=S.submitted, urgent=bool(urgent),
                    description=description[:MAX_DESCRIPTION], location=(location or "").strip()[:200],
                    contact_phone=(contact_phone or "").strip() or None,
                    created_at=now, updated_at=now, accept_due_at=accept_due, due_at=due)
    db.session.add(ticket)
    db.session.flush()
    record(ticket, "created", actor, None, S.submitted, None,
           {"photos": len(images)} if images else None, at=now)
    if images:
        photo_service.add_photos(ticket, actor.id, images, PhotoStage.report)
    if ticket.urgent:
        alert_urgent(ticket)
    return ticket


def add_ticket_photos(actor: User, ticket_id: int, uploads: list,
                      stage: str | None = None) -> list[TicketPhoto]:
    """More photos on an existing ticket: the reporter adds to the report (up to 9 in
    all) while it is open; the assignee, desk or manager add before/after photos
    (维修前/维修后, up to 9 each) until it is resolved."""
    ticket = get_ticket(actor, ticket_id, lock=True)
    roles = actor_roles(actor, ticket)
    staff_roles = roles & {rules.ASSIGNEE, rules.DESK, rules.MANAGER}
    if stage is None:
        if staff_roles:
            stage = "after" if ticket.status in (S.in_progress, S.resolved) else "before"
        else:
            stage = "report"
    stage = PhotoStage(stage)
    if stage == PhotoStage.report:
        if rules.REPORTER not in roles:
            raise Forbidden("只有报事人可以补充报事照片", code="action_not_permitted")
        allowed_status = OPEN_STATUSES
    else:
        if not staff_roles:
            raise Forbidden("只有处理该工单的工作人员可以上传维修照片", code="action_not_permitted")
        allowed_status = OPEN_STATUSES | {S.resolved}
    if ticket.status not in allowed_status:
        raise Conflict(f"工单当前状态为“{STATUS_LABELS[ticket.status.value]}”，不能再上传照片",
                       code="illegal_transition", details={"status": ticket.status.value})
    existing = sum(1 for p in ticket.photos if p.stage == stage)
    limit = current_app.config["MAX_PHOTOS"]
    if existing + len(uploads) > limit:
        raise ValidationFailed(f"每类照片最多 {limit} 张，已有 {existing} 张", code="too_many_photos",
                               details={"fields": {"photos": [f"最多还能上传 {max(0, limit - existing)} 张"]}})
    if not uploads:
        raise ValidationFailed("请选择照片", code="validation_error",
                               details={"fields": {"photos": ["请至少选择一张照片"]}})
    images = photo_service.check_uploads(uploads, max_count=limit - existing)
    added = photo_service.add_photos(ticket, actor.id, images, stage)
    ticket.updated_at = utcnow()
    record(ticket, "photos_added", actor, ticket.status, ticket.status, None,
           {"count": len(added), "stage": stage.value})
    return added


def get_photo(user: User, ticket_id: int, photo_id: int) -> TicketPhoto:
    """A photo of a ticket the user may see (404 otherwise)."""
    ticket = get_ticket(user, ticket_id, loads=())
    photo = db.session.get(TicketPhoto, photo_id)
    if photo is None or photo.ticket_id != ticket.id:
        raise NotFound("找不到该照片", code="photo_not_found")
    return photo
