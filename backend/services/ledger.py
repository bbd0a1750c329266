"""The property company's ledger (台账): rooms, areas and owners of record imported
from CSV, and bills. Imports are all-or-nothing: any bad row and nothing changes,
with every bad line reported (line numbers as in the file, header = line 1)."""
from __future__ import annotations

import csv
import enum
import io
import re
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation

from sqlalchemy import and_, insert, or_, select, update

from backend.errors import AppError
from backend.extensions import db
from backend.models import (
    Bill,
    Building,
    Community,
    OwnerOfRecord,
    Role,
    Room,
    RoomBinding,
    RoomKind,
    Unit,
    room_label,
    utcnow,
)
from backend.services import households

LEDGER_HEADER = ["building", "unit", "number", "area_m2", "owner_ref", "owner_name", "phone", "kind"]
BILLS_HEADER = ["building", "unit", "number", "period", "amount_yuan", "paid_yuan", "due_date"]
MAX_AREA = Decimal("100000")
CENT = Decimal("0.01")


class ImportFailed(AppError):
    status, code, message = 400, "import_failed", "导入失败，文件有错误"

    def __init__(self, errors: list[tuple[int, str]]):
        super().__init__(details={"errors": [{"line": n, "reason": r} for n, r in errors]})
        self.errors = errors


@dataclass
class ImportResult:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    owners_created: int = 0
    owners_updated: int = 0
    notes: list[str] = field(default_factory=list)


# ------------------------------------------------------------------ normalisation
_BUILDING_SUFFIX = re.compile(r"(号楼|栋|幢|座|号)$")
_UNIT_SUFFIX = re.compile(r"(单元)$")
_ROOM_SUFFIX = re.compile(r"(室|号)$")


def norm_building(value: str) -> str:
    return _BUILDING_SUFFIX.sub("", _clean(value))


def norm_unit(value: str) -> str:
    return _UNIT_SUFFIX.sub("", _clean(value))


def norm_number(value: str) -> str:
    return _ROOM_SUFFIX.sub("", _clean(value))


# full-width digits and letters → half-width (built once: a ledger has 100,000s of cells)
_HALF_WIDTH = {c: c - 0xFEE0 for c in range(0xFF01, 0xFF5F)}
_SPACES = re.compile(r"\s+")


def _clean(value: str | None) -> str:
    # full-width digits and letters → half-width; no inner spaces
    text = (value or "").strip()
    text = text.translate(_HALF_WIDTH).replace("\u3000", "")
    return _SPACES.sub("", text)


def norm_name(value: str | None) -> str:
    return re.sub(r"[\s\u3000·•.]", "", (value or "").strip())


def norm_phone(value: str | None) -> str | None:
    """Mainland mobile (11 digits, +86 allowed) or landline (area code + number)."""
    text = _clean(value).replace("-", "").replace("(", "").replace(")", "")
    if text.startswith("+86"):
        text = text[3:]
    elif text.startswith("0086"):
        text = text[4:]
    if re.fullmatch(r"1[3-9]\d{9}", text) or re.fullmatch(r"0\d{9,11}", text):
        return text
    return None


def _decimal(value: str) -> Decimal | None:
    try:
        number = Decimal(_clean(value).replace(",", ""))
    except InvalidOperation:
        return None
    if not number.is_finite() or number != number.quantize(CENT):
        return None
    return number.quantize(CENT)


def read_csv(data: bytes | str, expected: list[str]) -> list[tuple[int, dict]]:
    """Rows with their line numbers. UTF-8 (with or without BOM) or GB18030, since
    ledgers are often exported from Excel on Chinese Windows."""
    if isinstance(data, bytes):
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            try:
                text = data.decode("gb18030")
            except UnicodeDecodeError as exc:
                raise ImportFailed([(1, "文件编码无法识别（请使用 UTF-8 或 GBK）")]) from exc
    else:
        text = data.lstrip("\ufeff")
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = [h.strip() for h in next(reader)]
    except StopIteration as exc:
        raise ImportFailed([(1, "文件为空")]) from exc
    if header != expected:
        missing = [h for h in expected if h not in header]
        extra = [h for h in header if h not in expected]
        reason = "表头应为：" + ",".join(expected)
        if missing:
            reason += "；缺少列：" + ",".join(missing)
        if extra:
            reason += "；多余列：" + ",".join(extra)
        raise ImportFailed([(1, reason)])
    rows = []
    for record in reader:
        line = reader.line_num
        if not any(cell.strip() for cell in record):
            continue  # blank lines are allowed
        if len(record) != len(expected):
            rows.append((line, {"__error__": f"应有{len(expected)}列，实际{len(record)}列"}))
            continue
        rows.append((line, dict(zip(expected, (c.strip() for c in record)))))
    return rows


