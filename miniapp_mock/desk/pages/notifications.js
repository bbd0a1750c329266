// 消息通知 (desk): new assignments, residents waiting for a person, overdue tickets,
// votes. Each opens the thing it is about; opening the list marks them read.

import { h, loading } from "../../shared/dom.js";
import { pagedList } from "../../shared/pager.js";
import { dateTime } from "../../shared/format.js";
import { api, refreshCounts } from "../core.js";

/** "/tickets/7", "/desk/conversations/3", "/fund/2" → a console route. */
export function deskRoute(link) {
  const text = String(link || "");
  let m = /tickets?\/(\d+)/.exec(text);
  if (m) return `/tickets/${m[1]}`;
  m = /conversations\/(\d+)/.exec(text);
  if (m) return `/chats/${m[1]}?state=waiting`;
  m = /fund(?:-proposals)?\/(\d+)/.exec(text);
  if (m) return `/fund/${m[1]}`;
  return null;
}

function row(n) {
  const route = deskRoute(n.link);
  const body = [
    h("span", { class: "note-title" }, n.read ? null : h("span", { class: "dot", "aria-label": "未读" }), n.title),
    n.body ? h("span", { class: "muted", text: n.body }) : null,
    h("time", { class: "muted small", datetime: n.created_at, text: dateTime(n.created_at) }),
  ];
  return h("li", { class: ["note-row", n.read ? null : "unread"] },
    route ? h("a", { href: `#${route}`, class: "note-link" }, ...body) : h("div", { class: "note-link" }, ...body));
}

export default async function render(ctx) {
  const list = h("ul", { class: "note-rows" }, loading());
  const more = h("button", { type: "button", class: "btn btn-plain btn-small", hidden: true }, "加载更多");
  ctx.el.append(h("section", { class: "panel" }, list, more));
  const first = await pagedList({
    list, more, render: row, empty: "暂无消息",
    fetchPage: (cursor) => api.get("/api/v1/notifications", { limit: 30, cursor }, { signal: ctx.signal }),
  });
  if (first.unread) {
    await api.post("/api/v1/notifications/read").catch(() => {});
    refreshCounts();
  }
}
