"""The one money format (backend.rules.money): what residents read in the bot's answers."""
from decimal import Decimal

import pytest

from backend.rules.money import format_number, format_yuan


@pytest.mark.parametrize("value, text", [
    ("2843567.94", "¥2,843,567.94"),
    ("0", "¥0.00"),
    ("999", "¥999.00"),
    ("1000", "¥1,000.00"),
    ("12.5", "¥12.50"),
    ("999.995", "¥1,000.00"),      # half-up to the fen
    ("-12000.5", "-¥12,000.50"),   # the sign before the currency
    ("-0.001", "¥0.00"),           # no negative zero
    ("12345678901.20", "¥12,345,678,901.20"),
])
def test_format_yuan_groups_thousands_and_shows_fen(value, text):
    assert format_yuan(Decimal(value)) == text


def test_format_number_is_grouped_without_currency():
    assert format_number(Decimal("1234.5")) == "1,234.50"
