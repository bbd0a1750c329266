"""Fee arithmetic (pure)."""
from __future__ import annotations

from datetime import date
from decimal import Decimal

from backend.rules.fees import BillLine, arrears, fee_for, is_overdue, monthly_fee, outstanding


def test_monthly_fee_is_area_times_price_rounded_half_up():
    assert monthly_fee(Decimal("98.50"), Decimal("2.80")) == Decimal("275.80")
    assert monthly_fee(Decimal("76.45"), Decimal("0.35")) == Decimal("26.76")  # 26.7575
    assert monthly_fee(Decimal("10.10"), Decimal("0.25")) == Decimal("2.53")   # 2.525 up


def test_quarter_and_year_are_whole_months():
    assert fee_for(Decimal("98.50"), Decimal("2.80"), "quarter") == Decimal("827.40")
    assert fee_for(Decimal("98.50"), Decimal("2.80"), "year") == Decimal("3309.60")


def test_arrears_count_only_unpaid_bills_past_due():
    today = date(2026, 11, 21)
    bills = [
        BillLine("2026-09", Decimal("100.00"), Decimal("100.00"), date(2026, 9, 15)),  # paid
        BillLine("2026-10", Decimal("100.00"), Decimal("40.00"), date(2026, 10, 15)),  # part
        BillLine("2026-11", Decimal("100.00"), Decimal("0.00"), date(2026, 11, 21)),   # due today
        BillLine("2026-08", Decimal("100.00"), Decimal("0.00"), date(2026, 8, 15)),
    ]
    total, late = arrears(bills, today)
    assert total == Decimal("160.00")
    assert [b.period for b in late] == ["2026-08", "2026-10"]


def test_outstanding_is_amount_less_paid_and_never_below_zero():
    assert outstanding(Decimal("100.00"), Decimal("40.00")) == Decimal("60.00")
    assert outstanding(Decimal("100.00"), Decimal("100.00")) == Decimal("0.00")
    assert outstanding(Decimal("100.00"), Decimal("120.00")) == Decimal("0.00")  # overpaid


def test_a_bill_is_overdue_only_with_something_unpaid_after_its_due_date():
    due = date(2026, 10, 15)
    assert is_overdue(Decimal("100.00"), Decimal("99.99"), due, date(2026, 10, 16))
    assert not is_overdue(Decimal("100.00"), Decimal("99.99"), due, due)
    assert not is_overdue(Decimal("100.00"), Decimal("100.00"), due, date(2027, 1, 1))
