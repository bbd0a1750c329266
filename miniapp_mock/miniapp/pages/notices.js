// 公告: the notices shown to me now (my rooms' community or buildings), pinned first,
// unread ones marked; opening one records that I read it.

import { h, loading } from "../../shared/dom.js";
import { pagedList } from "../../shared/pager.js";
import { shortDateTime } from "../../shared/format.js";
import { api } from "../core.js";

function item(n) {
  return h("li", {},
    h("a", { class: ["note-item", n.read ? null : "unread"], href: `#/notices/${n.id}`, dataset: { notice: n.id } },
      h("span", { class: "note-main" },
        h("span", { class: "note-title" },
          n.read ? null : h("span", { class: "dot", "aria-label": "未读" }),
          n.pinned ? h("span", { class: "tag tag-red", text: "置顶" }) : null,
          h("span", { class: "tag tag-green", text: n.category_label }), ` ${n.title}`),
        h("span", { class: "note-time", text: `${shortDateTime(n.publish_at)} · ${n.scope_label}${n.read ? "" : " · 未读"}` })),
      h("span", { class: "cell-arrow", "aria-hidden": "true", text: "›" })));
}

export default async function render(ctx) {
  const summary = h("p", { class: "muted", id: "notice-unread" });
  const list = h("ul", { class: "note-list", id: "notice-list" }, loading());
  const more = h("button", { type: "button", class: "btn btn-plain btn-block", hidden: true }, "加载更多");
  ctx.el.append(summary, list, more);
  const first = await pagedList({
    list, more, render: item, empty: "暂无公告",
    fetchPage: (cursor) => api.get("/api/v1/notices", { limit: 20, cursor }, { signal: ctx.signal }),
  });
  summary.textContent = first.unread ? `${first.unread} 条未读公告` : "公告均已读";
}
