"""Owner chat (客服对话) and the hand-off to the front desk.

One conversation per resident. States:

    bot ──(asks for a person, or the bot fails twice in a row)──▶ waiting
    waiting ──(a desk member claims it)──▶ open
    open ──(released, or no activity for CHAT_IDLE_RELEASE_MINUTES)──▶ bot
    waiting ──(nobody claimed it for CHAT_WAITING_EXPIRE_HOURS)──▶ bot

The bot is silent while a person holds the conversation (open). While waiting it
still answers what it can, so a resident is not left without an answer outside
office hours. Desk replies to residents who wrote through WeChat are sent as
customer-service messages by a job (jobs/chat.py), recorded in the outbox.

Modules: conversations.py (a resident's conversation, hand-off, idle release),
messages.py (recording a resident's message and the bot's turn, reading them
back), push.py (a WeChat push: the resident behind an openid, then messages.py),
desk.py (the desk's side), misses.py (what the bot could not answer), nonces.py
(the push's replay guard).
"""
from backend.services.chat.conversations import (  # noqa: F401
    back_to_bot,
    community_id_for,
    conversation_for,
    desk_staff_ids,
    hand_off,
    release_idle,
)
from backend.services.chat.desk import (  # noqa: F401
    DESK_ROLES,
    claim,
    conversation_for_staff,
    desk_community_ids,
    desk_query,
    desk_scope,
    release,
    staff_reply,
)
from backend.services.chat.messages import (  # noqa: F401
    MAX_FAILURES,
    Exchange,
    ask,
    exchange_for_msg_id,
    last_messages,
    messages_after,
    record_resident_message,
)
from backend.services.chat.misses import record_miss, top_misses  # noqa: F401
from backend.services.chat.push import receive_wechat_message, resident_for_openid  # noqa: F401
