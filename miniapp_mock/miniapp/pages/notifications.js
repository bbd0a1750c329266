// 消息通知: ticket progress, votes and other notices; opening the list marks them read.

import { h, icon, loading } from "../../shared/dom.js";
import { pagedList } from "../../shared/pager.js";
import { shortDateTime } from "../../shared/format.js";
import { api, linkToRoute, refreshBadge } from "../core.js";

const KIND_ICON = { ticket: "ticket", fund: "fund", chat: "chat", fee: "bill", bill: "bill" };

function kindIcon(kind) {
  const prefix = String(kind || "").split("_")[0];
  return KIND_ICON[prefix] || "bell";
}

function item(n) {
  const route = linkToRoute(n.link);
  const inner = [
    h("span", { class: "note-icon", "aria-hidden": "true" }, icon(kindIcon(n.kind))),
    h("span", { class: "note-main" },
      h("span", { class: "note-title" }, n.read ? null : h("span", { class: "dot", "aria-label": "未读" }), n.title),
      n.body ? h("span", { class: "note-body", text: n.body }) : null,
      h("span", { class: "note-time", text: shortDateTime(n.created_at) })),
  ];
  return h("li", {}, route
    ? h("a", { class: ["note-item", n.read ? null : "unread"], href: `#${route}` }, ...inner, h("span", { class: "cell-arrow", "aria-hidden": "true", text: "›" }))
    : h("div", { class: ["note-item", n.read ? null : "unread"] }, ...inner));
}

export default async function render(ctx) {
  const list = h("ul", { class: "note-list" }, loading());
  const more = h("button", { type: "button", class: "btn btn-plain btn-block", hidden: true }, "加载更多");
  ctx.el.append(list, more);
  const first = await pagedList({
    list, more, render: item, empty: "暂无消息",
    fetchPage: (cursor) => api.get("/api/v1/notifications", { limit: 20, cursor }, { signal: ctx.signal }),
  });
  if (first.unread) {
    // Seen now: clear the unread marks on the server (the dots stay until next visit).
    try {
      await api.post("/api/v1/notifications/read");
      refreshBadge();
    } catch {
      /* not critical */
    }
  }
}
