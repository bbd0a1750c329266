// The figures of a fund vote (维修资金表决), read the way the rule reads: for the
// objection rule, objecting area and headcount against the threshold; for the
// Civil Code rules, participation against 2/3 and approval against 1/2 or 3/4.
// Used by the phone's proposal page and the desk's live tally.

import { h } from "./dom.js";
import { area as fmtArea } from "./format.js";
import { FUND_CHOICE, FUND_OUTCOME, label } from "./labels.js";

function ratio(part, whole) {
  const p = Number(part);
  const w = Number(whole);
  if (!w || Number.isNaN(p) || Number.isNaN(w)) return 0;
  return Math.max(0, Math.min(1, p / w));
}

function pct(x) {
  return `${(x * 100).toFixed(1)}%`;
}

export function fraction(text, fallback) {
  const m = /^\s*(\d+)\s*\/\s*(\d+)\s*$/.exec(text || "");
  if (m && Number(m[2])) return Number(m[1]) / Number(m[2]);
  const n = Number(text);
  return Number.isNaN(n) || !text ? fallback : n;
}

/** One labelled bar: value of whole, with an optional threshold marker. */
export function bar({ name, value, whole, format = (v) => String(v), threshold, thresholdText, tone = "green", id }) {
  const r = ratio(value, whole);
  const fill = h("span", { class: ["tally-fill", `fill-${tone}`] });
  fill.style.width = pct(r);
  const track = h("span", {
    class: "tally-track", role: "meter", "aria-valuemin": "0", "aria-valuemax": "100",
    "aria-valuenow": (r * 100).toFixed(1), "aria-label": `${name} ${pct(r)}`,
  }, fill);
  if (threshold !== undefined) {
    const mark = h("span", { class: "tally-mark", title: thresholdText || "" });
    mark.style.left = pct(threshold);
    track.append(mark);
  }
  return h("div", { class: "tally-row", id },
    h("div", { class: "tally-label" },
      h("span", { class: "tally-name", text: name }),
      h("span", { class: "tally-value", text: `${format(value)} / ${format(whole)}（${pct(r)}）` })),
    track,
    thresholdText ? h("p", { class: "tally-threshold", text: thresholdText }) : null);
}

const BASIS_TEXT = {
  area: "异议面积",
  headcount: "异议人数",
  either: "异议面积或异议人数任一项",
  both: "异议面积和异议人数均",
};

const people = (v) => `${v ?? 0} 人`;
const rooms = (v) => `${v ?? 0} 户`;

export function outcomeBadge(outcome) {
  const tone = { passed: "green", rejected: "red", no_quorum: "orange" }[outcome] || "blue";
  return h("span", { class: ["tag", `tag-${tone}`, "outcome"], dataset: { outcome: outcome || "pending" }, text: label(FUND_OUTCOME, outcome || "pending") });
}

/**
 * tallyView(tally, proposal) → element.
 * tally: {rule, status, eligible, counts, participating, outcome}
 */
export function tallyView(tally, proposal = {}) {
  const eligible = tally.eligible || {};
  const counts = tally.counts || {};
  const participating = tally.participating || {};
  const zero = { rooms: 0, area_m2: "0", headcount: 0 };
  const box = h("div", { class: "tally", dataset: { rule: tally.rule } });
  box.append(h("div", { class: "tally-head" },
    h("span", { class: "tally-title", text: "表决统计" }), outcomeBadge(tally.outcome)));
  box.append(h("p", { class: "tally-scope", text: `范围内共 ${rooms(eligible.rooms)}，专有面积 ${fmtArea(eligible.area_m2)}，业主 ${people(eligible.headcount)}` }));

  if (tally.rule === "objection") {
    const thText = tally.objection_threshold || proposal.objection_threshold || "1/3";
    const threshold = fraction(thText, 1 / 3);
    const basis = tally.objection_basis || proposal.objection_basis;
    box.append(h("p", { class: "tally-note", text: `否决条件：${BASIS_TEXT[basis] || BASIS_TEXT.either}超过 ${thText}` }));
    const obj = counts.object || zero;
    box.append(
      bar({ name: "异议面积", value: obj.area_m2, whole: eligible.area_m2, format: fmtArea, threshold, thresholdText: `超过 ${thText} 即否决`, tone: "red", id: "tally-object-area" }),
      bar({ name: "异议人数", value: obj.headcount, whole: eligible.headcount, format: people, threshold, thresholdText: `超过 ${thText} 即否决`, tone: "red", id: "tally-object-headcount" }),
      h("p", { class: "tally-note", id: "tally-object-rooms", text: `已提出异议：${rooms(obj.rooms)}（不表态视为不反对）` }));
  } else if (tally.rule === "emergency") {
    box.append(h("p", { class: "tally-note", text: "应急使用无需业主表决，经业委会与项目经理签字后实施并公示。" }));
  } else {
    const pass = tally.rule === "civil_code_major" ? 3 / 4 : 1 / 2;
    const passText = tally.rule === "civil_code_major" ? "同意需达到参与表决的 3/4" : "同意需超过参与表决的 1/2";
    const approve = counts.approve || zero;
    box.append(
      h("h4", { class: "tally-sub", text: "参与情况（需均达到 2/3）" }),
      bar({ name: "参与面积", value: participating.area_m2, whole: eligible.area_m2, format: fmtArea, threshold: 2 / 3, tone: "blue", id: "tally-part-area" }),
      bar({ name: "参与人数", value: participating.headcount, whole: eligible.headcount, format: people, threshold: 2 / 3, tone: "blue", id: "tally-part-headcount" }),
      h("h4", { class: "tally-sub", text: passText }),
      bar({ name: "同意面积", value: approve.area_m2, whole: participating.area_m2, format: fmtArea, threshold: pass, tone: "green", id: "tally-approve-area" }),
      bar({ name: "同意人数", value: approve.headcount, whole: participating.headcount, format: people, threshold: pass, tone: "green", id: "tally-approve-headcount" }));
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

/** "3栋" / "全体业主" / "指定 12 户" */
export function scopeText(scope) {
  if (!scope) return "";
  if (scope.community) return "全小区";
  if (scope.buildings && scope.buildings.length) return scope.buildings.map((b) => `${b}栋`).join("、");
  if (scope.room_ids) return `指定 ${scope.room_ids.length} 户`;
  return "";
}
