// 维修资金 (desk): every proposal of the community, drafts included, with the step
// each is at (公示中 until voting opens, 表决中, 询异期 until its end, 已公布), and a
// way to start a new one.

import { allPages } from "../../shared/api.js";
import { h, icon, loading } from "../../shared/dom.js";
import { dateTime, money, remaining } from "../../shared/format.js";
import { navigate } from "../../shared/router.js";
import { outcomeBadge } from "../../shared/tally.js";
import { api, setActions } from "../core.js";

export default async function render(ctx) {
  setActions(h("a", { class: "btn btn-primary btn-small", href: "#/fund/new", id: "new-proposal" }, icon("plus"), "新建事项"));
  const body = h("tbody", {}, h("tr", {}, h("td", { colspan: "7" }, loading())));
  const balance = h("p", { class: "muted fund-ledger-line" });
  ctx.el.append(h("section", { class: "panel" }, balance,
    h("div", { class: "table-wrap" }, h("table", { class: "table queue-table" },
      h("caption", { class: "visually-hidden", text: "维修资金事项" }),
      h("thead", {}, h("tr", {}, ["事项", "规则", "金额", "范围", "状态", "时间", "结果"].map((t) => h("th", { scope: "col", text: t })))),
      body))));
  api.get("/api/v1/fund/ledger", { limit: 1 }, { signal: ctx.signal }).then((l) => {
    balance.textContent = `${l.community} 维修资金余额 ${money(l.balance_yuan)}（累计归集 ${money(l.total_in_yuan)}，累计使用 ${money(l.total_out_yuan)}）`;
  }).catch(() => balance.remove());

  const items = await allPages(api, "/api/v1/fund-proposals", {}, 5);
  if (!ctx.isCurrent()) return;
  body.replaceChildren(...(items.length ? items.map((p) => {
    const tr = h("tr", { class: ["queue-row", p.status === "voting" ? "row-live" : null], dataset: { id: String(p.id) } },
      h("td", {}, h("a", { href: `#/fund/${p.id}`, class: "row-link", text: p.title })),
      h("td", { class: "proposal-rule", text: p.rule_label }),
      h("td", { class: "num", text: money(p.amount_yuan) }),
      h("td", { text: p.scope_label || "" }),
      h("td", {}, h("span", { class: ["status", `fund-${p.status}`, "proposal-status"], text: p.status_label }), " ",
        h("span", { class: ["status", "proposal-stage"], text: p.stage_label })),
      h("td", { text: p.stage === "publicity" ? `${dateTime(p.opens_at)} 开始表决`
        : p.stage === "query" && p.query_ends_at ? `询异期至 ${dateTime(p.query_ends_at)}`
          : p.closes_at ? `${dateTime(p.closes_at)}${p.status === "voting" ? `（${remaining(p.closes_at)}）` : ""}` : "—" }),
      h("td", {}, p.outcome ? outcomeBadge(p.outcome, p.outcome_label) : "—"));
    tr.addEventListener("click", (event) => {
      if (!event.target.closest("a")) navigate(`/fund/${p.id}`);
    });
    return tr;
  }) : [h("tr", {}, h("td", { colspan: "7", class: "empty", text: "还没有维修资金事项" }))]));
}
