// 工单详情 (desk): everything about one ticket and the actions the signed-in staff
// member may take now — accept, assign (派单), start, resolve, reject, close, follow up.

import { busy, errorBox, field, h, icon, toast } from "../../shared/dom.js";
import { dateTime, remaining } from "../../shared/format.js";
import { imageLoader } from "../../shared/api.js";
import { label, openTicketStatuses, TICKET_ACTION, TICKET_KIND, TICKET_STATUS } from "../../shared/labels.js";
import { api, hasRole, loadMe, refreshCounts, setActions, setTitle } from "../core.js";
import { personName, photoGrid, ratingOf, timeline } from "../../shared/ticketview.js";
import { assigneeId } from "./tickets.js";

const NOTE_REQUIRED = { reject: "驳回原因", follow_up: "回访记录" };
const ACTION_STYLE = { accept: "btn-primary", assign: "btn-primary", start: "btn-primary", resolve: "btn-primary", close: "btn-plain", reject: "btn-danger", follow_up: "btn-plain" };

async function loadAssignees() {
  const body = await api.get("/api/v1/tickets/assignees");
  return body.items || [];
}

function kv(name, value) {
  if (value === null || value === undefined || value === "") return null;
  return h("div", { class: "kv" }, h("dt", { text: name }), h("dd", {}, value));
}

export default async function render(ctx) {
  const id = ctx.params.id;
  const [me, t] = await Promise.all([loadMe(), api.get(`/api/v1/tickets/${id}`, undefined, { signal: ctx.signal })]);
  if (!ctx.isCurrent()) return;
  setTitle(`工单 #${t.id} · ${t.kind_label || label(TICKET_KIND, t.kind)}`);
  setActions(
    h("a", { class: "btn btn-plain btn-small", href: "#/tickets" }, "返回队列"),
    h("button", { type: "button", class: "btn btn-plain btn-small", onclick: () => ctx.refresh() }, icon("refresh"), "刷新"));

  // What this staff member may do now, as the server's state machine says.
  const actions = (t.actions || []).filter((a) => a !== "rate");
  const images = imageLoader(api, ctx.signal);
  ctx.onLeave(() => images.release());
  const status = h("div", { class: "form-status", id: "action-status" });
  const note = h("textarea", { name: "note", rows: "3", maxlength: "500", placeholder: "备注（驳回、回访时必填）" });
  const panel = h("section", { class: "panel action-panel", "aria-labelledby": "actions-title" },
    h("h2", { class: "panel-title", id: "actions-title", text: "处理" }));

  async function run(button, action, extra = {}) {
    status.replaceChildren();
    const text = note.value.trim();
    if (NOTE_REQUIRED[action] && !text) {
      status.replaceChildren(errorBox({ message: `请填写${NOTE_REQUIRED[action]}` }));
      note.focus();
      return;
    }
    await busy(button, async () => {
      try {
        const body = { action, ...extra };
        if (text) body.note = text;
        await api.post(`/api/v1/tickets/${id}/actions`, body);
        toast(`已${label(TICKET_ACTION, action)}`, "success");
        refreshCounts();
        ctx.refresh();
      } catch (error) {
        status.replaceChildren(errorBox(error));
      }
    });
  }

  if (actions.length) {
    const buttons = h("div", { class: "action-buttons" });
    for (const action of actions) {
      if (action === "assign") {
        const sel = h("select", { name: "assignee_id", id: "assignee-select" }, h("option", { value: "", text: "加载中…" }));
        const go = h("button", { type: "button", class: "btn btn-primary", id: "do-assign" }, t.status === "assigned" ? "改派" : "派单");
        go.addEventListener("click", () => {
          if (!sel.value) {
            status.replaceChildren(errorBox({ message: "请选择维修人员" }));
            sel.focus();
            return;
          }
          run(go, "assign", { assignee_id: Number(sel.value) });
        });
        const none = h("p", { class: "field-hint", id: "no-engineers", hidden: true,
          text: "本小区还没有维修人员（工程维修）账号，暂时无法派单；请管理员先添加维修人员。" });
        loadAssignees().then((people) => {
          // the list holds engineers only (the server's rule); say so when there are none
          sel.replaceChildren(h("option", { value: "", text: people.length ? "选择维修人员" : "暂无维修人员" }),
            ...people.map((p) => h("option", {
              value: String(p.id), selected: p.id === assigneeId(t), text: p.name || p.username || `#${p.id}`,
            })));
          none.hidden = people.length > 0;
          sel.disabled = go.disabled = !people.length;
        }).catch((error) => status.replaceChildren(errorBox(error)));
        panel.append(h("div", { class: "assign-row" }, field("维修人员", sel), go), none);
        continue;
      }
      const b = h("button", { type: "button", class: ["btn", ACTION_STYLE[action] || "btn-plain"], dataset: { action } }, label(TICKET_ACTION, action));
      b.addEventListener("click", () => run(b, action));
      buttons.append(b);
    }
    panel.append(field("备注", note), buttons, status);
  } else {
    panel.append(h("p", { class: "muted", text: "当前没有您可执行的操作。" }), status);
  }
  // before/after photos (维修前/后): the assignee, the desk or the manager, while it is worked on
  if (["accepted", "assigned", "in_progress", "resolved"].includes(t.status) && (assigneeId(t) === me.id || hasRole(me, "desk", "manager"))) {
    panel.append(photoUploader(id, ["accepted", "assigned"].includes(t.status) ? "before" : "after", () => ctx.refresh()));
  }

  const rating = ratingOf(t);
  const reporter = t.reporter || {};
  const photosByStage = {};
  for (const p of t.photos || []) (photosByStage[p.stage || "report"] ||= []).push(p);
  const stageNames = { report: "业主照片", before: "维修前", after: "维修后" };

  const main = h("div", { class: "detail-main" },
    h("section", { class: ["panel", t.overdue ? "panel-overdue" : null] },
      h("div", { class: "detail-head" },
        h("span", { class: ["status", `status-${t.status}`], id: "ticket-status", text: t.status_label || label(TICKET_STATUS, t.status) }),
        t.urgent ? h("span", { class: "tag tag-red", text: "紧急" }) : null,
        t.overdue ? h("span", { class: "tag tag-red", id: "overdue-flag" }, icon("alert"), "已超时") : null,
        t.escalated ? h("span", { class: "tag tag-orange", text: "已升级至项目经理" }) : null),
      h("p", { class: "detail-desc pre-wrap", text: t.description || "" }),
      h("dl", { class: "kv-list kv-2col" },
        kv("类型", t.kind_label || label(TICKET_KIND, t.kind)),
        kv("房屋", t.room),
        kv("位置", t.location),
        kv("报修人", [personName(reporter), t.contact_phone].filter(Boolean).join(" · ")),
        kv("提交时间", dateTime(t.created_at)),
        kv("受理时限", t.accept_due_at && t.status === "submitted" ? `${dateTime(t.accept_due_at)}（${remaining(t.accept_due_at)}）` : ""),
        kv("完成时限", t.due_at ? `${dateTime(t.due_at)}${openTicketStatuses().includes(t.status) ? `（${remaining(t.due_at)}）` : ""}` : ""),
        kv("处理人", personName(t.assignee)),
        kv("评价", rating ? `${"★".repeat(rating.score)}${"☆".repeat(5 - rating.score)} ${rating.comment || ""}` : ""))),
    Object.keys(photosByStage).length ? h("section", { class: "panel" },
      h("h2", { class: "panel-title", text: "照片" }),
      Object.entries(photosByStage).map(([stage, list]) => h("div", { class: "photo-stage" },
        h("h3", { class: "sub-title", text: `${stageNames[stage] || stage}（${list.length}）` }),
        photoGrid(list, { images, className: "photo-grid photo-grid-wide" })))) : null,
    h("section", { class: "panel" }, h("h2", { class: "panel-title", text: "处理记录" }), timeline(t.events)));

  ctx.el.append(h("div", { class: "detail" }, main, h("div", { class: "detail-side" }, panel)));
}

