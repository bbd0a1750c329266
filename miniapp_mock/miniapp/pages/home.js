// 首页: who and where I am, notices that need me (the notice board, votes open,
// arrears, new messages) and the shortcuts residents use most.

import { h, icon, loading } from "../../shared/dom.js";
import { money, remaining, roomLabel, shortDateTime } from "../../shared/format.js";
import { api, hasRole, linkToRoute, loadMe } from "../core.js";

const SHORTCUTS = [
  { href: "#/report", text: "报事报修", icon: "wrench", tone: "green" },
  { href: "#/tickets", text: "我的工单", icon: "ticket", tone: "blue" },
  { href: "#/bills", text: "物业缴费", icon: "bill", tone: "orange" },
  { href: "#/fund", text: "维修资金", icon: "fund", tone: "purple" },
  { href: "#/chat", text: "在线客服", icon: "chat", tone: "teal" },
  { href: "#/notifications", text: "消息通知", icon: "bell", tone: "red" },
];

function notice(href, tag, text, sub, tone = "green") {
  return h("a", { class: "notice-item", href },
    h("span", { class: ["tag", `tag-${tone}`], text: tag }),
    h("span", { class: "notice-main" }, h("span", { class: "notice-text", text }),
      sub ? h("span", { class: "notice-sub", text: sub }) : null),
    h("span", { class: "cell-arrow", "aria-hidden": "true", text: "›" }));
}

async function quietly(promise) {
  try {
    return await promise;
  } catch (error) {
    if (error && error.name === "AbortError") throw error;
    return null;
  }
}

export default async function render(ctx) {
  const me = await loadMe();
  const rooms = me.rooms || [];
  const hero = h("section", { class: "home-hero" },
    h("p", { class: "hero-hello" }, `${me.name || "您"}，您好`,
      hasRole(me, "committee") ? h("span", { class: "tag tag-light", text: "业委会委员" }) : null),
    rooms.length
      ? h("p", { class: "hero-room", text: `${rooms[0].community || ""} ${rooms.map(roomLabel).join("、")}` })
      : h("a", { class: "btn btn-light btn-small", href: "#/bind" }, "绑定房屋，开始使用"));
  const grid = h("nav", { class: "shortcut-grid", "aria-label": "常用服务" },
    SHORTCUTS.map((s) => h("a", { class: "shortcut", href: s.href },
      h("span", { class: ["shortcut-icon", `tone-${s.tone}`] }, icon(s.icon)),
      h("span", { class: "shortcut-text", text: s.text }))));
  const notices = h("div", { class: "notice-list" }, loading());
  ctx.el.append(hero, grid,
    h("section", { class: "card", "aria-labelledby": "home-notices" },
      h("h2", { class: "card-title", id: "home-notices", text: "通知公告" }), notices));

  const opts = { signal: ctx.signal };
  const [board, proposals, bills, notes] = await Promise.all([
    rooms.length ? quietly(api.get("/api/v1/notices", { limit: 5 }, opts)) : null,
    quietly(api.get("/api/v1/fund-proposals", { limit: 20 }, opts)),
    rooms.length ? quietly(api.get("/api/v1/fees/bills", undefined, opts)) : null,
    quietly(api.get("/api/v1/notifications", { limit: 3 }, opts)),
  ]);
  const items = [];
  // The notice board first: pinned and newest, unread ones marked.
  for (const n of (board && board.items) || []) {
    items.push(notice(`#/notices/${n.id}`, n.read ? n.category_label : `未读·${n.category_label}`, n.title,
      `${shortDateTime(n.publish_at)}${n.pinned ? " · 置顶" : ""}`, n.read ? "gray" : "red"));
  }
  if (board && board.items.length) {
    items.push(h("a", { class: "notice-more", href: "#/notices", id: "home-all-notices",
      text: board.unread ? `全部公告（${board.unread} 条未读）›` : "全部公告 ›" }));
  }
  for (const p of (proposals && proposals.items) || []) {
    if (p.status !== "voting") continue;
    items.push(notice(`#/fund/${p.id}`, "表决", p.title,
      `${p.rule_label} · ${remaining(p.closes_at)}${p.rule === "objection" ? " · 可提出异议" : ""}`, "purple"));
  }
  if (bills && bills.arrears_yuan && Number(bills.arrears_yuan) > 0) {
    items.push(notice("#/bills", "欠费", `您有逾期未缴物业费 ${money(bills.arrears_yuan)}`, "点击查看账单明细", "orange"));
  }
  for (const n of (notes && notes.items) || []) {
    if (String(n.kind).startsWith("notice_") && board) continue; // the board above shows it
    const route = linkToRoute(n.link) || "/notifications";
    items.push(notice(`#${route}`, n.read ? "消息" : "新消息", n.title, shortDateTime(n.created_at), n.read ? "gray" : "red"));
  }
  notices.replaceChildren(...(items.length ? items : [h("p", { class: "empty", text: "暂无新的通知公告" })]));
}
