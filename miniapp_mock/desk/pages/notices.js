// 公告管理: every notice of my communities (scheduled, shown, expired, withdrawn), each
// with how many residents in scope have read it; a notice's residents who have not
// read it (name, room, phone: to call or visit), withdraw and pin.

import { busy, confirmDialog, errorBox, h, loading, toast } from "../../shared/dom.js";
import { dateTime } from "../../shared/format.js";
import { attachmentList } from "../../shared/noticeview.js";
import { api, setActions } from "../core.js";

function row(n, open) {
  return h("tr", { dataset: { notice: n.id } },
    h("td", {}, n.pinned ? h("span", { class: "tag tag-red", text: "置顶" }) : null,
      h("a", { href: "#", class: "notice-open", text: n.title, onclick: (e) => { e.preventDefault(); open(n.id); } })),
    h("td", { text: n.category_label }),
    h("td", { text: n.scope_label }),
    h("td", { text: dateTime(n.publish_at) }),
    h("td", { text: n.state_label }),
    h("td", { class: "read-count", text: `${n.read_count}/${n.audience}` }));
}

export default async function render(ctx) {
  setActions(h("a", { class: "btn btn-primary btn-small", href: "#/notices/new", id: "new-notice" }, "发布公告"));
  const table = h("tbody", {}, h("tr", {}, h("td", { colspan: "6" }, loading())));
  const detail = h("section", { class: "panel", id: "notice-detail", hidden: true });
  ctx.el.append(h("div", { class: "panel" },
    h("table", { class: "table", id: "notice-table" },
      h("thead", {}, h("tr", {}, ["标题", "类别", "范围", "发布时间", "状态", "已读/应读"].map((t) => h("th", { text: t })))),
      table)), detail);

  async function open(id) {
    detail.hidden = false;
    detail.replaceChildren(loading());
    const [n, unread] = await Promise.all([
      api.get(`/api/v1/desk/notices/${id}`, undefined, { signal: ctx.signal }),
      api.get(`/api/v1/desk/notices/${id}/unread`, undefined, { signal: ctx.signal }),
    ]);
    const withdraw = h("button", { type: "button", class: "btn btn-danger btn-small", id: "withdraw-notice", hidden: n.state === "withdrawn" }, "撤回");
    withdraw.addEventListener("click", async () => {
      if (!await confirmDialog({ title: "撤回公告", message: "撤回后住户不再看到该公告（记录保留）。", confirmText: "撤回", danger: true })) return;
      await busy(withdraw, async () => {
        try {
          await api.post(`/api/v1/desk/notices/${id}/withdraw`);
          toast("已撤回");
          await reload();
          await open(id);
        } catch (error) {
          detail.append(errorBox(error));
        }
      });
    });
    const pin = h("button", { type: "button", class: "btn btn-plain btn-small", hidden: n.state === "withdrawn" }, n.pinned ? "取消置顶" : "置顶");
    pin.addEventListener("click", () => busy(pin, async () => {
      await api.post(`/api/v1/desk/notices/${id}/pin`, { pinned: !n.pinned });
      await reload();
      await open(id);
    }));
    detail.replaceChildren(
      h("h2", { class: "panel-title", text: n.title }),
      h("p", { class: "muted", text: `${n.category_label} · ${n.source_label} · ${n.scope_label} · ${n.state_label}${n.created_by ? ` · ${n.created_by}` : ""}` }),
      h("div", { class: "pre-wrap", text: n.body }),
      attachmentList(api, n, ctx.signal),
      h("p", { id: "notice-read-count", text: `已读 ${n.read_count} 人 / 范围内 ${n.audience} 人` }),
      h("div", { class: "btn-row" }, pin, withdraw),
      h("h3", { text: `未读住户（${unread.items.length}）` }),
      unread.items.length
        ? h("table", { class: "table", id: "unread-table" },
          h("thead", {}, h("tr", {}, ["姓名", "房屋", "身份", "电话"].map((t) => h("th", { text: t })))),
          h("tbody", {}, unread.items.map((u) => h("tr", {},
            h("td", { text: u.name }), h("td", { text: u.room }), h("td", { text: u.relation_label }),
            h("td", {}, u.phone ? h("a", { href: `tel:${u.phone}`, text: u.phone }) : "—")))))
        : h("p", { class: "empty", text: "范围内住户均已读" }));
  }

  async function reload() {
    const body = await api.get("/api/v1/desk/notices", { limit: 100 }, { signal: ctx.signal });
    table.replaceChildren(...(body.items.length ? body.items.map((n) => row(n, open))
      : [h("tr", {}, h("td", { colspan: "6", class: "empty", text: "还没有公告" }))]));
  }
  await reload();
}
