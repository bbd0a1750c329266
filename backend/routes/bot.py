"""The bot (智能客服) as a one-off question: POST /api/v1/bot/ask."""
from __future__ import annotations

from flask import current_app
from marshmallow import Schema, fields, validate

from backend.auth import current_user
from backend.extensions import limiter
from backend.routes.chat import NOT_BLANK
from backend.routes.common import Blueprint, per_user
from backend.services import chat as chat_service

blp = Blueprint("bot", __name__, url_prefix="/api/v1/bot", description="智能客服问答")


class BotAskIn(Schema):
    text = fields.String(required=True, validate=[validate.Length(min=1, max=500), NOT_BLANK])


class BotAskOut(Schema):
    intent = fields.String(required=True, metadata={"description": "see BOT_INTENTS.md"})
    answer = fields.String(required=True)
    confidence = fields.Float(required=True)
    handoff = fields.Boolean(required=True, metadata={
        "description": "true: the conversation was handed to the front desk"})
    action = fields.Dict(allow_none=True, metadata={
        "description": "an offer the client can show, e.g. {type: create_ticket, kind, "
                       "urgent, description}"})


@blp.route("/ask", methods=["POST"])
@limiter.limit(lambda: current_app.config["RATELIMIT_ASK"], key_func=per_user)
@blp.arguments(BotAskIn)
@blp.response(200, BotAskOut)
def ask(data):
    """Ask the bot one question; answers use the caller's own rooms and data."""
    user = current_user()
    reply = chat_service.ask(user, data["text"].strip() or data["text"])
    return {"intent": reply.intent, "answer": reply.text, "confidence": reply.confidence,
            "handoff": reply.handoff, "action": reply.action}
