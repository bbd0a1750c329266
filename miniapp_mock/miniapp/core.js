// State shared by the phone pages: the session (shared/session.js) and the shell's
// title bar.

import { navigate } from "../shared/router.js";
import { createSession } from "../shared/session.js";

export const TOKEN_KEY = "wuye.miniapp.token";

const current = createSession({
  storage: window.localStorage,
  tokenKey: TOKEN_KEY,
});
export const api = current.api;
export const session = current.session;
export const loadMe = current.loadMe;
export const signIn = current.signIn;
export const signOut = current.signOut;

/** Rooms the user is bound to as owner of record (may vote, may bind more). */
export function ownerRooms(me) {
  return (me && me.rooms ? me.rooms : []).filter((r) => r.relation === "owner");
}

export function hasRole(me, role) {
  return Boolean(me && me.roles && me.roles.includes(role));
}

// The page the server rendered into the HTML (the login page, routes/pages.py), kept
// before the router replaces the view's content, for its page module to take over.
let firstScreen = document.querySelector("#view > [data-first-screen]");

export function hasFirstScreen(name) {
  return Boolean(firstScreen && firstScreen.dataset.firstScreen === name);
}

/** The server-rendered page `name` from the HTML, once (null if there is none). */
export function takeFirstScreen(name) {
  const screen = hasFirstScreen(name) ? firstScreen : null;
  firstScreen = null;
  return screen;
}

// The shell (app.js) registers how to change the navigation bar title.
const shellHooks = { setTitle: () => {}, setBadge: () => {} };
export function registerShell(hooks) {
  Object.assign(shellHooks, hooks);
}
export function setTitle(text) {
  shellHooks.setTitle(text);
}
export function refreshBadge() {
  shellHooks.setBadge();
}

/** "/tickets/12" or a WeChat page path ("pages/ticket/detail?id=12") → our route. */
export function linkToRoute(link) {
  if (!link) return null;
  const text = String(link).replace(/^#/, "");
  let m = /tickets?\/(\d+)/.exec(text) || /ticket[^?]*\?(?:.*&)?id=(\d+)/.exec(text);
  if (m) return `/tickets/${m[1]}`;
  m = /fund(?:-proposals)?\/(\d+)/.exec(text) || /fund[^?]*\?(?:.*&)?id=(\d+)/.exec(text);
  if (m) return `/fund/${m[1]}`;
  m = /notices?\/(\d+)/.exec(text);
  if (m) return `/notices/${m[1]}`;
  if (/chat|conversation/.test(text)) return "/chat";
  if (/bill|fee/.test(text)) return "/bills";
  return null;
}

/** Return to the previous page (it reloads its data), or go to `path` if this page
 * was opened directly. Used after a form whose result the previous page shows. */
export function goBackOr(path) {
  const state = window.history.state;
  if (state && typeof state.depth === "number" && state.depth > 0) window.history.back();
  else navigate(path, { replace: true });
}
