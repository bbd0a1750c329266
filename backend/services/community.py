"""Communities, their settings, fee standards and policy texts."""
from __future__ import annotations

from decimal import Decimal, InvalidOperation

from sqlalchemy import select

from backend.errors import AppError, NotFound
from backend.extensions import db
from backend.models import Community, FeeStandard, PolicyText, RoomKind

# Shown by the bot and the pages; staff edit them per community.
DEFAULT_SETTINGS: dict = {
    "office_hours": "周一至周日 8:30-18:00（节假日照常值班）",
    "office_phone": "0571-00000000",
    "emergency_phone": "0571-00000001（24小时）",
    "office_address": "小区南门物业服务中心",
    "payment_methods": [
        "小程序“缴费”页面在线缴纳（微信支付）",
        "物业服务中心前台刷卡或扫码缴纳",
        "银行转账（请备注楼栋房号）",
    ],
    "payment_due_day": 15,
    "invoice_procedure": (
        "缴费后可在物业服务中心前台或通过本小程序联系客服申请电子发票；"
        "开具增值税普通发票，抬头可为个人或单位（单位需提供税号），一般3个工作日内发送到您的邮箱。"
        "纸质收据可在前台当场领取。"
    ),
    # Maintenance-fund decisions (services/fund/settings.py reads and sets them, within
    # the bounds of rules/fund_rules.py): the objection rule's threshold and basis, the
    # shortest objection window and civil-code voting window, and the shortest
    # publicity of a result (days).
    "fund_publicity_days": 7,
    "objection_threshold": "1/3",
    "objection_basis": "either",
    "fund_objection_days": 7,
    "fund_vote_days": 7,
}

DEFAULT_POLICIES: dict[str, tuple[str, str]] = {
    "decoration": (
        "装修管理规定",
        "装修前请业主持房产证明、装修方案到物业服务中心办理装修申请，签订装修管理协议，"
        "缴纳装修押金2000元（验收合格、无违规后全额退还，一般在验收后15个工作日内退还）。"
        "施工时间：工作日8:00-12:00、14:00-18:00；周六、周日及法定节假日不得进行电钻、"
        "电锤等产生噪音的施工。严禁拆改承重墙、剪力墙、梁柱和外墙，严禁改变燃气管道位置。"
        "装修垃圾须袋装后运至指定地点。",
    ),
    "pet": (
        "宠物饲养规定",
        "饲养犬只须依法办理养犬登记并按时年检、接种狂犬疫苗，每户限养一只犬。"
        "出户须束犬链（长度不超过1.5米）、由成年人牵领，主动避让老人和儿童；"
        "禁止饲养烈性犬、大型犬。宠物粪便请主人立即清理。禁止在公共区域饲养家禽家畜。",
    ),
    "parking": (
        "停车管理规定",
        "小区车位可租可售，月租车位请到物业服务中心登记（需行驶证、身份证），"
        "月租费以公示价格为准。外来车辆须在门岗登记，临时停车前30分钟免费，之后按公示标准收费。"
        "消防通道严禁停车。电动自行车请在指定车棚集中充电，严禁进楼入户、飞线充电。",
    ),
    "garbage": (
        "垃圾分类与清运",
        "生活垃圾分四类：厨余垃圾、可回收物、有害垃圾、其他垃圾，请分类后投放到楼下分类桶。"
        "定时投放时间：每天7:00-9:00、18:00-20:00；清运时间为每天上午和晚上各一次。"
        "旧家具、大件垃圾请联系物业预约，放到指定的大件垃圾堆放点；装修垃圾另行清运。",
    ),
    "hours": (
        "物业服务时间",
        "物业服务中心办公时间为周一至周日8:30-18:00，节假日照常值班；"
        "24小时值班电话处理紧急报修（漏水、停电、电梯困人、燃气异味等）。",
    ),
}


def get_or_create_community(name: str) -> tuple[Community, bool]:
    community = db.session.scalar(select(Community).where(Community.name == name))
    if community is not None:
        return community, False
    community = Community(name=name, settings=dict(DEFAULT_SETTINGS))
    db.session.add(community)
    db.session.flush()
    for topic, (title, body) in DEFAULT_POLICIES.items():
        db.session.add(PolicyText(community_id=community.id, topic=topic, title=title, body=body))
    db.session.flush()
    return community, True


def resolve_community(name: str | None, *, create: bool = False) -> Community:
    """The named community, or the only one when no name is given."""
    if name:
        if create:
            return get_or_create_community(name)[0]
        community = db.session.scalar(select(Community).where(Community.name == name))
        if community is None:
            raise NotFound(f"找不到小区：{name}", code="community_not_found")
        return community
    communities = db.session.scalars(select(Community).limit(2)).all()
    if len(communities) == 1:
        return communities[0]
    if not communities:
        raise NotFound("还没有任何小区，请先导入台账", code="community_not_found")
    raise AppError("存在多个小区，请指定小区名称", code="community_required", status=400)


def setting(community: Community, key: str):
    return (community.settings or {}).get(key, DEFAULT_SETTINGS.get(key))


def set_fee(community: Community, kind: str, price: str | Decimal) -> FeeStandard:
    try:
        room_kind = RoomKind(kind)
    except ValueError as exc:
        raise AppError(f"未知的房屋类型：{kind}", code="invalid_kind") from exc
    try:
        value = Decimal(str(price))
    except InvalidOperation as exc:
        raise AppError(f"单价格式有误：{price}", code="invalid_price") from exc
    if value < 0 or value != value.quantize(Decimal("0.01")):
        raise AppError("单价须为不小于0、最多两位小数的金额", code="invalid_price")
    standard = db.session.scalar(
        select(FeeStandard).where(FeeStandard.community_id == community.id,
                                  FeeStandard.kind == room_kind)
    )
    if standard is None:
        standard = FeeStandard(community_id=community.id, kind=room_kind, unit_price=value)
        db.session.add(standard)
    else:
        standard.unit_price = value
    db.session.flush()
    return standard


def community_by_id(community_id: int) -> Community | None:
    return db.session.get(Community, community_id)


def only_community() -> Community | None:
    """The community when there is exactly one (``resolve_community(None)``), else None."""
    communities = db.session.scalars(select(Community).limit(2)).all()
    return communities[0] if len(communities) == 1 else None


def fee_standards(community: Community) -> list[FeeStandard]:
    """The community's published fee standards (收费标准)."""
    return list(db.session.scalars(select(FeeStandard).where(
        FeeStandard.community_id == community.id).order_by(FeeStandard.kind)))


def policy(community: Community, topic: str) -> PolicyText | None:
    """The community's policy text on ``topic``, or None."""
    return db.session.scalar(select(PolicyText).where(
        PolicyText.community_id == community.id, PolicyText.topic == topic))
