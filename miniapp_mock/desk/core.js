// State shared by the desk console's pages: the session (shared/session.js), and
// what the signed-in staff member's roles let them see.

import { createSession } from "../shared/session.js";

export const TOKEN_KEY = "wuye.desk.token";

// localStorage: a ticket opened in a new tab is still signed in, and signing out in
// one tab signs out all of them. On a shared front-desk PC a sign-in lasts one shift
// at most (closing the browser no longer ends it): "退出" ends it at once, for every tab.
export const SHIFT_MS = 12 * 3600 * 1000;

const current = createSession({
  storage: window.localStorage,
  tokenKey: TOKEN_KEY,
  maxAgeMs: SHIFT_MS,
});
export const api = current.api;
export const session = current.session;
export const loadMe = current.loadMe;
export const signIn = current.signIn;
export const signOut = current.signOut;

export function hasRole(me, ...roles) {
  const mine = (me && me.roles) || [];
  return mine.includes("admin") ? true : roles.some((r) => mine.includes(r));
}

// Sections of the console and who uses them.
export const SECTIONS = [
  { path: "/tickets", text: "工单队列", icon: "queue", roles: ["desk", "engineer", "manager"] },
  { path: "/chats", text: "客服会话", icon: "chat", roles: ["desk", "manager"] },
  { path: "/payments", text: "在线缴费", icon: "bill", roles: ["desk", "manager"] },
  { path: "/fund", text: "维修资金", icon: "fund", roles: ["committee", "manager"] },
  { path: "/notices", text: "公告管理", icon: "bell", roles: ["desk", "manager", "committee"] },
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
