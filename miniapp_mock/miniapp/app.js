// The phone app's shell: navigation bar, tab bar, routes. Pages load on demand, so
// a slow phone only downloads the page it shows.

import { createRouter, navigate, parseHash } from "../shared/router.js";
import { errorBox, h, icon } from "../shared/dom.js";
import { loadLabels } from "../shared/labels.js";
import { api, hasFirstScreen, registerShell, session } from "./core.js";

// A page module once loaded is handed over as it is, not as a new import(): the
// router then shows the page in the same task as it clears the view (no blank frame).
const loaded = {};
const page = (name) => () => loaded[name]
  || import(`./pages/${name}.js`).then((module) => { loaded[name] = module; return module; });

const TABS = [
  { path: "/home", text: "首页", icon: "home" },
  { path: "/tickets", text: "工单", icon: "ticket" },
  { path: "/chat", text: "客服", icon: "chat" },
  { path: "/me", text: "我的", icon: "user" },
];

const routes = [
  { path: "/login", name: "login", title: "登录", load: page("login"), public: true, bare: true },
  { path: "/bind", name: "bind", title: "绑定房屋", load: page("bind"), parent: "/me" },
  { path: "/rooms", name: "rooms", title: "我的房屋", load: page("rooms"), parent: "/me" },
  { path: "/join", name: "join", title: "加入房屋", load: page("join"), parent: "/rooms", public: true },
  { path: "/home", name: "home", title: "阳光物业", load: page("home"), tab: "/home" },
  { path: "/report", name: "report", title: "报事报修", load: page("report"), parent: "/home" },
  { path: "/tickets", name: "tickets", title: "我的工单", load: page("tickets"), tab: "/tickets" },
  { path: "/tickets/:id", name: "ticket", title: "工单详情", load: page("ticket"), parent: "/tickets" },
  { path: "/tickets/:id/rate", name: "rate", title: "服务评价", load: page("rate"), parent: "/tickets" },
  { path: "/bills", name: "bills", title: "物业缴费", load: page("bills"), parent: "/home" },
  { path: "/receipt", name: "receipt", title: "电子收据", load: page("receipt"), parent: "/bills" },
  { path: "/fund", name: "fund", title: "维修资金", load: page("fund"), parent: "/home" },
  { path: "/fund/:id", name: "proposal", title: "表决详情", load: page("proposal"), parent: "/fund" },
  { path: "/fund/:id/vote", name: "vote", title: "参与表决", load: page("vote"), parent: "/fund" },
  { path: "/chat", name: "chat", title: "在线客服", load: page("chat"), tab: "/chat" },
  { path: "/notices", name: "notices", title: "公告", load: page("notices"), parent: "/home" },
  { path: "/notices/:id", name: "notice", title: "公告详情", load: page("notice"), parent: "/notices" },
  { path: "/notifications", name: "notifications", title: "消息通知", load: page("notifications"), parent: "/me" },
  { path: "/me", name: "me", title: "我的", load: page("me"), tab: "/me" },
];

const view = document.getElementById("view");
const title = document.getElementById("nav-title");
const back = document.getElementById("nav-back");
const tabbar = document.getElementById("tabbar");
const phone = document.getElementById("phone");
let currentRoute = null;

function buildTabbar() {
  for (const tab of TABS) {
    tabbar.append(h("a", { href: `#${tab.path}`, class: "tab", dataset: { path: tab.path } },
      icon(tab.icon), h("span", { class: "tab-text", text: tab.text }),
      tab.path === "/me" ? h("span", { class: "badge", id: "tab-badge", hidden: true }) : null));
  }
}

async function updateBadge() {
  const badge = document.getElementById("tab-badge");
  if (!badge || !session.signedIn) return;
  try {
    const body = await api.get("/api/v1/notifications", { limit: 1 });
    badge.hidden = !body.unread;
    badge.textContent = body.unread > 99 ? "99+" : String(body.unread || "");
    badge.setAttribute("aria-label", `${body.unread} 条未读消息`);
  } catch {
    badge.hidden = true;
  }
}

registerShell({
  setTitle(text) {
    title.textContent = text;
    document.title = `${text} · 物业服务`;
  },
  setBadge: updateBadge,
});

back.addEventListener("click", () => {
  if (historyDepth() > 0) {
    window.history.back();
  } else {
    navigate((currentRoute && currentRoute.parent) || "/home", { replace: true });
  }
});

// Each history entry remembers how deep into the app it is, so "back" leaves the
// app only by going to the page's parent, never to whatever was open before.
let lastDepth = -1;
function historyDepth() {
  const state = window.history.state;
  return state && typeof state.depth === "number" ? state.depth : 0;
}
function stampDepth() {
  const state = window.history.state;
  if (!state || typeof state.depth !== "number") {
    window.history.replaceState({ depth: lastDepth + 1 }, "");
  }
  lastDepth = historyDepth();
}

const router = createRouter({
  routes,
  view,
  fallback: "/home",
  guard(route) {
    if (!route.public && !session.signedIn) return "/login";
    return null;
  },
  onRender(ctx) {
    const route = ctx.route;
    const first = currentRoute === null;
    currentRoute = route;
    stampDepth();
    title.textContent = route.title;
    document.title = `${route.title} · 物业服务`;
    back.hidden = Boolean(route.tab || route.bare);
    tabbar.hidden = !route.tab;
    phone.classList.toggle("has-tabbar", Boolean(route.tab));
    for (const link of tabbar.querySelectorAll(".tab")) {
      const active = link.dataset.path === route.tab;
      link.classList.toggle("active", active);
      if (active) link.setAttribute("aria-current", "page");
      else link.removeAttribute("aria-current");
    }
    view.scrollTop = 0;
    // Move focus to the new page's title for keyboard and screen-reader users
    // (not on first load, where the browser's own focus is right).
    if (!first) title.focus({ preventScroll: true });
    if (route.tab) updateBadge();
  },
  onError(error, ctx) {
    ctx.el.replaceChildren(errorBox(error, { retry: () => ctx.refresh() }));
  },
});

buildTabbar();
if (!window.location.hash || parseHash().path === "/") {
  navigate(session.signedIn ? "/home" : "/login", { replace: true });
}
await loadLabels(); // once per page load: every page shows the server's labels
// The login page the server rendered into the HTML stays on screen until its module
// is in, so the router's swap to the live page leaves no blank frame.
if (hasFirstScreen("login") && !session.signedIn) await page("login")().catch(() => {});
router.start();
