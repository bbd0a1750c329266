"""Repairs and complaints (报事报修): reporting a ticket, who sees which ticket, the
actions of the state machine (backend/rules/ticket_states.py), ratings, the
follow-up (回访) list, service levels, escalation and auto-close.

Who sees a ticket:
- its reporter;
- staff of its community (desk, engineers, the manager; admins);
- residents currently bound to the flat of an in-home repair (室内报修): a household
  shares its repairs. Complaints, suggestions and inquiries stay with their reporter.
Anyone else gets 404, never a hint that the ticket exists.
"""
from __future__ import annotations

from datetime import datetime, timedelta
from types import SimpleNamespace
from functools import lru_cache

from flask import current_app
from sqlalchemy import (Integer, String, and_, bindparam, case, literal_column, or_, select,
                        type_coerce, union)
from sqlalchemy.orm import aliased

from backend.errors import Conflict, Forbidden, NotFound, ValidationFailed
from backend.extensions import db
from backend.models import (
    Building,
    PhotoStage,
    Role,
    Room,
    StaffRole,
    Ticket,
    TicketEvent,
    TicketKind,
    TicketPhoto,
    TicketStatus,
    Unit,
    User,
    room_label_sql,
    utcnow,
)
from backend.models.base import local_iso_text
from backend.rules import ticket_states as rules
from backend.rules.ticket_states import (
    ACTION_EVENTS,
    KIND_LABELS,
    OPEN_STATUSES,
    STATUS_LABELS,
    ServiceLevels,
    TicketFacts,
)
from backend.services import photos as photo_service
from backend.services.notifications import notify
from backend.services.permissions import staff_community_ids
from backend.timeutil import local_text

S = TicketStatus
MAX_DESCRIPTION = 2000


# ----------------------------------------------------------------- settings
def service_levels() -> ServiceLevels:
    cfg = current_app.config
    return ServiceLevels(
        accept_minutes=cfg["TICKET_ACCEPT_MINUTES"],
        urgent_repair_hours=cfg["TICKET_URGENT_REPAIR_HOURS"],
        repair_hours=cfg["TICKET_REPAIR_HOURS"],
        complaint_hours=cfg["TICKET_COMPLAINT_HOURS"],
    )


# ----------------------------------------------------------------- who may see what
def household_room_ids(user: User) -> list[int]:
    """Rooms the user is bound to now. An owner binding counts only while the ledger
    still names that owner (a seller stops seeing the flat's repairs)."""
    return viewer_scope(user)[1]


def viewer_scope(user: User) -> tuple[set[int], list[int]]:
    """(communities where the user is staff, household room ids), from the roles and
    bindings the request's principal carries (no query)."""
    communities = {grant.community_id for grant in user.staff_roles}
    room_ids = [b.room_id for b in user.bindings
                if b.relation != Role.owner or b.is_current_owner]
    return communities, room_ids


def can_see(user: User, ticket: Ticket) -> bool:
    if ticket.reporter_id == user.id:
        return True
    if ticket.community_id in staff_community_ids(user):
        return True
    return ticket.kind == TicketKind.home_repair and ticket.room_id in household_room_ids(user)


def get_ticket(user: User, ticket_id: int, *, lock: bool = False) -> Ticket:
    """The ticket if ``user`` may see it; 404 otherwise (whether or not it exists)."""
    query = select(Ticket).where(Ticket.id == ticket_id)
    if lock:
        query = query.with_for_update()
    ticket = db.session.scalar(query)
    if ticket is None or not can_see(user, ticket):
        raise NotFound("找不到该工单", code="ticket_not_found")
    return ticket


def actor_roles(user: User, ticket: Ticket) -> set[str]:
    """The user's roles relative to this ticket (see rules.ticket_states)."""
    roles: set[str] = set()
    if ticket.reporter_id == user.id:
        roles.add(rules.REPORTER)
    staff = {sr.role for sr in user.staff_roles if sr.community_id == ticket.community_id}
    if Role.manager in staff or Role.admin in staff:
        roles.add(rules.MANAGER)
    if Role.desk in staff:
        roles.add(rules.DESK)
    if Role.engineer in staff:
        roles.add(rules.ENGINEER)
    if staff and ticket.assignee_id == user.id:
        roles.add(rules.ASSIGNEE)
    return roles