# ------------------------------------------------------------------ ledger
@dataclass
class _LedgerRow:
    line: int
    building: str
    unit: str
    number: str
    area: Decimal
    kind: RoomKind
    owner_ref: str
    owner_name: str
    phone: str


def _validate_ledger(rows) -> tuple[list[_LedgerRow], list[tuple[int, str]]]:
    errors: list[tuple[int, str]] = []
    good: list[_LedgerRow] = []
    seen_rooms: dict[tuple[str, str, str], int] = {}
    owners: dict[str, tuple[int, str, str]] = {}
    for line, raw in rows:
        if "__error__" in raw:
            errors.append((line, raw["__error__"]))
            continue
        problems = []
        building, unit, number = (norm_building(raw["building"]), norm_unit(raw["unit"]),
                                  norm_number(raw["number"]))
        for label, value in (("楼栋", building), ("单元", unit), ("房号", number)):
            if not value:
                problems.append(f"{label}不能为空")
            elif len(value) > 32:
                problems.append(f"{label}过长")
        area = _decimal(raw["area_m2"])
        if area is None:
            problems.append(f"面积格式有误：{raw['area_m2']!r}（应为数字，最多两位小数）")
        elif not (Decimal("0") < area < MAX_AREA):
            problems.append(f"面积须大于0且小于{MAX_AREA}：{raw['area_m2']}")
        try:
            kind = RoomKind(raw["kind"])
        except ValueError:
            kind = None
            problems.append(f"房屋类型有误：{raw['kind']!r}（应为 residential_lift、residential 或 shop）")
        owner_ref = raw["owner_ref"]
        name = raw["owner_name"].strip()
        phone = norm_phone(raw["phone"]) if raw["phone"] else None
        if owner_ref:
            if len(owner_ref) > 64:
                problems.append("owner_ref 过长")
            if not name:
                problems.append("有产权人编号时，产权人姓名不能为空")
            elif len(name) > 64:
                problems.append("产权人姓名过长")
            if phone is None:
                problems.append(f"手机号格式有误：{raw['phone']!r}")
            elif owner_ref in owners:
                first_line, first_name, first_phone = owners[owner_ref]
                if (norm_name(first_name), first_phone) != (norm_name(name), phone):
                    problems.append(f"同一产权人编号 {owner_ref} 的姓名或电话与第{first_line}行不一致")
        elif name or raw["phone"]:
            problems.append("未售房屋（owner_ref 为空）不应填写姓名或电话")
        key = (building, unit, number)
        if all(key) and key in seen_rooms:
            problems.append(f"房屋重复：与第{seen_rooms[key]}行相同（{room_label(*key)}）")
        if problems:
            errors.append((line, "；".join(problems)))
            continue
        seen_rooms[key] = line
        if owner_ref and owner_ref not in owners:
            owners[owner_ref] = (line, name, phone)
        good.append(_LedgerRow(line, building, unit, number, area, kind, owner_ref, name, phone or ""))
    return good, errors


