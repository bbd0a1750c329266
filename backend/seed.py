"""The demo community (``flask seed-demo``). Idempotent: each part checks what is
already there, so running it again (``make demo`` does on every start) changes
nothing. Feature modules add their own demo data through ``SEED_HOOKS``."""
from __future__ import annotations

import importlib
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

from sqlalchemy import or_, select, update

from backend.extensions import db
from backend.models import (
    Bill,
    Community,
    FundLedgerEntry,
    FundProposal,
    OwnerOfRecord,
    Role,
    Room,
    RoomBinding,
    RoomKind,
    User,
    utcnow,
)
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
SEED_HOOKS.append("backend.seed:seed_demo_fund")
SEED_HOOKS.append("backend.seed:seed_demo_tickets")
SEED_HOOKS.append("backend.seed:seed_demo_chat")
SEED_HOOKS.append("backend.services.notices.demo:seed_demo_notices")


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


def seed_demo_chat(community: Community) -> str:
    """李娜 asked the bot about her fee and then for a person, so the desk console has
    someone in its queue. Idempotent."""
    from backend.services.chat import conversation_for, record_resident_message

    user = db.session.scalar(select(User).where(User.openid == "demo-li"))
    if user is None or conversation_for(user, create=False) is not None:
        return ""
    for text in ("你好", "物业费多少钱", "我要找物业的人"):
        record_resident_message(user, text)
    return "chat 1 waiting"


# --- tickets (报事报修): a few in each state, with their timelines
DEMO_TICKETS = [
    # (openid, room, kind, status, urgent, description, location, hours ago, rating)
    ("demo-wang", ("1", "1", "201"), "home_repair", "in_progress", False,
     "卫生间洗手盆下水管漏水，地面一直有积水", "卫生间", 5, None),
    ("demo-wang", ("1", "1", "202"), "home_repair", "resolved", False,
     "客厅插座没电，空气开关推不上去", "客厅", 30, None),
    ("demo-li", ("1", "1", "102"), "complaint", "submitted", False,
     "楼上每天晚上十一点以后还在装修，噪音很大，影响休息", "1栋1单元", 2, None),
    ("demo-li", ("1", "1", "102"), "home_repair", "closed", False,
     "厨房水龙头关不紧，一直滴水", "厨房", 120, 5),
    ("demo-zhang", ("1", "1", "101"), "common_repair", "accepted", False,
     "1栋1单元3楼楼道灯不亮", "1栋1单元3楼楼道", 1, None),
    ("demo-chen", ("2", "1", "101"), "common_repair", "submitted", True,
     "2栋电梯停在5楼不动，门打不开", "2栋1号电梯", 0, None),
]