def facts(ticket: Ticket) -> TicketFacts:
    return TicketFacts(rated=ticket.rated_at is not None,
                       followed_up=ticket.followed_up_at is not None,
                       escalated=ticket.escalated_at is not None)


def available_actions(user: User, ticket: Ticket) -> list[str]:
    """What the caller may do now (the pages show these buttons)."""
    return rules.allowed_actions(ticket.status, actor_roles(user, ticket), facts(ticket))


def overdue(ticket: Ticket, now: datetime | None = None) -> bool:
    return rules.is_overdue(ticket.status, ticket.accept_due_at, ticket.due_at, now or utcnow())


# ----------------------------------------------------------------- reporting
def _default_community(user: User) -> int:
    communities = {r.community_id for r in db.session.scalars(
        select(Room).where(Room.id.in_(household_room_ids(user) or [-1])))}
    communities |= staff_community_ids(user)
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
        if community_id not in staff_community_ids(actor) and community_id not in {
                r.community_id for r in db.session.scalars(
                    select(Room).where(Room.id.in_(household_room_ids(actor) or [-1])))}:
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
    _record(ticket, "created", actor, None, S.submitted, None,
            {"photos": len(images)} if images else None, at=now)
    if images:
        photo_service.add_photos(ticket, actor.id, images, PhotoStage.report)
    if ticket.urgent:
        for person in _staff_of(ticket.community_id, Role.desk, Role.manager):
            notify(person, "ticket_urgent", f"紧急{KIND_LABELS[kind.value]}：{_short(description, 30)}",
                   f"{ticket.location or _room_label(ticket)}，请尽快受理", link=_link(ticket))
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
    _record(ticket, "photos_added", actor, ticket.status, ticket.status, None,
            {"count": len(added), "stage": stage.value})
    return added


def get_photo(user: User, ticket_id: int, photo_id: int) -> TicketPhoto:
    ticket = get_ticket(user, ticket_id)
    photo = db.session.get(TicketPhoto, photo_id)
    if photo is None or photo.ticket_id != ticket.id:
        raise NotFound("找不到该照片", code="photo_not_found")
    return photo


# ----------------------------------------------------------------- actions
def act(actor: User, ticket_id: int, action: str, note: str | None = None,
        assignee_id: int | None = None) -> Ticket:
    """Take one action of the state machine. 404 when the ticket is not visible,
    403 for a role that may never do this, 409 when the status does not allow it."""
    ticket = get_ticket(actor, ticket_id, lock=True)
    note = (note or "").strip() or None
    previous = ticket.status
    target = _decide(ticket, action, actor_roles(actor, ticket), note)
    now = utcnow()
    data = None
    if action == "assign":
        assignee = _check_assignee(ticket, assignee_id)
        if ticket.status == S.assigned and ticket.assignee_id == assignee.id:
            raise Conflict(f"该工单已派给{assignee.name or '该员工'}", code="already_assigned")
        ticket.assignee_id = assignee.id
        data = {"assignee_id": assignee.id, "assignee_name": assignee.name}
    elif action == "accept":
        ticket.accepted_at = now
    elif action == "resolve":
        ticket.resolved_at = now
    elif action == "reopen":
        ticket.resolved_at = None
    elif action in ("cancel", "reject"):
        ticket.closed_at = now
    elif action == "close":
        ticket.closed_at = now
        ticket.needs_follow_up = ticket.rated_at is None
    elif action == "follow_up":
        ticket.followed_up_at = now
    ticket.status = target
    ticket.updated_at = now
    _record(ticket, ACTION_EVENTS[action], actor, previous, target, note, data, at=now)
    if target != previous or action == "assign":
        _tell_about_change(ticket, actor, action, note)
    return ticket


def rate(actor: User, ticket_id: int, score: int, comment: str | None = None) -> Ticket:
    """The reporter rates a resolved ticket once (1-5 stars); this closes it. Ratings
    of 1-2 put the ticket on the follow-up list: someone calls back."""
    ticket = get_ticket(actor, ticket_id, lock=True)
    previous = ticket.status
    target = _decide(ticket, "rate", actor_roles(actor, ticket), None)
    now = utcnow()
    comment = (comment or "").strip() or None
    ticket.rating, ticket.rating_comment, ticket.rated_at = score, comment, now
    ticket.status = target
    ticket.closed_at = ticket.closed_at or now
    ticket.needs_follow_up = score <= 2 and ticket.followed_up_at is None
    ticket.updated_at = now
    _record(ticket, "rated", actor, previous, target, comment, {"score": score}, at=now)
    if ticket.assignee_id and ticket.assignee_id != actor.id:
        notify(ticket.assignee_id, "ticket_rated", f"工单 #{ticket.id} 收到 {score} 星评价",
               comment or "", link=_link(ticket))
    return ticket


