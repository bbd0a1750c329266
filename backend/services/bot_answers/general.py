"""Answerers that need no figures: greetings, the fallback, asking for a person, the
community's policy texts (装修, 宠物, 停车, 垃圾分类) and the service centre's hours."""
from __future__ import annotations

import re

from backend.services.bot_answers.base import Answer, Answerer, Context, answerer
from backend.services.community import policy


@answerer("greeting")
def greeting(ctx: Context) -> str:
    if re.search(r"谢|感谢|好的|知道了|明白了|再见|拜拜|ok", ctx.match.text):
        return ctx.t("thanks")
    return ctx.t("greeting", community=ctx.community_name)


@answerer("unknown")
def unknown(ctx: Context) -> str:
    return ctx.t("unknown")


@answerer("human")
def human(ctx: Context) -> Answer:
    return Answer(ctx.t("human_waiting", hours=ctx.setting("office_hours"),
                        emergency=ctx.setting("emergency_phone")), handoff=True)


POLICY_TOPICS = {"policy.decoration": "decoration", "policy.pet": "pet",
                 "policy.parking": "parking", "policy.garbage": "garbage"}
# What a resident sends for a whole policy text (the "more" of a partial answer); each
# is matched by its topic's intent and has a FULL_TEXT word.
FULL_TEXT_ASK = {"decoration": "装修规定全文", "pet": "宠物规定全文",
                 "parking": "停车规定全文", "garbage": "垃圾分类规定全文"}
_FULL_TEXT = re.compile(r"全文|完整|全部|所有规定|详细规定")
_SENTENCE = re.compile(r"(?<=[。！？!?\n])")


def policy_sentences(body: str) -> list[str]:
    return [p.strip() for p in _SENTENCE.split(body) if p.strip()]


def asked_part(ctx: Context, topic: str, body: str) -> str | None:
    """The sentences of a policy text the question asks about (policy_parts in
    rules.yaml), in the text's order; None for the whole text (nothing in particular
    asked, the whole asked for, or the parts not found in this community's text)."""
    question = ctx.match.text
    if _FULL_TEXT.search(question):
        return None
    wanted = [part for part in ctx.rules.policy_parts.get(topic, ())
              if any(word in question for word in part.ask)]
    if not wanted:
        return None
    sentences = policy_sentences(body)
    chosen = [s for s in sentences if any(w in s for part in wanted for w in part.find)]
    if not chosen or len(chosen) == len(sentences):
        return None
    return "".join(chosen)


def _policy(topic: str) -> Answerer:
    def answer(ctx: Context) -> Answer | str:
        text = policy(ctx.asker.community, topic) if ctx.asker.community else None
        if text is None:
            return ctx.t("policy_missing", phone=ctx.setting("office_phone"))
        part = asked_part(ctx, topic, text.body)
        if part is None:
            return ctx.t("policy", title=text.title, body=text.body)
        more = FULL_TEXT_ASK[topic]
        return Answer("\n".join([ctx.t("policy_part", title=text.title, body=part),
                                 ctx.t("policy_part_more", ask=more)]),
                      action={"type": "ask", "label": "查看完整规定", "text": more})

    return answer


for _intent, _topic in POLICY_TOPICS.items():
    answerer(_intent)(_policy(_topic))


@answerer("fee.relief")
def fee_relief(ctx: Context) -> Answer:
    """Whether the fee can be reduced: the community's own rule when staff wrote one
    (policy topic ``fee_relief``), else the general rule; a person is one tap away,
    since a relief is decided case by case."""
    text = policy(ctx.asker.community, "fee_relief") if ctx.asker.community else None
    body = (ctx.t("policy", title=text.title, body=text.body) if text is not None
            else ctx.t("fee_relief", phone=ctx.setting("office_phone")))
    return Answer(body, action={"type": "ask", "label": "转人工客服", "text": "转人工"})


@answerer("service.hours")
def service_hours(ctx: Context) -> str:
    return ctx.t("service_hours", address=ctx.setting("office_address"),
                 hours=ctx.setting("office_hours"), phone=ctx.setting("office_phone"),
                 emergency=ctx.setting("emergency_phone"))
