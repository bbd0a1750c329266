"""Property-fee arithmetic (物业费): monthly fee = exclusive area × unit price,
rounded half-up to the fen; arrears = outstanding amounts of bills past due."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

CENT = Decimal("0.01")
PERIOD_MONTHS = {"month": 1, "quarter": 3, "half_year": 6, "year": 12}


def yuan(value) -> Decimal:
    return Decimal(value).quantize(CENT, rounding=ROUND_HALF_UP)


def monthly_fee(area_m2: Decimal, unit_price: Decimal) -> Decimal:
    return yuan(Decimal(area_m2) * Decimal(unit_price))


def fee_for(area_m2: Decimal, unit_price: Decimal, period: str = "month") -> Decimal:
    """Fee for a month, quarter, half year or year (monthly fee × months, so the
    figures agree with the monthly bills)."""
    return yuan(monthly_fee(area_m2, unit_price) * PERIOD_MONTHS[period])


def outstanding(amount: Decimal, paid: Decimal) -> Decimal:
    """What is still to pay on a bill: amount less paid, never below zero (an
    overpayment is not a debt of the property company here)."""
    return max(yuan(Decimal(amount) - Decimal(paid)), Decimal("0.00"))


def is_overdue(amount: Decimal, paid: Decimal, due_date: date, today: date) -> bool:
    """A bill counts in arrears once its due date has passed with something unpaid."""
    return outstanding(amount, paid) > 0 and due_date < today


@dataclass(frozen=True)
class BillLine:
    period: str
    amount: Decimal
    paid: Decimal
    due_date: date

    @property
    def outstanding(self) -> Decimal:
        return outstanding(self.amount, self.paid)

    def overdue(self, today: date) -> bool:
        return is_overdue(self.amount, self.paid, self.due_date, today)


def arrears(bills: list, today: date) -> tuple[Decimal, list]:
    """Total owed on bills past their due date, and those bills (oldest first).
    ``bills``: anything with ``period``, ``outstanding`` and ``overdue(today)``
    (``BillLine`` here, ``models.Bill`` in the app)."""
    late = sorted((b for b in bills if b.overdue(today)), key=lambda b: b.period)
    return yuan(sum((b.outstanding for b in late), Decimal("0"))), late