def _decide(ticket: Ticket, action: str, roles: set[str], note: str | None) -> TicketStatus:
    try:
        return rules.decide(ticket.status, action, roles, facts(ticket), note)
    except rules.NotPermitted as exc:
        raise Forbidden(exc.message, code=exc.code,
                        details={"action": action, "status": ticket.status.value}) from exc
    except rules.IllegalTransition as exc:
        raise Conflict(exc.message, code=exc.code,
                       details={"action": action, "status": ticket.status.value}) from exc
    except rules.NoteRequired as exc:
        raise ValidationFailed(exc.message, code=exc.code,
                               details={"fields": {"note": [exc.message]}}) from exc


def _check_assignee(ticket: Ticket, assignee_id: int | None) -> User:
    if assignee_id is None:
        raise ValidationFailed("请选择处理人", code="assignee_required",
                               details={"fields": {"assignee_id": ["派单时必须选择处理人"]}})
    assignee = db.session.get(User, assignee_id)
    if assignee is None or not assignee.is_active or not any(
            sr.community_id == ticket.community_id for sr in assignee.staff_roles):
        raise ValidationFailed("处理人必须是本小区的工作人员", code="invalid_assignee",
                               details={"fields": {"assignee_id": ["不是本小区的工作人员"]}})
    return assignee


def assignable_staff(user: User, community_id: int | None = None) -> list[tuple[User, list[str]]]:
    """Staff a ticket may be assigned to, engineers first (for the desk's picker)."""
    communities = staff_community_ids(user, Role.desk, Role.manager)
    if community_id is not None:
        communities &= {community_id}
    if not communities:
        return []
    rows = db.session.execute(
        select(User, StaffRole.role).join(StaffRole, StaffRole.user_id == User.id)
        .where(StaffRole.community_id.in_(communities), User.is_active.is_(True))
        .order_by(User.id)
    ).all()
    people: dict[int, tuple[User, set]] = {}
    for person, role in rows:
        people.setdefault(person.id, (person, set()))[1].add(role.value)
    ordered = sorted(people.values(), key=lambda item: ("engineer" not in item[1], item[0].id))
    return [(person, sorted(roles)) for person, roles in ordered]


# ----------------------------------------------------------------- lists
Reporter = aliased(User, name="reporter")
Assignee = aliased(User, name="assignee")

# The columns a list item shows; one query with outer joins (no object graph), as
# the lists are the most frequent requests.
def overdue_condition(now):
    """SQL for ``rules.is_overdue`` (a test holds the two equal)."""
    return and_(Ticket.status.in_(OPEN_STATUSES), or_(
        Ticket.due_at < now, and_(Ticket.status == S.submitted, Ticket.accept_due_at < now)))


_NOW = bindparam("now", type_=Ticket.due_at.type)
# Times come as the API shows them (models.base.local_iso_text) and ``overdue``
# is computed by the database. Bind ``now``.
SUMMARY_COLUMNS = (
    # kind and status as their stored text: a page needs the text, not the enum
    Ticket.id, type_coerce(Ticket.kind, String).label("kind"),
    type_coerce(Ticket.status, String).label("status"), Ticket.urgent, Ticket.description,
    Ticket.location,
    Ticket.room_id, local_iso_text(Ticket.created_at).label("created_at"),
    local_iso_text(Ticket.updated_at).label("updated_at"),
    local_iso_text(Ticket.accept_due_at).label("accept_due_at"),
    local_iso_text(Ticket.due_at).label("due_at"),
    case((overdue_condition(_NOW), True), else_=False).label("overdue"),
    Ticket.escalated_at.isnot(None).label("escalated"), Ticket.rating, Ticket.reporter_id,
    Ticket.assignee_id,
    room_label_sql(Building.name, Unit.name, Room.number).label("room"),
    Reporter.name.label("reporter_name"), Reporter.username.label("reporter_username"),
    Assignee.name.label("assignee_name"),
)


