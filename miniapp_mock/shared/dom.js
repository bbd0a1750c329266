// Small DOM helpers shared by the phone pages and the desk console. Everything is
// built with createElement/textContent: user text is never parsed as HTML, and no
// inline style attributes are written (the CSP forbids them).

const SVG_NS = "http://www.w3.org/2000/svg";

/**
 * h("button", {class: "btn", type: "button", onclick: fn, "aria-label": "…"}, "文字", child)
 * Props starting with "on" are listeners; class/className, text, dataset, hidden,
 * disabled, value, checked, selected are set as properties; the rest as attributes
 * (false/null/undefined skip the attribute).
 */
export function h(tag, props = {}, ...children) {
  const el = document.createElement(tag);
  applyProps(el, props);
  append(el, children);
  return el;
}

const PROPS = new Set(["value", "checked", "selected", "disabled", "hidden", "multiple", "required",
  "readOnly", "indeterminate", "tabIndex", "open"]);

function applyProps(el, props) {
  if (!props) return;
  for (const [key, value] of Object.entries(props)) {
    if (value === undefined || value === null) continue;
    if (key === "class" || key === "className") {
      const names = Array.isArray(value) ? value.filter(Boolean).join(" ") : value;
      if (names) el.setAttribute("class", names);
    } else if (key === "text") {
      el.textContent = value;
    } else if (key === "dataset") {
      Object.assign(el.dataset, value);
    } else if (key.startsWith("on") && typeof value === "function") {
      el.addEventListener(key.slice(2).toLowerCase(), value);
    } else if (PROPS.has(key)) {
      el[key] = value;
    } else if (value === false) {
      continue;
    } else {
      el.setAttribute(key, value === true ? "" : String(value));
    }
  }
}

export function append(parent, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    parent.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return parent;
}

export function clear(el) {
  while (el.firstChild) el.firstChild.remove();
  return el;
}

export function replace(el, ...children) {
  clear(el);
  return append(el, children);
}

// ------------------------------------------------------------------ icons
// Simple 24×24 line icons drawn with paths (no icon font, no outside files).
const ICONS = {
  home: ["M3 11l9-7 9 7", "M5 10v10h5v-6h4v6h5V10"],
  ticket: ["M5 4h14v16H5z", "M8 8h8", "M8 12h8", "M8 16h5"],
  chat: ["M4 5h16v11H9l-5 4z", "M8 10h.01", "M12 10h.01", "M16 10h.01"],
  user: ["M12 12a4 4 0 1 0 0-8 4 4 0 0 0 0 8z", "M4 21c1-4 4-6 8-6s7 2 8 6"],
  back: ["M15 5l-7 7 7 7"],
  wrench: ["M14 6a4 4 0 0 0 5 5l-8 8a2 2 0 0 1-3-3l8-8a4 4 0 0 0-2-2z"],
  bill: ["M6 3h12v18l-3-2-3 2-3-2-3 2z", "M9 8h6", "M9 12h6"],
  vote: ["M4 12l5 5L20 6"],
  fund: ["M4 10l8-5 8 5", "M6 10v8", "M10 10v8", "M14 10v8", "M18 10v8", "M4 20h16"],
  bell: ["M6 16V11a6 6 0 0 1 12 0v5l2 2H4z", "M10 20a2 2 0 0 0 4 0"],
  camera: ["M4 8h4l2-3h4l2 3h4v11H4z", "M12 17a3.5 3.5 0 1 0 0-7 3.5 3.5 0 0 0 0 7z"],
  close: ["M6 6l12 12", "M18 6L6 18"],
  check: ["M5 12l5 5 9-10"],
  plus: ["M12 5v14", "M5 12h14"],
  alert: ["M12 4l9 16H3z", "M12 10v4", "M12 17h.01"],
  chart: ["M4 20V4", "M4 20h16", "M8 16v-5", "M12 16V8", "M16 16v-3"],
  queue: ["M4 6h16", "M4 12h16", "M4 18h10"],
  logout: ["M10 5H5v14h5", "M14 8l4 4-4 4", "M18 12H9"],
  refresh: ["M19 8a8 8 0 1 0 1 6", "M19 3v5h-5"],
  person: ["M12 11a3 3 0 1 0 0-6 3 3 0 0 0 0 6z", "M6 20c.7-3.5 3-5 6-5s5.3 1.5 6 5"],
  robot: ["M6 9h12v10H6z", "M12 5v4", "M9 13h.01", "M15 13h.01", "M10 16h4"],
  more: ["M6 12h.01", "M12 12h.01", "M18 12h.01"],
  star: ["M12 3l2.8 5.8 6.2.9-4.5 4.4 1 6.2L12 17.4 6.5 20.3l1-6.2L3 9.7l6.2-.9z"],
};

