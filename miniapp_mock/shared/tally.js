// The figures of a fund vote (维修资金表决) as the server sends them: each comparison
// the rule makes (`measures`: part of a whole, the share, the threshold and whether
// it is met) is drawn as a bar, under the server's group headings. The verdicts,
// shares and thresholds are the server's; this file only lays them out.
// Used by the phone's proposal page and the desk's live tally.

import { h } from "./dom.js";
import { area as fmtArea, percent } from "./format.js";
import { FUND_BASIS, FUND_CHOICE, FUND_OUTCOME, label } from "./labels.js";

const people = (v) => `${v ?? 0} 人`;
const rooms = (v) => `${v ?? 0} 户`;
const TONE = { quorum: "blue", approval: "green", objection: "red" };

/** One comparison: part of whole as a bar, the threshold as a mark, the verdict. */
function bar(m) {
  const format = m.basis === "area" ? fmtArea : people;
  const fill = h("span", { class: ["tally-fill", `fill-${TONE[m.group] || "blue"}`] });
  fill.style.width = percent(m.share);
  const mark = h("span", { class: "tally-mark", title: m.requirement });
  mark.style.left = percent(m.threshold_share);
  const track = h("span", {
    class: "tally-track", role: "meter", "aria-valuemin": "0", "aria-valuemax": "100",
    "aria-valuenow": (Number(m.share) * 100).toFixed(1), "aria-label": `${m.label} ${percent(m.share)}`,
  }, fill, mark);
  return h("div", { class: "tally-row", id: `tally-${m.name}`, dataset: { met: String(m.met) } },
    h("div", { class: "tally-label" },
      h("span", { class: "tally-name", text: m.label }),
      h("span", { class: "tally-value", text: `${format(m.part)} / ${format(m.whole)}（${percent(m.share)}）` })),
    track,
    h("p", { class: "tally-threshold", text: `${m.requirement}（${m.met ? "已满足" : "未满足"}）` }));
}

export function outcomeBadge(outcome, text) {
  const tone = { passed: "green", rejected: "red", no_quorum: "orange" }[outcome] || "blue";
  return h("span", { class: ["tag", `tag-${tone}`, "outcome"], dataset: { outcome: outcome || "pending" },
    text: text || label(FUND_OUTCOME, outcome || "pending") });
}

/**
 * tallyView(tally) → element.
 * tally: the API's tally ({rule, eligible, counts, measures, outcome, outcome_label, ...}).
 */
export function tallyView(tally) {
  const eligible = tally.eligible || {};
  const counts = tally.counts || {};
  const box = h("div", { class: "tally", dataset: { rule: tally.rule } });
  box.append(h("div", { class: "tally-head" },
    h("span", { class: "tally-title", text: "表决统计" }), outcomeBadge(tally.outcome, tally.outcome_label)));
  box.append(h("p", { class: "tally-scope", text: `范围内共 ${rooms(eligible.rooms)}，专有面积 ${fmtArea(eligible.area_m2)}，业主 ${people(eligible.headcount)}` }));
  if (tally.objection_basis) {
    box.append(h("p", { class: "tally-note", text: `否决方式：${label(FUND_BASIS, tally.objection_basis)}` }));
  }
  let group = null;
  for (const m of tally.measures || []) {
    if (m.group !== group) {
      group = m.group;
      box.append(h("h4", { class: "tally-sub", text: m.group_label }));
    }
    box.append(bar(m));
  }
  if (counts.object) {
    box.append(h("p", { class: "tally-note", id: "tally-object-rooms", text: `已提出异议：${rooms(counts.object.rooms)}（不表态视为不反对）` }));
  } else {
    const rows = Object.entries(counts).map(([choice, c]) => h("tr", {},
      h("th", { scope: "row", text: label(FUND_CHOICE, choice) }), h("td", { text: rooms(c.rooms) }),
      h("td", { text: fmtArea(c.area_m2) }), h("td", { text: people(c.headcount) })));
    if (rows.length) {
      box.append(h("table", { class: "table tally-table" },
        h("thead", {}, h("tr", {}, ["选项", "户数", "面积", "人数"].map((t) => h("th", { scope: "col", text: t })))),
        h("tbody", {}, rows)));
    }
  }
  return box;
}
