// 我的: profile, bound rooms, shortcuts to personal lists, sign out.

import { h, icon } from "../../shared/dom.js";
import { area, roomLabel } from "../../shared/format.js";
import { label, ROLE } from "../../shared/labels.js";
import { loadMe, signOut } from "../core.js";

function cell(href, iconName, text, extra) {
  return h("a", { class: "cell", href },
    h("span", { class: "cell-icon", "aria-hidden": "true" }, icon(iconName)),
    h("span", { class: "cell-main" }, h("span", { class: "cell-title", text })),
    extra ? h("span", { class: "cell-extra", text: extra }) : null,
    h("span", { class: "cell-arrow", "aria-hidden": "true", text: "›" }));
}

export default async function render(ctx) {
  const me = await loadMe({ fresh: true });
  const roles = (me.roles || []).map((r) => label(ROLE, r));
  const rooms = me.rooms || [];
  ctx.el.append(
    h("section", { class: "profile" },
      h("span", { class: "avatar avatar-large", "aria-hidden": "true", text: (me.name || "住").slice(0, 1) }),
      h("div", {},
        h("h2", { class: "profile-name", text: me.name || "新用户" }),
        h("p", { class: "profile-roles" }, roles.map((r) => h("span", { class: "tag tag-light", text: r }))))),
    h("section", { class: "card" },
      h("h2", { class: "card-title" }, "我的房屋", h("a", { class: "card-extra link", href: "#/bind" }, "绑定房屋")),
      rooms.length
        ? h("ul", { class: "room-list" }, rooms.map((r) => h("li", { class: "room-item" },
          h("span", { class: "room-name", text: roomLabel(r) }),
          h("span", { class: "muted", text: `${r.community || ""} · ${area(r.area_m2)} · ${label(ROLE, r.relation)}` }))))
        : h("p", { class: "empty", text: "还没有绑定房屋" })),
    h("nav", { class: "cell-group", "aria-label": "我的服务" },
      cell("#/tickets", "ticket", "我的工单"),
      cell("#/bills", "bill", "我的账单"),
      cell("#/fund", "fund", "维修资金表决"),
      cell("#/notifications", "bell", "消息通知"),
      cell("#/chat", "chat", "在线客服")),
    h("button", { type: "button", class: "btn btn-plain btn-block logout", onclick: () => signOut() }, icon("logout"), "退出登录"));
}
