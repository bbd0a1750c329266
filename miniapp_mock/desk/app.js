// The desk console's shell: sidebar by role, top bar, routes, queue counters.

import { createRouter, navigate, parseHash } from "../shared/router.js";
import { errorBox, h, icon } from "../shared/dom.js";
import { label, loadLabels, ROLE } from "../shared/labels.js";
import { api, hasRole, loadMe, registerShell, sectionsFor, session, signOut } from "./core.js";

const page = (name) => () => import(`./pages/${name}.js`);

const routes = [
  { path: "/login", name: "login", title: "登录工作台", load: page("login"), public: true, bare: true },
  { path: "/tickets", name: "tickets", title: "工单队列", load: page("tickets"), section: "/tickets", roles: ["desk", "engineer", "manager"] },
  { path: "/tickets/:id", name: "ticket", title: "工单详情", load: page("ticket"), section: "/tickets", roles: ["desk", "engineer", "manager"] },
  { path: "/chats", name: "chats", title: "客服会话", load: page("chats"), section: "/chats", roles: ["desk", "manager"] },
  { path: "/payments", name: "payments", title: "在线缴费", load: page("payments"), section: "/payments", roles: ["desk", "manager"] },
  { path: "/chats/:id", name: "chats", title: "客服会话", load: page("chats"), section: "/chats", roles: ["desk", "manager"] },
  { path: "/fund", name: "fund", title: "维修资金", load: page("fund"), section: "/fund", roles: ["committee", "manager"] },
  { path: "/fund/new", name: "fund-new", title: "新建维修资金事项", load: page("fund_new"), section: "/fund", roles: ["committee", "manager"] },
  { path: "/fund/:id", name: "proposal", title: "事项详情", load: page("proposal"), section: "/fund", roles: ["committee", "manager"] },
  { path: "/notices", name: "notices", title: "公告管理", load: page("notices"), section: "/notices", roles: ["desk", "manager", "committee"] },
  { path: "/notices/new", name: "notice-new", title: "发布公告", load: page("notice_new"), section: "/notices", roles: ["desk", "manager", "committee"] },
  { path: "/report", name: "report", title: "月度服务报表", load: page("report"), section: "/report", roles: ["manager", "committee"] },
  { path: "/notifications", name: "notifications", title: "消息通知", load: page("notifications"), section: "/notifications" },
  { path: "/home", name: "home", title: "工作台", load: page("home") },
];

const sidebar = document.getElementById("sidebar");
const nav = document.getElementById("side-nav");
const userBox = document.getElementById("side-user");
const topbar = document.getElementById("topbar");
const title = document.getElementById("top-title");
const actions = document.getElementById("top-actions");
const view = document.getElementById("view");
let builtFor = null;
let countTimer = null;

function buildSidebar(me) {
  if (builtFor === me.id) return;
  builtFor = me.id;
  const links = [...sectionsFor(me), { path: "/notifications", text: "消息通知", icon: "bell" }];
  nav.replaceChildren(...links.map((s) => h("a", { class: "side-link", href: `#${s.path}`, dataset: { path: s.path } },
    icon(s.icon), h("span", { text: s.text }), h("span", { class: "side-count", dataset: { count: s.path }, hidden: true }))));
  userBox.replaceChildren(
    h("div", { class: "side-user-name", text: me.name || me.username || "" }),
    h("div", { class: "side-user-roles", text: (me.roles || []).filter((r) => r !== "owner").map((r) => label(ROLE, r)).join("、") }),
    h("button", { type: "button", class: "btn btn-small side-logout", onclick: () => signOut() }, icon("logout"), "退出"));
  refreshCounts();
  clearInterval(countTimer);
  countTimer = setInterval(() => { if (!document.hidden) refreshCounts(); }, 20000);
}

async function refreshCounts() {
  const me = session.me;
  if (!me || !session.signedIn) return;
  const set = (path, n) => {
    const el = nav.querySelector(`[data-count="${path}"]`);
    if (!el) return;
    el.hidden = !n;
    el.textContent = n > 99 ? "99+" : String(n || "");
    el.setAttribute("aria-label", `${n} 项待处理`);
  };
  try {
    const body = await api.get("/api/v1/notifications", { limit: 1 });
    set("/notifications", body.unread || 0);
  } catch { /* counters are a convenience */ }
  if (hasRole(me, "desk", "manager")) {
    try {
      const body = await api.get("/api/v1/desk/conversations", { state: "waiting", limit: 100 });
      set("/chats", (body.items || []).length);
    } catch { /* counters are a convenience */ }
    try {
      const body = await api.get("/api/v1/tickets", { status: "submitted", limit: 100 });
      set("/tickets", (body.items || []).length);
    } catch { /* counters are a convenience */ }
  }
}

registerShell({
  setTitle(text) {
    title.textContent = text;
    document.title = `${text} · 物业工作台`;
  },
  setActions(nodes) {
    actions.replaceChildren(...nodes);
  },
  refreshCounts,
});

const router = createRouter({
  routes,
  view,
  fallback: "/home",
  guard(route) {
    if (!route.public && !session.signedIn) return "/login";
    if (route.roles && session.me && !hasRole(session.me, ...route.roles)) return "/home";
    return null;
  },
  onRender(ctx) {
    const route = ctx.route;
    title.textContent = route.title;
    document.title = `${route.title} · 物业工作台`;
    actions.replaceChildren();
    sidebar.hidden = Boolean(route.bare);
    topbar.hidden = Boolean(route.bare);
    document.body.classList.toggle("bare", Boolean(route.bare));
    for (const link of nav.querySelectorAll(".side-link")) {
      const active = link.dataset.path === route.section;
      link.classList.toggle("active", active);
      if (active) link.setAttribute("aria-current", "page");
      else link.removeAttribute("aria-current");
    }
    if (!route.bare && session.me) buildSidebar(session.me);
    title.focus({ preventScroll: true });
  },
  onError(error, ctx) {
    ctx.el.replaceChildren(errorBox(error, { retry: () => ctx.refresh() }));
  },
});

async function start() {
  const labels = loadLabels(); // once per page load: every page shows the server's labels
  if (session.signedIn) {
    try {
      const me = await loadMe();
      await labels;
      buildSidebar(me);
    } catch {
      /* a stale token: the API client has sent us to the login page */
    }
  }
  await labels;
  if (!window.location.hash || parseHash().path === "/") navigate(session.signedIn ? "/home" : "/login", { replace: true });
  router.start();
}

start();
