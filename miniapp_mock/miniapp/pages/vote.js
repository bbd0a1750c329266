// 参与表决: choose, confirm, get the receipt. For one's own rooms, as someone's proxy
// (?for=proxy), or the one change the community allows (?change=1). Whether a ballot
// can later be withdrawn or changed is the server's (rule, allow_change).

import { busy, confirmDialog, errorBox, h, icon } from "../../shared/dom.js";
import { dateTime, money } from "../../shared/format.js";
import { api, setTitle } from "../core.js";
import { receiptCard } from "./proposal.js";

export default async function render(ctx) {
  const id = ctx.params.id;
  const p = await api.get(`/api/v1/fund-proposals/${id}`, undefined, { signal: ctx.signal });
  if (!ctx.isCurrent()) return;
  const objection = p.rule === "objection";
  const change = ctx.query.change === "1" && p.can_change;
  const own = (p.my_rooms || []).filter((r) => !r.voted);
  const held = (p.proxy_rooms || []).filter((r) => !r.voted);
  const asProxy = !change && (ctx.query.for === "proxy" || !own.length) && held.length > 0;
  setTitle(change ? "更改选择" : asProxy ? "受托投票" : objection ? "提出异议" : "参与表决");
  const back = h("a", { class: "btn btn-plain btn-block", href: `#/fund/${id}` }, "返回事项详情");
  if (!change && (p.my_ballots || []).length && !p.can_vote) {
    ctx.el.append(...p.my_ballots.map((b) => receiptCard(id, b)), back);
    return;
  }
  if (!change && !p.can_vote) {
    ctx.el.append(h("div", { class: "empty" }, p.status === "voting"
      ? "您名下没有本事项分摊范围内的房屋，无需表决。" : "该事项当前不在表决期。"), back);
    return;
  }
  // a proxy votes one owner's rooms at a time: the server adds the owner's other rooms
  const rooms = change ? (p.my_rooms || []) : asProxy ? held.slice(0, 1) : own;
  const roomsText = rooms.map((r) => r.label).join("、");
  const choices = p.choices || []; // the rule's choices, from the server
  const group = h("div", { class: "choice-list", role: "radiogroup", "aria-labelledby": "choice-label" },
    choices.map((choice, i) => h("label", { class: ["choice", `choice-${choice.code}`] },
      h("input", { type: "radio", name: "choice", value: choice.code, checked: objection && i === 0 }),
      h("span", { class: "choice-text", text: objection ? "我对该事项提出异议" : choice.label }))));
  const status = h("div", { class: "form-status" });
  const submit = h("button", { type: "submit", class: ["btn", "btn-block", objection ? "btn-warn" : "btn-primary"] },
    change ? "提交更改" : objection ? "提交异议" : "提交表决");
  const finality = change ? "更改只能一次，提交后不可再改。"
    : objection ? "截止前可撤回异议，撤回后不能再次提出。"
      : p.allow_change ? "截止前可更改一次选择。" : "提交后不可更改或撤回。";
  const form = h("form", { class: "form", novalidate: true },
    h("section", { class: "card" },
      h("h2", { class: "card-title", text: p.title }),
      h("p", {}, h("span", { class: "muted", text: "使用金额 " }), h("strong", { text: money(p.amount_yuan) })),
      h("p", { class: "muted", text: `表决规则：${p.rule_label}` }),
      h("p", { class: "muted", text: `截止时间：${dateTime(p.closes_at)}` })),
    h("section", { class: "card" },
      h("h2", { class: "card-title", id: "choice-label", text: objection ? "异议" : "您的选择" }),
      group,
      objection ? h("p", { class: "field-hint", text: "如无异议，无需任何操作；截止前可撤回异议。" }) : null,
      asProxy ? h("p", { class: "field-hint", id: "proxy-note", text: "您是受托人：本票记为委托投票，计入委托人名下。" }) : null,
      h("p", { class: "vote-rooms" }, h("span", { class: "muted", text: "表决房屋：" }), roomsText),
      rooms.length > 1 ? h("p", { class: "field-hint", text: "同一业主名下的多套房屋合并为一票，面积合并计算。" }) : null),
    status, submit);

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    status.replaceChildren();
    const checked = form.querySelector("input[name=choice]:checked");
    if (!checked) {
      status.replaceChildren(errorBox({ message: "请选择同意、反对或弃权" }));
      form.querySelector("input[name=choice]").focus();
      return;
    }
    const choice = checked.value;
    const chosen = choices.find((c) => c.code === choice);
    busy(submit, async () => {
      const ok = await confirmDialog({
        title: objection ? "确认提交异议" : "确认提交表决",
        message: [
          h("p", {}, "事项：", h("strong", { text: p.title })),
          h("p", {}, "您的选择：", h("strong", { class: "confirm-choice", text: chosen ? chosen.label : choice })),
          h("p", { text: `房屋：${roomsText}` }),
          h("p", { class: "text-red", text: finality }),
        ],
        confirmText: "确认提交",
        cancelText: "返回修改",
      });
      if (!ok) return;
      try {
        const ballot = await api.post(`/api/v1/fund-proposals/${id}/ballots${change ? "/change" : ""}`, { room_id: rooms[0].room_id, choice });
        ctx.el.replaceChildren(
          h("section", { class: "result-hero", role: "status" },
            h("span", { class: "result-icon", "aria-hidden": "true" }, icon("check")),
            h("h2", { class: "result-title", text: change ? "更改已提交" : objection ? "异议已提交" : "表决已提交" }),
            h("p", { class: "muted", text: "请保存回执编号，可随时核验您的表决已计入且未被篡改。" })),
          receiptCard(id, ballot), back);
      } catch (error) {
        status.replaceChildren(errorBox(error));
      }
    });
  });
  ctx.el.append(form);
}
