// 我的工单: the resident's tickets, grouped by what they wait for.

import { allPages } from "../../shared/api.js";
import { h, icon, loading } from "../../shared/dom.js";
import { shortDateTime } from "../../shared/format.js";
import { label, TICKET_KIND, TICKET_STATUS } from "../../shared/labels.js";
import { navigate } from "../../shared/router.js";
import { api } from "../core.js";

const FILTERS = [
  { key: "all", text: "全部", statuses: null },
  { key: "active", text: "处理中", statuses: ["submitted", "accepted", "assigned", "in_progress"] },
  { key: "rate", text: "待评价", statuses: ["resolved"] },
  { key: "done", text: "已完结", statuses: ["closed", "cancelled", "rejected"] },
];

export function statusTone(status) {
  if (["submitted"].includes(status)) return "orange";
  if (["accepted", "assigned", "in_progress"].includes(status)) return "blue";
  if (status === "resolved") return "green";
  return "gray";
}

function ticketItem(t) {
  return h("li", {},
    h("a", { class: "ticket-item", href: `#/tickets/${t.id}`, dataset: { id: String(t.id) } },
      h("div", { class: "ticket-head" },
        h("span", { class: "ticket-kind", text: t.kind_label || label(TICKET_KIND, t.kind) }),
        t.urgent ? h("span", { class: "tag tag-red", text: "紧急" }) : null,
        t.overdue ? h("span", { class: "tag tag-red", text: "已超时" }) : null,
        h("span", { class: ["ticket-status", `text-${statusTone(t.status)}`], text: t.status_label || label(TICKET_STATUS, t.status) })),
      h("div", { class: "ticket-body" },
        h("p", { class: "ticket-desc", text: t.description || "" })),
      h("div", { class: "ticket-foot" },
        h("span", { text: [`#${t.id}`, t.room, t.location].filter(Boolean).join(" · ") }),
        h("span", { text: shortDateTime(t.created_at) }))));
}

export default async function render(ctx) {
  const active = FILTERS.find((f) => f.key === ctx.query.filter) || FILTERS[0];
  const tabs = h("div", { class: "segmented", role: "tablist", "aria-label": "工单筛选" },
    FILTERS.map((f) => h("a", {
      class: ["segment", f === active ? "active" : null], role: "tab", href: `#/tickets?filter=${f.key}`,
      "aria-selected": f === active ? "true" : "false",
    }, f.text)));
  const list = h("ul", { class: "ticket-list", "aria-live": "polite" }, loading());
  ctx.el.append(tabs, list,
    h("button", { type: "button", class: "fab", onclick: () => navigate("/report") }, icon("plus"), "报事报修"));

  const tickets = await allPages(api, "/api/v1/tickets", {}, 3);
  if (!ctx.isCurrent()) return;
  const shown = active.statuses ? tickets.filter((t) => active.statuses.includes(t.status)) : tickets;
  list.replaceChildren(...(shown.length ? shown.map(ticketItem)
    : [h("li", { class: "empty" }, active.key === "all" ? "还没有工单，遇到问题可随时报事报修" : "没有这类工单")]));
}
