// 工单队列: the community's tickets with filters; overdue ones stand out. The list
// refreshes itself while it is open.

import { allPages } from "../../shared/api.js";
import { h, icon, loading } from "../../shared/dom.js";
import { dateTime, remaining, shortDateTime } from "../../shared/format.js";
import { entries, label, openTicketStatuses, TICKET_KIND, TICKET_STATUS } from "../../shared/labels.js";
import { navigate } from "../../shared/router.js";
import { personName } from "../../shared/ticketview.js";
import { api, hasRole, loadMe, setActions } from "../core.js";

const REFRESH_MS = 15000;

export function assigneeId(t) {
  return (t.assignee && t.assignee.id) ?? null;
}

function select(name, options, value, labelText) {
  const el = h("select", { name, "aria-label": labelText },
    options.map(([v, text]) => h("option", { value: v, text, selected: v === value })));
  return el;
}

export default async function render(ctx) {
  const me = await loadMe();
  const q = ctx.query;
  const engineerOnly = hasRole(me, "engineer") && !hasRole(me, "desk", "manager");
  const filters = {
    status: q.status ?? (engineerOnly ? "" : "open"),
    kind: q.kind || "",
    overdue: q.overdue === "1",
    mine: q.mine !== undefined ? q.mine === "1" : engineerOnly,
    search: q.q || "",
  };

  const statusOptions = [["open", "未完成"], ["", "全部状态"], ...entries(TICKET_STATUS)];
  // 回访: closed without a rating (or rated poorly) and nobody has called back yet
  if (hasRole(me, "desk", "manager")) statusOptions.push(["follow_up", "待回访"]);
  const statusSel = select("status", statusOptions, filters.status, "状态");
  const kindSel = select("kind", [["", "全部类型"], ...entries(TICKET_KIND)], filters.kind, "类型");
  const overdue = h("input", { type: "checkbox", name: "overdue", checked: filters.overdue });
  const mine = h("input", { type: "checkbox", name: "mine", checked: filters.mine });
  const search = h("input", { type: "search", name: "q", value: filters.search, placeholder: "搜索描述、位置、房号", "aria-label": "搜索" });
  const bar = h("form", { class: "filter-bar", role: "search" },
    statusSel, kindSel, search,
    h("label", { class: "check" }, overdue, "只看超时"),
    h("label", { class: "check" }, mine, "派给我的"));
  const summary = h("div", { class: "queue-summary", "aria-live": "polite" });
  const tableBody = h("tbody", {}, h("tr", {}, h("td", { colspan: "8" }, loading())));
  const table = h("table", { class: "table queue-table" },
    h("caption", { class: "visually-hidden", text: "工单列表" }),
    h("thead", {}, h("tr", {}, ["编号", "类型", "描述", "房屋 / 位置", "状态", "提交时间", "时限", "处理人"].map((t) => h("th", { scope: "col", text: t })))),
    tableBody);
  ctx.el.append(h("section", { class: "panel" }, bar, summary, h("div", { class: "table-wrap" }, table)));

  function apply() {
    const params = new URLSearchParams();
    params.set("status", statusSel.value);
    if (kindSel.value) params.set("kind", kindSel.value);
    if (overdue.checked) params.set("overdue", "1");
    params.set("mine", mine.checked ? "1" : "0");
    if (search.value.trim()) params.set("q", search.value.trim());
    navigate(`/tickets?${params}`, { replace: true });
  }
  for (const el of [statusSel, kindSel, overdue, mine]) el.addEventListener("change", apply);
  bar.addEventListener("submit", (event) => { event.preventDefault(); apply(); });

  const reload = h("button", { type: "button", class: "btn btn-plain btn-small", onclick: () => load() }, icon("refresh"), "刷新");
  setActions(reload);

  function row(t) {
    const tr = h("tr", {
      class: ["queue-row", t.overdue ? "row-overdue" : null, t.urgent ? "row-urgent" : null],
      dataset: { id: String(t.id), status: t.status },
    },
    h("td", {}, h("a", { href: `#/tickets/${t.id}`, class: "row-link", text: `#${t.id}` })),
    h("td", {}, t.kind_label || label(TICKET_KIND, t.kind), t.urgent ? h("span", { class: "tag tag-red", text: "紧急" }) : null),
    h("td", { class: "cell-desc" }, h("span", { class: "clamp-2", text: t.description || "" }),
      t.reporter ? h("span", { class: "muted small", text: `报修人 ${t.reporter.name}` }) : null),
    h("td", { text: [t.room, t.location].filter(Boolean).join(" · ") }),
    h("td", {}, h("span", { class: ["status", `status-${t.status}`], text: t.status_label || label(TICKET_STATUS, t.status) })),
    h("td", { text: shortDateTime(t.created_at) }),
    h("td", {}, t.overdue ? h("span", { class: "tag tag-red" }, icon("alert"), "已超时") : null,
      t.due_at && openTicketStatuses().includes(t.status) && !t.overdue ? h("span", { class: "muted", title: dateTime(t.due_at), text: remaining(t.due_at) }) : null),
    h("td", { text: personName(t.assignee) || "—" }));
    // the whole row opens the ticket; the number stays the keyboard's link
    tr.addEventListener("click", (event) => {
      if (event.target.closest("a")) return;
      navigate(`/tickets/${t.id}`);
    });
    return tr;
  }

  async function load() {
    const query = {};
    const followUps = filters.status === "follow_up";
    if (filters.status && !followUps) query.status = filters.status === "open" ? openTicketStatuses().join(",") : filters.status;
    if (filters.kind && !followUps) query.kind = filters.kind;
    if (filters.overdue && !followUps) query.overdue = "true";
    if (filters.mine && !followUps) query.assigned_to_me = "true";
    let items = await allPages(api, followUps ? "/api/v1/tickets/follow-ups" : "/api/v1/tickets", query, 5);
    if (!ctx.isCurrent()) return;
    if (followUps && filters.kind) items = items.filter((t) => t.kind === filters.kind);
    if (filters.search) {
      const needle = filters.search.toLowerCase();
      items = items.filter((t) => [t.description, t.location, t.room, t.reporter && t.reporter.name, String(t.id)]
        .filter(Boolean).some((s) => String(s).toLowerCase().includes(needle)));
    }
    // overdue first, then urgent, then oldest waiting first
    items.sort((a, b) => (b.overdue - a.overdue) || (b.urgent - a.urgent) || String(a.created_at).localeCompare(String(b.created_at)));
    const overdueCount = items.filter((t) => t.overdue).length;
    summary.replaceChildren(h("span", { text: `共 ${items.length} 个工单` }));
    if (overdueCount) summary.append(h("span", { class: "text-red", text: `，其中 ${overdueCount} 个已超时` }));
    tableBody.replaceChildren(...(items.length ? items.map(row)
      : [h("tr", {}, h("td", { colspan: "8", class: "empty", text: "没有符合条件的工单" }))]));
  }

  await load();
  const timer = setInterval(() => {
    if (!document.hidden) load().catch(() => {});
  }, REFRESH_MS);
  ctx.onLeave(() => clearInterval(timer));
}
