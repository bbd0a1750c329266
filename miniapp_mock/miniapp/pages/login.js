// 登录. In WeChat the mini-program calls wx.login and sends the code; this browser
// stand-in offers the demo residents instead (dev:<openid> codes, development only).
// The page is rendered by the server (backend/templates/pages/miniapp_login.html):
// it comes inside the app's HTML, so a slow phone shows it before any module has
// loaded, and is fetched the same way after a sign-out. This module makes it live.

import { ApiError } from "../../shared/api.js";
import { busy, errorBox, loading, toast } from "../../shared/dom.js";
import { navigate } from "../../shared/router.js";
import { api, signIn, takeFirstScreen } from "../core.js";

async function login(code) {
  const body = await api.post("/api/v1/auth/wx-login", { code });
  signIn(body.token, body.user);
  toast(`欢迎，${body.user.name || "新用户"}`, "success");
  navigate(body.user.rooms && body.user.rooms.length ? "/home" : "/bind", { replace: true });
}

/** The server's login page, from the app's HTML as it is served now. */
async function fetchScreen(signal) {
  let response;
  try {
    response = await fetch(window.location.pathname, { signal, headers: { Accept: "text/html" } });
  } catch (exc) {
    if (exc && exc.name === "AbortError") throw exc;
    throw new ApiError(0);
  }
  if (!response.ok) throw new ApiError(response.status);
  const html = new DOMParser().parseFromString(await response.text(), "text/html");
  const screen = html.querySelector('[data-first-screen="login"]');
  if (!screen) throw new ApiError(500);
  return document.adoptNode(screen);
}

function signInWith(button, openid, status) {
  return busy(button, async () => {
    status.replaceChildren();
    try {
      await login(`dev:${openid}`);
    } catch (error) {
      status.replaceChildren(errorBox(error));
    }
  });
}

export default async function render(ctx) {
  let screen = takeFirstScreen("login");
  if (!screen) {
    ctx.el.append(loading());
    screen = await fetchScreen(ctx.signal);
  }
  ctx.el.replaceChildren(...screen.childNodes);
  const status = ctx.el.querySelector(".login-status");

  // the demo residents: marked unavailable until now (the server cannot sign anyone in)
  const choices = ctx.el.querySelectorAll(".login-choice");
  for (const button of choices) {
    button.removeAttribute("aria-disabled");
    button.addEventListener("click", () => signInWith(button, button.dataset.openid, status));
  }

  // A brand-new WeChat user (no room yet): goes on to bind a room against the ledger.
  const newUser = ctx.el.querySelector(".login-new");
  if (newUser) {
    const input = newUser.querySelector("input[name=openid]");
    const button = newUser.querySelector("button[type=submit]");
    newUser.addEventListener("submit", (event) => {
      event.preventDefault();
      const openid = input.value.trim()
        || `guest-${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;
      signInWith(button, openid, status);
    });
    button.disabled = false;
  }

  // Most people sign in next: fetch the home page's module meanwhile, so on a slow
  // network the tap is not followed by another round trip for code.
  if (choices.length) import("./home.js").catch(() => {});
}
