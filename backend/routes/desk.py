"""The front desk (前台/客服): the queue of residents waiting for a person, taking and
releasing a conversation, replying, and the questions the bot could not answer."""
from __future__ import annotations

from marshmallow import Schema, fields, validate

from backend.auth import current_user, roles_required
from backend.extensions import db
from backend.models import Conversation, ConversationState
from backend.routes.chat import NOT_BLANK, ChatMessageOut, message_out
from backend.routes.common import Blueprint, LocalDateTime, PageArgs, paginate
from backend.rules.ticket_states import STATUS_LABELS
from backend.services import chat as chat_service
from backend.services.permissions import bound_rooms
from backend.services.tickets import tickets_for_resident

blp = Blueprint("desk", __name__, url_prefix="/api/v1/desk", description="前台客服")

DESK = ("desk", "manager")


class DeskConversationArgs(PageArgs):
    state = fields.String(load_default=None,
                          validate=validate.OneOf([s.value for s in ConversationState]))


class DeskPersonOut(Schema):
    id = fields.Integer(required=True)
    name = fields.String(required=True)
    phone = fields.String(allow_none=True)


class DeskTicketBrief(Schema):
    id = fields.Integer(required=True)
    kind = fields.String(required=True)
    status = fields.String(required=True)
    status_label = fields.String(required=True)
    summary = fields.String(required=True)


class DeskConversationOut(Schema):
    id = fields.Integer(required=True)
    state = fields.String(required=True)
    channel = fields.String(required=True)
    resident = fields.Nested(DeskPersonOut, required=True)
    rooms = fields.List(fields.String(), required=True)
    open_tickets = fields.List(fields.Nested(DeskTicketBrief), required=True)
    last_messages = fields.List(fields.Nested(ChatMessageOut), required=True)
    assignee = fields.Nested(DeskPersonOut, allow_none=True)
    waiting_since = LocalDateTime(allow_none=True)
    last_activity_at = LocalDateTime(required=True)


class DeskConversationPage(Schema):
    items = fields.List(fields.Nested(DeskConversationOut), required=True)
    next_cursor = fields.String(allow_none=True, required=True)


class DeskConversationDetail(DeskConversationOut):
    messages = fields.List(fields.Nested(ChatMessageOut), required=True)


class DeskReplyIn(Schema):
    text = fields.String(required=True, validate=[validate.Length(min=1, max=1000), NOT_BLANK])


class BotMissArgs(Schema):
    limit = fields.Integer(load_default=20, validate=validate.Range(min=1, max=100))


class BotMissOut(Schema):
    question = fields.String(required=True, metadata={"description": "latest wording"})
    normalized = fields.String(required=True)
    intent_guess = fields.String(allow_none=True)
    confidence = fields.Float(required=True)
    count = fields.Integer(required=True)
    first_seen_at = LocalDateTime(required=True)
    last_seen_at = LocalDateTime(required=True)


class BotMissList(Schema):
    items = fields.List(fields.Nested(BotMissOut), required=True)


def _person(user) -> dict | None:
    if user is None:
        return None
    return {"id": user.id, "name": user.name or user.username or "", "phone": user.phone}


def _tickets(resident) -> list[dict]:
    return [{"id": t.id, "kind": t.kind.value, "status": t.status.value,
             "status_label": STATUS_LABELS.get(t.status.value, t.status.value),
             "summary": t.description[:40]}
            for t in tickets_for_resident(resident, open_only=True, limit=5)]


def _conversation_out(conv, recent) -> dict:
    resident = conv.resident
    return {
        "id": conv.id, "state": conv.state.value, "channel": conv.channel.value,
        "resident": _person(resident), "rooms": [r.label for r in bound_rooms(resident)],
        "open_tickets": _tickets(resident),
        "last_messages": [message_out(m) for m in recent],
        "assignee": _person(conv.assignee), "waiting_since": conv.waiting_since,
        "last_activity_at": conv.last_activity_at,
    }


def _detail(conv) -> dict:
    messages = chat_service.messages_after(conv, None, 100)
    out = _conversation_out(conv, messages[-5:])
    out["messages"] = [message_out(m) for m in messages]
    return out


@blp.route("/conversations", methods=["GET"])
@roles_required(*DESK)
@blp.arguments(DeskConversationArgs, location="query")
@blp.response(200, DeskConversationPage)
def list_conversations(args):
    """Conversations by state, with context (rooms, open tickets, last exchanges).
    ``state=waiting`` is the queue, oldest first; otherwise newest first."""
    user = current_user()
    query = chat_service.desk_query(user, args["state"])
    items, cursor = paginate(db.session, query, Conversation.id, args["limit"], args["cursor"],
                             descending=args["state"] != "waiting")
    recent = chat_service.last_messages([c.id for c in items])
    return {"items": [_conversation_out(c, recent.get(c.id, [])) for c in items],
            "next_cursor": cursor}


@blp.route("/conversations/<id:conversation_id>", methods=["GET"])
@roles_required(*DESK)
@blp.response(200, DeskConversationDetail)
def get_conversation(conversation_id):
    """One conversation with its latest 100 messages."""
    conv = chat_service.conversation_for_staff(current_user(), conversation_id)
    return _detail(conv)


@blp.route("/conversations/<id:conversation_id>/claim", methods=["POST"])
@roles_required(*DESK)
@blp.response(200, DeskConversationDetail)
def claim(conversation_id):
    """Take the conversation: the bot falls silent until it is released."""
    conv = chat_service.claim(current_user(), conversation_id)
    return _detail(conv)


@blp.route("/conversations/<id:conversation_id>/release", methods=["POST"])
@roles_required(*DESK)
@blp.response(200, DeskConversationDetail)
def release(conversation_id):
    """Hand the conversation back to the bot."""
    conv = chat_service.release(current_user(), conversation_id)
    return _detail(conv)


@blp.route("/conversations/<id:conversation_id>/messages", methods=["POST"])
@roles_required(*DESK)
@blp.arguments(DeskReplyIn)
@blp.response(201, ChatMessageOut)
def reply(data, conversation_id):
    """Reply to the resident (WeChat residents get it as a customer-service message)."""
    msg = chat_service.staff_reply(current_user(), conversation_id, data["text"].strip()
                                   or data["text"])
    return message_out(msg)


@blp.route("/bot-misses", methods=["GET"])
@roles_required(*DESK)
@blp.arguments(BotMissArgs, location="query")
@blp.response(200, BotMissList)
def bot_misses(args):
    """Questions the bot did not answer (or answered unsurely), most frequent first:
    candidates for new rules in backend/bot/rules.yaml."""
    user = current_user()
    misses = chat_service.top_misses(chat_service.desk_community_ids(user), args["limit"])
    return {"items": [{"question": m.question, "normalized": m.normalized,
                       "intent_guess": m.intent_guess, "confidence": m.confidence,
                       "count": m.count, "first_seen_at": m.first_seen_at,
                       "last_seen_at": m.last_seen_at} for m in misses]}
