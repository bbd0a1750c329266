"""The maintenance-fund ledger (维修资金账目): money in (归集、利息) and out (使用).

Entries come from the fund custodian's statement, imported from CSV
(``flask --app wsgi import-fund-ledger FILE.csv``, header
``ref,date,building,direction,amount_yuan,description``; ``ref`` is the voucher
number, so re-importing updates in place), and from payments the manager records
against a decided proposal when its work is paid (``POST
/api/v1/fund-proposals/{id}/payments``; a vote's result must have been publicised
for its whole period first, an emergency use may be paid at once). Spending is recorded when paid, not at
approval: a passed proposal has not cost anything until the contractor is paid.

A building's balance counts the entries booked to that building; the community's
counts every entry (building-level and community-wide).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from sqlalchemy import case, func, select

from backend.errors import Conflict, Forbidden, NotFound, ValidationFailed
from backend.extensions import db
from backend.models import (
    Building,
    Community,
    FundDirection,
    FundLedgerEntry,
    FundProposal,
    FundRule,
    Role,
    User,
    utcnow,
)
from backend.services.ledger import (
    ImportFailed,
    ImportResult,
    _clean,
    _decimal,
    norm_building,
    read_csv,
)
from backend.services.community import community_by_id
from backend.services.permissions import staff_community_ids
from backend.timeutil import local_iso, local_text, local_today

FUND_LEDGER_HEADER = ["ref", "date", "building", "direction", "amount_yuan", "description"]
DIRECTIONS = {"in": FundDirection.deposit, "收入": FundDirection.deposit, "收": FundDirection.deposit,
              "out": FundDirection.spending, "支出": FundDirection.spending, "支": FundDirection.spending}
ZERO = Decimal("0.00")
MAX_AMOUNT = Decimal("1000000000")


@dataclass(frozen=True)
class FundLine:
    """One entry as owners read it: ``amount`` is signed (in > 0, out < 0)."""

    date: date
    description: str
    amount: Decimal
    direction: str
    building: str | None
    ref: str
    proposal_id: int | None = None


@dataclass
class FundBalance:
    community: str
    building: str | None
    balance: Decimal
    total_in: Decimal
    total_out: Decimal
    recent: list[FundLine] = field(default_factory=list)
    as_of: date | None = None


def _building_id(community_id: int, name: str) -> int:
    building_id = db.session.scalar(select(Building.id).where(
        Building.community_id == community_id, Building.name == norm_building(name)))
    if building_id is None:
        raise NotFound(f"找不到楼栋：{name}", code="building_not_found")
    return building_id


def fund_balance(community_id: int, building: str | None = None, recent: int = 5) -> FundBalance:
    """Balance, totals in and out, and the latest ``recent`` entries of the community's
    fund (or of one building's account)."""
    community = community_by_id(community_id)
    if community is None:
        raise NotFound("找不到小区", code="community_not_found")
    conditions = [FundLedgerEntry.community_id == community_id]
    building_name = None
    if building:
        conditions.append(FundLedgerEntry.building_id == _building_id(community_id, building))
        building_name = norm_building(building)
    deposit = FundLedgerEntry.direction == FundDirection.deposit
    total = db.session.execute(
        select(func.sum(case((deposit, FundLedgerEntry.amount), else_=0)).label("total_in"),
               func.sum(case((deposit, 0), else_=FundLedgerEntry.amount)).label("total_out"),
               func.max(FundLedgerEntry.entry_date).label("last_date"))
        .where(*conditions)).one()
    total_in, total_out = _money(total.total_in), _money(total.total_out)
    rows = db.session.execute(
        select(FundLedgerEntry, Building.name)
        .outerjoin(Building, FundLedgerEntry.building_id == Building.id)
        .where(*conditions)
        .order_by(FundLedgerEntry.entry_date.desc(), FundLedgerEntry.id.desc())
        .limit(recent)).all() if recent else []
    return FundBalance(community=community.name, building=building_name,
                       balance=total_in - total_out, total_in=total_in, total_out=total_out,
                       recent=[line_of(entry, name) for entry, name in rows],
                       as_of=total.last_date)


def ledger_lines(community_id: int, building: str | None, limit: int, before_id: int | None):
    """Entries newest first, for the ledger page (keyset on id)."""
    query = (select(FundLedgerEntry, Building.name)
             .outerjoin(Building, FundLedgerEntry.building_id == Building.id)
             .where(FundLedgerEntry.community_id == community_id))
    if building:
        query = query.where(FundLedgerEntry.building_id == _building_id(community_id, building))
    if before_id is not None:
        query = query.where(FundLedgerEntry.id < before_id)
    rows = db.session.execute(query.order_by(FundLedgerEntry.id.desc()).limit(limit + 1)).all()
    more = len(rows) > limit
    rows = rows[:limit]
    return [(e.id, line_of(e, name)) for e, name in rows], (rows[-1][0].id if more else None)


def _money(value) -> Decimal:
    return Decimal(str(value or 0)).quantize(Decimal("0.01"))


def line_of(entry: FundLedgerEntry, building: str | None) -> FundLine:
    sign = 1 if entry.direction == FundDirection.deposit else -1
    return FundLine(date=entry.entry_date, description=entry.description,
                    amount=entry.amount * sign, direction=entry.direction.value,
                    building=building, ref=entry.ref, proposal_id=entry.proposal_id)


# ------------------------------------------------------------------ import
def import_fund_ledger(community: Community, data: bytes | str) -> ImportResult:
    """All or nothing: any bad row and nothing changes; every bad line is reported."""
    rows = read_csv(data, FUND_LEDGER_HEADER)
    buildings = {name: bid for bid, name in db.session.execute(
        select(Building.id, Building.name).where(Building.community_id == community.id))}
    errors: list[tuple[int, str]] = []
    good: list[dict] = []
    seen: dict[str, int] = {}
    for line, raw in rows:
        if "__error__" in raw:
            errors.append((line, raw["__error__"]))
            continue
        problems = []
        ref = _clean(raw["ref"])
        if not ref or len(ref) > 64:
            problems.append("凭证号（ref）不能为空，且不超过64个字符")
        elif ref in seen:
            problems.append(f"凭证号重复：与第{seen[ref]}行相同（{ref}）")
        try:
            entry_date = date.fromisoformat(raw["date"])
        except ValueError:
            entry_date = None
            problems.append(f"日期格式有误：{raw['date']!r}（应为 YYYY-MM-DD）")
        building_id = None
        if raw["building"]:
            building_id = buildings.get(norm_building(raw["building"]))
            if building_id is None:
                problems.append(f"台账中没有该楼栋：{raw['building']}")
        direction = DIRECTIONS.get(raw["direction"].strip().lower())
        if direction is None:
            problems.append(f"收支方向有误：{raw['direction']!r}（应为 in 或 out）")
        amount = _decimal(raw["amount_yuan"])
        if amount is None or not (ZERO < amount < MAX_AMOUNT):
            problems.append(f"金额有误：{raw['amount_yuan']!r}（应为大于0、最多两位小数的数字）")
        description = raw["description"].strip()
        if not description or len(description) > 200:
            problems.append("摘要不能为空，且不超过200个字符")
        if problems:
            errors.append((line, "；".join(problems)))
            continue
        seen[ref] = line
        good.append({"ref": ref, "entry_date": entry_date, "building_id": building_id,
                     "direction": direction, "amount": amount, "description": description})
    if errors:
        raise ImportFailed(errors)
    existing = {e.ref: e for e in db.session.scalars(
        select(FundLedgerEntry).where(FundLedgerEntry.community_id == community.id))}
    result = ImportResult()
    for item in good:
        entry = existing.get(item["ref"])
        if entry is None:
            db.session.add(FundLedgerEntry(community_id=community.id, **item))
            result.created += 1
        elif any(getattr(entry, k) != v for k, v in item.items()):
            for key, value in item.items():
                setattr(entry, key, value)
            result.updated += 1
        else:
            result.unchanged += 1
    db.session.flush()
    return result


# ------------------------------------------------------------------ payments
def record_payment(user: User, proposal: FundProposal, amount: Decimal, *,
                   paid_on: date | None = None, description: str | None = None,
                   ref: str | None = None) -> FundLedgerEntry:
    """The manager books a payment for a decided use: an approved emergency use at
    once, a passed vote once its result's publicity period (公示期) is over.
    Payments for one proposal never exceed its approved amount."""
    if proposal.community_id not in staff_community_ids(user, Role.manager):
        raise Forbidden("只有物业项目经理可以登记维修资金支出", code="not_manager")
    if not proposal.decided:
        raise Conflict("该事项未经表决通过或应急批准，不能登记支出", code="not_approved")
    if not proposal.payable(utcnow()):
        ends = proposal.publicity_ends_at
        raise Conflict(f"表决结果公示期未满（{local_text(ends)}结束），公示期满后才能登记支出",
                       code="publicity_not_over", details={"publicity_ends_at": local_iso(ends)})
    # Lock the proposal so concurrent payments cannot both pass the budget check.
    db.session.scalar(select(FundProposal.id).where(FundProposal.id == proposal.id).with_for_update())
    paid, count = db.session.execute(
        select(func.sum(FundLedgerEntry.amount), func.count(FundLedgerEntry.id))
        .where(FundLedgerEntry.proposal_id == proposal.id,
               FundLedgerEntry.direction == FundDirection.spending)
    ).one()
    paid = _money(paid)
    if paid + amount > proposal.amount:
        raise Conflict(f"累计支出将超过批准金额（已支出{paid}元，批准{proposal.amount}元）",
                       code="exceeds_approved_amount",
                       details={"paid_yuan": str(paid), "approved_yuan": str(proposal.amount)})
    ref = ref or f"FP{proposal.id}-{count + 1}"
    if db.session.scalar(select(FundLedgerEntry.id).where(
            FundLedgerEntry.community_id == proposal.community_id, FundLedgerEntry.ref == ref)):
        raise Conflict(f"凭证号已存在：{ref}", code="duplicate_ref")
    if paid_on is not None and paid_on > local_today():
        raise ValidationFailed("支付日期不能晚于今天", code="paid_on_in_future",
                               details={"fields": {"paid_on": ["不能晚于今天"]}})
    buildings = (proposal.scope or {}).get("buildings") or []
    building_id = (_building_id(proposal.community_id, buildings[0]) if len(buildings) == 1 else None)
    kind = "应急使用" if proposal.rule == FundRule.emergency else "表决通过"
    entry = FundLedgerEntry(
        community_id=proposal.community_id, building_id=building_id, ref=ref,
        entry_date=paid_on or local_today(),
        description=(description or f"{proposal.title}（{kind}，事项#{proposal.id}）")[:200],
        direction=FundDirection.spending, amount=amount, proposal_id=proposal.id,
        created_by_id=user.id, created_at=utcnow(),
    )
    db.session.add(entry)
    db.session.flush()
    return entry


def paid_for(proposal_id: int) -> Decimal:
    return _money(db.session.scalar(
        select(func.sum(FundLedgerEntry.amount)).where(
            FundLedgerEntry.proposal_id == proposal_id,
            FundLedgerEntry.direction == FundDirection.spending)))