export function icon(name, { label, className } = {}) {
  const svg = document.createElementNS(SVG_NS, "svg");
  svg.setAttribute("viewBox", "0 0 24 24");
  svg.setAttribute("class", ["icon", className].filter(Boolean).join(" "));
  svg.setAttribute("fill", "none");
  svg.setAttribute("stroke", "currentColor");
  svg.setAttribute("stroke-width", "1.8");
  svg.setAttribute("stroke-linecap", "round");
  svg.setAttribute("stroke-linejoin", "round");
  if (label) {
    svg.setAttribute("role", "img");
    svg.setAttribute("aria-label", label);
  } else {
    svg.setAttribute("aria-hidden", "true");
  }
  for (const d of ICONS[name] || []) {
    const path = document.createElementNS(SVG_NS, "path");
    path.setAttribute("d", d);
    svg.append(path);
  }
  return svg;
}

export function svg(tag, attrs = {}, ...children) {
  const el = document.createElementNS(SVG_NS, tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value !== undefined && value !== null) el.setAttribute(key, String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

// ------------------------------------------------------------------ feedback
let toastTimer = null;

/** A short message in the page's live region (read out by screen readers). */
export function toast(message, kind = "info") {
  let region = document.getElementById("toast");
  if (!region) {
    region = h("div", { id: "toast", class: "toast", role: "status", "aria-live": "polite" });
    document.body.append(region);
  }
  region.textContent = message;
  region.className = `toast toast-${kind} toast-show`;
  clearTimeout(toastTimer);
  // errors stay long enough to read; a confirmation is a glance
  toastTimer = setTimeout(() => { region.className = "toast"; }, kind === "error" ? 5000 : 1800);
}

/** An inline error box (role=alert) with the API's message. */
export function errorBox(error, { retry } = {}) {
  const message = (error && error.message) || "出错了，请稍后再试";
  const box = h("div", { class: "error-box", role: "alert" }, h("p", { class: "error-text", text: message }));
  const fields = error && error.fieldMessages ? error.fieldMessages : [];
  if (fields.length) {
    box.append(h("ul", { class: "error-fields" }, fields.map((f) => h("li", { text: `${f.name}：${f.text}` }))));
  }
  if (retry) box.append(h("button", { type: "button", class: "btn btn-small", onclick: retry }, "重试"));
  return box;
}

export function loading(text = "加载中…") {
  return h("div", { class: "loading", role: "status" }, h("span", { class: "spinner", "aria-hidden": "true" }), text);
}

export function empty(text) {
  return h("div", { class: "empty" }, text);
}

/**
 * A modal dialog (native <dialog>: focus stays inside, Esc cancels).
 * content: nodes; buttons: [{text, value, className}] → resolves with the value
 * (null when cancelled). `onSubmit(value)` may return false to keep it open.
 */
export function dialog({ title, content = [], buttons, onSubmit, className }) {
  return new Promise((resolve) => {
    const titleId = `dlg-${Math.random().toString(36).slice(2)}`;
    const form = h("form", { method: "dialog", class: "dialog-form" });
    const actions = h("div", { class: "dialog-actions" });
    const dlg = h("dialog", { class: ["dialog", className], "aria-labelledby": titleId },
      form);
    append(form, [h("h2", { id: titleId, class: "dialog-title", text: title }),
      h("div", { class: "dialog-body" }, content), actions]);
    for (const b of buttons) {
      actions.append(h("button", {
        type: b.value === null ? "button" : "submit", value: b.value === null ? "" : b.value,
        class: ["btn", b.className], "data-value": b.value === null ? "" : b.value,
        onclick: b.value === null ? () => dlg.close("") : undefined,
      }, b.text));
    }
    form.addEventListener("submit", async (event) => {
      const value = event.submitter ? event.submitter.value : "";
      if (onSubmit) {
        event.preventDefault();
        const keep = (await onSubmit(value)) === false;
        if (!keep) dlg.close(value);
      }
    });
    dlg.addEventListener("close", () => {
      const value = dlg.returnValue;
      dlg.remove();
      resolve(value ? value : null);
    });
    document.body.append(dlg);
    dlg.showModal();
    const first = dlg.querySelector("[autofocus]") || dlg.querySelector("input, textarea, select");
    if (first) first.focus();
  });
}

export async function confirmDialog({ title, message, confirmText = "确定", cancelText = "取消", danger = false }) {
  const content = typeof message === "string" ? [h("p", { text: message })] : message;
  const value = await dialog({
    title, content,
    buttons: [
      { text: cancelText, value: null, className: "btn-plain" },
      { text: confirmText, value: "ok", className: danger ? "btn-danger" : "btn-primary" },
    ],
  });
  return value === "ok";
}

/** Disable a button while an async action runs; shows errors with toast. */
export async function busy(button, fn) {
  if (button.disabled) return undefined;
  button.disabled = true;
  button.setAttribute("aria-busy", "true");
  try {
    return await fn();
  } finally {
    button.disabled = false;
    button.removeAttribute("aria-busy");
  }
}

/** A labelled form field: label + control (+ hint). */
export function field(labelText, control, { hint, required } = {}) {
  const id = control.id || `f-${Math.random().toString(36).slice(2)}`;
  control.id = id;
  const hintNode = hint ? h("p", { class: "field-hint", id: `${id}-hint`, text: hint }) : null;
  if (hintNode) control.setAttribute("aria-describedby", hintNode.id);
  return h("div", { class: "field" },
    h("label", { for: id, class: "field-label" }, labelText, required ? h("span", { class: "req", "aria-hidden": "true" }, " *") : null),
    control, hintNode);
}
