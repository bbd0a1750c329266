"""The demo community (``flask seed-demo``). Idempotent: each part checks what is
already there, so running it again (``make demo`` does on every start) changes
nothing. Feature modules add their own demo data through ``SEED_HOOKS``."""
from __future__ import annotations

import importlib
from datetime import date
from decimal import Decimal

from sqlalchemy import select

from backend.extensions import db
from backend.models import Bill, Community, OwnerOfRecord, Role, Room, RoomBinding, RoomKind, User
from backend.rules.fees import monthly_fee
from backend.services.auth import hash_password
from backend.services.community import get_or_create_community, set_fee
from backend.services.ledger import import_ledger
from backend.services.permissions import grant_staff_role
from backend.timeutil import local_today

DEMO_COMMUNITY = "阳光花园"
FEES = {"residential_lift": "0.70", "residential": "0.35", "shop": "0.70"}
STAFF = [("desk", "desk", "前台小周"), ("engineer", "engineer", "维修王师傅"),
         ("engineer2", "engineer", "维修李师傅"), ("manager", "manager", "项目经理陈经理"),
         ("admin", "admin", "系统管理员")]

_SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
_GIVEN = ["伟", "芳", "娜", "秀英", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟",
          "涛", "明", "超", "秀兰", "霞", "平", "刚", "桂英", "建华", "文", "华", "红", "志强", "建国", "海燕"]

# Demo residents the mini-program mock offers in its login picker: (openid, owner_ref).
DEMO_RESIDENTS = [
    ("demo-zhang", "R0001"),   # 张伟: 1-1-101, committee member
    ("demo-li", "R0002"),      # 李娜: 1-1-102
    ("demo-wang", "R0003"),    # 王芳: owns 1-1-201 and 1-1-202, has arrears
    ("demo-liu", "R0004"),     # 刘洋: 3-1-101, committee member
    ("demo-chen", "R0005"),    # 陈静: 2-1-101
]
COMMITTEE_REFS = ["R0001", "R0004", "R0006"]

# Feature modules' demo data: "module:function", called with the community.
SEED_HOOKS: list[str] = []
SEED_HOOKS.append("backend.services.fund_seed:seed_demo_fund")
SEED_HOOKS.append("backend.services.tickets:seed_demo_tickets")
SEED_HOOKS.append("backend.services.chat:seed_demo_chat")


def demo_ledger_csv() -> str:
    """About 110 rooms: two lift buildings, one walk-up, four shops; a few unsold."""
    named = {"R0001": ("张伟", "13800000001"), "R0002": ("李娜", "13800000002"),
             "R0003": ("王芳", "13800000003"), "R0004": ("刘洋", "13800000004"),
             "R0005": ("陈静", "13800000005"), "R0006": ("杨磊", "13800000006")}
    fixed = {("1", "1", "101"): "R0001", ("1", "1", "102"): "R0002", ("1", "1", "201"): "R0003",
             ("1", "1", "202"): "R0003", ("3", "1", "101"): "R0004", ("2", "1", "101"): "R0005",
             ("2", "1", "102"): "R0006"}
    lines = ["building,unit,number,area_m2,owner_ref,owner_name,phone,kind"]
    serial = 100
    spec = [("1", 2, 10, "residential_lift", ("98.50", "120.30")),
            ("2", 2, 10, "residential_lift", ("89.20", "135.60")),
            ("3", 2, 6, "residential", ("76.40", "92.10"))]
    for building, units, floors, kind, areas in spec:
        for unit in range(1, units + 1):
            for floor in range(1, floors + 1):
                for door, area in ((1, areas[0]), (2, areas[1])):
                    number = f"{floor}{door:02d}"
                    key = (building, str(unit), number)
                    ref = fixed.get(key)
                    if ref is None:
                        serial += 1
                        if serial % 17 == 0:  # unsold, held by the developer
                            lines.append(f"{building},{unit},{number},{area},,,,{kind}")
                            continue
                        ref = f"R{serial:04d}"
                        name = _SURNAMES[serial % len(_SURNAMES)] + _GIVEN[(serial * 7) % len(_GIVEN)]
                        phone = f"139{serial:08d}"
                    else:
                        name, phone = named[ref]
                    lines.append(f"{building},{unit},{number},{area},{ref},{name},{phone},{kind}")
    for number, area in (("S01", "65.00"), ("S02", "82.50"), ("S03", "120.00"), ("S04", "45.80")):
        serial += 1
        ref = f"R{serial:04d}"
        name = _SURNAMES[serial % len(_SURNAMES)] + _GIVEN[(serial * 3) % len(_GIVEN)]
        lines.append(f"商业,1,{number},{area},{ref},{name},137{serial:08d},shop")
    return "\n".join(lines) + "\n"


