"""The bot's pure parts (智能客服): the rules staff edit (rules.yaml), the normaliser
(normalize.py), the matcher (matcher.py) and the evaluation of a labelled question
file (evaluate.py). No Flask, no database: what the bot answers, built from the
asker's data, is backend/services/bot_answers/ (which imports this, never the
other way round)."""