def _summary_select(condition):
    return (select(*SUMMARY_COLUMNS).where(condition)
            .outerjoin(Room, Room.id == Ticket.room_id)
            .outerjoin(Building, Building.id == Room.building_id)
            .outerjoin(Unit, Unit.id == Room.unit_id)
            .outerjoin(Reporter, Reporter.id == Ticket.reporter_id)
            .outerjoin(Assignee, Assignee.id == Ticket.assignee_id))


@lru_cache(maxsize=1024)
def _list_statement(own: bool, rooms: bool, staff: bool, statuses: tuple, kinds: tuple,
                    assigned_to_me: bool, overdue_only: bool | None, after: bool, rows: int):
    """The list statement for one shape of request, built once: values travel as
    bind parameters (uid, rooms, communities, now, after), so each request only
    executes a cached statement.

    Each way of seeing a ticket (reported it, household flat, staff community) is a
    branch that walks its own index (reporter_id, id) / (room_id, kind, id) /
    (community_id[, status], id) newest first and stops at ``rows``; the page is
    the newest ``rows`` of their union. A single ``OR`` would tempt PostgreSQL to
    walk the primary key backwards through every ticket (seen at 100,000 rows).

    ``rows`` is written into the statement, not bound: PostgreSQL plans a prepared
    statement once (a generic plan) only if that plan looks as cheap as planning for
    the values at hand, and with an unknown LIMIT it assumes a tenth of the table.
    At 100,000 tickets it then planned the list anew on every request (~2 ms).
    """
    limit = literal_column(str(int(rows)), Integer)
    filters = []
    if statuses:
        filters.append(Ticket.status.in_(statuses))
    if kinds:
        filters.append(Ticket.kind.in_(kinds))
    if assigned_to_me:
        filters.append(Ticket.assignee_id == bindparam("uid"))
    if overdue_only is not None:
        late = overdue_condition(_NOW)
        filters.append(late if overdue_only else ~late)
    if after:
        filters.append(Ticket.id < bindparam("after"))
    branches = []
    if own:
        branches.append(Ticket.reporter_id == bindparam("uid"))
    if rooms:
        branches.append(and_(Ticket.room_id.in_(bindparam("rooms", expanding=True)),
                             Ticket.kind == TicketKind.home_repair))
    if staff:
        branches.append(Ticket.community_id.in_(bindparam("communities", expanding=True)))
    newest = [select(Ticket.id).where(branch, *filters).order_by(Ticket.id.desc()).limit(limit)
              .subquery() for branch in branches]
    if len(newest) == 1:
        ids = select(newest[0].c.id)
    else:  # each member wrapped: SQLite allows no ORDER BY/LIMIT inside a UNION
        ids = union(*(select(sub.c.id) for sub in newest))
    return (_summary_select(Ticket.id.in_(ids))
            .order_by(Ticket.id.desc()).limit(limit))


def list_statement(user: User, *, statuses=None, kinds=None, assigned_to_me: bool = False,
                   overdue_only: bool | None = None, after_id: int | None = None,
                   limit: int = 20, now: datetime | None = None):
    """(statement, parameters) for a page of the caller's tickets (staff: their
    community's), newest first; rows have ``SUMMARY_COLUMNS``; ``limit + 1`` rows are
    asked for, to know whether there is a next page."""
    communities, room_ids = viewer_scope(user)
    statement = _list_statement(
        True, bool(room_ids), bool(communities),
        tuple(sorted(TicketStatus(s) for s in statuses)) if statuses else (),
        tuple(sorted(TicketKind(k) for k in kinds)) if kinds else (),
        bool(assigned_to_me), overdue_only, after_id is not None, limit + 1)
    params = {"uid": user.id, "now": now or utcnow()}
    if room_ids:
        params["rooms"] = sorted(room_ids)
    if communities:
        params["communities"] = sorted(communities)
    if after_id is not None:
        params["after"] = after_id
    return statement, params


def list_page(user: User, *, limit: int = 20, after_id: int | None = None,
              **filters) -> tuple[list, int | None]:
    """One page of summary rows, newest first: (rows, id to continue after)."""
    statement, params = list_statement(user, limit=limit, after_id=after_id, **filters)
    # a cached statement per shape, read without the Session (backend/fastread.py)
    return _page(db.session.execute(statement, params).all(), limit)


