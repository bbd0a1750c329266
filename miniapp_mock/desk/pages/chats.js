// 客服会话: residents waiting for a person, conversations being served, and the bot's
// current ones. Claim (接入) a waiting conversation, reply, and release it back to
// the bot when done. Both the queue and the open conversation refresh themselves.

import { busy, errorBox, h, icon, loading, toast } from "../../shared/dom.js";
import { dateTime, shortDateTime } from "../../shared/format.js";
import { BOT_INTENT, CONVERSATION_STATE, label } from "../../shared/labels.js";
import { navigate } from "../../shared/router.js";
import { api, loadMe, refreshCounts } from "../core.js";
import { personName } from "../../shared/ticketview.js";

const POLL_MS = 3000;
const TABS = [
  { state: "waiting", text: "等待人工" },
  { state: "open", text: "服务中" },
  { state: "bot", text: "机器人接待" },
];

function senderOf(m) {
  const s = m.sender || m.author || m.role || "";
  if (["resident", "owner", "user"].includes(s)) return "resident";
  if (s === "staff" || s === "desk" || s === "agent") return "staff";
  if (s === "system") return "system";
  return "bot";
}

function residentName(c) {
  return personName(c.resident) || c.resident_name || `住户 #${c.resident_id ?? c.id}`;
}

function roomsOf(c) {
  return (c.rooms || []).join("、");
}

function loadConversation(id, signal) {
  return api.get(`/api/v1/desk/conversations/${id}`, undefined, { signal });
}

