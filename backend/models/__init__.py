"""All tables. Importing this package registers every model on the metadata
(Alembic autogenerate relies on it). Add a line per new model module."""
from backend.models.base import Base, utcnow  # noqa: F401
from backend.models.community import (  # noqa: F401
    Bill,
    Building,
    Community,
    FeeStandard,
    OwnerOfRecord,
    PolicyText,
    ROOM_KIND_LABELS,
    Room,
    RoomKind,
    Unit,
    room_label,
)
from backend.models.notification import Notification, WechatSubscription  # noqa: F401
from backend.models.outbox import OutboxJob  # noqa: F401
from backend.models.user import Role, RoomBinding, StaffRole, User  # noqa: F401
from backend.models.fund import (  # noqa: F401
    BallotChoice,
    FundBallot,
    FundBallotRoom,
    FundDirection,
    FundEligibleRoom,
    FundLedgerEntry,
    FundProposal,
    FundRule,
    FundSignature,
    ObjectionBasis,
    Outcome,
    ProposalStatus,
    SignerRole,
)
from backend.models.ticket import (  # noqa: F401
    PhotoStage,
    PhotoState,
    Ticket,
    TicketEvent,
    TicketKind,
    TicketPhoto,
    TicketStatus,
)
from backend.models.chat import BotMiss, Channel, Conversation, ConversationState, Delivery, Message, Sender, WechatNonce  # noqa: F401,E501
from backend.models.login_code import DeskLoginCode  # noqa: F401
# Modules whose tables register on import (each lists its own models).
from backend.models import attachment, household, notice, payment  # noqa: F401,E402
