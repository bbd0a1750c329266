// 在线客服: the resident talks to the bot; when they ask for a person (or the bot
// cannot help) the front desk takes over, and their replies appear here.

import { h, icon, loading, toast } from "../../shared/dom.js";
import { shortDateTime } from "../../shared/format.js";
import { api, loadMe } from "../core.js";

const POLL_MS = 3000;
const IDLE_POLL_MS = 10000;
// The longest message the server takes (POST /api/v1/chat/messages): longer text is
// refused here with the reason, never cut.
const TEXT_MAX = 1000;
const QUICK = ["我家物业费多少钱", "我有欠费吗", "怎么报修", "装修有什么规定", "物业电话多少", "转人工"];

export function senderOf(m) {
  const raw = m.sender || m.author || m.role || m.from || m.direction || "";
  if (["resident", "owner", "user", "in", "customer"].includes(raw)) return "me";
  if (["bot", "assistant", "system_bot"].includes(raw)) return "bot";
  if (["staff", "desk", "agent", "human", "out"].includes(raw)) return "staff";
  if (raw === "system" || raw === "event") return "system";
  return raw || "bot";
}

export function messageText(m) {
  return m.text ?? m.body ?? m.content ?? "";
}

export function messageTime(m) {
  return m.at || m.created_at || m.sent_at || "";
}

function staffName(m) {
  const s = m.author || m.staff;
  if (s && typeof s === "object") return s.name || s.username || "人工客服";
  return s || "人工客服";
}

/** What the bot offers with its answer: file a ticket for a described fault (the form
 * filled in; in an emergency the 24-hour phone first), or a follow-up question to send
 * with one tap (the whole policy text, a person). */
function actionButtons(action, post) {
  if (!action) return [];
  if (action.type === "ask" && action.text) {
    return [h("button", { type: "button", class: "btn btn-small btn-plain chat-action chat-ask", onclick: () => post(action.text) }, action.label || action.text)];
  }
  if (action.type === "open_page" && action.href) return [h("a", { class: "btn btn-small btn-primary chat-action", href: action.href }, action.label || "打开")];
  if (action.type !== "create_ticket") return [];
  const params = new URLSearchParams();
  if (action.kind) params.set("kind", action.kind);
  if (action.urgent) params.set("urgent", "1");
  if (action.description) params.set("description", action.description);
  const report = h("a", { class: "btn btn-small btn-primary chat-action", href: `#/report?${params}` }, icon("wrench"), action.label || "一键报修");
  if (!action.call) return [report];
  return [h("a", { class: "btn btn-small btn-danger chat-action chat-call", href: `tel:${action.call}` }, "拨打24小时值班电话"), report];
}