export default async function render(ctx) {
  const me = await loadMe();
  const state = TABS.some((t) => t.state === ctx.query.state) ? ctx.query.state : "waiting";
  const selectedId = ctx.params.id || null;
  const qs = `?state=${state}`;

  const tabs = h("div", { class: "tabs", role: "tablist", "aria-label": "会话状态" },
    TABS.map((t) => h("a", {
      class: ["tab-link", t.state === state ? "active" : null], role: "tab", href: `#/chats${selectedId ? `/${selectedId}` : ""}?state=${t.state}`,
      "aria-selected": t.state === state ? "true" : "false", dataset: { state: t.state },
    }, t.text, h("span", { class: "tab-count", dataset: { count: t.state } }))));
  const list = h("ul", { class: "conv-list", "aria-label": "会话列表" }, loading());
  const pane = h("section", { class: "conv-pane", "aria-live": "polite" },
    selectedId ? loading() : h("div", { class: "empty" }, "从左侧选择一个会话"));
  ctx.el.append(h("div", { class: "chat-layout" }, h("aside", { class: "panel conv-side" }, tabs, list), pane));

  async function loadList() {
    const results = await Promise.all(TABS.map((t) => api.get("/api/v1/desk/conversations", { state: t.state, limit: 100 }, { signal: ctx.signal })
      .then((b) => b.items || []).catch((e) => { if (t.state === state) throw e; return null; })));
    if (!ctx.isCurrent()) return;
    TABS.forEach((t, i) => {
      const el = tabs.querySelector(`[data-count="${t.state}"]`);
      if (el && results[i]) el.textContent = results[i].length ? ` ${results[i].length}` : "";
    });
    const items = results[TABS.findIndex((t) => t.state === state)] || [];
    list.replaceChildren(...(items.length ? items.map((c) => {
      const recent = c.last_messages || [];
      const last = recent[recent.length - 1];
      return h("li", {},
        h("a", { class: ["conv-item", String(c.id) === String(selectedId) ? "active" : null], href: `#/chats/${c.id}${qs}`, dataset: { id: String(c.id) } },
          h("div", { class: "conv-top" },
            h("strong", { text: residentName(c) }),
            h("span", { class: "muted", text: shortDateTime(c.waiting_since || c.last_activity_at || c.updated_at) })),
          roomsOf(c) ? h("div", { class: "conv-rooms muted", text: roomsOf(c) }) : null,
          last ? h("div", { class: "conv-last", text: last.text || "" }) : null,
          c.assignee ? h("div", { class: "conv-holder", text: `接待：${personName(c.assignee)}` }) : null));
    }) : [h("li", { class: "empty", text: state === "waiting" ? "没有等待中的住户" : "暂无会话" })]));
  }

  let lastCount = -1;
  let conv = null;
  const composer = h("textarea", { rows: "3", maxlength: "1000", name: "reply", placeholder: "输入回复，Enter 发送，Shift+Enter 换行", "aria-label": "回复内容" });
  const status = h("div", { class: "form-status" });

  async function act(button, path, done, body) {
    await busy(button, async () => {
      status.replaceChildren();
      try {
        await api.post(`/api/v1/desk/conversations/${selectedId}/${path}`, body);
        if (done) toast(done, "success");
        lastCount = -1;
        await Promise.all([loadPane(), loadList()]);
        refreshCounts();
      } catch (error) {
        status.replaceChildren(errorBox(error));
      }
    });
  }

  function paneFor(c) {
    const holder = c.assignee;
    const mine = holder && (holder.id === me.id);
    const header = h("div", { class: "conv-head" },
      h("div", {},
        h("h2", { class: "panel-title", id: "conv-title", text: residentName(c) }),
        h("p", { class: "muted", text: [roomsOf(c), label(CONVERSATION_STATE, c.state), holder ? `接待：${personName(holder)}` : ""].filter(Boolean).join(" · ") })),
      h("div", { class: "conv-actions" }));
    const actions = header.querySelector(".conv-actions");
    if (c.state === "waiting" || c.state === "bot") {
      const claim = h("button", { type: "button", class: "btn btn-primary", id: "claim" }, icon("person"), "接入会话");
      claim.addEventListener("click", () => act(claim, "claim", "已接入，住户会看到您的回复"));
      actions.append(claim);
    }
    if (c.state === "open") {
      const release = h("button", { type: "button", class: "btn btn-plain", id: "release" }, "结束人工，交回机器人");
      release.addEventListener("click", () => act(release, "release", "已结束人工服务"));
      actions.append(release);
    }
    const context = h("div", { class: "conv-context" },
      c.resident && c.resident.phone ? h("span", { text: `电话 ${c.resident.phone}` }) : null,
      (c.open_tickets || []).map((tk) => h("a", { class: "tag tag-blue", href: `#/tickets/${tk.id}`, title: tk.summary },
        `工单 #${tk.id} ${tk.status_label}`)));
    const messages = h("ol", { class: "conv-messages", id: "conv-messages" }, (c.messages || []).map((m) => {
      const who = senderOf(m);
      if (who === "system") return h("li", { class: "msg-system", text: m.text });
      return h("li", { class: ["msg", `msg-${who}`] },
        h("div", { class: "msg-meta" },
          h("span", { text: who === "resident" ? residentName(c) : who === "bot" ? "机器人" : m.author || "客服" }),
          m.intent ? h("span", { class: "tag tag-gray", text: label(BOT_INTENT, m.intent) }) : null,
          h("time", { datetime: m.created_at || m.at, title: dateTime(m.created_at || m.at), text: shortDateTime(m.created_at || m.at) })),
        h("p", { class: "msg-text", text: m.text }));
    }));
    const send = h("button", { type: "submit", class: "btn btn-primary", disabled: c.state !== "open" }, "发送");
    const form = h("form", { class: "conv-compose", novalidate: true }, composer, h("div", { class: "compose-foot" },
      c.state === "open" ? (mine ? null : h("span", { class: "muted", text: "该会话由其他同事接待，回复前请先沟通" })) : h("span", { class: "muted", text: "接入会话后可回复" }),
      send));
    composer.disabled = c.state !== "open";
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      const text = composer.value.trim();
      if (!text) return;
      act(send, "messages", null, { text }).then(() => {
        if (!status.firstChild) composer.value = "";
        composer.focus();
      });
    });
    return [header, context, messages, status, form];
  }

  async function loadPane() {
    if (!selectedId) return;
    const c = await loadConversation(selectedId, ctx.signal);
    if (!ctx.isCurrent()) return;
    const count = (c.messages || []).length;
    const changed = !conv || conv.state !== c.state || count !== lastCount || (conv.assignee && conv.assignee.id) !== (c.assignee && c.assignee.id);
    conv = c;
    if (!changed) return;
    lastCount = count;
    const hadFocus = document.activeElement === composer;
    pane.replaceChildren(...paneFor(c));
    const box = pane.querySelector(".conv-messages");
    box.scrollTop = box.scrollHeight;
    if (hadFocus) composer.focus();
  }

  composer.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      composer.form.requestSubmit();
    }
  });

  try {
    await Promise.all([loadList(), loadPane()]);
  } catch (error) {
    if (error.name === "AbortError") return;
    if (selectedId && error.status === 404) {
      toast(error.message, "error");
      navigate(`/chats${qs}`, { replace: true });
      return;
    }
    throw error;
  }
  let polling = false;
  const timer = setInterval(async () => {
    if (document.hidden || polling) return;
    polling = true;
    try {
      await Promise.all([loadList(), loadPane()]);
    } catch { /* retried next time */ } finally {
      polling = false;
    }
  }, POLL_MS);
  ctx.onLeave(() => clearInterval(timer));
}
