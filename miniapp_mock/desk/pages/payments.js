// 在线缴费 (desk): payments and pending orders of the desk's communities, newest
// first (filtered by state), each order's refunds and their outcome, the manager's
// refund (full, or an amount; only the manager is offered it, as the server allows),
// and the invoice queue.

import { h, loading } from "../../shared/dom.js";
import { dateTime, money } from "../../shared/format.js";
import { api, hasRole, loadMe } from "../core.js";

function refundsText(order) {
  return order.refunds.map((r) => `${money(r.amount_yuan)} ${r.status_label}${r.reason ? `（${r.reason}）` : ""}`).join("；");
}

function refundForm(order, reload) {
  const left = Number(order.amount_yuan) - Number(order.refunded_yuan);
  if (order.status !== "paid" || left <= 0) return null;
  const msg = h("span", { class: "form-error", role: "alert" });
  const amount = h("input", { placeholder: "退款金额（留空为全额）", size: 14, "aria-label": "退款金额", inputmode: "decimal" });
  const reason = h("input", { placeholder: "退款原因", size: 10, "aria-label": "退款原因", maxlength: 80 });
  const submit = async () => {
    const shown = amount.value.trim() ? money(amount.value.replace(/,/g, "")) : "全部可退金额";
    if (!window.confirm(`确认向 ${order.room} 退款 ${shown}？款项将原路退回付款人的微信支付。`)) return;
    msg.textContent = "";
    try {
      const body = { reason: reason.value.trim() };
      if (amount.value.trim()) body.amount_yuan = amount.value.trim();
      await api.post(`/api/v1/payments/desk/orders/${order.id}/refunds`, body);
      reload();
    } catch (err) { msg.textContent = err.message; }
  };
  return h("span", { class: "refund-form" }, amount, reason,
    h("button", { type: "button", class: "btn btn-small", onclick: submit }, "退款"), msg);
}

function orderRow(order, manager, reload) {
  return h("tr", { "data-order": String(order.id), "data-status": order.status },
    h("td", { text: order.room }), h("td", { text: order.lines.map((l) => l.period).join("、") }),
    h("td", { text: money(order.amount_yuan) }), h("td", { class: "order-status", text: order.status_label }),
    h("td", { text: dateTime(order.paid_at || order.created_at) }),
    h("td", { class: "order-refunds", text: refundsText(order) }),
    h("td", { text: order.out_trade_no }), h("td", {}, manager ? refundForm(order, reload) : null));
}

function invoiceRow(inv, reload) {
  const msg = h("span", { class: "form-error", role: "alert" });
  const act = (status) => async () => {
    const note = status === "rejected" ? window.prompt("退回原因") || "" : "";
    try {
      await api.post(`/api/v1/payments/desk/invoices/${inv.id}`, { status, note });
      reload();
    } catch (err) { msg.textContent = err.message; }
  };
  return h("tr", {},
    h("td", { text: inv.title }), h("td", { text: inv.tax_number || "个人" }), h("td", { text: inv.email }),
    h("td", { text: inv.status_label }),
    h("td", {}, inv.status === "requested" ? [
      h("button", { type: "button", class: "btn btn-small", onclick: act("issued") }, "已开票"),
      h("button", { type: "button", class: "btn btn-small btn-light", onclick: act("rejected") }, "退回"), msg] : null));
}

export default async function render(ctx) {
  const status = ctx.query?.status || "";
  const reload = () => render(ctx);
  ctx.el.replaceChildren(loading());
  const [me, payStatus, orders, pending, invoices] = await Promise.all([
    loadMe(),
    api.get("/api/v1/payments/status", undefined, { signal: ctx.signal }),
    api.get("/api/v1/payments/desk/orders", status ? { status } : undefined, { signal: ctx.signal }),
    api.get("/api/v1/payments/desk/orders", { status: "pending" }, { signal: ctx.signal }),
    api.get("/api/v1/payments/desk/invoices", undefined, { signal: ctx.signal }),
  ]);
  if (!ctx.isCurrent()) return;
  const manager = hasRole(me, "manager");
  const head = (...cols) => h("thead", {}, h("tr", {}, cols.map((c) => h("th", { scope: "col", text: c }))));
  // the states' labels are the server's (GET /api/v1/payments/status)
  const choices = [["", "全部"], ...Object.entries(payStatus.order_statuses)];
  const filters = h("div", { class: "filter-bar", role: "group", "aria-label": "订单状态" },
    choices.map(([value, text]) => h("a", {
      class: "chip chip-button", href: value ? `#/payments?status=${value}` : "#/payments",
      "aria-current": value === status ? "true" : null,
      text: value === "pending" ? `${text} ${pending.items.length}` : text })));
  ctx.el.replaceChildren(
    h("section", { class: "card" }, h("h2", { class: "card-title", text: "缴费订单" }), filters,
      manager ? null : h("p", { class: "hint", text: "退款由物业经理办理。" }),
      orders.items.length ? h("table", { class: "table", id: "payments" },
        head("房屋", "账期", "金额", "状态", "时间", "退款", "订单号", ""),
        h("tbody", {}, orders.items.map((o) => orderRow(o, manager, reload)))) : h("p", { class: "empty", text: "暂无缴费订单" })),
    h("section", { class: "card" }, h("h2", { class: "card-title", text: "发票申请" }),
      invoices.items.length ? h("table", { class: "table", id: "invoices" },
        head("抬头", "税号", "邮箱", "状态", ""),
        h("tbody", {}, invoices.items.map((i) => invoiceRow(i, reload)))) : h("p", { class: "empty", text: "暂无发票申请" })));
}
