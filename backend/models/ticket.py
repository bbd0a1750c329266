"""Repair and complaint tickets (报事报修): the ticket, its immutable event timeline and
its photos (stored originals and the re-encoded variants made by a job)."""
from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import (
    JSON,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
    Text,
    and_,
    case,
    false,
    null,
    or_,
)
from sqlalchemy.ext.hybrid import hybrid_method, hybrid_property
from sqlalchemy.orm import Mapped, mapped_column, relationship

from backend.models.base import Base, UTCDateTime, str_enum, utcnow
from backend.models.community import Community, Room
from backend.models.user import User
from backend.rules import ticket_states as rules
from backend.rules.ticket_states import TicketKind, TicketStatus

__all__ = ["Ticket", "TicketEvent", "TicketPhoto", "TicketKind", "TicketStatus", "PhotoStage",
           "PhotoState"]


class PhotoStage(str, enum.Enum):
    report = "report"  # attached by the reporter
    before = "before"  # staff, before the work (维修前)
    after = "after"  # staff, after the work (维修后)


class PhotoState(str, enum.Enum):
    processing = "processing"  # original stored, variants not made yet
    ready = "ready"
    failed = "failed"


class Ticket(Base):
    """工单: one repair request, complaint, suggestion or inquiry."""

    __tablename__ = "ticket"
    __table_args__ = (
        # lists: staff by community (optionally by status), residents by reporter and
        # by room (household repairs: kind home_repair), engineers by assignee; newest
        # first (id desc)
        Index("ix_ticket_community_id_id", "community_id", "id"),
        Index("ix_ticket_community_id_status_id", "community_id", "status", "id"),
        # the desk queue filtered by status and kind: read from the index alone
        Index("ix_ticket_community_id_status_kind_id", "community_id", "status", "kind", "id"),
        Index("ix_ticket_reporter_id_id", "reporter_id", "id"),
        Index("ix_ticket_room_id_kind_id", "room_id", "kind", "id"),
        Index("ix_ticket_assignee_id_id", "assignee_id", "id"),
        # periodic work: escalation of overdue open tickets, auto-close of resolved ones
        Index("ix_ticket_status_due_at", "status", "due_at"),
        Index("ix_ticket_status_resolved_at", "status", "resolved_at"),
        # the monthly report
        Index("ix_ticket_community_id_created_at", "community_id", "created_at"),
        CheckConstraint("rating IS NULL OR (rating >= 1 AND rating <= 5)", name="rating_range"),
        CheckConstraint("(rating IS NULL) = (rated_at IS NULL)", name="rating_complete"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("community.id", ondelete="CASCADE"))
    # A ticket outlives the account that reported it (kept for the records).
    reporter_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    room_id: Mapped[int | None] = mapped_column(ForeignKey("room.id", ondelete="SET NULL"))
    kind: Mapped[TicketKind] = mapped_column(str_enum(TicketKind, "ticket_kind"))
    status: Mapped[TicketStatus] = mapped_column(str_enum(TicketStatus, "ticket_status"),
                                                 default=TicketStatus.submitted)
    urgent: Mapped[bool] = mapped_column(default=False)
    description: Mapped[str] = mapped_column(Text)
    location: Mapped[str] = mapped_column(String(200), default="")
    contact_phone: Mapped[str | None] = mapped_column(String(32))
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))

    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # service levels: accept by / resolve (or answer) by
    accept_due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    accepted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # set once when the ticket is escalated to the manager; never escalated again
    escalated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    rating: Mapped[int | None] = mapped_column(SmallInteger)
    rating_comment: Mapped[str | None] = mapped_column(Text)
    rated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    # 回访: closed without a rating (or rated poorly) → a call is owed
    needs_follow_up: Mapped[bool] = mapped_column(default=False)
    followed_up_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    community: Mapped[Community] = relationship()
    reporter: Mapped[User | None] = relationship(foreign_keys=[reporter_id])
    assignee: Mapped[User | None] = relationship(foreign_keys=[assignee_id])
    room: Mapped[Room | None] = relationship()
    events: Mapped[list[TicketEvent]] = relationship(
        back_populates="ticket", order_by="TicketEvent.id", cascade="all, delete-orphan",
        passive_deletes=True)
    photos: Mapped[list[TicketPhoto]] = relationship(
        back_populates="ticket", order_by="TicketPhoto.id", cascade="all, delete-orphan",
        passive_deletes=True)

    # Rules with a Python side (one ticket in hand) and a SQL side (lists, escalation,
    # reports), defined together; tests/test_tickets_rules.py holds them equal on
    # SQLite and PostgreSQL.
    @hybrid_method
    def is_overdue(self, now: datetime) -> bool:
        """Open and past a deadline (``rules.ticket_states.is_overdue``)."""
        return rules.is_overdue(self.status, self.accept_due_at, self.due_at, now)

    @is_overdue.inplace.expression
    @classmethod
    def _is_overdue_expression(cls, now: datetime):
        return and_(cls.status.in_(rules.OPEN_STATUSES), or_(
            cls.due_at < now,
            and_(cls.status == TicketStatus.submitted, cls.accept_due_at < now)))

    @hybrid_method
    def resolved_on_time(self, now: datetime) -> bool | None:
        """Resolved by ``due_at`` (``rules.ticket_states.resolved_on_time``): None while
        that is not known yet; overdue and unresolved counts as late."""
        return rules.resolved_on_time(self.status, self.accept_due_at, self.due_at,
                                      self.resolved_at, now)

    @resolved_on_time.inplace.expression
    @classmethod
    def _resolved_on_time_expression(cls, now: datetime):
        return case((cls.resolved_at.is_not(None), cls.resolved_at <= cls.due_at),
                    (or_(cls.is_overdue(now), cls.due_at < now), false()), else_=null())

    @hybrid_method
    def accepted_on_time(self, now: datetime) -> bool | None:
        """Accepted by ``accept_due_at``, in the same sense as ``resolved_on_time``."""
        return rules.on_time(self.accept_due_at, self.accepted_at, now)

    @accepted_on_time.inplace.expression
    @classmethod
    def _accepted_on_time_expression(cls, now: datetime):
        return _on_time_sql(cls.accept_due_at, cls.accepted_at, now)

    @hybrid_property
    def escalated(self) -> bool:
        return self.escalated_at is not None

    @escalated.inplace.expression
    @classmethod
    def _escalated_expression(cls):
        return cls.escalated_at.is_not(None)


