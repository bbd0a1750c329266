// 电子收据: a paid order as the server reports it (room, periods, amounts, WeChat
// Pay's transaction number, time), and its invoice request and state.

import { h, loading } from "../../shared/dom.js";
import { money } from "../../shared/format.js";
import { api } from "../core.js";

export default async function render(ctx) {
  ctx.el.append(loading());
  const order = await api.get(`/api/v1/payments/orders/${Number(ctx.query.id)}`, undefined, { signal: ctx.signal });
  if (!ctx.isCurrent()) return;
  const rows = [
    ["小区", order.community], ["房屋", order.room], ["订单号", order.out_trade_no],
    ["微信支付单号", order.transaction_id || "—"], ["状态", order.status_label],
    ["支付时间", order.paid_at ? order.paid_at.replace("T", " ").slice(0, 19) : "—"],
  ];
  const invoiceBox = h("section", { class: "card", id: "invoice" });
  function showInvoice(inv) {
    invoiceBox.replaceChildren(h("h2", { class: "card-title", text: "发票" }));
    if (inv && inv.status !== "rejected") {
      invoiceBox.append(h("p", { id: "invoice-status", text: `${inv.title}：${inv.status_label}` }));
      return;
    }
    if (order.status !== "paid") return;
    if (inv) invoiceBox.append(h("p", { text: `已退回：${inv.note}` }));
    const kind = h("select", { name: "kind" }, h("option", { value: "personal", text: "个人" }), h("option", { value: "company", text: "单位" }));
    const title = h("input", { name: "title", placeholder: "发票抬头" });
    const tax = h("input", { name: "tax_number", placeholder: "统一社会信用代码（单位必填）" });
    const email = h("input", { name: "email", type: "email", placeholder: "接收邮箱" });
    const msg = h("p", { class: "form-error", role: "alert" });
    const form = h("form", { class: "form" }, kind, title, tax, email, msg, h("button", { class: "btn", type: "submit" }, "申请发票"));
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      try {
        showInvoice(await api.post(`/api/v1/payments/orders/${order.id}/invoice`, {
          kind: kind.value, title: title.value, tax_number: tax.value || null, email: email.value }));
      } catch (err) { msg.textContent = err.message; }
    });
    invoiceBox.append(form);
  }
  showInvoice(order.invoice);
  ctx.el.replaceChildren(
    h("section", { class: "card receipt", id: "receipt" },
      h("h2", { class: "card-title", text: "物业费电子收据" }),
      h("p", { class: "bill-summary-amount", id: "receipt-amount", text: money(order.amount_yuan) }),
      h("table", { class: "table" }, h("tbody", {},
        rows.map(([k, v]) => h("tr", {}, h("th", { scope: "row", text: k }), h("td", { text: v }))),
        order.lines.map((l) => h("tr", {}, h("th", { scope: "row", text: `${l.period} 物业费` }), h("td", { text: money(l.amount_yuan) }))))),
      Number(order.refunded_yuan) > 0 ? h("p", { text: `已退款 ${money(order.refunded_yuan)}` }) : null,
      order.status === "paid" ? h("a", { class: "btn btn-plain btn-small", href: "#", id: "receipt-pdf", text: "下载电子收据 (PDF)", onclick: (event) => { event.preventDefault(); api.blob(`/api/v1/payments/orders/${order.id}/receipt.pdf`).then((b) => window.open(URL.createObjectURL(b), "_blank", "noopener")).catch((error) => { event.target.textContent = error.message || "下载失败，请重试"; }); } }) : null,
      h("a", { class: "btn btn-light btn-small", href: "#/bills" }, "返回账单")),
    invoiceBox);
}
