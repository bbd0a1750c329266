// 在线缴费 (desk): payments and pending orders of the desk's communities, newest
// first, with the manager's refund (full, or an amount) and the invoice queue.

import { h, loading } from "../../shared/dom.js";
import { money } from "../../shared/format.js";
import { api } from "../core.js";

function orderRow(order, reload) {
  const msg = h("span", { class: "form-error", role: "alert" });
  const amount = h("input", { placeholder: "退款金额（留空为全额）", size: 14 });
  const refund = order.status === "paid" && Number(order.refunded_yuan) < Number(order.amount_yuan)
    ? h("span", {}, amount, h("button", { type: "button", class: "btn btn-small", onclick: async () => {
      try {
        await api.post(`/api/v1/payments/desk/orders/${order.id}/refunds`, amount.value ? { amount_yuan: amount.value } : {});
        reload();
      } catch (err) { msg.textContent = err.message; }
    } }, "退款"), msg)
    : null;
  return h("tr", { "data-order": String(order.id) },
    h("td", { text: order.room }), h("td", { text: order.lines.map((l) => l.period).join("、") }),
    h("td", { text: money(order.amount_yuan) }), h("td", { text: order.status_label }),
    h("td", { text: Number(order.refunded_yuan) > 0 ? money(order.refunded_yuan) : "" }),
    h("td", { text: order.out_trade_no }), h("td", {}, refund));
}

function invoiceRow(inv, reload) {
  const act = (status) => async () => {
    const note = status === "rejected" ? window.prompt("退回原因") || "" : "";
    await api.post(`/api/v1/payments/desk/invoices/${inv.id}`, { status, note });
    reload();
  };
  return h("tr", {},
    h("td", { text: inv.title }), h("td", { text: inv.tax_number || "个人" }), h("td", { text: inv.email }),
    h("td", { text: inv.status_label }),
    h("td", {}, inv.status === "requested" ? [
      h("button", { type: "button", class: "btn btn-small", onclick: act("issued") }, "已开票"),
      h("button", { type: "button", class: "btn btn-small btn-light", onclick: act("rejected") }, "退回")] : null));
}

export default async function render(ctx) {
  const reload = () => render({ ...ctx, el: ctx.el });
  ctx.el.replaceChildren(loading());
  const [orders, invoices] = await Promise.all([
    api.get("/api/v1/payments/desk/orders", undefined, { signal: ctx.signal }),
    api.get("/api/v1/payments/desk/invoices", undefined, { signal: ctx.signal }),
  ]);
  if (!ctx.isCurrent()) return;
  const head = (...cols) => h("thead", {}, h("tr", {}, cols.map((c) => h("th", { scope: "col", text: c }))));
  ctx.el.replaceChildren(
    h("section", { class: "card" }, h("h2", { class: "card-title", text: "缴费订单" }),
      orders.items.length ? h("table", { class: "table", id: "payments" },
        head("房屋", "账期", "金额", "状态", "已退款", "订单号", ""),
        h("tbody", {}, orders.items.map((o) => orderRow(o, reload)))) : h("p", { class: "empty", text: "暂无缴费订单" })),
    h("section", { class: "card" }, h("h2", { class: "card-title", text: "发票申请" }),
      invoices.items.length ? h("table", { class: "table", id: "invoices" },
        head("抬头", "税号", "邮箱", "状态", ""),
        h("tbody", {}, invoices.items.map((i) => invoiceRow(i, reload)))) : h("p", { class: "empty", text: "暂无发票申请" })));
}
