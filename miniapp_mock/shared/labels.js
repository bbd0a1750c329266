// Chinese names for the API's codes. Unknown codes show as they are, so a new
// status from the server is still readable.

export const TICKET_STATUS = {
  submitted: "待受理",
  accepted: "已受理",
  assigned: "已派单",
  in_progress: "处理中",
  resolved: "已完成",
  closed: "已关闭",
  cancelled: "已取消",
  rejected: "已驳回",
};

export const TICKET_KIND = {
  home_repair: "室内报修",
  common_repair: "公共报修",
  complaint: "投诉",
  suggestion: "建议",
  inquiry: "咨询",
};

export const TICKET_ACTION = {
  accept: "受理",
  assign: "派单",
  start: "开始处理",
  resolve: "处理完成",
  reopen: "重新处理",
  cancel: "取消工单",
  reject: "驳回",
  close: "关闭",
  follow_up: "回访",
};

export const TICKET_EVENT = {
  created: "提交工单",
  submitted: "提交工单",
  submit: "提交工单",
  accept: "已受理",
  accepted: "已受理",
  assign: "已派单",
  assigned: "已派单",
  start: "开始处理",
  started: "开始处理",
  in_progress: "开始处理",
  resolve: "处理完成",
  resolved: "处理完成",
  reopen: "重新处理",
  reopened: "业主反馈未修好，重新处理",
  cancel: "已取消",
  cancelled: "已取消",
  reject: "已驳回",
  rejected: "已驳回",
  close: "已关闭",
  closed: "已关闭",
  auto_close: "超时自动关闭",
  auto_closed: "超时自动关闭",
  follow_up: "回访",
  followed_up: "已回访",
  rate: "业主评价",
  rated: "已评价",
  photos_added: "上传照片",
  rating: "业主评价",
  escalate: "超时升级",
  escalated: "超时升级",
  overdue: "已超时",
  photo: "上传照片",
  comment: "备注",
  note: "备注",
  status: "状态变更",
};

export const ROLE = {
  owner: "业主",
  family: "家庭成员",
  tenant: "租户",
  desk: "前台客服",
  engineer: "维修工程师",
  manager: "项目经理",
  committee: "业委会委员",
  admin: "管理员",
};

export const FUND_RULE = {
  objection: "否定表决",
  civil_code_use: "双三分之二表决（使用维修资金）",
  civil_code_major: "双四分之三表决（筹集、改建重建）",
  emergency: "应急使用",
};

export const FUND_RULE_HELP = {
  objection: "公示期内业主可提出异议；提出异议的业主（按面积或人数）不超过三分之一即视为同意。不表态不算异议。",
  civil_code_use: "《民法典》第二百七十八条：专有面积和人数均占三分之二以上的业主参与表决，经参与表决专有面积过半数且参与表决人数过半数的业主同意即通过。",
  civil_code_major: "《民法典》第二百七十八条：专有面积和人数均占三分之二以上的业主参与表决，经参与表决专有面积四分之三以上且参与表决人数四分之三以上的业主同意即通过。",
  emergency: "属于规定的应急情形，无需表决，经业委会委员与项目经理共同签字后使用，并向范围内业主公示用途和费用。",
};

export const FUND_STATUS = {
  draft: "草稿",
  scheduled: "待开始",
  pending_signatures: "待签字",
  signing: "待签字",
  voting: "表决中",
  open: "表决中",
  closed: "已结束",
  passed: "已通过",
  approved: "已通过",
  rejected: "未通过",
  no_quorum: "未达参与人数",
  cancelled: "已撤销",
  published: "已公示",
};

export const FUND_CHOICE = {
  object: "提出异议",
  approve: "同意",
  oppose: "反对",
  abstain: "弃权",
};

export const FUND_OUTCOME = {
  pending: "表决进行中",
  passed: "通过",
  rejected: "未通过",
  no_quorum: "参与表决的业主未达到法定比例",
};

export const EMERGENCY_CASE = {
  roof_wall_leak: "屋面、外墙防水损坏造成渗漏",
  lift_failure: "电梯故障危及人身安全或被责令停止运行",
  water_supply_failure: "高层供水水泵或供水主管损坏导致停水",
  facade_falling: "楼体外立面存在脱落危险",
  drain_failure: "排水设施堵塞、爆裂或塌陷",
  fire_system_order: "消防设施经消防部门责令限期整改",
};

export const CONVERSATION_STATE = {
  bot: "机器人接待",
  waiting: "等待人工",
  open: "人工服务中",
  closed: "已结束",
};

export const BOT_INTENT = {
  greeting: "问候",
  "fee.amount": "物业费金额",
  "fee.arrears": "欠费查询",
  "fee.standard": "收费标准",
  "fee.payment": "缴费方式",
  "fee.invoice": "发票收据",
  "fund.rule": "维修资金规则",
  "fund.balance": "维修资金余额",
  "fund.vote": "维修资金表决",
  "repair.report": "报事报修",
  "repair.status": "维修进度",
  complaint: "投诉",
  "policy.decoration": "装修规定",
  "policy.pet": "宠物规定",
  "policy.parking": "停车规定",
  "policy.garbage": "垃圾分类",
  "service.hours": "服务时间",
  human: "转人工",
  unknown: "未识别",
};

export function label(table, code) {
  if (code === null || code === undefined) return "";
  return table[code] || String(code);
}
