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


def _policy(topic: str) -> Answerer:
    def answer(ctx: Context) -> str:
        text = policy(ctx.asker.community, topic) if ctx.asker.community else None
        if text is None:
            return ctx.t("policy_missing", phone=ctx.setting("office_phone"))
        return ctx.t("policy", title=text.title, body=text.body)

    return answer


for _intent, _topic in POLICY_TOPICS.items():
    answerer(_intent)(_policy(_topic))


@answerer("service.hours")
def service_hours(ctx: Context) -> str:
    return ctx.t("service_hours", address=ctx.setting("office_address"),
                 hours=ctx.setting("office_hours"), phone=ctx.setting("office_phone"),
                 emergency=ctx.setting("emergency_phone"))