def seed_demo_tickets(community: Community) -> str:
    """The demo tickets, each walked through the state machine to its status by the
    desk and an engineer (idempotent: a ticket is created once, by its text)."""
    from backend.models import Ticket, TicketKind, TicketStatus
    from backend.rules import ticket_states as rules
    from backend.rules.ticket_states import ACTION_EVENTS
    from backend.services.rooms import find_room
    from backend.services.tickets.service_levels import service_levels
    from backend.services.tickets.timeline import record

    S = TicketStatus
    levels = service_levels()
    engineer = db.session.scalar(select(User).where(User.username == "engineer"))
    desk = db.session.scalar(select(User).where(User.username == "desk"))
    created = 0
    now = utcnow()
    for openid, (building, unit, number), kind, status, urgent, text, where, hours, rating in DEMO_TICKETS:
        reporter = db.session.scalar(select(User).where(User.openid == openid))
        room = find_room(community.id, building, unit, number)
        if reporter is None or room is None:
            continue
        exists = db.session.scalar(select(Ticket.id).where(
            Ticket.community_id == community.id, Ticket.reporter_id == reporter.id,
            Ticket.description == text))
        if exists is not None:
            continue
        at = now - timedelta(hours=hours, minutes=10)
        accept_due, due = rules.due_times(kind, urgent, at, levels)
        ticket = Ticket(community_id=community.id, reporter_id=reporter.id,
                        room_id=room.id if kind in ("home_repair", "complaint") else None,
                        kind=TicketKind(kind), status=S.submitted, urgent=urgent, description=text,
                        location=where, created_at=at, updated_at=at, accept_due_at=accept_due,
                        due_at=due)
        db.session.add(ticket)
        db.session.flush()
        record(ticket, "created", reporter, None, S.submitted, None, None, at=at)
        path = ["accept", "assign", "start", "resolve"]
        stop = {"submitted": 0, "accepted": 1, "assigned": 2, "in_progress": 3,
                "resolved": 4, "closed": 4}[status]
        step_at = at
        current = S.submitted
        for action in path[:stop]:
            step_at = step_at + timedelta(minutes=12 if action == "accept" else 40)
            actor = desk if action in ("accept", "assign") else engineer
            target = rules.RULES[action].target
            if action == "accept":
                ticket.accepted_at = step_at
            if action == "assign":
                ticket.assignee_id = engineer.id if engineer else None
            if action == "resolve":
                ticket.resolved_at = step_at
            record(ticket, ACTION_EVENTS[action], actor, current, target, None,
                   {"assignee_id": ticket.assignee_id} if action == "assign" else None, at=step_at)
            current = target
        if status == "closed" and rating:
            step_at = step_at + timedelta(hours=2)
            ticket.rating, ticket.rating_comment, ticket.rated_at = rating, "师傅很专业，谢谢！", step_at
            ticket.closed_at = step_at
            record(ticket, "rated", reporter, current, S.closed, ticket.rating_comment,
                   {"score": rating}, at=step_at)
            current = S.closed
        ticket.status = current
        ticket.updated_at = step_at
        created += 1
    db.session.flush()
    return f"tickets {created}" if created else ""


# --- maintenance fund (维修资金): the ledger, one open vote, and past decisions of
# each rule and outcome (so the pages show every kind)
DEMO_FUND_LEDGER = """ref,date,building,direction,amount_yuan,description
WX-2019-001,2019-06-30,1,in,1245600.00,首期维修资金归集（1栋）
WX-2019-002,2019-06-30,2,in,1198300.00,首期维修资金归集（2栋）
WX-2019-003,2019-06-30,3,in,356800.00,首期维修资金归集（3栋）
WX-2019-004,2019-06-30,商业,in,93900.00,首期维修资金归集（商业）
WX-2023-101,2023-12-31,,in,21563.18,2023年度维修资金利息
WX-2024-017,2024-08-15,2,out,36500.00,2栋生活水泵更换（应急使用）
WX-2024-101,2024-12-31,,in,22104.76,2024年度维修资金利息
WX-2025-023,2025-04-20,3,out,58200.00,3栋屋面防水维修（表决通过）
"""
DEMO_FUND_TITLE = "1栋电梯整体更换"


def _utc(*args) -> datetime:
    return datetime(*args, tzinfo=timezone.utc)