/** Staff photos before/after the work (维修前/维修后). */
function photoUploader(ticketId, defaultStage, done) {
  const stage = h("select", { name: "stage", "aria-label": "照片类型" },
    h("option", { value: "before", text: "维修前", selected: defaultStage === "before" }),
    h("option", { value: "after", text: "维修后", selected: defaultStage === "after" }));
  const input = h("input", { type: "file", accept: "image/jpeg,image/png,image/webp,image/heic", multiple: true, name: "photos", "aria-label": "选择照片" });
  const bar = h("span", { class: "progress-bar" });
  const progress = h("div", { class: "progress", role: "progressbar", "aria-label": "上传进度", "aria-valuemin": "0", "aria-valuemax": "100", hidden: true }, bar);
  const status = h("div", { class: "form-status" });
  const go = h("button", { type: "submit", class: "btn btn-plain" }, "上传照片");
  const form = h("form", { class: "photo-upload", novalidate: true },
    h("h3", { class: "sub-title", text: "维修照片" }), h("div", { class: "upload-row" }, stage, input), progress, status, go);
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    status.replaceChildren();
    const files = Array.from(input.files || []);
    if (!files.length) {
      status.replaceChildren(errorBox({ message: "请先选择照片" }));
      return;
    }
    const data = new FormData();
    data.append("stage", stage.value);
    for (const f of files.slice(0, 9)) data.append("photos", f, f.name);
    busy(go, async () => {
      progress.hidden = false;
      const job = api.upload(`/api/v1/tickets/${ticketId}/photos`, data, (x) => {
        bar.style.width = `${Math.round(x * 100)}%`;
        progress.setAttribute("aria-valuenow", String(Math.round(x * 100)));
      });
      try {
        await job.promise;
        toast("照片已上传", "success");
        done();
      } catch (error) {
        progress.hidden = true;
        status.replaceChildren(errorBox(error));
      }
    });
  });
  return form;
}