def import_ledger(community: Community, data: bytes | str) -> ImportResult:
    """Create or update rooms and owners of record; rooms missing from the file are
    kept (they may have tickets and votes), and reported in ``notes``."""
    rows, errors = _validate_ledger(read_csv(data, LEDGER_HEADER))
    if errors:
        raise ImportFailed(errors)
    result = ImportResult()
    cid = community.id

    # owners of record
    existing_owners = {
        o.owner_ref: o for o in db.session.scalars(
            select(OwnerOfRecord).where(OwnerOfRecord.community_id == cid))
    }
    owner_ids: dict[str, int] = {}
    new_owners, changed_owners = [], []
    for row in rows:
        if not row.owner_ref or row.owner_ref in owner_ids:
            continue
        owner = existing_owners.get(row.owner_ref)
        if owner is None:
            new_owners.append({"community_id": cid, "owner_ref": row.owner_ref,
                               "name": row.owner_name, "phone": row.phone, "is_committee": False})
            owner_ids[row.owner_ref] = -1
        else:
            owner_ids[row.owner_ref] = owner.id
            if owner.name != row.owner_name or owner.phone != row.phone:
                changed_owners.append({"id": owner.id, "name": row.owner_name, "phone": row.phone})
    if new_owners:
        _insert_rows(OwnerOfRecord, new_owners)
        created = {o["owner_ref"] for o in new_owners}
        owner_ids.update({ref: oid for oid, ref in db.session.execute(
            select(OwnerOfRecord.id, OwnerOfRecord.owner_ref)
            .where(OwnerOfRecord.community_id == cid)) if ref in created})
        result.owners_created = len(new_owners)
    if changed_owners:
        db.session.execute(update(OwnerOfRecord), changed_owners)
        result.owners_updated = len(changed_owners)

    # buildings and units (few: plain ORM)
    buildings = {b.name: b for b in db.session.scalars(select(Building).where(Building.community_id == cid))}
    units = {
        (u.building_id, u.name): u for u in db.session.scalars(
            select(Unit).join(Building).where(Building.community_id == cid))
    }
    for row in rows:
        if row.building not in buildings:
            buildings[row.building] = Building(community_id=cid, name=row.building)
            db.session.add(buildings[row.building])
    db.session.flush()
    for row in rows:
        bid = buildings[row.building].id
        if (bid, row.unit) not in units:
            units[(bid, row.unit)] = Unit(building_id=bid, name=row.unit)
            db.session.add(units[(bid, row.unit)])
    db.session.flush()

    # rooms
    existing_rooms = {
        (r.unit_id, r.number): r for r in db.session.execute(
            select(Room.id, Room.unit_id, Room.number, Room.area_m2, Room.kind, Room.owner_id)
            .where(Room.community_id == cid)).all()
    }
    new_rooms, changed_rooms, handed_over, owner_changed = [], [], [], []
    for row in rows:
        bid = buildings[row.building].id
        uid = units[(bid, row.unit)].id
        oid = owner_ids.get(row.owner_ref) if row.owner_ref else None
        current = existing_rooms.pop((uid, row.number), None)
        if current is None:
            new_rooms.append({"community_id": cid, "building_id": bid, "unit_id": uid,
                              "number": row.number, "area_m2": row.area, "kind": row.kind,
                              "owner_id": oid})
        elif (current.area_m2, current.kind, current.owner_id) != (row.area, row.kind, oid):
            changed_rooms.append({"id": current.id, "area_m2": row.area, "kind": row.kind,
                                  "owner_id": oid})
            if oid is not None and oid != current.owner_id:
                handed_over.append((current.id, oid))
            if oid != current.owner_id:
                owner_changed.append(current.id)
        else:
            result.unchanged += 1
    _insert_rows(Room, new_rooms)
    if changed_rooms:
        db.session.execute(update(Room), changed_rooms)
    for chunk in _chunks(handed_over, 500):
        # A room back with an owner bound to it before (sold, then bought back): that
        # binding counts again from now, so the household it rejoins shares only the
        # repairs from now on, not those of the owners in between.
        db.session.execute(update(RoomBinding).where(
            RoomBinding.relation == Role.owner,
            or_(*(and_(RoomBinding.room_id == room, RoomBinding.owner_id == owner)
                  for room, owner in chunk))).values(created_at=utcnow()))
    # the former owner's family members and tenants leave with the ownership
    households.end_households(owner_changed)
    result.created, result.updated = len(new_rooms), len(changed_rooms)
    if existing_rooms:
        result.notes.append(f"{len(existing_rooms)} 户在台账中存在但本次文件未包含，已保留")
    db.session.flush()
    db.session.expire_all()
    return result


