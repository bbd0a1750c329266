// The one way the pages talk to the API: bearer token from storage, JSON in and out,
// and every failure turned into an ApiError whose `message` is the server's own
// Chinese explanation (the contract's {"error": {"code", "message", "details"}}).

const STATUS_MESSAGES = {
  0: "网络连接失败，请检查网络后重试",
  400: "提交的内容有误",
  401: "请先登录",
  403: "没有权限进行此操作",
  404: "找不到该内容",
  409: "当前状态不允许此操作",
  413: "上传内容过大",
  415: "不支持的文件类型",
  429: "操作太频繁，请稍后再试",
  500: "服务器开小差了，请稍后再试",
  502: "服务暂时不可用，请稍后再试",
  503: "服务暂时不可用，请稍后再试",
  504: "服务响应超时，请稍后再试",
};

export class ApiError extends Error {
  constructor(status, code, message, details) {
    super(message || STATUS_MESSAGES[status] || "请求失败，请稍后再试");
    this.name = "ApiError";
    this.status = status;
    this.code = code || "http_error";
    this.details = details || {};
  }

  // Field-level messages from a 400 (details.fields), flattened to "字段: 说明".
  get fieldMessages() {
    const fields = this.details && this.details.fields;
    if (!fields || typeof fields !== "object") return [];
    const out = [];
    for (const [name, value] of Object.entries(fields)) {
      const text = Array.isArray(value) ? value.join("；") : typeof value === "string" ? value : "";
      if (text) out.push({ name, text });
    }
    return out;
  }
}

function buildUrl(path, query) {
  const url = new URL(path, window.location.origin);
  if (query) {
    for (const [key, value] of Object.entries(query)) {
      if (value !== undefined && value !== null && value !== "") url.searchParams.set(key, value);
    }
  }
  return url.pathname + url.search;
}

function parseBody(status, text) {
  if (status === 204 || !text) return null;
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function toError(status, body) {
  const err = body && typeof body === "object" && body.error;
  if (err && typeof err === "object") {
    return new ApiError(status, err.code, err.message, err.details);
  }
  return new ApiError(status, null, STATUS_MESSAGES[status]);
}

/**
 * createApi({storage, tokenKey, onUnauthorized}) → client.
 * storage: where the token is kept (localStorage in both apps; see session.js).
 */
export function createApi({ storage, tokenKey, onUnauthorized }) {
  const store = {
    get() {
      try {
        return storage.getItem(tokenKey);
      } catch {
        return null;
      }
    },
    set(value) {
      try {
        if (value) storage.setItem(tokenKey, value);
        else storage.removeItem(tokenKey);
      } catch {
        /* private mode: the login lasts for this page only */
      }
    },
  };

  function headers(extra) {
    const out = { Accept: "application/json", ...extra };
    const token = store.get();
    if (token) out.Authorization = `Bearer ${token}`;
    return out;
  }

  function settle(status, text, hadToken) {
    const body = parseBody(status, text);
    if (status >= 200 && status < 300) return body;
    const error = toError(status, body);
    if (status === 401 && hadToken) {
      store.set(null);
      if (onUnauthorized) onUnauthorized(error);
    }
    throw error;
  }

  async function request(method, path, { json, form, query, signal } = {}) {
    const extra = {};
    let body;
    if (json !== undefined) {
      extra["Content-Type"] = "application/json";
      body = JSON.stringify(json);
    } else if (form !== undefined) {
      body = form;
    }
    const hadToken = Boolean(store.get());
    let response;
    try {
      response = await fetch(buildUrl(path, query), {
        method, headers: headers(extra), body, signal, credentials: "same-origin", cache: "no-store",
      });
    } catch (exc) {
      if (exc && exc.name === "AbortError") throw exc;
      throw new ApiError(0, "network_error", STATUS_MESSAGES[0]);
    }
    const text = await response.text();
    return settle(response.status, text, hadToken);
  }

  /**
   * Multipart upload with progress (fetch cannot report upload progress; XHR can).
   * onProgress(fraction 0..1). Returns {promise, abort}.
   */
  function upload(path, formData, onProgress) {
    const xhr = new XMLHttpRequest();
    const hadToken = Boolean(store.get());
    const promise = new Promise((resolve, reject) => {
      xhr.open("POST", buildUrl(path));
      for (const [name, value] of Object.entries(headers({}))) xhr.setRequestHeader(name, value);
      xhr.upload.onprogress = (event) => {
        if (event.lengthComputable && onProgress) onProgress(event.loaded / event.total);
      };
      xhr.onload = () => {
        try {
          resolve(settle(xhr.status, xhr.responseText, hadToken));
        } catch (err) {
          reject(err);
        }
      };
      xhr.onerror = () => reject(new ApiError(0, "network_error", STATUS_MESSAGES[0]));
      xhr.ontimeout = () => reject(new ApiError(504, "timeout", STATUS_MESSAGES[504]));
      xhr.onabort = () => reject(new DOMException("aborted", "AbortError"));
      xhr.send(formData);
    });
    return { promise, abort: () => xhr.abort() };
  }

  /** A protected file (e.g. a ticket photo) as a Blob: <img src> cannot send the
   * bearer token, so images are fetched here and shown from blob: URLs. */
  async function blob(path, { signal } = {}) {
    const hadToken = Boolean(store.get());
    let response;
    try {
      response = await fetch(buildUrl(path), { headers: headers({ Accept: "image/*" }), signal, credentials: "same-origin" });
    } catch (exc) {
      if (exc && exc.name === "AbortError") throw exc;
      throw new ApiError(0, "network_error", STATUS_MESSAGES[0]);
    }
    if (!response.ok) settle(response.status, await response.text(), hadToken);
    return response.blob();
  }

  return {
    token: () => store.get(),
    blob,
    setToken: (value) => store.set(value),
    request,
    get: (path, query, opts = {}) => request("GET", path, { ...opts, query }),
    post: (path, json, opts = {}) => request("POST", path, { ...opts, json: json === undefined ? {} : json }),
    upload,
  };
}

/** Every page of a list, following next_cursor (bounded, for small lists). */
export async function allPages(api, path, query = {}, maxPages = 10) {
  const items = [];
  let cursor = null;
  for (let page = 0; page < maxPages; page += 1) {
    const body = await api.get(path, { ...query, limit: 100, cursor });
    items.push(...(body.items || []));
    cursor = body.next_cursor;
    if (!cursor) break;
  }
  return items;
}

/**
 * imageLoader(api) → {load(path) → Promise<blob URL>, release()}: fetches protected
 * images once each and frees their memory when the page is left.
 */
export function imageLoader(api, signal) {
  const urls = new Map();
  return {
    load(path) {
      if (!urls.has(path)) {
        urls.set(path, api.blob(path, { signal }).then((b) => URL.createObjectURL(b)));
      }
      return urls.get(path);
    },
    release() {
      for (const promise of urls.values()) promise.then((u) => URL.revokeObjectURL(u), () => {});
      urls.clear();
    },
  };
}
