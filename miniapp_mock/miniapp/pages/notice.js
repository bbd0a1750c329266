// 公告详情: one notice; opening it records the read receipt (a POST).

import { h } from "../../shared/dom.js";
import { dateTime } from "../../shared/format.js";
import { attachmentList } from "../../shared/noticeview.js";
import { api } from "../core.js";

export default async function render(ctx) {
  const id = ctx.params.id;
  // The receipt is the page's one write, and it answers with the notice itself.
  const n = await api.post(`/api/v1/notices/${id}/read`, {}, { signal: ctx.signal });
  if (!ctx.isCurrent()) return;
  ctx.el.append(h("article", { class: "card notice-detail" },
    h("h2", { class: "card-title", id: "notice-title", text: n.title }),
    h("p", { class: "muted" },
      h("span", { class: "tag tag-green", text: n.category_label }),
      ` ${n.source_label} · ${dateTime(n.publish_at)} · ${n.scope_label}`),
    h("div", { class: "notice-body pre-wrap", id: "notice-body", text: n.body }),
    n.expires_at ? h("p", { class: "muted", text: `有效期至 ${dateTime(n.expires_at)}` }) : null,
    attachmentList(api, n, ctx.signal)));
}
