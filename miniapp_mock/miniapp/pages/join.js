// 加入房屋: opened from an owner's invitation link (#/join?code=...) or the code typed
// on 我的房屋. The signed-in resident joins the room as the owner chose (家庭成员 or
// 租户); the code is used once. Opened before signing in, the code is kept on the
// phone (PENDING_JOIN) and offered again on 绑定房屋 and 我的房屋 after sign-in.

import { busy, errorBox, h, toast } from "../../shared/dom.js";
import { label, ROLE } from "../../shared/labels.js";
import { navigate } from "../../shared/router.js";
import { api, loadMe, session } from "../core.js";

export const PENDING_JOIN = "wuye.miniapp.join";

/** A code from an invitation link opened before signing in, or "". */
export function pendingJoin() {
  return window.localStorage.getItem(PENDING_JOIN) || "";
}

/** "您有一个待使用的邀请码" with a button to it, or null. */
export function pendingJoinNotice() {
  const code = pendingJoin();
  if (!code) return null;
  return h("div", { class: "notice pending-join" }, `您有一个待使用的邀请码 ${code}，`,
    h("a", { class: "link", href: `#/join?code=${encodeURIComponent(code)}` }, "立即加入"));
}

export default async function render(ctx) {
  const code = (ctx.query.code || "").trim();
  if (!session.signedIn) {
    if (code) window.localStorage.setItem(PENDING_JOIN, code);
    ctx.el.append(h("section", { class: "card join-card" },
      h("h2", { class: "card-title", text: "加入房屋" }),
      h("p", { text: "请先登录，登录后即可使用业主发给您的邀请码加入房屋。" }),
      h("a", { class: "btn btn-primary btn-block", href: "#/login" }, "去登录")));
    return;
  }
  const status = h("div", { class: "form-status", "aria-live": "polite" });
  const submit = h("button", { type: "button", class: "btn btn-primary btn-block join-submit" }, "确认加入");
  submit.disabled = !code;
  submit.addEventListener("click", () => busy(submit, async () => {
    status.replaceChildren();
    try {
      const joined = await api.post("/api/v1/households/join", { code });
      window.localStorage.removeItem(PENDING_JOIN);
      await loadMe({ fresh: true });
      toast(`已加入 ${joined.room}（${label(ROLE, joined.relation)}）`, "success");
      navigate("/rooms", { replace: true });
    } catch (error) {
      status.replaceChildren(errorBox(error));
    }
  }));
  ctx.el.append(h("section", { class: "card join-card" },
    h("h2", { class: "card-title", text: "加入房屋" }),
    code
      ? h("p", {}, "邀请码 ", h("strong", { class: "join-code", text: code }))
      : h("p", { class: "empty", text: "链接中没有邀请码，请在“我的房屋”中输入业主提供的邀请码" }),
    h("p", { class: "muted", text: "加入后可以为该房屋报事报修、查看本房屋的工单和在线咨询；维修资金表决仅限业主本人。" }),
    status, submit));
}
