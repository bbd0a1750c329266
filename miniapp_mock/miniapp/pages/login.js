// 登录. In WeChat the mini-program calls wx.login and sends the code; this browser
// stand-in offers the demo residents instead (dev:<openid> codes, development only).

import { busy, errorBox, field, h, loading, toast } from "../../shared/dom.js";
import { label, ROLE } from "../../shared/labels.js";
import { navigate } from "../../shared/router.js";
import { api, signIn } from "../core.js";

async function login(code) {
  const body = await api.post("/api/v1/auth/wx-login", { code });
  signIn(body.token, body.user);
  toast(`欢迎，${body.user.name || "新用户"}`, "success");
  navigate(body.user.rooms && body.user.rooms.length ? "/home" : "/bind", { replace: true });
}

function residentCard(resident, status) {
  const roles = (resident.roles || []).filter((r) => r === "committee").map((r) => label(ROLE, r));
  const button = h("button", {
    type: "button", class: "cell cell-button login-choice", dataset: { openid: resident.openid },
  },
  h("span", { class: "avatar", "aria-hidden": "true", text: (resident.name || "?").slice(0, 1) }),
  h("span", { class: "cell-main" },
    h("span", { class: "cell-title" }, resident.name,
      roles.map((r) => h("span", { class: "tag tag-green", text: r }))),
    h("span", { class: "cell-sub", text: resident.rooms.join("、") || "未绑定房屋" })),
  h("span", { class: "cell-arrow", "aria-hidden": "true", text: "›" }));
  button.addEventListener("click", () => busy(button, async () => {
    status.replaceChildren();
    try {
      await login(`dev:${resident.openid}`);
    } catch (error) {
      status.replaceChildren(errorBox(error));
    }
  }));
  return button;
}

export default async function render(ctx) {
  const status = h("div", { class: "login-status" });
  const list = h("div", { class: "cell-group" }, loading());
  ctx.el.append(
    h("section", { class: "login-hero" },
      h("div", { class: "login-logo", "aria-hidden": "true", text: "物" }),
      h("h2", { class: "login-title", text: "小区物业服务" }),
      h("p", { class: "login-sub", text: "报事报修 · 物业缴费 · 维修资金表决 · 在线客服" })),
    status,
    h("h3", { class: "group-title", text: "演示住户（正式版通过微信授权登录）" }),
    list,
  );

  // A brand-new WeChat user (no room yet): goes on to bind a room against the ledger.
  const openidInput = h("input", { type: "text", name: "openid", autocomplete: "off", maxlength: "60",
    placeholder: "如 demo-guest" });
  const newUser = h("form", { class: "card form-card", novalidate: true },
    h("h3", { class: "card-title", text: "以新微信用户进入" }),
    field("微信 openid（演示）", openidInput, { hint: "留空将随机生成；登录后需绑定房屋" }),
    h("button", { type: "submit", class: "btn btn-primary btn-block" }, "进入并绑定房屋"));
  newUser.addEventListener("submit", (event) => {
    event.preventDefault();
    const button = newUser.querySelector("button");
    busy(button, async () => {
      status.replaceChildren();
      const openid = openidInput.value.trim() || `guest-${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;
      try {
        await login(`dev:${openid}`);
      } catch (error) {
        status.replaceChildren(errorBox(error));
      }
    });
  });
  ctx.el.append(newUser);

  // Most people sign in next: fetch the home page's module meanwhile, so on a slow
  // network the tap is not followed by another round trip for code.
  import("./home.js").catch(() => {});
  try {
    const users = await api.get("/api/v1/dev/demo-users", undefined, { signal: ctx.signal });
    list.replaceChildren(...(users.residents.length
      ? users.residents.map((r) => residentCard(r, status))
      : [h("p", { class: "empty", text: "还没有演示住户：请先运行 flask seed-demo" })]));
  } catch (error) {
    if (error.name === "AbortError") return;
    if (error.status === 404) {
      list.replaceChildren(h("p", { class: "empty", text: "请在微信中打开本小程序登录" }));
    } else {
      list.replaceChildren(errorBox(error, { retry: () => ctx.refresh() }));
    }
  }
}
