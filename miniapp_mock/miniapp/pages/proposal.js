// 表决详情: what the money is for, how much, which rule decides, the deadline, the
// figures so far (or the frozen result), and the owner's own ballot and receipt.

import { append, busy, errorBox, h, icon, toast } from "../../shared/dom.js";
import { dateTime, money, remaining } from "../../shared/format.js";
import { label, ROLE } from "../../shared/labels.js";
import { outcomeBadge, tallyView } from "../../shared/tally.js";
import { api, setTitle } from "../core.js";

/** Ask the server whether a receipt is in the hash-chained ballot log. */
async function verifyReceipt(button, proposalId, receipt, out) {
  await busy(button, async () => {
    try {
      const audit = await api.get(`/api/v1/fund-proposals/${proposalId}/audit`, { receipt, limit: 1 });
      const found = audit.receipt_found === true;
      const lines = [found
        ? `回执已在表决日志中（第 ${audit.entries[0] ? audit.entries[0].seq : "?"} 条，共 ${audit.ballots} 条）`
        : "未在表决日志中找到该回执，请联系业委会"];
      lines.push(audit.intact ? "日志逐条哈希相连，校验完整，未被篡改" : "日志校验未通过，请联系业委会");
      out.replaceChildren(...lines.map((text, i) => h("p", { class: (i === 0 ? found : audit.intact) ? "text-green" : "text-red" },
        icon((i === 0 ? found : audit.intact) ? "check" : "alert"), text)));
    } catch (error) {
      out.replaceChildren(errorBox(error));
    }
  });
}

export function receiptCard(proposalId, ballot) {
  const out = h("div", { class: "verify-out", role: "status" });
  const verify = h("button", { type: "button", class: "btn btn-plain btn-small", id: "verify-receipt" }, "核验回执");
  verify.addEventListener("click", () => verifyReceipt(verify, proposalId, ballot.receipt, out));
  const copy = h("button", { type: "button", class: "btn btn-plain btn-small" }, "复制回执");
  copy.addEventListener("click", async () => {
    try {
      await navigator.clipboard.writeText(ballot.receipt);
      toast("回执已复制", "success");
    } catch {
      toast("请长按回执手动复制", "info");
    }
  });
  const rooms = (ballot.rooms || []).map((r) => r.label).join("、");
  return h("section", { class: "card receipt-card", id: "receipt" },
    h("h2", { class: "card-title" }, icon("check", { className: "text-green" }), "您已表决"),
    h("dl", { class: "kv-list" },
      h("div", { class: "kv" }, h("dt", { text: "您的选择" }), h("dd", { class: "ballot-choice", text: ballot.choice_label })),
      h("div", { class: "kv" }, h("dt", { text: "投票方式" }), h("dd", { class: "ballot-kind", text: `${ballot.kind_label}（${ballot.action_label}）` })),
      rooms ? h("div", { class: "kv" }, h("dt", { text: "房屋" }), h("dd", { text: rooms })) : null,
      ballot.cast_at ? h("div", { class: "kv" }, h("dt", { text: "时间" }), h("dd", { text: dateTime(ballot.cast_at) })) : null,
      h("div", { class: "kv" }, h("dt", { text: "回执编号" }), h("dd", {}, h("code", { class: "receipt-code", text: ballot.receipt })))),
    h("div", { class: "btn-row" }, copy, verify), out);
}

function kv(name, value) {
  if (value === null || value === undefined || value === "") return null;
  return h("div", { class: "kv" }, h("dt", { text: name }), h("dd", { text: value }));
}

