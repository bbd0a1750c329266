// Small SVG charts drawn with DOM calls (no chart library, no inline styles): a
// horizontal bar chart and a multi-series column chart for monthly trends. Each
// chart carries a text alternative and a data table for screen readers.

import { h, svg } from "./dom.js";

/** barChart({title, items: [{label, value}], unit}) → figure */
export function barChart({ title, items, unit = "", id }) {
  const rowH = 28;
  const labelW = 96;
  const width = 520;
  const barW = width - labelW - 60;
  const max = Math.max(1, ...items.map((i) => i.value));
  const height = Math.max(rowH, items.length * rowH) + 8;
  const chart = svg("svg", { viewBox: `0 0 ${width} ${height}`, class: "chart chart-bar", role: "img", "aria-label": `${title}：${items.map((i) => `${i.label} ${i.value}${unit}`).join("，")}` });
  items.forEach((item, i) => {
    const y = 4 + i * rowH;
    const w = Math.round((item.value / max) * barW);
    chart.append(
      svg("text", { x: labelW - 8, y: y + 18, class: "chart-label", "text-anchor": "end" }, item.label),
      svg("rect", { x: labelW, y: y + 4, width: Math.max(w, item.value ? 2 : 0), height: rowH - 10, rx: 3, class: `chart-bar-fill tone-${i % 6}` }),
      svg("text", { x: labelW + w + 6, y: y + 18, class: "chart-value" }, `${item.value}${unit}`));
  });
  return h("figure", { class: "chart-figure", id }, h("figcaption", { class: "chart-title", text: title }), chart);
}

/**
 * columnChart({title, labels: ["2026-06", ...], series: [{name, values: [0..100|null]}], unit})
 * Grouped columns with a 0-100 axis (rates as percentages).
 */
export function columnChart({ title, labels, series, unit = "%", max = 100, id }) {
  const width = 560;
  const height = 240;
  const left = 40;
  const bottom = 28;
  const top = 12;
  const plotH = height - top - bottom;
  const groupW = (width - left - 8) / Math.max(1, labels.length);
  const colW = Math.min(22, (groupW - 12) / Math.max(1, series.length));
  const chart = svg("svg", { viewBox: `0 0 ${width} ${height}`, class: "chart chart-columns", role: "img",
    "aria-label": `${title}：${labels.map((l, i) => `${l} ${series.map((s) => `${s.name}${s.values[i] === null ? "无数据" : `${s.values[i]}${unit}`}`).join("、")}`).join("；")}` });
  for (const tick of [0, 25, 50, 75, 100]) {
    const y = top + plotH - (tick / max) * plotH;
    chart.append(svg("line", { x1: left, x2: width - 4, y1: y, y2: y, class: "chart-grid" }),
      svg("text", { x: left - 6, y: y + 4, class: "chart-axis", "text-anchor": "end" }, `${tick}`));
  }
  labels.forEach((labelText, i) => {
    const gx = left + i * groupW + (groupW - colW * series.length) / 2;
    series.forEach((s, j) => {
      const v = s.values[i];
      if (v === null || v === undefined) return;
      const hgt = (Math.max(0, Math.min(max, v)) / max) * plotH;
      chart.append(svg("rect", { x: gx + j * colW, y: top + plotH - hgt, width: colW - 3, height: hgt, rx: 2, class: `chart-bar-fill tone-${j}` },
        svg("title", {}, `${labelText} ${s.name} ${v}${unit}`)));
    });
    chart.append(svg("text", { x: left + i * groupW + groupW / 2, y: height - 8, class: "chart-axis", "text-anchor": "middle" }, labelText));
  });
  const legend = h("div", { class: "chart-legend" }, series.map((s, j) => h("span", { class: "legend-item" },
    h("span", { class: `legend-swatch tone-${j}`, "aria-hidden": "true" }), s.name)));
  return h("figure", { class: "chart-figure", id }, h("figcaption", { class: "chart-title", text: title }), chart, legend);
}