def _insert_rows(model, rows: list[dict]) -> None:
    """New rows in the session's transaction: on PostgreSQL (psycopg) by COPY, a
    large ledger's rooms in a fraction of the time of multi-row INSERTs (whose SQL
    text psycopg must build and parse); elsewhere by INSERTs of 2,000 rows. The rows
    give every column without a server default."""
    if not rows:
        return
    connection = db.session.connection()
    if connection.dialect.name != "postgresql" or connection.dialect.driver != "psycopg":
        for chunk in _chunks(rows, 2000):
            db.session.execute(insert(model), chunk)
        return
    quote = connection.dialect.identifier_preparer
    columns = list(rows[0])
    statement = (f"COPY {quote.format_table(model.__table__)} "
                 f"({', '.join(quote.quote(c) for c in columns)}) FROM STDIN")
    cursor = connection.connection.driver_connection.cursor()
    with cursor.copy(statement) as copy:
        for row in rows:
            copy.write_row([_db_value(row[c]) for c in columns])


def _db_value(value):
    # str enums are stored as their value (models.base.str_enum)
    return value.value if isinstance(value, enum.Enum) else value


def _chunks(items: list, size: int):
    for start in range(0, len(items), size):
        yield items[start:start + size]


# ------------------------------------------------------------------ bills
def import_bills(community: Community, data: bytes | str) -> ImportResult:
    rows = read_csv(data, BILLS_HEADER)
    rooms = {
        (b, u, n): rid for rid, b, u, n in db.session.execute(
            select(Room.id, Building.name, Unit.name, Room.number)
            .join(Building, Room.building_id == Building.id)
            .join(Unit, Room.unit_id == Unit.id)
            .where(Room.community_id == community.id)).all()
    }
    errors: list[tuple[int, str]] = []
    good: list[dict] = []
    seen: dict[tuple[int, str], int] = {}
    for line, raw in rows:
        if "__error__" in raw:
            errors.append((line, raw["__error__"]))
            continue
        problems = []
        key = (norm_building(raw["building"]), norm_unit(raw["unit"]), norm_number(raw["number"]))
        room_id = rooms.get(key)
        if room_id is None:
            problems.append(f"台账中没有该房屋：{room_label(*key)}")
        period = raw["period"]
        if not re.fullmatch(r"\d{4}-(0[1-9]|1[0-2])", period):
            problems.append(f"账期格式有误：{period!r}（应为 YYYY-MM）")
        amount, paid = _decimal(raw["amount_yuan"]), _decimal(raw["paid_yuan"] or "0")
        if amount is None or amount < 0:
            problems.append(f"应收金额有误：{raw['amount_yuan']!r}")
        if paid is None or paid < 0:
            problems.append(f"已缴金额有误：{raw['paid_yuan']!r}")
        if amount is not None and paid is not None and paid > amount:
            problems.append("已缴金额大于应收金额")
        try:
            due = date.fromisoformat(raw["due_date"])
        except ValueError:
            due = None
            problems.append(f"缴费截止日期有误：{raw['due_date']!r}（应为 YYYY-MM-DD）")
        if room_id is not None and (room_id, period) in seen:
            problems.append(f"与第{seen[(room_id, period)]}行重复（同一房屋同一账期）")
        if problems:
            errors.append((line, "；".join(problems)))
            continue
        seen[(room_id, period)] = line
        good.append({"room_id": room_id, "period": period, "amount": amount, "paid": paid,
                     "due_date": due})
    if errors:
        raise ImportFailed(errors)
    existing = {
        (b.room_id, b.period): b for b in db.session.scalars(
            select(Bill).join(Room).where(Room.community_id == community.id))
    }
    result = ImportResult()
    new = []
    for item in good:
        bill = existing.get((item["room_id"], item["period"]))
        if bill is None:
            new.append(item)
        elif (bill.amount, bill.paid, bill.due_date) != (item["amount"], item["paid"], item["due_date"]):
            bill.amount, bill.paid, bill.due_date = item["amount"], item["paid"], item["due_date"]
            result.updated += 1
        else:
            result.unchanged += 1
    for chunk in _chunks(new, 2000):
        db.session.execute(insert(Bill), chunk)
    result.created = len(new)
    db.session.flush()
    return result
