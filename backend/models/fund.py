"""Maintenance-fund decisions (专项维修资金): proposals, the eligibility snapshot taken
when voting opens, ballots forming a hash chain, emergency signatures, and the fund
ledger (money in and out)."""
from __future__ import annotations

import enum
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING

from sqlalchemy import (
    JSON,
    and_,
    CheckConstraint,
    Date,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.ext.hybrid import hybrid_method
from sqlalchemy.orm import Mapped, mapped_column, relationship

from backend.models.base import Area, Base, Money, UTCDateTime, str_enum, utcnow
from backend.models.user import Role

if TYPE_CHECKING:
    from backend.models.attachment import Attachment
    from backend.models.community import Community
    from backend.models.user import RoomBinding, User


class FundRule(str, enum.Enum):
    objection = "objection"  # 否定表决
    civil_code_use = "civil_code_use"  # 民法典 278 item 5: double majority
    civil_code_major = "civil_code_major"  # items 6-8: double three quarters
    emergency = "emergency"  # 应急使用: no vote, two signatures


class ProposalStatus(str, enum.Enum):
    draft = "draft"
    scheduled = "scheduled"  # opened with a future opens_at: voting starts then
    voting = "voting"
    closed = "closed"  # outcome frozen and published
    approved = "approved"  # emergency use, both signatures in


class Outcome(str, enum.Enum):
    passed = "passed"
    rejected = "rejected"
    no_quorum = "no_quorum"
    withdrawn = "withdrawn"  # closed early without a result (rules/tally.py decide_early)


class ObjectionBasis(str, enum.Enum):
    area = "area"
    headcount = "headcount"
    either = "either"
    both = "both"


class BallotChoice(str, enum.Enum):
    object = "object"  # objection rule: 提出异议
    approve = "approve"
    oppose = "oppose"
    abstain = "abstain"


class SignerRole(str, enum.Enum):
    committee = "committee"  # 业委会委员
    manager = "manager"  # 物业项目经理


class FundDirection(str, enum.Enum):
    deposit = "in"  # 归集、利息
    spending = "out"  # 使用


class FundProposal(Base):
    """A proposed use of the fund put to the owners who will pay for it (the scope)."""

    __tablename__ = "fund_proposal"
    __table_args__ = (
        CheckConstraint("amount >= 0", name="amount_non_negative"),
        CheckConstraint("publicity_days >= 0", name="publicity_non_negative"),
        CheckConstraint(
            "(rule = 'emergency' AND emergency_case IS NOT NULL) OR "
            "(rule <> 'emergency' AND emergency_case IS NULL)", name="emergency_case_iff_emergency"),
        CheckConstraint("rule = 'emergency' OR closes_at IS NOT NULL", name="vote_has_deadline"),
        CheckConstraint("status <> 'closed' OR (outcome IS NOT NULL AND closed_at IS NOT NULL)",
                        name="closed_has_outcome"),
        CheckConstraint("status NOT IN ('voting', 'closed', 'approved') OR genesis_hash IS NOT NULL",
                        name="snapshot_when_open"),
        Index("ix_fund_proposal_community_id_status", "community_id", "status"),
        Index("ix_fund_proposal_status_closes_at", "status", "closes_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("community.id", ondelete="CASCADE"))
    title: Mapped[str] = mapped_column(String(100))
    description: Mapped[str] = mapped_column(Text, default="")
    amount: Mapped[Decimal] = mapped_column(Money)
    # As given: {"buildings": [...]} | {"room_ids": [...]} | {"community": true}
    scope: Mapped[dict] = mapped_column(JSON)
    rule: Mapped[FundRule] = mapped_column(str_enum(FundRule, "fund_rule"))
    status: Mapped[ProposalStatus] = mapped_column(
        str_enum(ProposalStatus, "fund_proposal_status"), default=ProposalStatus.draft)
    outcome: Mapped[Outcome | None] = mapped_column(str_enum(Outcome, "fund_outcome"))
    objection_threshold: Mapped[str] = mapped_column(String(16), default="1/3")
    objection_basis: Mapped[ObjectionBasis] = mapped_column(
        str_enum(ObjectionBasis, "fund_objection_basis"), default=ObjectionBasis.either)
    publicity_days: Mapped[int] = mapped_column(default=7)
    emergency_case: Mapped[str | None] = mapped_column(String(32))
    opens_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closes_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    opened_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    approved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    closed_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Hash chain: genesis over the snapshot (set when it is taken); head and ballot
    # count published at close.
    genesis_hash: Mapped[str | None] = mapped_column(String(64))
    chain_head: Mapped[str | None] = mapped_column(String(64))
    ballot_count: Mapped[int | None]
    # The tally frozen at close (figures as in GET .../tally).
    result: Mapped[dict | None] = mapped_column(JSON)
    # Owners told (once) that voting opened / the result or emergency use is published.
    open_notified_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    result_notified_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    publish_notified_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # 公示 before voting: published at, for ``notice_days`` (voting opens at opens_at)
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    notice_days: Mapped[int | None]
    # civil-code rules: a cast ballot may be changed once (the community's setting,
    # fixed when voting opens)
    allow_change: Mapped[bool] = mapped_column(default=False, server_default="0")
    # 询异: the preliminary result is published at close; queries for ``query_days``
    # (the community's setting, fixed when voting opens), until query_ends_at; the
    # committee finalises (the final result frozen and published)
    query_days: Mapped[int] = mapped_column(default=3, server_default="3")
    query_ends_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finalised_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finalised_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))

    signatures: Mapped[list[FundSignature]] = relationship(
        back_populates="proposal", cascade="all, delete-orphan", order_by="FundSignature.id")
    community: Mapped[Community] = relationship()
    created_by: Mapped[User | None] = relationship(foreign_keys=[created_by_id])
    files: Mapped[list[FundProposalFile]] = relationship(
        cascade="all, delete-orphan", order_by="FundProposalFile.position")

    # The clock rules of a vote, one definition each for Python and SQL: ballots are
    # taken until ``closes_at`` (exclusive); from then on the vote is over, and until
    # the job or the sweep has frozen it, it is "closing due". Reads show such a vote
    # as closed with the outcome the close will freeze; they never close it.
    @hybrid_method
    def takes_ballots(self, now: datetime) -> bool:
        return self.status == ProposalStatus.voting and self.closes_at > now

    @takes_ballots.inplace.expression
    @classmethod
    def _takes_ballots_expression(cls, now: datetime):
        return and_(cls.status == ProposalStatus.voting, cls.closes_at > now)

    @hybrid_method
    def closing_due(self, now: datetime) -> bool:
        return self.status == ProposalStatus.voting and self.closes_at <= now

    @closing_due.inplace.expression
    @classmethod
    def _closing_due_expression(cls, now: datetime):
        return and_(cls.status == ProposalStatus.voting, cls.closes_at <= now)

    @staticmethod
    def is_decided(status: ProposalStatus, outcome: Outcome | str | None) -> bool:
        """Passed by a vote or approved as an emergency use."""
        return status == ProposalStatus.approved or (
            status == ProposalStatus.closed and outcome == Outcome.passed)

    @property
    def decided(self) -> bool:
        """Decided as stored (the vote frozen) or approved as an emergency use."""
        return self.is_decided(self.status, self.outcome)

    @property
    def publicity_ends_at(self) -> datetime | None:
        """The end of the publicity period (公示期) of the final result or the emergency
        use, as stored (a preliminary result has none yet)."""
        start = self.finalised_at or self.approved_at
        return start + timedelta(days=self.publicity_days) if start else None

    def payable(self, now: datetime) -> bool:
        """Spending may be booked: an emergency use once approved (the work cannot
        wait; its use and cost are publicised afterwards), a use passed by a vote
        once its result has been publicised for the whole period."""
        if not self.decided:
            return False
        if self.status == ProposalStatus.approved:
            return True
        return self.publicity_ends_at is not None and self.publicity_ends_at <= now

    @hybrid_method
    def opening_due(self, now: datetime) -> bool:
        """A scheduled vote whose ``opens_at`` has come (the job or the sweep starts it)."""
        return (self.status == ProposalStatus.scheduled and self.opens_at is not None
                and self.opens_at <= now)

    @opening_due.inplace.expression
    @classmethod
    def _opening_due_expression(cls, now: datetime):
        return and_(cls.status == ProposalStatus.scheduled, cls.opens_at <= now)


class FundEligibleRoom(Base):
    """The eligibility snapshot: each room in scope with its area and owner as of the
    moment voting opened. Later ledger imports do not touch it. ``owner_key`` is the
    owner of record's id, or 0 for unsold rooms (the developer, one person together)."""

    __tablename__ = "fund_eligible_room"
    __table_args__ = (
        CheckConstraint("area_m2 > 0", name="area_positive"),
        CheckConstraint("owner_key >= 0", name="owner_key_non_negative"),
        # an owner's rooms in scope, in room order (casting a ballot)
        Index("ix_fund_eligible_room_proposal_id_owner_key", "proposal_id", "owner_key", "room_id"),
    )

    proposal_id: Mapped[int] = mapped_column(
        ForeignKey("fund_proposal.id", ondelete="CASCADE"), primary_key=True)
    # No ON DELETE: a room in a snapshot cannot be deleted out from under a vote.
    room_id: Mapped[int] = mapped_column(ForeignKey("room.id"), primary_key=True)
    area_m2: Mapped[Decimal] = mapped_column(Area)
    owner_key: Mapped[int]
    owner_name: Mapped[str | None] = mapped_column(String(64))
    label: Mapped[str] = mapped_column(String(100))

    # Who votes for a room in scope: a user bound to it as owner, the binding verified
    # against the owner of record the snapshot names (owners are fixed when voting
    # opens, DOMAIN.md: a sale afterwards moves no vote). Never the developer (key 0).
    # ``RoomBinding.is_current_owner`` is the rule for rights today; this one is for
    # the vote, by the snapshot.
    @hybrid_method
    def voted_for_by(self, binding: RoomBinding) -> bool:
        return (binding.room_id == self.room_id and binding.relation == Role.owner
                and self.owner_key > 0 and binding.owner_id == self.owner_key)

    @voted_for_by.inplace.expression
    @classmethod
    def _voted_for_by_expression(cls, binding: type[RoomBinding]):
        return and_(binding.room_id == cls.room_id, binding.relation == Role.owner,
                    cls.owner_key > 0, binding.owner_id == cls.owner_key)


class BallotKind(str, enum.Enum):
    """How an entry came into the log."""

    online = "online"  # the owner in the app
    paper = "paper"  # 线下表决: staff or a committee member entered a paper ballot
    proxy = "proxy"  # 委托投票: the person the owner authorised, in the app


class BallotAction(str, enum.Enum):
    cast = "cast"  # the owner's ballot
    withdraw = "withdraw"  # objection rule: the objection withdrawn before the deadline
    change = "change"  # civil-code rules, where the community allows it: the one change


class FundBallot(Base):
    """One entry of the hash chain: an owner's choice covering all their rooms in scope
    (see FundBallotRoom), or a later entry of the same owner that withdraws or changes
    it (never an edit: the first entry stays in the log). An owner has at most one
    entry of each action (the database's unique key)."""

    __tablename__ = "fund_ballot"
    __table_args__ = (
        UniqueConstraint("proposal_id", "voter_key", "action"),
        UniqueConstraint("proposal_id", "seq"),
        CheckConstraint("seq >= 1", name="seq_positive"),
        CheckConstraint("voter_key > 0", name="developer_cannot_vote"),
        CheckConstraint("kind <> 'paper' OR (entered_by_id IS NOT NULL OR photo_sha256 IS NOT NULL)",
                        name="paper_has_entry"),
        CheckConstraint("kind <> 'proxy' OR proxy_id IS NOT NULL", name="proxy_has_authority"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    proposal_id: Mapped[int] = mapped_column(ForeignKey("fund_proposal.id", ondelete="CASCADE"))
    seq: Mapped[int]
    voter_key: Mapped[int]  # the owner of record's id (snapshot owner_key)
    choice: Mapped[BallotChoice] = mapped_column(str_enum(BallotChoice, "fund_ballot_choice"))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    cast_at: Mapped[datetime] = mapped_column(UTCDateTime)
    receipt: Mapped[str] = mapped_column(String(43), unique=True)
    digest: Mapped[str] = mapped_column(String(64))
    prev_hash: Mapped[str] = mapped_column(String(64))
    entry_hash: Mapped[str] = mapped_column(String(64))
    kind: Mapped[BallotKind] = mapped_column(str_enum(BallotKind, "fund_ballot_kind"),
                                             default=BallotKind.online, server_default="online")
    action: Mapped[BallotAction] = mapped_column(str_enum(BallotAction, "fund_ballot_action"),
                                                 default=BallotAction.cast, server_default="cast")
    # paper ballots: who entered it and the photo of the signed sheet (its digest hashed)
    entered_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    entered_by_name: Mapped[str | None] = mapped_column(String(64))
    photo_id: Mapped[int | None] = mapped_column(ForeignKey("attachment.id", ondelete="SET NULL"))
    photo_sha256: Mapped[str | None] = mapped_column(String(64))
    proxy_id: Mapped[int | None] = mapped_column(ForeignKey("fund_proxy.id", ondelete="SET NULL"))

    rooms: Mapped[list[FundBallotRoom]] = relationship(
        back_populates="ballot", order_by="FundBallotRoom.room_id")

    def chain_extra(self) -> dict:
        """What the digest covers beyond a plain online ballot (rules/fund_chain.py):
        empty for one, so ballots cast before these kinds existed verify unchanged."""
        extra: dict = {}
        if self.kind != BallotKind.online:
            extra["kind"] = self.kind.value
        if self.action != BallotAction.cast:
            extra["action"] = self.action.value
        if self.kind == BallotKind.paper:
            extra.update(entered_by=self.entered_by_id, photo=self.photo_sha256)
        if self.kind == BallotKind.proxy:
            extra.update(proxy=self.proxy_id, by=self.user_id)
        return extra

    @property
    def snapshot_rooms(self) -> list[FundEligibleRoom]:
        """The rooms this ballot covers, as the snapshot has them (label, area, owner)."""
        return [link.snapshot for link in self.rooms]

    @property
    def voter_name(self) -> str | None:
        """The owner of record who cast it, as the snapshot names them."""
        rooms = self.snapshot_rooms
        return rooms[0].owner_name if rooms else None


class FundProxy(Base):
    """委托投票: an owner authorises another user of the app to vote for their rooms in
    one proposal, with the signed 授权委托书 as an attachment. Revoked (``revoked_at``)
    or spent once either of them has voted."""

    __tablename__ = "fund_proxy"
    __table_args__ = (
        CheckConstraint("voter_key > 0", name="voter_key_positive"),
        CheckConstraint("owner_user_id <> proxy_user_id", name="not_self"),
        Index("ix_fund_proxy_proposal_id_voter_key", "proposal_id", "voter_key"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    proposal_id: Mapped[int] = mapped_column(ForeignKey("fund_proposal.id", ondelete="CASCADE"))
    voter_key: Mapped[int]  # the owner of record (snapshot owner_key)
    owner_user_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    proxy_user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), index=True)
    document_id: Mapped[int | None] = mapped_column(ForeignKey("attachment.id", ondelete="SET NULL"))
    document_sha256: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    proxy_user: Mapped[User] = relationship(foreign_keys=[proxy_user_id])


class CommentStage(str, enum.Enum):
    publicity = "publicity"  # 公示期 questions on the plan
    query = "query"  # 询异: a query on the preliminary result


class FundComment(Base):
    """An owner's question during the publicity period, or a query on the preliminary
    result, and the committee's answer. Shown to the owners in scope and staff."""

    __tablename__ = "fund_comment"
    __table_args__ = (Index("ix_fund_comment_proposal_id_stage", "proposal_id", "stage"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    proposal_id: Mapped[int] = mapped_column(ForeignKey("fund_proposal.id", ondelete="CASCADE"))
    stage: Mapped[CommentStage] = mapped_column(str_enum(CommentStage, "fund_comment_stage"))
    author_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    author_name: Mapped[str] = mapped_column(String(64))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    answer: Mapped[str | None] = mapped_column(Text)
    answered_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class FundProposalFile(Base):
    """A file of the plan (维修方案, budget, quotation) attached to a proposal."""

    __tablename__ = "fund_proposal_file"

    proposal_id: Mapped[int] = mapped_column(
        ForeignKey("fund_proposal.id", ondelete="CASCADE"), primary_key=True)
    attachment_id: Mapped[int] = mapped_column(
        ForeignKey("attachment.id", ondelete="CASCADE"), primary_key=True)
    position: Mapped[int] = mapped_column(default=0)

    attachment: Mapped[Attachment] = relationship()


class FundBallotRoom(Base):
    """A room covered by a ballot. The primary key (proposal, room) is the database's
    guarantee of one ballot per room; the foreign key to the snapshot keeps ballots to
    rooms in scope."""

    __tablename__ = "fund_ballot_room"
    __table_args__ = (
        ForeignKeyConstraint(["proposal_id", "room_id"],
                             ["fund_eligible_room.proposal_id", "fund_eligible_room.room_id"],
                             ondelete="CASCADE"),
    )

    proposal_id: Mapped[int] = mapped_column(primary_key=True)
    room_id: Mapped[int] = mapped_column(primary_key=True)
    ballot_id: Mapped[int] = mapped_column(ForeignKey("fund_ballot.id", ondelete="CASCADE"),
                                           index=True)

    ballot: Mapped[FundBallot] = relationship(back_populates="rooms")
    # the room as the snapshot has it (label, area, owner)
    snapshot: Mapped[FundEligibleRoom] = relationship(viewonly=True)


class FundSignature(Base):
    """A signature on an emergency use: one committee member and the manager."""

    __tablename__ = "fund_signature"
    __table_args__ = (UniqueConstraint("proposal_id", "role"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    proposal_id: Mapped[int] = mapped_column(ForeignKey("fund_proposal.id", ondelete="CASCADE"))
    role: Mapped[SignerRole] = mapped_column(str_enum(SignerRole, "fund_signer_role"))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    name: Mapped[str] = mapped_column(String(64))
    signed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    proposal: Mapped[FundProposal] = relationship(back_populates="signatures")


class FundLedgerEntry(Base):
    """One movement of the maintenance fund (归集、利息 in; 使用 out), for the whole
    community or one building. ``ref`` is the voucher number (凭证号): re-importing a
    file updates entries in place."""

    __tablename__ = "fund_ledger_entry"
    __table_args__ = (
        UniqueConstraint("community_id", "ref"),
        CheckConstraint("amount > 0", name="amount_positive"),
        Index("ix_fund_ledger_entry_community_id_entry_date", "community_id", "entry_date"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("community.id", ondelete="CASCADE"))
    building_id: Mapped[int | None] = mapped_column(ForeignKey("building.id", ondelete="CASCADE"))
    ref: Mapped[str] = mapped_column(String(64))
    entry_date: Mapped[date] = mapped_column(Date)
    description: Mapped[str] = mapped_column(String(200))
    direction: Mapped[FundDirection] = mapped_column(str_enum(FundDirection, "fund_direction"))
    amount: Mapped[Decimal] = mapped_column(Money)
    proposal_id: Mapped[int | None] = mapped_column(
        ForeignKey("fund_proposal.id", ondelete="SET NULL"), index=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
