// Who is signed in, for either app: the API client with its stored token, the cached
// /api/v1/me, sign-in and sign-out. Each app picks where the token lives
// (the phone: localStorage, as wx.setStorage keeps it; the desk: sessionStorage, so a
// shared front-desk screen forgets it when the tab closes).

import { createApi } from "./api.js";
import { navigate } from "./router.js";
import { toast } from "./dom.js";

export function createSession({ storage, tokenKey }) {
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
    session.me = user || null;
  }

  async function signOut() {
    try {
      if (api.token()) await api.post("/api/v1/auth/logout");
    } catch {
      /* signing out locally is what matters */
    }
    api.setToken(null);
    session.me = null;
    navigate("/login", { replace: true });
  }

  return { api, session, loadMe, signIn, signOut };
}
