// 我的: profile, bound rooms, shortcuts to personal lists, sign out. Committee
// members (and staff) also get a one-time code here to sign in to the desk console
// on a computer.

import { append, busy, errorBox, h, icon } from "../../shared/dom.js";
import { area, dateTime, roomLabel } from "../../shared/format.js";
import { label, ROLE } from "../../shared/labels.js";
import { api, loadMe, signOut } from "../core.js";

// "登录物业工作台": asks for a code and shows it large with its expiry; a new code
// replaces the old one (the server invalidates it too).
function deskCodeCard(signal) {
  const result = h("div", { class: "desk-code-result", "aria-live": "polite" });
  const button = h("button", { type: "button", class: "btn btn-primary btn-block desk-code-get" }, "登录物业工作台");
  let timer = null;
  signal?.addEventListener("abort", () => clearTimeout(timer));
  button.addEventListener("click", () => busy(button, async () => {
    result.replaceChildren();
    clearTimeout(timer);
    try {
      const body = await api.post("/api/v1/auth/desk-codes");
      const code = h("p", { class: "desk-code", text: body.code, "aria-label": `登录码 ${body.code.split("").join(" ")}` });
      const expiry = h("p", { class: "desk-code-expiry muted", text: `有效期至 ${dateTime(body.expires_at)}，仅可使用一次` });
      result.replaceChildren(code, expiry,
        h("p", { class: "desk-code-hint", text: "在电脑上打开物业工作台，选择“业委会委员登录”并输入此登录码" }));
      button.textContent = "重新获取登录码";
      const left = new Date(body.expires_at).getTime() - Date.now();
      timer = setTimeout(() => {
        code.classList.add("desk-code-expired");
        expiry.textContent = "登录码已过期，请重新获取";
      }, Math.max(left, 0));
    } catch (error) {
      result.replaceChildren(errorBox(error));
    }
  }));
  return h("section", { class: "card desk-code-card", "aria-labelledby": "desk-code-title" },
    h("h2", { id: "desk-code-title", class: "card-title", text: "物业工作台" }),
    h("p", { class: "muted", text: "在电脑上管理维修资金表决：获取一次性登录码（5 分钟内有效）。" }),
    result, button);
}

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
  // dom.js append skips null (Element.append would print "null" for a non-committee owner)
  append(ctx.el, [
    h("section", { class: "profile" },
      h("span", { class: "avatar avatar-large", "aria-hidden": "true", text: (me.name || "住").slice(0, 1) }),
      h("div", {},
        h("h2", { class: "profile-name", text: me.name || "新用户" }),
        h("p", { class: "profile-roles" }, roles.map((r) => h("span", { class: "tag tag-light", text: r }))))),
    h("section", { class: "card" },
      h("h2", { class: "card-title" }, "我的房屋", h("a", { class: "card-extra link", href: "#/rooms" }, "管理 / 邀请家人")),
      rooms.length
        ? h("ul", { class: "room-list" }, rooms.map((r) => h("li", { class: "room-item" },
          h("span", { class: "room-name", text: roomLabel(r) }),
          h("span", { class: "muted", text: `${r.community || ""} · ${area(r.area_m2)} · ${label(ROLE, r.relation)}` }))))
        : h("p", { class: "empty" }, "还没有绑定房屋，",
          h("a", { class: "link", href: "#/bind" }, "业主绑定"), " 或 ",
          h("a", { class: "link", href: "#/rooms" }, "输入邀请码"))),
    me.may_use_desk ? deskCodeCard(ctx.signal) : null,
    h("nav", { class: "cell-group", "aria-label": "我的服务" },
      cell("#/rooms", "home", "我的房屋"),
      cell("#/tickets", "ticket", "我的工单"),
      cell("#/bills", "bill", "我的账单"),
      cell("#/fund", "fund", "维修资金表决"),
      cell("#/notifications", "bell", "消息通知"),
      cell("#/chat", "chat", "在线客服")),
    h("button", { type: "button", class: "btn btn-plain btn-block logout", onclick: () => signOut() }, icon("logout"), "退出登录"),
  ]);
}