export default async function render(ctx) {
  const me = await loadMe();
  const list = h("ol", { class: "chat-list", "aria-live": "polite", "aria-label": "聊天记录" }, loading());
  const banner = h("div", { class: "chat-banner", role: "status", hidden: true });
  const input = h("textarea", { rows: "1", name: "text", placeholder: "请输入您的问题", "aria-label": "输入消息", enterkeyhint: "send", "aria-describedby": "chat-count" });
  const count = h("span", { class: "chat-count", id: "chat-count", hidden: true });
  const send = h("button", { type: "submit", class: "btn btn-primary chat-send" }, "发送");
  const form = h("form", { class: "chat-input", novalidate: true }, input, send);
  // a counter once the text nears the limit, red past it (sending is then refused)
  function countText() {
    const n = input.value.length;
    count.hidden = n < TEXT_MAX * 0.8;
    count.textContent = `${n}/${TEXT_MAX}`;
    count.classList.toggle("over", n > TEXT_MAX);
  }
  input.addEventListener("input", countText);
  const quick = h("div", { class: "chat-quick", role: "group", "aria-label": "常见问题" },
    QUICK.map((text) => h("button", { type: "button", class: "chip chip-button", onclick: () => post(text) }, text)));
  ctx.el.append(banner, list, h("div", { class: "chat-bottom" }, quick, count, form));
  ctx.el.classList.add("page-fill");

  const seen = new Set();
  let state = "bot";
  let lastId = null;
  let sending = false;

  function bubble(m) {
    const who = senderOf(m);
    if (who === "system") {
      return h("li", { class: "chat-system", text: messageText(m) });
    }
    const avatar = who === "me"
      ? h("span", { class: "chat-avatar me", "aria-hidden": "true", text: (me.name || "我").slice(0, 1) })
      : h("span", { class: ["chat-avatar", who], "aria-hidden": "true" }, icon(who === "bot" ? "robot" : "person"));
    const name = who === "me" ? "我" : who === "bot" ? "智能客服" : staffName(m);
    const content = h("div", { class: "chat-content" },
      h("span", { class: "chat-name", text: `${name} ${shortDateTime(messageTime(m))}` }),
      h("p", { class: "chat-bubble", text: messageText(m) }));
    if (who === "bot") content.append(...actionButtons(m.action, post));
    if (who === "bot" && (m.offer_handoff || m.intent === "unknown")) {
      content.append(h("button", { type: "button", class: "btn btn-small btn-plain chat-handoff", onclick: () => post("转人工") }, "转人工客服"));
    }
    return h("li", { class: ["chat-msg", `from-${who}`], dataset: { id: String(m.id ?? "") } }, avatar, content);
  }

  function setBanner(next, holder) {
    state = next;
    if (state === "waiting") {
      banner.hidden = false;
      banner.textContent = "已为您转接人工客服，请稍候…";
    } else if (state === "open") {
      banner.hidden = false;
      banner.textContent = holder ? `${holder} 正在为您服务` : "人工客服正在为您服务";
    } else {
      banner.hidden = true;
    }
    // the quick questions are for the bot: not while a person is serving or awaited
    quick.hidden = state === "waiting" || state === "open";
  }

  function add(messages) {
    let added = false;
    for (const m of messages) {
      const key = m.id !== undefined ? `id:${m.id}` : `${messageTime(m)}:${messageText(m)}`;
      if (seen.has(key)) continue;
      seen.add(key);
      if (m.id !== undefined && (lastId === null || m.id > lastId)) lastId = m.id;
      if (list.querySelector(".empty, .loading")) list.replaceChildren();
      list.append(bubble(m));
      added = true;
      if (senderOf(m) === "staff") setBanner("open", staffName(m));
    }
    // to the very end, padding included: the last message never touches the input bar
    if (added) list.scrollTop = list.scrollHeight;
  }

  function applyState(body) {
    const conv = body.conversation || body;
    if (conv && conv.state) setBanner(conv.state, conv.assignee && (conv.assignee.name || conv.assignee));
  }

  async function load(initial) {
    const body = await api.get("/api/v1/chat/messages", lastId === null ? undefined : { after: lastId }, { signal: ctx.signal });
    const items = body.items || body.messages || [];
    add(items);
    applyState(body);
    if (initial && !items.length) {
      list.replaceChildren(h("li", { class: "empty", text: "您好！我是智能客服，可以查物业费、报修进度、小区规定等，也可以随时转人工。" }));
    }
  }

  async function post(text) {
    const value = (text ?? input.value).trim();
    if (!value || sending) return;
    if (value.length > TEXT_MAX) {
      toast(`消息最多 ${TEXT_MAX} 字，当前 ${value.length} 字，请分几条发送`, "error");
      countText();
      input.focus();
      return;
    }
    sending = true;
    send.disabled = true;
    try {
      const body = await api.post("/api/v1/chat/messages", { text: value });
      if (text === undefined) {
        input.value = "";
        countText();
      }
      add(body.messages || body.items || []);
      applyState(body);
    } catch (error) {
      toast(error.message, "error");
    } finally {
      sending = false;
      send.disabled = false;
      input.focus();
    }
  }

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    post();
  });
  input.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      post();
    }
  });

  await load(true);
  if (ctx.query.ask) input.value = ctx.query.ask;

  // New replies from the front desk: poll while this page is open and visible, often
  // while a person is involved, rarely while only the bot is (it answers in the reply).
  let timer = null;
  const tick = async () => {
    if (!document.hidden && !sending) {
      try {
        await load(false);
      } catch {
        /* a missed poll is retried next time */
      }
    }
    if (!ctx.signal.aborted) timer = setTimeout(tick, state === "bot" ? IDLE_POLL_MS : POLL_MS);
  };
  timer = setTimeout(tick, POLL_MS);
  ctx.onLeave(() => clearTimeout(timer));
}