def _periods(today: date, months: int) -> list[str]:
    out = []
    year, month = today.year, today.month
    for _ in range(months):
        out.append(f"{year:04d}-{month:02d}")
        month -= 1
        if month == 0:
            year, month = year - 1, 12
    return list(reversed(out))


def seed_demo() -> str:
    community, created = get_or_create_community(DEMO_COMMUNITY)
    summary = []
    if created or not db.session.scalar(select(Room.id).where(Room.community_id == community.id).limit(1)):
        result = import_ledger(community, demo_ledger_csv())
        summary.append(f"rooms {result.created}")
    for kind, price in FEES.items():
        set_fee(community, kind, price)
    for ref in COMMITTEE_REFS:
        owner = _owner(community, ref)
        if owner is not None:
            owner.is_committee = True
    _seed_staff(community)
    _seed_residents(community)
    summary.append(_seed_bills(community))
    db.session.flush()
    for hook in SEED_HOOKS:
        module_name, func_name = hook.split(":")
        result = getattr(importlib.import_module(module_name), func_name)(community)
        if result:
            summary.append(str(result))
    done = ", ".join(s for s in summary if s)
    return f"{community.name}: {done}" if done else f"{community.name}: already seeded, nothing changed"


def _owner(community: Community, ref: str) -> OwnerOfRecord | None:
    return db.session.scalar(select(OwnerOfRecord).where(
        OwnerOfRecord.community_id == community.id, OwnerOfRecord.owner_ref == ref))


def _seed_staff(community: Community) -> None:
    for username, role, name in STAFF:
        user = db.session.scalar(select(User).where(User.username == username))
        if user is None:
            password = username.rstrip("0123456789")
            user = User(username=username, name=name, password_hash=hash_password(password))
            db.session.add(user)
            db.session.flush()
        grant_staff_role(user, community.id, Role(role))


def _seed_residents(community: Community) -> None:
    for openid, ref in DEMO_RESIDENTS:
        owner = _owner(community, ref)
        user = db.session.scalar(select(User).where(User.openid == openid))
        if user is None:
            user = User(openid=openid, name=owner.name, phone=owner.phone)
            db.session.add(user)
            db.session.flush()
        for room in owner.rooms:
            exists = db.session.scalar(select(RoomBinding.id).where(
                RoomBinding.user_id == user.id, RoomBinding.room_id == room.id))
            if exists is None:
                db.session.add(RoomBinding(user_id=user.id, room_id=room.id, relation=Role.owner,
                                           owner_id=owner.id))
    db.session.flush()


def _seed_bills(community: Community) -> str:
    """Six monthly bills per sold room; most are paid, a few owners are behind
    (王芳 owes the last three months on both rooms)."""
    if db.session.scalar(select(Bill.id).join(Room).where(Room.community_id == community.id).limit(1)):
        return ""
    prices = {RoomKind(k): Decimal(v) for k, v in FEES.items()}
    periods = _periods(local_today(), 6)
    late_refs = {"R0003": 3}
    rows = []
    rooms = db.session.scalars(select(Room).where(Room.community_id == community.id,
                                                  Room.owner_id.isnot(None))).all()
    for room in rooms:
        amount = monthly_fee(room.area_m2, prices[room.kind])
        unpaid = late_refs.get(room.owner.owner_ref, 1 if room.id % 9 == 0 else 0)
        for index, period in enumerate(periods):
            year, month = map(int, period.split("-"))
            paid = Decimal("0.00") if index >= len(periods) - unpaid else amount
            rows.append(Bill(room_id=room.id, period=period, amount=amount, paid=paid,
                             due_date=date(year, month, 15)))
    db.session.add_all(rows)
    return f"bills {len(rows)}"
