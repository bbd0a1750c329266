// 登录工作台: staff sign in with username and password; committee members (who are
// owners and sign in to the mini-program with WeChat) type a one-time code from the
// mini-program (我的 → 登录物业工作台). In development the demo picker signs them in too.

import { busy, errorBox, field, h, loading } from "../../shared/dom.js";
import { label, ROLE } from "../../shared/labels.js";
import { navigate } from "../../shared/router.js";
import { api, signIn } from "../core.js";

export default async function render(ctx) {
  const status = h("div", { class: "form-status" });
  const username = h("input", { type: "text", name: "username", autocomplete: "username", required: true, maxlength: "64" });
  const password = h("input", { type: "password", name: "password", autocomplete: "current-password", required: true, maxlength: "128" });
  const submit = h("button", { type: "submit", class: "btn btn-primary btn-block" }, "登录");
  const form = h("form", { class: "login-form", novalidate: true },
    field("用户名", username), field("密码", password), status, submit);

  async function finish(body) {
    signIn(body.token, body.user);
    navigate("/home", { replace: true });
  }

  // 业委会委员登录: a one-time code shown in the mini-program.
  const codeStatus = h("div", { class: "form-status" });
  const codeInput = h("input", {
    type: "text", name: "desk-code", autocomplete: "one-time-code", required: true, maxlength: "32",
    autocapitalize: "characters", spellcheck: "false", placeholder: "例如 K7M2-9QXP", class: "desk-code-input",
  });
  const codeSubmit = h("button", { type: "submit", class: "btn btn-block" }, "使用登录码登录");
  const codeForm = h("form", { class: "login-form desk-code-form", novalidate: true, "aria-labelledby": "desk-code-title" },
    h("h3", { id: "desk-code-title", class: "demo-group", text: "业委会委员登录" }),
    field("登录码", codeInput, { hint: "在小程序“我的 → 登录物业工作台”获取，5 分钟内有效，仅可使用一次" }),
    codeStatus, codeSubmit);
  codeForm.addEventListener("submit", (event) => {
    event.preventDefault();
    codeStatus.replaceChildren();
    const code = codeInput.value.replace(/[\s\-－—_]/g, "");
    if (!code) {
      codeStatus.replaceChildren(errorBox({ message: "请输入小程序中显示的登录码" }));
      codeInput.focus();
      return;
    }
    busy(codeSubmit, async () => {
      try {
        await finish(await api.post("/api/v1/auth/desk-code-login", { code: codeInput.value.trim() }));
      } catch (error) {
        codeStatus.replaceChildren(errorBox(error));
        codeInput.select();
      }
    });
  });

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    status.replaceChildren();
    if (!username.value.trim() || !password.value) {
      status.replaceChildren(errorBox({ message: "请输入用户名和密码" }));
      (username.value.trim() ? password : username).focus();
      return;
    }
    busy(submit, async () => {
      try {
        await finish(await api.post("/api/v1/auth/staff-login", { username: username.value.trim(), password: password.value }));
      } catch (error) {
        status.replaceChildren(errorBox(error));
        password.select();
      }
    });
  });

  const demo = h("div", { class: "demo-accounts" }, loading());
  ctx.el.append(h("div", { class: "login-wrap" },
    h("section", { class: "login-card" },
      h("div", { class: "login-brand" }, h("span", { class: "brand-logo", "aria-hidden": "true", text: "物" }),
        h("div", {}, h("h2", { text: "物业工作台" }), h("p", { class: "muted", text: "前台 · 维修 · 项目经理 · 业委会" }))),
      form, codeForm),
    h("section", { class: "login-card login-demo", "aria-labelledby": "demo-title" },
      h("h2", { id: "demo-title", class: "panel-title", text: "演示账号" }), demo)));

  try {
    const users = await api.get("/api/v1/dev/demo-users", undefined, { signal: ctx.signal });
    const staffButtons = users.staff.map((s) => {
      const b = h("button", { type: "button", class: "demo-chip", dataset: { username: s.username } },
        h("strong", { text: s.name }), h("span", { text: `${s.username} · ${s.roles.map((r) => label(ROLE, r)).join("、")}` }));
      b.addEventListener("click", () => {
        username.value = s.username;
        password.value = s.demo_password;
        form.requestSubmit();
      });
      return b;
    });
    const committee = users.residents.filter((r) => (r.roles || []).includes("committee")).map((r) => {
      const b = h("button", { type: "button", class: "demo-chip", dataset: { openid: r.openid } },
        h("strong", { text: r.name }), h("span", { text: `业委会委员 · ${r.rooms.join("、")}` }));
      b.addEventListener("click", () => busy(b, async () => {
        status.replaceChildren();
        try {
          await finish(await api.post("/api/v1/auth/wx-login", { code: `dev:${r.openid}` }));
        } catch (error) {
          status.replaceChildren(errorBox(error));
        }
      }));
      return b;
    });
    demo.replaceChildren(
      h("h3", { class: "demo-group", text: "物业员工（点击即登录）" }), h("div", { class: "demo-list" }, staffButtons),
      h("h3", { class: "demo-group", text: "业委会委员（微信登录）" }), h("div", { class: "demo-list" }, committee));
    if (!staffButtons.length && !committee.length) demo.replaceChildren(h("p", { class: "muted", text: "还没有演示账号：请先运行 flask seed-demo" }));
  } catch (error) {
    if (error.name === "AbortError") return;
    if (error.status === 404) ctx.el.querySelector(".login-demo").remove();
    else demo.replaceChildren(errorBox(error));
  }
  username.focus();
}
