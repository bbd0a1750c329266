"""The bot's normaliser and matcher, alone (no app, no database)."""
from __future__ import annotations

import os
from pathlib import Path

import pytest
import yaml

from backend.bot.evaluate import evaluate, load_examples
from backend.bot.matcher import DEFAULT_RULES, Matcher, RuleBook, RulesError, compile_rules, load_rules
from backend.bot.normalize import Normalizer

ROOT = Path(__file__).resolve().parent.parent
DEV = Path(os.environ.get("SHARED_DIR", ROOT.parent / "shared")) / "bot" / "dev_questions.yaml"
HELDOUT = Path(__file__).with_name("bot_heldout.yaml")


@pytest.fixture(scope="module")
def matcher():
    return Matcher(load_rules())


def test_normaliser_folds_width_variants_typos_english_and_punctuation():
    norm = load_rules().normalizer
    assert norm("ＡＰＰ上怎么交费？？") == "小程序上怎么交费"
    assert norm("我家的物業費多少錢") == "我家的物业费多少钱"
    assert norm("我要保修！！") == "我要报修"
    assert norm("保修期多久") == "保修期多久"  # a real word is not "corrected"
    assert norm("物业 fee 多少 💰") == "物业费多少"
    assert norm("this is hi-fi") == "thisis你好fi"  # "hi" only as a word of its own
    assert norm("在吗在吗在吗在吗") == "在吗在吗在吗在吗"
    assert norm("啊啊啊啊啊") == "啊啊"


def test_replacements_apply_once_longest_first():
    norm = Normalizer(replace={"ab": "x", "abc": "y", "x": "z"})
    assert norm("abc ab") == "yx"  # "x" produced by a replacement is not replaced again


@pytest.mark.skipif(not DEV.exists(), reason="shared/bot/dev_questions.yaml not found")
def test_accuracy_on_the_shared_dev_questions(matcher):
    report = evaluate(matcher, load_examples(DEV))
    assert report.accuracy >= 0.95, report.render()


def test_accuracy_on_held_out_questions_written_apart_from_the_rules(matcher):
    examples = load_examples(HELDOUT)
    assert len(examples) >= 300
    report = evaluate(matcher, examples)
    assert report.accuracy >= 0.95, report.render()
    # every intent of BOT_INTENTS.md is exercised and found
    assert {s.intent for s in report.per_intent} >= {
        "greeting", "fee.amount", "fee.arrears", "fee.standard", "fee.payment", "fee.invoice",
        "fund.rule", "fund.balance", "fund.vote", "repair.report", "repair.status", "complaint",
        "policy.decoration", "policy.pet", "policy.parking", "policy.garbage", "service.hours",
        "human", "unknown"}
    assert all(s.recall >= 0.8 for s in report.per_intent), report.render()


@pytest.mark.parametrize("text, intent", [
    ("水管漏了", "repair.report"),  # a fault described without the word 报修
    ("邻居的狗天天叫", "complaint"),  # a complaint about a dog is not a pet-rule question
    ("养狗有什么规定", "policy.pet"),
    ("有人乱停车", "complaint"),
    ("停车怎么收费", "policy.parking"),
    ("你好，物业费多少钱", "fee.amount"),  # a greeting with a question is the question
    ("我的报修处理了吗", "repair.status"),
])
def test_distinctions_the_intents_table_asks_for(matcher, text, intent):
    assert matcher.match(text).intent == intent


def test_low_scores_are_unknown_with_low_confidence(matcher):
    for text in ("", "   ", "？？？", "qwerty", "今天下雨吗"):
        match = matcher.match(text)
        assert match.intent == "unknown"
        assert match.confidence < 0.5


def test_clear_questions_are_confident(matcher):
    assert matcher.match("我欠费了吗").confidence >= 0.5
    assert matcher.match("转人工客服").confidence >= 0.5


RULES = {
    "thresholds": {"min_score": 2},
    "concepts": {"FEE": ["物业费", "管理费"]},
    "replace": {"物业废": "物业费"},
    "intents": {
        "fee.amount": {"priority": 1, "patterns": {"{FEE}.*多少": 3}, "negative": {"单价": 5}},
        "fee.standard": {"priority": 2, "keywords": {"单价": 3, "标准": 3}},
        "greeting": {"keywords": ["你好"]},
    },
}


def test_weights_concepts_negatives_priority_and_threshold():
    m = Matcher(compile_rules(RULES))
    assert m.match("管理费要多少").intent == "fee.amount"  # concept word
    assert m.match("物业废要多少").intent == "fee.amount"  # replacement
    assert m.match("物业费单价多少").intent == "fee.standard"  # negative keyword
    assert m.match("物业费标准多少").intent == "fee.standard"  # tie: higher priority
    assert m.match("你好").intent == "unknown"  # weight 1 < min_score 2
    assert m.match("你好").candidates == (("greeting", 1.0),)


@pytest.mark.parametrize("broken, message", [
    ({"intents": {"x": {"patterns": {"{NOPE}": 1}}}}, "unknown concept"),
    ({"intents": {"x": {"patterns": {"(": 1}}}}, "bad pattern"),
    ({"intents": {"x": {"keywords": {"a": "heavy"}}}}, "must be a number"),
    ({"nothing": 1}, "'intents'"),
])
def test_broken_rules_are_refused_with_a_reason(broken, message):
    with pytest.raises(RulesError, match=message):
        compile_rules(broken)


def test_the_shipped_rules_define_every_template_the_answerers_use():
    from backend.services.bot_answers import ANSWERERS

    rules = load_rules(DEFAULT_RULES)
    services = ROOT / "backend" / "services"
    source = "".join(path.read_text(encoding="utf-8") for folder in ("bot_answers", "chat")
                     for path in sorted((services / folder).glob("*.py")))
    import re

    used = set(re.findall(r'(?:ctx\.t|template)\(\s*"([a-z_]+)"', source))
    used |= set(re.findall(r'templates\.get\("([a-z_]+)"', source))
    assert {"unreadable", "human_already", "greeting", "fee_amount_head"} <= used
    assert used - set(rules.templates) == set()
    for intent in rules.intents:
        assert intent.answer in ANSWERERS, intent.name


def test_rulebook_reloads_an_edited_file_and_keeps_the_old_rules_on_a_bad_edit(tmp_path):
    path = tmp_path / "rules.yaml"
    path.write_text(yaml.safe_dump(RULES, allow_unicode=True), encoding="utf-8")
    book = RuleBook(path, check_every=0)
    assert book.match("停车费多少").intent == "unknown"

    edited = dict(RULES, intents=dict(RULES["intents"], **{
        "policy.parking": {"keywords": {"停车": 3}}}))
    path.write_text(yaml.safe_dump(edited, allow_unicode=True), encoding="utf-8")
    os.utime(path, ns=(1, 2_000_000_000_000_000_000))  # a new mtime whatever the clock
    assert book.match("停车费多少").intent == "policy.parking"

    path.write_text("intents: [this is: not valid", encoding="utf-8")
    os.utime(path, ns=(1, 3_000_000_000_000_000_000))
    assert book.match("停车费多少").intent == "policy.parking"  # previous rules kept
