// 维修资金: proposals to use the maintenance fund, open ones first, each with its
// step (公示中 with when voting opens, 表决中 with the deadline, 询异期 with its end).

import { allPages } from "../../shared/api.js";
import { h, loading } from "../../shared/dom.js";
import { date, dateTime, money, remaining } from "../../shared/format.js";
import { outcomeBadge } from "../../shared/tally.js";
import { api } from "../core.js";

export function proposalCard(p, href) {
  const open = p.status === "voting";
  return h("li", {},
    h("a", { class: "proposal-item", href, dataset: { id: String(p.id) } },
      h("div", { class: "proposal-head" },
        h("span", { class: ["tag", open ? "tag-green" : "tag-gray", "proposal-status"], text: p.status_label }),
        h("span", { class: ["tag", "tag-gray", "proposal-stage"], text: p.stage_label }),
        h("span", { class: "proposal-title", text: p.title })),
      h("div", { class: "proposal-figures" },
        h("span", { class: "proposal-amount", text: money(p.amount_yuan) }),
        h("span", { class: "proposal-rule", text: p.rule_label })),
      h("div", { class: "proposal-foot" },
        h("span", { text: `范围：${p.scope_label}` }),
        open ? h("span", { class: "text-orange", text: `${remaining(p.closes_at)} · ${date(p.closes_at)}截止` })
          : p.stage === "publicity" ? h("span", { class: "text-orange proposal-when", text: `${dateTime(p.opens_at)} 开始表决` })
            : p.stage === "query" && p.query_ends_at ? h("span", { class: "proposal-when" }, `询异期至 ${dateTime(p.query_ends_at)} `, p.outcome ? outcomeBadge(p.outcome, p.outcome_label) : null)
              : p.outcome ? outcomeBadge(p.outcome, p.outcome_label) : h("span", { text: p.closes_at ? `${date(p.closes_at)}截止` : "" }))));
}

export default async function render(ctx) {
  const list = h("ul", { class: "proposal-list" }, loading());
  const balance = h("section", { class: "fund-balance", hidden: true });
  ctx.el.append(balance,
    h("p", { class: "notice", text: "专项维修资金用于共用部位、共用设施设备的维修和更新。使用前须经业主表决或按规定公示，表决结果将在此公布。" }),
    list);
  api.get("/api/v1/fund/ledger", { limit: 1 }, { signal: ctx.signal }).then((ledger) => {
    balance.replaceChildren(
      h("p", { class: "bill-summary-label", text: `${ledger.community} 维修资金余额` }),
      h("p", { class: "bill-summary-amount", text: money(ledger.balance_yuan) }),
      h("p", { class: "bill-summary-sub", text: `累计归集 ${money(ledger.total_in_yuan)} · 累计使用 ${money(ledger.total_out_yuan)}${ledger.as_of ? ` · 截至 ${date(ledger.as_of)}` : ""}` }));
    balance.hidden = false;
  }).catch(() => {});
  const proposals = (await allPages(api, "/api/v1/fund-proposals", {}, 3)).filter((p) => p.status !== "draft");
  if (!ctx.isCurrent()) return;
  // what owners can act on first: voting, then publicity (questions), then queries
  const order = (p) => ({ voting: 0, publicity: 1, query: 2 }[p.stage] ?? 3);
  proposals.sort((a, b) => order(a) - order(b) || String(b.closes_at || "").localeCompare(String(a.closes_at || "")));
  list.replaceChildren(...(proposals.length ? proposals.map((p) => proposalCard(p, `#/fund/${p.id}`))
    : [h("li", { class: "empty", text: "暂无维修资金使用事项" })]));
}
