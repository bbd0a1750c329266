// 我的房屋: the rooms I am bound to and what I may do there. An owner invites family
// members and tenants (a one-time code and link, shown once), sees and removes them,
// lets one see the bills and sets a tenancy's last day; a member leaves; anyone
// unbinds a room. Who may do what is the server's (GET /api/v1/households).

import { append, busy, confirmDialog, errorBox, field, h, toast } from "../../shared/dom.js";
import { date, dateTime } from "../../shared/format.js";
import { label, ROLE } from "../../shared/labels.js";
import { navigate } from "../../shared/router.js";
import { api, loadMe } from "../core.js";
import { pendingJoinNotice } from "./join.js";

const HOUSEHOLDS = "/api/v1/households";

function joinUrl(link) {
  return `${window.location.origin}${window.location.pathname}#${link}`;
}

// The invitation just made: its code (large) and link, with its expiry. Shown once:
// the server keeps only a hash of the code.
function invitationResult(body) {
  const url = joinUrl(body.link);
  const copy = h("button", { type: "button", class: "btn btn-small" }, "复制链接");
  copy.addEventListener("click", async () => {
    try {
      await navigator.clipboard.writeText(url);
      toast("链接已复制", "success");
    } catch {
      toast("无法复制，请长按链接手动复制", "error");
    }
  });
  return h("div", { class: "invite-result", "aria-live": "polite" },
    h("p", { class: "desk-code invite-code", text: body.code,
      "aria-label": `邀请码 ${body.code.split("").join(" ")}` }),
    h("p", { class: "muted invite-expiry",
      text: `邀请${label(ROLE, body.relation)}，有效期至 ${dateTime(body.expires_at)}，仅可使用一次` }),
    h("p", { class: "invite-link-row" }, h("a", { class: "invite-link link", href: url, text: url })),
    copy);
}

function inviteForm(item, reload) {
  const relation = h("select", { name: "relation" },
    h("option", { value: "family", text: "家庭成员" }),
    h("option", { value: "tenant", text: "租户" }));
  const endsOn = h("input", { name: "ends_on", type: "date" });
  const endRow = field("租住截止日期（选填）", endsOn, { hint: "到期后租户不再能使用本房屋的服务" });
  endRow.hidden = true;
  relation.addEventListener("change", () => { endRow.hidden = relation.value !== "tenant"; });
  const result = h("div", { class: "invite-slot" });
  const submit = h("button", { type: "submit", class: "btn btn-primary btn-block invite-submit" }, "生成邀请码");
  const form = h("form", { class: "form invite-form", novalidate: true },
    field("邀请身份", relation), endRow, result, submit);
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    busy(submit, async () => {
      result.replaceChildren();
      const data = { relation: relation.value };
      if (relation.value === "tenant" && endsOn.value) data.ends_on = endsOn.value;
      try {
        const body = await api.post(`${HOUSEHOLDS}/${item.room_id}/invitations`, data);
        result.replaceChildren(invitationResult(body));
        submit.textContent = "再生成一个";
        reload({ keep: form });
      } catch (error) {
        result.replaceChildren(errorBox(error));
      }
    });
  });
  return form;
}

function memberRow(item, member, reload) {
  const bills = h("input", { type: "checkbox", class: "member-bills", checked: member.bills_allowed });
  bills.addEventListener("change", async () => {
    bills.disabled = true;
    try {
      await api.request("PATCH", `${HOUSEHOLDS}/${item.room_id}/members/${member.id}`,
        { json: { bills_allowed: bills.checked } });
      toast(bills.checked ? "已允许查看账单" : "已取消查看账单", "success");
    } catch (error) {
      bills.checked = !bills.checked;
      toast(error.message, "error");
    } finally {
      bills.disabled = false;
    }
  });
  const remove = h("button", { type: "button", class: "btn btn-small btn-plain member-remove" }, "移除");
  remove.addEventListener("click", () => busy(remove, async () => {
    const ok = await confirmDialog({ title: "移除成员", danger: true, confirmText: "移除",
      message: `移除后 ${member.name} 将不能再为本房屋报修、查看工单和账单。` });
    if (!ok) return;
    try {
      await api.request("DELETE", `${HOUSEHOLDS}/${item.room_id}/members/${member.id}`);
      toast("已移除", "success");
      reload();
    } catch (error) {
      toast(error.message, "error");
    }
  }));
  const extra = [label(ROLE, member.relation), `${date(member.since)} 加入`];
  if (member.ends_on) extra.push(`租住至 ${member.ends_on}`);
  return h("li", { class: "member-item" },
    h("div", { class: "member-main" },
      h("span", { class: "member-name", text: member.name }),
      h("span", { class: "muted", text: extra.join(" · ") })),
    h("label", { class: "member-bills-label" }, bills, "可看账单"),
    remove);
}

