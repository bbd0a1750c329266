"""How an amount of money reads to a person: ``format_yuan(Decimal("2843567.94"))`` →
``"¥2,843,567.94"``. The one server-side money format (bot answers, server-rendered
text); ``miniapp_mock/shared/format.js`` ``money()`` gives the same text on the pages
(tests/e2e/test_e2e_resident_defects.py compares them).

Rounded half-up to the fen, thousands grouped with commas, a minus sign before the
currency sign ("-¥12.50"). Never goes through float.
"""
from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

CENT = Decimal("0.01")


def format_yuan(value: Decimal | int | str) -> str:
    amount = Decimal(value).quantize(CENT, rounding=ROUND_HALF_UP)
    if amount == 0:
        amount = abs(amount)  # no "-¥0.00"
    sign = "-" if amount < 0 else ""
    return f"{sign}¥{abs(amount):,.2f}"


def format_number(value: Decimal | int | str, places: int = 2) -> str:
    """A grouped decimal without a currency sign (areas, unit prices per ㎡):
    ``Decimal("1234.5")`` → ``"1,234.50"``."""
    exp = Decimal(1).scaleb(-places)
    return f"{Decimal(value).quantize(exp, rounding=ROUND_HALF_UP):,.{places}f}"
