// State shared by the desk console's pages: the API client (token kept in
// sessionStorage, so a shared front-desk screen forgets it when the tab closes),
// the signed-in staff member and what their roles let them see.

import { createApi } from "../shared/api.js";
import { navigate } from "../shared/router.js";
import { toast } from "../shared/dom.js";

export const TOKEN_KEY = "wuye.desk.token";

export const api = createApi({
  storage: window.sessionStorage,
  tokenKey: TOKEN_KEY,
  onUnauthorized(error) {
    session.me = null;
    toast(error.message || "登录已失效，请重新登录", "error");
    navigate("/login", { replace: true });
  },
});

export const session = {
  me: null,
  get signedIn() {
    return Boolean(api.token());
  },
};

export async function loadMe({ fresh = false } = {}) {
  if (!session.me || fresh) session.me = await api.get("/api/v1/me");
  return session.me;
}

export function signIn(token, user) {
  api.setToken(token);
  session.me = user || null;
}

export async function signOut() {
  try {
    if (api.token()) await api.post("/api/v1/auth/logout");
  } catch {
    /* local sign-out is what matters */
  }
  api.setToken(null);
  session.me = null;
  navigate("/login", { replace: true });
}

export function hasRole(me, ...roles) {
  const mine = (me && me.roles) || [];
  return mine.includes("admin") ? true : roles.some((r) => mine.includes(r));
}

// Sections of the console and who uses them.
export const SECTIONS = [
  { path: "/tickets", text: "工单队列", icon: "queue", roles: ["desk", "engineer", "manager"] },
  { path: "/chats", text: "客服会话", icon: "chat", roles: ["desk", "manager"] },
  { path: "/fund", text: "维修资金", icon: "fund", roles: ["committee", "manager"] },
  { path: "/report", text: "服务报表", icon: "chart", roles: ["manager", "committee"] },
];

export function sectionsFor(me) {
  return SECTIONS.filter((s) => hasRole(me, ...s.roles));
}

const shell = { setTitle: () => {}, setActions: () => {}, refreshCounts: () => {} };
export function registerShell(hooks) {
  Object.assign(shell, hooks);
}
export function setTitle(text) {
  shell.setTitle(text);
}
/** Buttons in the top bar for the current page. */
export function setActions(...nodes) {
  shell.setActions(nodes);
}
export function refreshCounts() {
  shell.refreshCounts();
}