def seed_demo_fund(community: Community) -> str:
    """The fund ledger; the open objection vote on building 1's lifts (closing in 10
    days); and, decided in the past, an emergency use (2栋水泵, approved), an
    objection vote (3栋屋面, passed), a community-wide vote that lacked a quorum, and
    a draft under the 3/4 rule. Past decisions are marked as already told to the
    owners. Idempotent: each proposal is looked up by title first."""
    from backend.services import fund as fund_service
    from backend.services.fund import demo as fund_demo
    from backend.services.fund_ledger import import_fund_ledger

    result = import_fund_ledger(community, DEMO_FUND_LEDGER)
    summary = [f"fund ledger entries {result.created}"] if result.created else []
    users = {u.openid or u.username: u for u in db.session.scalars(select(User).where(or_(
        User.openid.in_(["demo-zhang", "demo-li", "demo-wang", "demo-liu", "demo-chen"]),
        User.username == "manager")))}
    zhang = users.get("demo-zhang")
    if zhang is None:
        return ", ".join(summary)

    def exists(title: str) -> bool:
        return db.session.scalar(select(FundProposal.id).where(
            FundProposal.community_id == community.id, FundProposal.title == title)) is not None

    def draft(title, description, amount, scope, rule, now, **extra) -> FundProposal:
        return fund_service.create_proposal(zhang, {
            "community": community.name, "title": title, "description": description,
            "amount_yuan": Decimal(amount), "scope": scope, "rule": rule, **extra}, now=now)

    created = []
    if not exists(DEMO_FUND_TITLE):
        now = utcnow()
        proposal = draft(DEMO_FUND_TITLE, (
            "1栋两部电梯已运行18年，年检多次提出整改意见。拟整体更换为同品牌新型号电梯，"
            "费用由1栋全体业主按专有部分面积分摊，从1栋维修资金账户列支。"
            "报价单和施工方案可在物业服务中心查阅。"), "860000.00", {"buildings": ["1"]},
            "objection", now, closes_at=now + timedelta(days=10))
        fund_demo.publish_and_start(zhang, proposal.id, at=now)
        created.append("open")
    title = "2栋生活水泵更换"
    if not exists(title) and "manager" in users:
        at = _utc(2024, 8, 10, 2, 0)
        proposal = draft(title, "2栋生活水泵损坏导致高层停水，按应急程序更换水泵一台。", "36500.00",
                         {"buildings": ["2"]}, "emergency", at,
                         emergency_case="water_supply_failure")
        fund_service.sign_proposal(zhang, proposal.id, now=at)
        fund_service.sign_proposal(users["manager"], proposal.id, now=at + timedelta(hours=1))
        proposal.result_notified_at = at + timedelta(hours=1)
        db.session.execute(update(FundLedgerEntry).where(
            FundLedgerEntry.community_id == community.id, FundLedgerEntry.ref == "WX-2024-017")
            .values(proposal_id=proposal.id))
        created.append("approved")
    title = "3栋屋面防水维修"
    if not exists(title):
        opened = _utc(2025, 3, 25, 1, 0)
        proposal = draft(title, "3栋屋面防水层老化，顶层多户渗漏，拟整体翻新防水层。", "58200.00",
                         {"buildings": ["3"]}, "objection", opened,
                         closes_at=_utc(2025, 4, 10, 10, 0))
        _decide(fund_service, zhang, proposal, opened, {})
        db.session.execute(update(FundLedgerEntry).where(
            FundLedgerEntry.community_id == community.id, FundLedgerEntry.ref == "WX-2025-023")
            .values(proposal_id=proposal.id))
        created.append("passed")
    title = "小区监控系统升级"
    if not exists(title):
        opened = _utc(2025, 9, 1, 1, 0)
        proposal = draft(title, "更换小区全部监控摄像头并扩容存储，费用由全体业主按面积分摊。",
                         "128000.00", {"community": True}, "civil_code_use", opened,
                         closes_at=_utc(2025, 9, 30, 10, 0))
        _decide(fund_service, zhang, proposal, opened, {
            users.get("demo-zhang"): "approve", users.get("demo-wang"): "approve",
            users.get("demo-chen"): "oppose", users.get("demo-liu"): "abstain"})
        created.append("no quorum")
    title = "续筹1栋维修资金"
    if not exists(title):
        now = utcnow()
        draft(title, "1栋维修资金余额不足首期归集的30%，拟按专有部分面积续筹。", "300000.00",
              {"buildings": ["1"]}, "civil_code_major", now, closes_at=now + timedelta(days=30))
        created.append("draft")
    if created:
        summary.append("fund proposals: " + ", ".join(created))
    return ", ".join(summary)


def _decide(fund_service, opener: User, proposal: FundProposal, opened: datetime,
            ballots: dict) -> None:
    """Open a past vote, cast its ballots, close it at its deadline (as the job
    would have), and mark the owners as told back then."""
    from backend.services.fund import demo as fund_demo
    from backend.services.fund_ballots import cast_ballot

    fund_demo.publish_and_start(opener, proposal.id, at=opened)
    for index, (user, choice) in enumerate(ballots.items(), start=1):
        if user is None:
            continue
        room = next(b.room_id for b in user.bindings if b.relation == Role.owner)
        cast_ballot(user, proposal.id, room, choice, now=opened + timedelta(days=index))
    fund_service.close_voting(proposal.id, now=proposal.closes_at + timedelta(minutes=1))
    fund_demo.finalise_at_query_end(opener, proposal.id)
    proposal.open_notified_at = opened
    proposal.result_notified_at = proposal.closes_at
