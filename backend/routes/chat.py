"""The resident's chat with the property: the bot, or a desk member once handed over."""
from __future__ import annotations

from flask import current_app
from marshmallow import Schema, fields, validate

from backend.auth import current_user
from backend.extensions import limiter
from backend.routes.common import Blueprint, LocalDateTime, RowId, per_user
from backend.services import chat as chat_service

NOT_BLANK = validate.Regexp(r"\s*\S", error="内容不能为空")  # some non-space (also as an OpenAPI pattern)

blp = Blueprint("chat", __name__, url_prefix="/api/v1/chat", description="客服对话")


class ChatMessageOut(Schema):
    id = fields.Integer(required=True)
    sender = fields.String(required=True, metadata={"description": "resident|bot|staff|system"})
    author = fields.String(allow_none=True, metadata={"description": "staff member's name"})
    text = fields.String(required=True)
    intent = fields.String(allow_none=True)
    action = fields.Dict(allow_none=True)
    created_at = LocalDateTime(required=True)
    delivery = fields.String(allow_none=True, metadata={
        "description": "WeChat residents: passive|pending|sent|undelivered"})


def message_out(msg) -> dict:
    return {"id": msg.id, "sender": msg.sender.value,
            "author": (msg.author.name or msg.author.username)
            if msg.author is not None and msg.sender.value == "staff" else None,
            "text": msg.text, "intent": msg.intent, "action": msg.action,
            "created_at": msg.created_at, "delivery": msg.delivery.value if msg.delivery else None}


class ChatPostIn(Schema):
    text = fields.String(required=True, validate=[validate.Length(min=1, max=1000), NOT_BLANK])


class ChatPostOut(Schema):
    state = fields.String(required=True, metadata={"description": "bot|waiting|open"})
    messages = fields.List(fields.Nested(ChatMessageOut), required=True)


class ChatListArgs(Schema):
    after = RowId(min=0, load_default=None,
                  metadata={"description": "only messages with a larger id"})
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=100))


class ChatConversationBrief(Schema):
    id = fields.Integer(allow_none=True)
    state = fields.String(required=True)
    assignee = fields.String(allow_none=True)


class ChatListOut(Schema):
    conversation = fields.Nested(ChatConversationBrief, required=True)
    items = fields.List(fields.Nested(ChatMessageOut), required=True)


@blp.route("/messages", methods=["POST"])
@limiter.limit(lambda: current_app.config["RATELIMIT_ASK"], key_func=per_user)
@blp.arguments(ChatPostIn)
@blp.response(201, ChatPostOut)
def post_message(data):
    """Write to the property: the bot answers unless a person holds the conversation."""
    user = current_user()
    exchange = chat_service.record_resident_message(user, data["text"].strip() or data["text"])
    return {"state": exchange.conversation.state.value,
            "messages": [message_out(m) for m in exchange.messages]}


@blp.route("/messages", methods=["GET"])
@blp.arguments(ChatListArgs, location="query")
@blp.response(200, ChatListOut)
def list_messages(args):
    """The caller's conversation: the latest messages, or those after ``after``."""
    user = current_user()
    conv = chat_service.conversation_for(user, create=False)
    if conv is None:
        return {"conversation": {"id": None, "state": "bot", "assignee": None}, "items": []}
    items = chat_service.messages_after(conv, args["after"], args["limit"])
    return {"conversation": {"id": conv.id, "state": conv.state.value,
                             "assignee": conv.assignee.name if conv.assignee else None},
            "items": [message_out(m) for m in items]}
