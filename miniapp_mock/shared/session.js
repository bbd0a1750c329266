// Who is signed in, for either app: the API client with its stored token, the cached
// /api/v1/me, sign-in and sign-out. Both apps keep the token in localStorage (the
// phone as wx.setStorage does; the desk so that a ticket opened in a new tab is still
// signed in). Every tab of an app shares one sign-in: signing out (or in as someone
// else) in one tab is followed by the others at once (the "storage" event). An app
// may cap how long a sign-in lasts on the device (`maxAgeMs`; the desk: one shift),
// after which it is signed out (and the token revoked) on its next use.

import { createApi } from "./api.js";
import { navigate } from "./router.js";
import { toast } from "./dom.js";

function read(storage, key) {
  try {
    return storage.getItem(key);
  } catch {
    return null;
  }
}

function write(storage, key, value) {
  try {
    if (value === null) storage.removeItem(key);
    else storage.setItem(key, value);
  } catch {
    /* private mode: the login lasts for this page only */
  }
}

export function createSession({ storage, tokenKey, maxAgeMs = null }) {
  const atKey = `${tokenKey}.at`;
  const session = {
    me: null,
    get signedIn() {
      return Boolean(api.token());
    },
  };

  const api = createApi({
    storage,
    tokenKey,
    onUnauthorized(error) {
      session.me = null;
      write(storage, atKey, null);
      toast(error.message || "登录已失效，请重新登录", "error");
      navigate("/login", { replace: true });
    },
  });

  /** The signed-in user (/api/v1/me), cached; `fresh` reloads it. */
  async function loadMe({ fresh = false } = {}) {
    if (!session.me || fresh) session.me = await api.get("/api/v1/me");
    return session.me;
  }

  function signIn(token, user) {
    api.setToken(token);
    write(storage, atKey, String(Date.now()));
    session.me = user || null;
  }

  async function signOut() {
    try {
      if (api.token()) await api.post("/api/v1/auth/logout");
    } catch {
      /* signing out locally is what matters */
    }
    // clearing the stored token signs out every other tab too (see below)
    api.setToken(null);
    write(storage, atKey, null);
    session.me = null;
    navigate("/login", { replace: true });
  }

  // A sign-in older than maxAgeMs (or of unknown age) ends now, revoked on the server.
  if (maxAgeMs && api.token()) {
    const at = Number(read(storage, atKey));
    if (!at || Date.now() - at > maxAgeMs) {
      api.post("/api/v1/auth/logout").catch(() => {});
      api.setToken(null);
      write(storage, atKey, null);
    }
  }

  // Another tab signed out, or in as someone else: follow it.
  window.addEventListener("storage", (event) => {
    if (event.storageArea !== storage || (event.key !== tokenKey && event.key !== null)) return;
    if (event.key !== null && event.oldValue === event.newValue) return;
    session.me = null;
    if (!api.token()) {
      toast("已在其他窗口退出登录", "info");
      navigate("/login", { replace: true });
    } else {
      window.location.reload(); // a different person now: nothing of the previous one stays
    }
  });

  return { api, session, loadMe, signIn, signOut };
}
