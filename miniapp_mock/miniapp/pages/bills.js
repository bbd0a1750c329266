// 物业缴费: arrears and unpaid bills per room, each room's monthly fee worked out
// from the published standard (area × unit price), and the standard itself. Unpaid
// bills can be selected (one, several, all) and paid: the server makes the order
// from its own amounts; in this mock, where wx.requestPayment does not exist, a
// confirmation drives the development stand-in (the server posts itself the signed
// notice), then the receipt opens. 如何缴费 asks the bot here and shows its answer.
// `#/bills?room=ID` (the bot's 去缴费) puts that room first with its overdue bills
// (or, with none overdue, its unpaid ones) already picked.

import { h, loading } from "../../shared/dom.js";
import { area, date, money, multiplyMoney, roomLabel } from "../../shared/format.js";
import { api, loadMe } from "../core.js";

function billRow(bill, selectable) {
  const outstanding = Number(bill.outstanding_yuan) > 0;
  const pick = outstanding && selectable
    ? h("input", { type: "checkbox", class: "bill-pick", "data-bill": String(bill.id), "aria-label": `选择 ${bill.period}` })
    : null;
  const state = !outstanding ? ["已缴", "green"] : bill.overdue ? ["逾期", "red"] : ["待缴", "orange"];
  return h("li", { class: "bill-row" }, pick,
    h("div", { class: "bill-main" },
      h("span", { class: "bill-period", text: bill.period }),
      h("span", { class: "bill-due", text: `缴费截止 ${date(bill.due_date)}` })),
    h("div", { class: "bill-side" },
      h("span", { class: "bill-amount", text: money(bill.amount_yuan) }),
      outstanding ? h("span", { class: "bill-owed", text: `未缴 ${money(bill.outstanding_yuan)}` }) : null,
      h("span", { class: ["tag", `tag-${state[1]}`], text: state[0] })));
}

export default async function render(ctx) {
  const me = await loadMe({ fresh: true }); // the owner may have just allowed bills
  const bound = me.rooms || [];
  if (!bound.length) {
    ctx.el.append(h("div", { class: "empty" }, "绑定房屋后可查看账单。", h("a", { href: "#/bind", class: "link" }, "去绑定")));
    return;
  }
  const rooms = bound.filter((room) => room.bills_visible);
  if (!rooms.length) {
    ctx.el.append(h("div", { class: "empty", id: "bills-not-shared" },
      "业主尚未向您开放本房屋的账单。如需了解或缴纳物业费，请联系业主在“我的房屋”中为您开启。"));
    return;
  }
  ctx.el.append(loading());
  const [bills, standards, payments] = await Promise.all([
    api.get("/api/v1/fees/bills", undefined, { signal: ctx.signal }),
    api.get("/api/v1/fees/standards", rooms[0].community ? { community: rooms[0].community } : undefined, { signal: ctx.signal }),
    api.get("/api/v1/payments/status", undefined, { signal: ctx.signal }),
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
    h("button", { type: "button", class: "btn btn-light btn-small", id: "how-to-pay", onclick: howToPay }, "如何缴费"));
  const howAnswer = h("p", { class: "bill-answer", id: "how-to-pay-answer", hidden: true });
  summary.append(howAnswer);
  async function howToPay() {
    howAnswer.hidden = false;
    howAnswer.textContent = "正在查询…";
    try {
      const reply = await api.post("/api/v1/bot/ask", { text: "物业费怎么缴纳" });
      howAnswer.textContent = reply.answer;
    } catch (err) {
      howAnswer.textContent = err.message || "暂时无法查询，请稍后再试";
    }
  }
  async function pay(room, ids, status) {
    if (!ids.length) { status.textContent = "请先勾选要缴纳的账单"; return; }
    status.textContent = "正在创建订单…";
    try {
      const order = await api.post("/api/v1/payments/orders", { room_id: room.id, bill_ids: ids });
      if (!order.standin) { status.textContent = "请在微信小程序中完成支付"; return; }
      const ok = window.confirm(`演示环境：确认支付 ${money(order.amount_yuan)}？（模拟微信支付）`);
      if (!ok) { status.textContent = "已取消支付，订单将在超时后自动关闭"; return; }
      const paid = await api.post(`/api/v1/payments/orders/${order.id}/dev-confirm`, {});
      location.hash = `#/receipt?id=${paid.id}`;
    } catch (err) {
      status.textContent = err.message || "支付失败，请稍后再试";
    }
  }

  const focus = Number(ctx.query.room) || null;
  const ordered = focus ? [...rooms].sort((a, b) => (b.id === focus) - (a.id === focus)) : rooms;
  const sections = ordered.map((room) => {
    const items = bills.items.filter((b) => b.room_id === room.id).sort((a, b) => b.period.localeCompare(a.period));
    const std = prices[room.kind];
    const fee = std ? multiplyMoney(room.area_m2, std.unit_price_yuan) : "";
    const unpaid = items.filter((b) => Number(b.outstanding_yuan) > 0);
    const canPay = payments.enabled && unpaid.length > 0;
    const list = items.length ? h("ul", { class: "bill-list" }, items.map((b) => billRow(b, canPay))) : h("p", { class: "empty", text: "暂无账单" });
    if (canPay && room.id === focus) {
      const overdue = new Set(unpaid.filter((b) => b.overdue).map((b) => String(b.id)));
      for (const el of list.querySelectorAll(".bill-pick")) el.checked = overdue.size ? overdue.has(el.dataset.bill) : true;
    }
    const status = h("p", { class: "pay-status", role: "status" });
    const picked = () => [...list.querySelectorAll?.(".bill-pick:checked") || []].map((el) => Number(el.dataset.bill));
    const actions = canPay ? h("div", { class: "pay-actions" },
      h("button", { type: "button", class: "btn btn-small", "data-pay": "selected", onclick: () => pay(room, picked(), status) }, "缴纳所选"),
      h("button", { type: "button", class: "btn btn-light btn-small", "data-pay": "all", onclick: () => pay(room, unpaid.map((b) => b.id), status) }, "全部缴纳"),
      status) : null;
    return h("section", { class: ["card", room.id === focus ? "card-focus" : null], dataset: { room: String(room.id) } },
      h("h2", { class: "card-title" }, roomLabel(room), h("span", { class: "card-extra", text: area(room.area_m2) })),
      std ? h("p", { class: "fee-formula", text: `月物业费 = ${room.area_m2}㎡ × ${money(std.unit_price_yuan)}/㎡·月（${std.label}）= ${money(fee)}` }) : null,
      list, actions);
  });

  ctx.el.replaceChildren(summary, ...sections,
    h("section", { class: "card" },
      h("h2", { class: "card-title", text: `收费标准公示 · ${standards.community}` }),
      h("table", { class: "table" },
        h("thead", {}, h("tr", {}, h("th", { scope: "col", text: "物业类型" }), h("th", { scope: "col", text: "单价" }))),
        h("tbody", {}, standards.items.map((s) => h("tr", {}, h("td", { text: s.label }), h("td", { text: `${money(s.unit_price_yuan)} ${s.unit}` })))))));
}