def follow_up_page(user: User, *, limit: int = 20,
                   after_id: int | None = None) -> tuple[list, int | None]:
    """回访 list: closed tickets nobody rated (or rated 1-2) that are not followed up yet."""
    communities = staff_community_ids(user, Role.desk, Role.manager)
    if not communities:
        return [], None
    query = _summary_select(and_(
        Ticket.community_id.in_(sorted(communities)), Ticket.status == S.closed,
        Ticket.needs_follow_up.is_(True), Ticket.followed_up_at.is_(None)))
    if after_id is not None:
        query = query.where(Ticket.id < after_id)
    return _page(db.session.connection().execute(
        query.order_by(Ticket.id.desc()).limit(limit + 1), {"now": utcnow()}).all(), limit)


def _page(rows: list, limit: int) -> tuple[list, int | None]:
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, (rows[-1].id if more else None)


_TICKETS_BY_ID = select(Ticket.__table__).where(
    Ticket.id.in_(bindparam("ids", expanding=True))).order_by(Ticket.id.desc())
_EVENTS_OF = select(TicketEvent.__table__).where(
    TicketEvent.ticket_id.in_(bindparam("ids", expanding=True))).order_by(
    TicketEvent.ticket_id, TicketEvent.id)


def tickets_for_resident(user: User, open_only: bool = True,
                         limit: int = 5) -> list[SimpleNamespace]:
    """The resident's tickets (reported, or in-home repairs of their flat), newest
    first, as read-only records with Ticket's fields and their ``events`` (latest
    last). ``open_only``: not yet closed, cancelled or rejected (a resolved ticket
    awaiting its rating counts as open). Used by the bot and the desk's chat context."""
    _, room_ids = viewer_scope(user)
    statuses = tuple(sorted(s for s in TicketStatus if s not in rules.FINAL_STATUSES)) \
        if open_only else ()
    statement = _list_statement(True, bool(room_ids), False, statuses, (), False, None, False,
                                limit)
    params = {"uid": user.id, "now": utcnow()}
    if room_ids:
        params["rooms"] = sorted(room_ids)
    ids = sorted(row.id for row in db.session.execute(statement, params).all())
    if not ids:
        return []
    events: dict[int, list] = {}
    for event in db.session.execute(_EVENTS_OF, {"ids": ids}).all():
        events.setdefault(event.ticket_id, []).append(event)
    return [SimpleNamespace(**row._asdict(), events=events.get(row.id, []))
            for row in db.session.execute(_TICKETS_BY_ID, {"ids": ids}).all()]


# ----------------------------------------------------------------- periodic work
def escalate_overdue(now: datetime | None = None, batch: int = 200) -> int:
    """Escalate each overdue open ticket once: an ``escalated`` event and a notification
    to the community's managers. ``escalated_at`` makes later runs skip it."""
    now = now or utcnow()
    ids = db.session.scalars(
        select(Ticket.id).where(Ticket.escalated_at.is_(None), overdue_condition(now))
        .order_by(Ticket.id).limit(batch)
    ).all()
    db.session.rollback()
    done = 0
    for ticket_id in ids:
        ticket = db.session.scalar(select(Ticket).where(Ticket.id == ticket_id).with_for_update())
        reason = rules.overdue_reason(ticket.status, ticket.accept_due_at, ticket.due_at, now) \
            if ticket else None
        if ticket is None or ticket.escalated_at is not None or reason is None:
            db.session.rollback()
            continue
        rules.decide(ticket.status, "escalate", {rules.SYSTEM}, facts(ticket))
        ticket.escalated_at = now
        if reason == "accept":
            note = f"超过{current_app.config['TICKET_ACCEPT_MINUTES']}分钟未受理"
        else:
            note = f"超过处理时限（{local_text(ticket.due_at)}）仍未完成"
        _record(ticket, "escalated", None, ticket.status, ticket.status, note,
                {"reason": reason}, at=now)
        managers = _staff_of(ticket.community_id, Role.manager) or _staff_of(
            ticket.community_id, Role.admin)
        label = KIND_LABELS[ticket.kind.value]
        for manager in managers:
            notify(manager, "ticket_overdue", f"工单超时：{label} #{ticket.id}",
                   f"{note}。{_short(ticket.description, 40)}", link=_link(ticket))
        db.session.commit()
        done += 1
    return done


