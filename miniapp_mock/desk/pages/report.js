// 月度服务报表: tickets of the month by kind and status, on-time and satisfaction
// rates, the 100-point score and star grade, and the last six months side by side.

import { h, loading } from "../../shared/dom.js";
import { percent, thisMonth } from "../../shared/format.js";
import { barChart, columnChart } from "../../shared/chart.js";
import { navigate } from "../../shared/router.js";
import { api, setActions } from "../core.js";

function previousMonths(month, n) {
  let [y, m] = month.split("-").map(Number);
  const out = [];
  for (let i = 0; i < n; i += 1) {
    out.unshift(`${y}-${String(m).padStart(2, "0")}`);
    m -= 1;
    if (m === 0) { y -= 1; m = 12; }
  }
  return out;
}

function kpi(name, value, sub, tone = "") {
  return h("div", { class: ["kpi", tone] }, h("span", { class: "kpi-name", text: name }),
    h("strong", { class: "kpi-value", text: value }), sub ? h("span", { class: "kpi-sub", text: sub }) : null);
}

const asPct = (x) => (x === null || x === undefined ? null : Math.round(x * 1000) / 10);

export default async function render(ctx) {
  const month = /^\d{4}-\d{2}$/.test(ctx.query.month || "") ? ctx.query.month : thisMonth();
  const picker = h("input", { type: "month", name: "month", value: month, max: thisMonth(), "aria-label": "选择月份" });
  picker.addEventListener("change", () => { if (picker.value) navigate(`/report?month=${picker.value}`, { replace: true }); });
  setActions(h("label", { class: "month-pick" }, "月份 ", picker));

  const holder = h("div", {}, loading());
  ctx.el.append(holder);
  const months = previousMonths(month, 6);
  const reports = await Promise.all(months.map((m) => api.get("/api/v1/reports/service", { month: m }, { signal: ctx.signal })
    .catch((error) => { if (m === month) throw error; return null; })));
  if (!ctx.isCurrent()) return;
  const r = reports[reports.length - 1];
  const grade = r.grade;
  const c = r.counts;
  const kindItems = Object.entries(c.by_kind).map(([k, v]) => ({ label: (c.kind_labels || {})[k] || k, value: v }));
  const statusItems = Object.entries(c.by_status).filter(([, v]) => v).map(([k, v]) => ({ label: (c.status_labels || {})[k] || k, value: v }));

  holder.replaceChildren(
    h("section", { class: "panel" },
      h("div", { class: "panel-head" }, h("h2", { class: "panel-title", text: `${r.community.name} · ${r.month} 服务报表` }),
        grade ? h("span", { class: ["grade", `grade-${grade.code}`], id: "grade", text: `${grade.label}${r.score !== null ? ` · ${r.score} 分` : ""}` }) : h("span", { class: "muted", text: "本月暂无评分" })),
      h("div", { class: "kpis", id: "kpis" },
        kpi("工单总数", String(c.total), `升级 ${r.escalated} · 待回访 ${r.follow_up_pending}`),
        kpi("按时完成率", percent(r.on_time_rate), `${r.on_time.on_time}/${r.on_time.decided} 按时`, r.on_time_rate !== null && r.on_time_rate < 0.9 ? "kpi-warn" : ""),
        kpi("按时受理率", percent(r.accept_on_time_rate), "30 分钟内受理"),
        kpi("平均评分", r.average_rating === null ? "—" : `${Number(r.average_rating).toFixed(2)} 星`, `${r.rated} 个评价`),
        kpi("满意率", percent(r.satisfaction_rate), "4-5 星占全部评价"))),
    h("div", { class: "grid-2 charts" },
      h("section", { class: "panel" }, barChart({ title: "按类型", items: kindItems, unit: " 件", id: "chart-kind" })),
      h("section", { class: "panel" }, statusItems.length ? barChart({ title: "按状态", items: statusItems, unit: " 件", id: "chart-status" }) : h("p", { class: "muted", text: "本月没有工单" }))),
    h("section", { class: "panel" }, columnChart({
      title: "近六个月：按时完成率与满意率（%）", labels: months, id: "chart-trend",
      series: [
        { name: "按时完成率", values: reports.map((x) => (x ? asPct(x.on_time_rate) : null)) },
        { name: "满意率", values: reports.map((x) => (x ? asPct(x.satisfaction_rate) : null)) },
      ],
    }), h("table", { class: "table trend-table" },
      h("caption", { class: "visually-hidden", text: "近六个月数据" }),
      h("thead", {}, h("tr", {}, ["月份", "工单", "按时完成率", "平均评分", "满意率", "得分"].map((t) => h("th", { scope: "col", text: t })))),
      h("tbody", {}, reports.map((x, i) => h("tr", {},
        h("th", { scope: "row", text: months[i] }),
        h("td", { text: x ? String(x.counts.total) : "—" }),
        h("td", { text: x ? percent(x.on_time_rate) : "—" }),
        h("td", { text: x && x.average_rating !== null ? Number(x.average_rating).toFixed(2) : "—" }),
        h("td", { text: x ? percent(x.satisfaction_rate) : "—" }),
        h("td", { text: x && x.score !== null ? String(x.score) : "—" })))))),
  );
}
