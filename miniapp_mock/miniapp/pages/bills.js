// 物业缴费: arrears and unpaid bills per room, each room's monthly fee worked out
// from the published standard (area × unit price), and the standard itself.

import { h, loading } from "../../shared/dom.js";
import { area, date, money, multiplyMoney, roomLabel } from "../../shared/format.js";
import { api, loadMe } from "../core.js";

function billRow(bill) {
  const outstanding = Number(bill.outstanding_yuan) > 0;
  const state = !outstanding ? ["已缴", "green"] : bill.overdue ? ["逾期", "red"] : ["待缴", "orange"];
  return h("li", { class: "bill-row" },
    h("div", { class: "bill-main" },
      h("span", { class: "bill-period", text: bill.period }),
      h("span", { class: "bill-due", text: `缴费截止 ${date(bill.due_date)}` })),
    h("div", { class: "bill-side" },
      h("span", { class: "bill-amount", text: money(bill.amount_yuan) }),
      outstanding ? h("span", { class: "bill-owed", text: `未缴 ${money(bill.outstanding_yuan)}` }) : null,
      h("span", { class: ["tag", `tag-${state[1]}`], text: state[0] })));
}

export default async function render(ctx) {
  const me = await loadMe();
  const rooms = me.rooms || [];
  if (!rooms.length) {
    ctx.el.append(h("div", { class: "empty" }, "绑定房屋后可查看账单。", h("a", { href: "#/bind", class: "link" }, "去绑定")));
    return;
  }
  ctx.el.append(loading());
  const [bills, standards] = await Promise.all([
    api.get("/api/v1/fees/bills", undefined, { signal: ctx.signal }),
    api.get("/api/v1/fees/standards", rooms[0].community ? { community: rooms[0].community } : undefined, { signal: ctx.signal }),
  ]);
  if (!ctx.isCurrent()) return;
  const prices = Object.fromEntries(standards.items.map((s) => [s.kind, s]));
  const arrears = Number(bills.arrears_yuan) > 0;

  const summary = h("section", { class: ["bill-summary", arrears ? "has-arrears" : null] },
    h("p", { class: "bill-summary-label", text: arrears ? "逾期欠费" : "待缴金额" }),
    h("p", { class: "bill-summary-amount", id: "arrears-amount", text: money(arrears ? bills.arrears_yuan : bills.outstanding_yuan) }),
    h("p", { class: "bill-summary-sub", text: arrears
      ? `全部未缴 ${money(bills.outstanding_yuan)}，请尽快缴纳`
      : Number(bills.outstanding_yuan) > 0 ? "本期账单未到截止日" : "已全部缴清，感谢您的支持" }),
    h("a", { class: "btn btn-light btn-small", href: `#/chat?ask=${encodeURIComponent("物业费怎么缴纳")}` }, "如何缴费"));

  const sections = rooms.map((room) => {
    const items = bills.items.filter((b) => b.room_id === room.id).sort((a, b) => b.period.localeCompare(a.period));
    const std = prices[room.kind];
    const fee = std ? multiplyMoney(room.area_m2, std.unit_price_yuan) : "";
    return h("section", { class: "card" },
      h("h2", { class: "card-title" }, roomLabel(room), h("span", { class: "card-extra", text: area(room.area_m2) })),
      std ? h("p", { class: "fee-formula", text: `月物业费 = ${room.area_m2}㎡ × ${money(std.unit_price_yuan)}/㎡·月（${std.label}）= ${money(fee)}` }) : null,
      items.length ? h("ul", { class: "bill-list" }, items.map(billRow)) : h("p", { class: "empty", text: "暂无账单" }));
  });

  ctx.el.replaceChildren(summary, ...sections,
    h("section", { class: "card" },
      h("h2", { class: "card-title", text: `收费标准公示 · ${standards.community}` }),
      h("table", { class: "table" },
        h("thead", {}, h("tr", {}, h("th", { scope: "col", text: "物业类型" }), h("th", { scope: "col", text: "单价" }))),
        h("tbody", {}, standards.items.map((s) => h("tr", {}, h("td", { text: s.label }), h("td", { text: `${money(s.unit_price_yuan)} ${s.unit}` })))))));
}