export default async function render(ctx) {
  const id = ctx.params.id;
  const p = await api.get(`/api/v1/fund-proposals/${id}`, undefined, { signal: ctx.signal });
  if (!ctx.isCurrent()) return;
  setTitle(p.rule === "objection" ? "公示与异议" : p.rule === "emergency" ? "应急使用公示" : "表决详情");
  const voting = p.status === "voting";
  const myRooms = p.my_rooms || [];
  const ballots = p.my_ballots || [];

  const head = h("section", { class: "card proposal-hero" },
    h("div", { class: "proposal-head" },
      h("span", { class: ["tag", voting ? "tag-green" : "tag-gray"], id: "proposal-status", text: p.status_label }),
      h("span", { class: ["tag", "tag-gray"], id: "proposal-stage", text: p.stage_label }),
      p.outcome ? outcomeBadge(p.outcome, p.outcome_label) : null),
    h("h2", { class: "proposal-hero-title", text: p.title }),
    h("p", { class: "proposal-hero-amount" }, h("span", { class: "muted", text: "使用金额 " }), h("strong", { text: money(p.amount_yuan) })),
    voting && p.closes_at ? h("p", { class: "deadline" }, icon("alert"), `${remaining(p.closes_at)}（${dateTime(p.closes_at)} 截止）`) : null);

  const mine = h("section", { class: "card", id: "my-vote" }, h("h2", { class: "card-title", text: "我的表决" }));
  if (ballots.length) {
    // shown as receipt cards below
  } else if (p.can_vote) {
    const objection = p.rule === "objection";
    mine.append(
      h("p", { text: `${objection ? "对该事项有异议？" : "请对该事项表决。"}表决房屋：${myRooms.map((r) => r.label).join("、")}${myRooms.length > 1 ? "（同一业主合并为一票）" : ""}` }),
      h("a", { class: ["btn", "btn-block", objection ? "btn-warn" : "btn-primary"], href: `#/fund/${id}/vote`, id: "go-vote" },
        objection ? "提出异议" : "参与表决"),
      h("p", { class: "field-hint", text: objection ? "不提出异议视为同意，无需操作。" : "表决提交后不可更改。" }));
  } else if (p.rule === "emergency") {
    mine.replaceChildren(h("h2", { class: "card-title", text: "签字确认" }),
      h("p", { class: "muted", text: (p.signatures || []).length
        ? (p.signatures || []).map((s) => `${label(ROLE, s.role)} ${s.name}（${dateTime(s.signed_at)}）`).join("；")
        : "等待业委会委员和项目经理签字" }));
  } else if (voting) {
    mine.append(h("p", { class: "muted", text: myRooms.length ? "您已完成表决。" : "您名下没有本事项分摊范围内的房屋，无需表决。" }));
  } else {
    const withdrawn = p.outcome === "withdrawn";
    mine.append(h("p", { class: "muted", text: p.status === "closed" ? (withdrawn ? "该事项已撤回，不视为通过。" : "表决已结束。") : "尚未开始表决。" }));
  }

  const facts = h("section", { class: "card" },
    h("h2", { class: "card-title", text: "事项说明" }),
    p.description ? h("p", { class: "pre-wrap", text: p.description }) : null,
    h("dl", { class: "kv-list facts" },
      kv("分摊范围", p.scope_label),
      kv("表决规则", p.rule_label),
      p.rule === "objection" ? kv("否决门槛", `异议超过 ${p.objection_threshold}（${p.objection_basis_label}）`) : null,
      kv("应急情形", p.emergency_case_label),
      kv("发起人", p.created_by),
      kv("开始时间", dateTime(p.opened_at || p.opens_at)),
      kv("截止时间", dateTime(p.closes_at)),
      kv("结束时间", dateTime(p.closed_at)),
      kv("公示截止", dateTime(p.publicity_ends_at)),
      p.paid_yuan !== null && p.paid_yuan !== undefined ? kv("已支付", money(p.paid_yuan)) : null),
    h("p", { class: "rule-help", text: p.explanation }));

  const tallyBox = p.tally ? h("section", { class: "card", id: "tally" }, tallyView(p.tally),
    p.status === "closed" ? h("p", { class: "tally-note", text: p.tally.frozen
      ? `${p.outcome === "withdrawn" ? "业委会已在截止前终止表决并撤回该事项（不视为通过），以上统计" : "表决已结束，结果"}已冻结并公示${p.chain_head ? `（表决日志链头 ${p.chain_head.slice(0, 16)}…）` : ""}。`
      : "表决已截止，结果即将公布（以上为截止时的统计）。" }) : null) : null;
  append(ctx.el, [head, ballots.length ? ballots.map((b) => receiptCard(id, b)) : mine, tallyBox, facts]);
}