def auto_close_resolved(now: datetime | None = None, batch: int = 200) -> int:
    """Close resolved tickets left unrated for TICKET_AUTO_CLOSE_DAYS; they go on the
    follow-up list. A ticket already closed is skipped (running twice changes nothing)."""
    now = now or utcnow()
    days = current_app.config["TICKET_AUTO_CLOSE_DAYS"]
    cutoff = now - timedelta(days=days)
    ids = db.session.scalars(
        select(Ticket.id).where(Ticket.status == S.resolved, Ticket.resolved_at < cutoff)
        .order_by(Ticket.id).limit(batch)
    ).all()
    db.session.rollback()
    done = 0
    for ticket_id in ids:
        ticket = db.session.scalar(select(Ticket).where(Ticket.id == ticket_id).with_for_update())
        if ticket is None or ticket.status != S.resolved or ticket.resolved_at >= cutoff:
            db.session.rollback()
            continue
        target = rules.decide(ticket.status, "close", {rules.SYSTEM}, facts(ticket))
        note = f"超过{days}天未评价，系统自动关闭，将安排回访"
        ticket.status = target
        ticket.closed_at = now
        ticket.updated_at = now
        ticket.needs_follow_up = True
        _record(ticket, "closed", None, S.resolved, target, note, {"auto": True}, at=now)
        _tell_about_change(ticket, None, "close", note)
        db.session.commit()
        done += 1
    return done


# ----------------------------------------------------------------- helpers
def _record(ticket: Ticket, kind: str, actor: User | None, from_status, to_status,
            note: str | None, data: dict | None, at: datetime | None = None) -> TicketEvent:
    entry = TicketEvent(ticket_id=ticket.id, at=at or utcnow(), type=kind,
                        actor_id=actor.id if actor is not None else None,
                        from_status=getattr(from_status, "value", from_status),
                        to_status=getattr(to_status, "value", to_status), note=note, data=data)
    db.session.add(entry)
    return entry


def _staff_of(community_id: int, *roles: Role) -> list[User]:
    return list(db.session.scalars(
        select(User).join(StaffRole, StaffRole.user_id == User.id)
        .where(StaffRole.community_id == community_id, StaffRole.role.in_(roles),
               User.is_active.is_(True))
        .distinct().order_by(User.id)))


def _link(ticket: Ticket) -> str:
    return f"/tickets/{ticket.id}"


def _short(text: str, size: int) -> str:
    text = " ".join((text or "").split())
    return text if len(text) <= size else text[: size - 1] + "…"


def _room_label(ticket: Ticket) -> str:
    return ticket.room.label if ticket.room is not None else ""


STATUS_HINTS = {
    S.accepted: "物业已受理，将尽快安排处理",
    S.assigned: "已安排工作人员处理",
    S.in_progress: "工作人员正在处理",
    S.resolved: "已处理完成，请在小程序中评价",
    S.closed: "工单已关闭，感谢您的反馈",
    S.cancelled: "工单已取消",
    S.rejected: "工单未被受理",
}


def _tell_about_change(ticket: Ticket, actor: User | None, action: str, note: str | None) -> None:
    """The reporter hears about every status change they did not make themselves
    (in-app + WeChat subscribe message); the assignee hears about new work."""
    status_label = STATUS_LABELS[ticket.status.value]
    kind_label = KIND_LABELS[ticket.kind.value]
    hint = STATUS_HINTS.get(ticket.status, "")
    if action == "assign" and ticket.assignee is not None:
        hint = f"已安排{ticket.assignee.name or '工作人员'}处理"
    if action == "reopen":
        hint = "已重新安排处理"
    if ticket.status == S.rejected and note:
        hint = f"原因：{note}"
    actor_id = actor.id if actor is not None else None
    if ticket.reporter_id and ticket.reporter_id != actor_id:
        now = utcnow()
        notify(ticket.reporter_id, "ticket_status", f"您的{kind_label}{status_label}",
               f"{_short(ticket.description, 40)}。{hint}", link=_link(ticket),
               wechat_data={"thing1": _short(ticket.description, 20) or kind_label,
                            "phrase2": status_label, "time3": local_text(now),
                            "thing4": hint or status_label})
    if ticket.assignee_id and ticket.assignee_id != actor_id and action in ("assign", "reopen"):
        title = "新派单" if action == "assign" else "业主反馈未修好"
        notify(ticket.assignee_id, "ticket_assigned", f"{title}：{kind_label} #{ticket.id}",
               f"{_room_label(ticket) or ticket.location}。{_short(ticket.description, 40)}",
               link=_link(ticket))


