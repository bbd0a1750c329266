"""Labels for codes whose own modules have none: the roles people hold, the states
of a chat conversation, the bot's intents and the states of online payments. Every other label is defined beside
its rule (backend/rules/ticket_states.py, backend/rules/fund_rules.py, the models'
ROOM_KIND_LABELS); ``GET /api/v1/labels`` (backend/routes/labels.py) serves them all.
"""
from __future__ import annotations

ROLE_LABELS: dict[str, str] = {
    "owner": "业主",
    "family": "家庭成员",
    "tenant": "租户",
    "desk": "前台客服",
    "engineer": "维修工程师",
    "manager": "项目经理",
    "committee": "业委会委员",
    "admin": "管理员",
}

CONVERSATION_STATE_LABELS: dict[str, str] = {
    "bot": "机器人接待",
    "waiting": "等待人工",
    "open": "人工服务中",
}

# The intents of BOT_INTENTS.md (backend/bot/rules.yaml names their rules).
INTENT_LABELS: dict[str, str] = {
    "greeting": "问候",
    "fee.amount": "物业费金额",
    "fee.arrears": "欠费查询",
    "fee.standard": "收费标准",
    "fee.payment": "缴费方式",
    "fee.invoice": "发票收据",
    "fee.relief": "物业费减免",
    "fund.rule": "维修资金规则",
    "fund.balance": "维修资金余额",
    "fund.vote": "维修资金表决",
    "notice.recent": "公告通知",
    "repair.report": "报事报修",
    "repair.status": "维修进度",
    "complaint": "投诉",
    "policy.decoration": "装修规定",
    "policy.pet": "宠物规定",
    "policy.parking": "停车规定",
    "policy.garbage": "垃圾分类",
    "service.hours": "服务时间",
    "human": "转人工",
    "unknown": "未识别",
}


# Online payments (services/payments): an order, its refunds, an invoice request.
ORDER_STATUS_LABELS: dict[str, str] = {"pending": "待支付", "paid": "已支付", "closed": "已关闭"}
REFUND_STATUS_LABELS: dict[str, str] = {"processing": "退款中", "success": "已退款", "failed": "退款失败"}
INVOICE_STATUS_LABELS: dict[str, str] = {"requested": "待开票", "issued": "已开票", "rejected": "已退回"}
