// Landing: go to the first section this account may use.

import { h } from "../../shared/dom.js";
import { navigate } from "../../shared/router.js";
import { loadMe, sectionsFor, signOut } from "../core.js";

export default async function render(ctx) {
  const me = await loadMe();
  const sections = sectionsFor(me);
  if (sections.length) {
    navigate(sections[0].path, { replace: true });
    return;
  }
  ctx.el.append(h("div", { class: "panel empty-panel" },
    h("h2", { text: "该账号没有工作台权限" }),
    h("p", { class: "muted", text: "工作台供物业前台、维修人员、项目经理和业委会委员使用。业主请使用小程序。" }),
    h("button", { type: "button", class: "btn btn-primary", onclick: () => signOut() }, "换个账号登录")));
}
