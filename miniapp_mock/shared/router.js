// Hash routing ("#/tickets/12?tab=x") with lazily loaded page modules.
//
// A page module exports `default async function render(ctx)`; ctx carries the
// route params and query, a fresh container element, an AbortSignal that fires when
// the user leaves (pollers and fetches stop), and `onLeave(fn)` for cleanup.

function compile(pattern) {
  const names = [];
  const source = pattern
    .split("/")
    .map((part) => {
      if (part.startsWith(":")) {
        names.push(part.slice(1));
        return "([^/]+)";
      }
      return part.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
    })
    .join("/");
  return { regex: new RegExp(`^${source}/?$`), names };
}

export function parseHash(hash = window.location.hash) {
  const raw = hash.replace(/^#/, "") || "/";
  const [path, search = ""] = raw.split("?");
  const query = Object.fromEntries(new URLSearchParams(search));
  return { path: path || "/", query };
}

export function navigate(path, { replace = false } = {}) {
  const target = path.startsWith("#") ? path : `#${path}`;
  if (replace) {
    window.history.replaceState(window.history.state, "", target);
    window.dispatchEvent(new HashChangeEvent("hashchange"));
  } else if (window.location.hash === target) {
    window.dispatchEvent(new HashChangeEvent("hashchange"));
  } else {
    window.location.hash = target;
  }
}

/**
 * createRouter({routes: [{path, load, ...meta}], view, fallback, guard, onRender, onError})
 * guard(route) may return a path to redirect to (e.g. the login page).
 */
export function createRouter({ routes, view, fallback = "/", guard, onRender, onError }) {
  const table = routes.map((route) => ({ ...route, ...compile(route.path) }));
  let current = null;
  let seq = 0;

  function match(path) {
    for (const route of table) {
      const m = route.regex.exec(path);
      if (m) {
        const params = {};
        route.names.forEach((name, i) => { params[name] = decodeURIComponent(m[i + 1]); });
        return { route, params };
      }
    }
    return null;
  }

  function leave() {
    if (!current) return;
    current.controller.abort();
    for (const fn of current.cleanups) {
      try { fn(); } catch { /* a cleanup must not block navigation */ }
    }
    current = null;
  }

  async function render() {
    const { path, query } = parseHash();
    const found = match(path);
    if (!found) {
      navigate(fallback, { replace: true });
      return;
    }
    const redirect = guard ? guard(found.route, path) : null;
    if (redirect && redirect !== path) {
      navigate(redirect, { replace: true });
      return;
    }
    leave();
    const mine = ++seq;
    const controller = new AbortController();
    const container = document.createElement("div");
    container.className = `page page-${found.route.name || "x"}`;
    const state = { controller, cleanups: [] };
    current = state;
    const ctx = {
      route: found.route, params: found.params, query, path,
      el: container, signal: controller.signal,
      onLeave: (fn) => state.cleanups.push(fn),
      isCurrent: () => mine === seq,
      refresh: () => render(),
    };
    view.replaceChildren(container);
    if (onRender) onRender(ctx);
    try {
      const module = await found.route.load();
      if (mine !== seq) return;
      await module.default(ctx);
    } catch (error) {
      if (mine !== seq || (error && error.name === "AbortError")) return;
      if (onError) onError(error, ctx);
      else throw error;
    }
  }

  return {
    start() {
      window.addEventListener("hashchange", render);
      render();
    },
    render,
    match,
  };
}