function leaveButton(item, reload) {
  const owner = item.relation === "owner";
  const button = h("button", { type: "button", class: "btn btn-plain btn-block room-leave" },
    owner ? "解绑该房屋" : "退出该房屋");
  button.addEventListener("click", () => busy(button, async () => {
    const ok = await confirmDialog({
      title: owner ? "解绑房屋" : "退出房屋", danger: true, confirmText: owner ? "解绑" : "退出",
      message: owner
        ? "解绑后您将不能再查看该房屋的账单、工单和参与表决，可随时重新绑定。家庭成员和租户不受影响；未使用的邀请码将作废。"
        : "退出后您将不能再为该房屋报修、查看工单，需业主重新邀请才能加入。",
    });
    if (!ok) return;
    try {
      await api.request("DELETE", `${HOUSEHOLDS}/${item.room_id}`);
      await loadMe({ fresh: true });
      toast(owner ? "已解绑" : "已退出", "success");
      reload();
    } catch (error) {
      toast(error.message, "error");
    }
  }));
  return button;
}

function roomCard(item, reload) {
  const mine = [item.community, label(ROLE, item.relation)];
  if (item.ends_on) mine.push(`租住至 ${item.ends_on}`);
  if (!item.is_owner) mine.push(item.bills ? "可查看账单" : "不可查看账单");
  const card = h("section", { class: "card household", dataset: { room: String(item.room_id) } },
    h("h2", { class: "card-title", text: item.room }),
    h("p", { class: "muted household-meta", text: mine.join(" · ") }));
  if (item.is_owner) {
    const members = item.members || [];
    append(card, [
      h("h3", { class: "section-title", text: "家庭成员与租户" }),
      members.length
        ? h("ul", { class: "member-list" }, members.map((m) => memberRow(item, m, reload)))
        : h("p", { class: "empty", text: "还没有成员。邀请家人或租户后，他们可以报修、查看本房屋工单和在线咨询，但不能参与维修资金表决。" }),
      (item.invitations || []).length
        ? h("p", { class: "muted invite-pending", text: `${item.invitations.length} 个邀请码待使用` })
        : null,
      inviteForm(item, reload),
    ]);
  }
  card.append(leaveButton(item, reload));
  return card;
}

function joinCard() {
  const code = h("input", { name: "code", type: "text", maxlength: "32", autocomplete: "off",
    placeholder: "业主提供的 8 位邀请码" });
  const status = h("div", { class: "form-status" });
  const submit = h("button", { type: "submit", class: "btn btn-primary btn-block" }, "加入");
  const form = h("form", { class: "card form join-form", novalidate: true },
    h("h2", { class: "card-title", text: "加入家庭 / 租住房屋" }),
    field("邀请码", code), status, submit);
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    navigate(`/join?code=${encodeURIComponent(code.value.trim())}`);
  });
  return form;
}

export default async function render(ctx) {
  const list = h("div", { class: "households" });
  const load = async () => {
    const body = await api.get(HOUSEHOLDS, undefined, { signal: ctx.signal });
    list.replaceChildren(...(body.items.length
      ? body.items.map((item) => roomCard(item, reload))
      : [h("p", { class: "empty", text: "还没有绑定房屋" })]));
  };
  // after an action: show the new state (an invitation just made stays on screen)
  const reload = ({ keep } = {}) => {
    if (keep) {
      const card = keep.closest(".household");
      api.get(HOUSEHOLDS).then((body) => {
        const item = body.items.find((i) => String(i.room_id) === card.dataset.room);
        const pending = card.querySelector(".invite-pending");
        const text = item && item.invitations.length ? `${item.invitations.length} 个邀请码待使用` : "";
        if (pending) pending.textContent = text;
        else if (text) keep.before(h("p", { class: "muted invite-pending", text }));
      }).catch(() => {});
      return;
    }
    load().catch((error) => list.replaceChildren(errorBox(error, { retry: reload })));
  };
  await load();
  append(ctx.el, [
    pendingJoinNotice(),
    list,
    h("a", { class: "btn btn-plain btn-block", href: "#/bind" }, "我是业主，绑定房屋"),
    joinCard(),
  ]);
}
