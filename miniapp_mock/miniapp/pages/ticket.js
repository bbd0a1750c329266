// 工单详情: status, what was reported, the photos, the timeline of every change, the
// rating, and what the reporter may do now (cancel before work starts, confirm and
// rate, or say it is not fixed).

import { append, busy, confirmDialog, dialog, errorBox, field, h, icon, toast } from "../../shared/dom.js";
import { dateTime } from "../../shared/format.js";
import { label, openTicketStatuses, TICKET_KIND, TICKET_STATUS } from "../../shared/labels.js";
import { personName, photoGrid, ratingOf, timeline } from "../../shared/ticketview.js";
import { imageLoader } from "../../shared/api.js";
import { api, setTitle } from "../core.js";
import { statusTone } from "./tickets.js";

const STATUS_HINT = {
  submitted: "已提交，等待物业受理",
  accepted: "物业已受理，正在安排维修人员",
  assigned: "已派单，维修人员将尽快与您联系",
  in_progress: "维修人员正在处理",
  resolved: "已处理完成，请确认是否解决并评价",
  closed: "工单已完结，感谢您的反馈",
  cancelled: "工单已取消",
  rejected: "工单已被驳回",
};
const PHOTO_POLL_MS = 2000;
const PHOTO_POLL_MAX = 30;

function stars(score) {
  return h("span", { class: "stars", role: "img", "aria-label": `${score} 星` },
    [1, 2, 3, 4, 5].map((n) => h("span", { class: ["star", n <= score ? "on" : null], "aria-hidden": "true", text: "★" })));
}

function row(name, value) {
  if (value === null || value === undefined || value === "") return null;
  return h("div", { class: "kv" }, h("dt", { text: name }), h("dd", {}, value));
}

async function askNote(title, labelText, placeholder, { required = false } = {}) {
  const input = h("textarea", { rows: "3", maxlength: "500", placeholder, autofocus: true });
  const error = h("p", { class: "error-text", role: "alert" });
  const value = await dialog({
    title,
    content: [field(labelText, input), error],
    buttons: [{ text: "取消", value: null, className: "btn-plain" }, { text: "确定", value: "ok", className: "btn-primary" }],
    onSubmit: (v) => {
      if (v === "ok" && required && !input.value.trim()) {
        error.textContent = "请填写说明";
        input.focus();
        return false;
      }
      return true;
    },
  });
  return value === "ok" ? input.value.trim() : null;
}

export default async function render(ctx) {
  const id = ctx.params.id;
  const ticket = await api.get(`/api/v1/tickets/${id}`, undefined, { signal: ctx.signal });
  if (!ctx.isCurrent()) return;
  setTitle(`工单 #${ticket.id}`);
  const images = imageLoader(api, ctx.signal);
  ctx.onLeave(() => images.release());
  const status = h("div", { class: "form-status" });
  // What the caller may do now, as the server says (the state machine lives there).
  const allowed = new Set(ticket.actions || []);

  async function act(button, action, note, done) {
    await busy(button, async () => {
      status.replaceChildren();
      try {
        const body = { action };
        if (note) body.note = note;
        await api.post(`/api/v1/tickets/${id}/actions`, body);
        toast(done, "success");
        ctx.refresh();
      } catch (error) {
        status.replaceChildren(errorBox(error));
      }
    });
  }

  const actions = h("div", { class: "action-bar" });
  const rating = ratingOf(ticket);
  if (allowed.has("reopen")) {
    const reopen = h("button", { type: "button", class: "btn btn-plain", id: "reopen" }, "没修好，重新处理");
    reopen.addEventListener("click", async () => {
      const note = await askNote("重新处理", "哪里还有问题？", "如：仍然在漏水", { required: true });
      if (note !== null) act(reopen, "reopen", note, "已提交，物业会重新处理");
    });
    actions.append(reopen);
  }
  if (allowed.has("rate") && !rating) {
    actions.append(h("a", { class: "btn btn-primary", href: `#/tickets/${id}/rate`, id: "go-rate" },
      ticket.status === "resolved" ? "确认解决并评价" : "评价本次服务"));
  }
  if (allowed.has("cancel")) {
    const cancel = h("button", { type: "button", class: "btn btn-plain", id: "cancel-ticket" }, "取消工单");
    cancel.addEventListener("click", async () => {
      const ok = await confirmDialog({ title: "取消工单", message: "确定要取消这个工单吗？取消后不可恢复。", confirmText: "取消工单", cancelText: "再想想", danger: true });
      if (ok) act(cancel, "cancel", null, "工单已取消");
    });
    actions.append(cancel);
  }
  actions.append(h("a", { class: "btn btn-plain", href: "#/chat" }, icon("chat"), "联系客服"));

  const refresh = h("button", { type: "button", class: "btn-icon", "aria-label": "刷新", onclick: () => ctx.refresh() }, icon("refresh"));
  const tone = statusTone(ticket.status);
  const photos = ticket.photos || [];
  const byStage = (stage) => photos.filter((p) => (p.stage || "report") === stage);
  const photoSection = (stage, title) => (byStage(stage).length
    ? h("div", { class: "card-sub", dataset: { stage } }, h("h3", { class: "sub-title", text: `${title}（${byStage(stage).length}）` }), photoGrid(byStage(stage), { images }))
    : null);
  append(ctx.el, [
    h("section", { class: ["status-banner", `banner-${tone}`] },
      h("div", {},
        h("p", { class: "status-title", id: "ticket-status", text: ticket.status_label || label(TICKET_STATUS, ticket.status) }),
        h("p", { class: "status-hint", text: STATUS_HINT[ticket.status] || "" }),
        ticket.overdue ? h("p", { class: "status-overdue" }, icon("alert"), "已超过承诺时限，已提醒项目经理跟进") : null),
      refresh),
    h("section", { class: "card" },
      h("h2", { class: "card-title", text: "报修信息" }),
      h("dl", { class: "kv-list" },
        row("类型", h("span", {}, ticket.kind_label || label(TICKET_KIND, ticket.kind), ticket.urgent ? h("span", { class: "tag tag-red", text: "紧急" }) : null)),
        row("房屋", ticket.room),
        row("位置", ticket.location),
        row("描述", h("span", { class: "pre-wrap", text: ticket.description || "" })),
        row("提交时间", dateTime(ticket.created_at)),
        row("承诺时限", openTicketStatuses().includes(ticket.status) ? dateTime(ticket.due_at) : ""),
        row("处理人", personName(ticket.assignee))),
      photoSection("report", "我的照片"), photoSection("before", "维修前"), photoSection("after", "维修后")),
    rating ? h("section", { class: "card", id: "my-rating" },
      h("h2", { class: "card-title", text: "我的评价" }), stars(rating.score),
      rating.comment ? h("p", { class: "rating-comment", text: rating.comment }) : null) : null,
    h("section", { class: "card" }, h("h2", { class: "card-title", text: "处理进度" }), timeline(ticket.events)),
    status, actions]);

  // Photos are processed after the upload; check back until their thumbnails exist.
  if (photos.some((p) => p.state === "processing")) {
    let tries = 0;
    const timer = setInterval(async () => {
      tries += 1;
      if (tries > PHOTO_POLL_MAX) {
        clearInterval(timer);
        return;
      }
      try {
        const fresh = await api.get(`/api/v1/tickets/${id}`, undefined, { signal: ctx.signal });
        if (!fresh.photos.some((p) => p.state === "processing")) {
          clearInterval(timer);
          ctx.refresh();
        }
      } catch {
        clearInterval(timer);
      }
    }, PHOTO_POLL_MS);
    ctx.onLeave(() => clearInterval(timer));
  }
}