# ----------------------------------------------------------------- demo data
DEMO_TICKETS = [
    # (openid, room, kind, status, urgent, description, location, hours ago, rating)
    ("demo-wang", ("1", "1", "201"), "home_repair", "in_progress", False,
     "卫生间洗手盆下水管漏水，地面一直有积水", "卫生间", 5, None),
    ("demo-wang", ("1", "1", "202"), "home_repair", "resolved", False,
     "客厅插座没电，空气开关推不上去", "客厅", 30, None),
    ("demo-li", ("1", "1", "102"), "complaint", "submitted", False,
     "楼上每天晚上十一点以后还在装修，噪音很大，影响休息", "1栋1单元", 2, None),
    ("demo-li", ("1", "1", "102"), "home_repair", "closed", False,
     "厨房水龙头关不紧，一直滴水", "厨房", 120, 5),
    ("demo-zhang", ("1", "1", "101"), "common_repair", "accepted", False,
     "1栋1单元3楼楼道灯不亮", "1栋1单元3楼楼道", 1, None),
    ("demo-chen", ("2", "1", "101"), "common_repair", "submitted", True,
     "2栋电梯停在5楼不动，门打不开", "2栋1号电梯", 0, None),
]


def seed_demo_tickets(community) -> str:
    """A few tickets in various states (idempotent: each is created once)."""
    levels = service_levels()
    engineer = db.session.scalar(select(User).where(User.username == "engineer"))
    desk = db.session.scalar(select(User).where(User.username == "desk"))
    created = 0
    now = utcnow()
    for openid, (building, unit, number), kind, status, urgent, text, where, hours, rating in DEMO_TICKETS:
        reporter = db.session.scalar(select(User).where(User.openid == openid))
        room = db.session.scalar(
            select(Room).join(Building, Room.building_id == Building.id)
            .join(Unit, Room.unit_id == Unit.id)
            .where(Room.community_id == community.id, Building.name == building,
                   Unit.name == unit, Room.number == number))
        if reporter is None or room is None:
            continue
        exists = db.session.scalar(select(Ticket.id).where(
            Ticket.community_id == community.id, Ticket.reporter_id == reporter.id,
            Ticket.description == text))
        if exists is not None:
            continue
        at = now - timedelta(hours=hours, minutes=10)
        accept_due, due = rules.due_times(kind, urgent, at, levels)
        ticket = Ticket(community_id=community.id, reporter_id=reporter.id,
                        room_id=room.id if kind == "home_repair" or kind == "complaint" else None,
                        kind=TicketKind(kind), status=S.submitted, urgent=urgent, description=text,
                        location=where, created_at=at, updated_at=at, accept_due_at=accept_due,
                        due_at=due)
        db.session.add(ticket)
        db.session.flush()
        _record(ticket, "created", reporter, None, S.submitted, None, None, at=at)
        path = ["accept", "assign", "start", "resolve"]
        stop = {"submitted": 0, "accepted": 1, "assigned": 2, "in_progress": 3,
                "resolved": 4, "closed": 4}[status]
        step_at = at
        current = S.submitted
        for action in path[:stop]:
            step_at = step_at + timedelta(minutes=12 if action == "accept" else 40)
            actor = desk if action in ("accept", "assign") else engineer
            target = rules.RULES[action].target
            if action == "accept":
                ticket.accepted_at = step_at
            if action == "assign":
                ticket.assignee_id = engineer.id if engineer else None
            if action == "resolve":
                ticket.resolved_at = step_at
            _record(ticket, ACTION_EVENTS[action], actor, current, target, None,
                    {"assignee_id": ticket.assignee_id} if action == "assign" else None, at=step_at)
            current = target
        if status == "closed" and rating:
            step_at = step_at + timedelta(hours=2)
            ticket.rating, ticket.rating_comment, ticket.rated_at = rating, "师傅很专业，谢谢！", step_at
            ticket.closed_at = step_at
            _record(ticket, "rated", reporter, current, S.closed, ticket.rating_comment,
                    {"score": rating}, at=step_at)
            current = S.closed
        ticket.status = current
        ticket.updated_at = step_at
        created += 1
    db.session.flush()
    return f"tickets {created}" if created else ""