def _on_time_sql(due_at, done_at, now):
    """``rules.ticket_states.on_time`` in SQL: true, false, or NULL (not known yet)."""
    return case((done_at.is_not(None), done_at <= due_at), (due_at < now, false()),
                else_=null())


class TicketEvent(Base):
    """One immutable entry of a ticket's timeline: what happened, when, by whom."""

    __tablename__ = "ticket_event"
    __table_args__ = (Index("ix_ticket_event_ticket_id_id", "ticket_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("ticket.id", ondelete="CASCADE"))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    type: Mapped[str] = mapped_column(String(32))
    # NULL: the system (auto-close, escalation)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    from_status: Mapped[str | None] = mapped_column(String(32))
    to_status: Mapped[str | None] = mapped_column(String(32))
    note: Mapped[str | None] = mapped_column(Text)
    data: Mapped[dict | None] = mapped_column(JSON)

    ticket: Mapped[Ticket] = relationship(back_populates="events")
    actor: Mapped[User | None] = relationship()


class TicketPhoto(Base):
    """A photo on a ticket. The upload is stored as is (under a random name, outside
    any static folder) and never served; a job makes the display and thumbnail
    variants by re-encoding the pixels (no EXIF/GPS, no comments)."""

    __tablename__ = "ticket_photo"
    __table_args__ = (
        Index("ix_ticket_photo_ticket_id_id", "ticket_id", "id"),
        CheckConstraint("state != 'ready' OR (display_key IS NOT NULL AND thumb_key IS NOT NULL)",
                        name="ready_has_variants"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("ticket.id", ondelete="CASCADE"))
    uploader_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    stage: Mapped[PhotoStage] = mapped_column(str_enum(PhotoStage, "photo_stage"),
                                              default=PhotoStage.report)
    state: Mapped[PhotoState] = mapped_column(str_enum(PhotoState, "photo_state"),
                                              default=PhotoState.processing)
    original_key: Mapped[str | None] = mapped_column(String(200))
    original_format: Mapped[str] = mapped_column(String(8))
    original_bytes: Mapped[int] = mapped_column(Integer)
    display_key: Mapped[str | None] = mapped_column(String(200))
    thumb_key: Mapped[str | None] = mapped_column(String(200))
    width: Mapped[int | None] = mapped_column(Integer)  # of the display variant
    height: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    processed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    error: Mapped[str | None] = mapped_column(String(200))

    ticket: Mapped[Ticket] = relationship(back_populates="photos")
