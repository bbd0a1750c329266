// 事项详情 (desk): the proposal's figures, the live tally while voting, the actions
// of the committee and the manager (open and close: committee; sign: both), the
// ballots (committee) and the state of the tamper-evident ballot log. What each
// person may do, and what an early close would do, is the server's (can_open,
// can_close, early_close_withdraws).

import { busy, confirmDialog, errorBox, h, icon, toast } from "../../shared/dom.js";
import { dateTime, money, remaining } from "../../shared/format.js";
import { label, ROLE } from "../../shared/labels.js";
import { outcomeBadge, tallyView } from "../../shared/tally.js";
import { api, hasRole, loadMe, setActions, setTitle } from "../core.js";

const LIVE_MS = 3000;

function kv(name, value) {
  if (value === null || value === undefined || value === "") return null;
  return h("div", { class: "kv" }, h("dt", { text: name }), h("dd", {}, value));
}

export default async function render(ctx) {
  const id = ctx.params.id;
  const [me, p] = await Promise.all([loadMe(), api.get(`/api/v1/fund-proposals/${id}`, undefined, { signal: ctx.signal })]);
  if (!ctx.isCurrent()) return;
  setTitle(p.title);
  setActions(h("a", { class: "btn btn-plain btn-small", href: "#/fund" }, "返回列表"),
    h("button", { type: "button", class: "btn btn-plain btn-small", onclick: () => ctx.refresh() }, icon("refresh"), "刷新"));

  const status = h("div", { class: "form-status", id: "fund-status" });
  async function act(button, path, done, body) {
    await busy(button, async () => {
      status.replaceChildren();
      try {
        await api.post(`/api/v1/fund-proposals/${id}/${path}`, body);
        toast(done, "success");
        ctx.refresh();
      } catch (error) {
        status.replaceChildren(errorBox(error));
      }
    });
  }

  const buttons = h("div", { class: "action-buttons" });
  if (p.status === "draft" && p.rule !== "emergency" && p.can_manage && !p.can_open) {
    buttons.append(h("p", { class: "muted", id: "open-by-committee", text: "草稿已保存，由业委会委员决定开始表决。" }));
  }
  if (p.can_open) {
    const open = h("button", { type: "button", class: "btn btn-primary", id: "open-vote" }, "开始表决");
    open.addEventListener("click", async () => {
      const ok = await confirmDialog({ title: "开始表决", message: `开始后将锁定范围内房屋的面积和业主名单，并通知业主。截止时间：${dateTime(p.closes_at)}。`, confirmText: "开始表决" });
      if (ok) act(open, "open", "表决已开始，已通知范围内业主");
    });
    buttons.append(open);
  }
  if (p.rule === "emergency" && p.status !== "approved" && p.can_manage) {
    const sign = h("button", { type: "button", class: "btn btn-primary", id: "sign" }, "签字确认");
    sign.addEventListener("click", async () => {
      const ok = await confirmDialog({ title: "签字确认应急使用", message: "确认该情形属于应急使用范围，同意动用维修资金。", confirmText: "签字" });
      if (!ok) return;
      const both = hasRole(me, "committee") && hasRole(me, "manager");
      act(sign, "sign", "已签字", both ? { as: "manager" } : {});
    });
    buttons.append(sign);
  }
  if (p.can_close) {
    const withdraws = p.early_close_withdraws;
    const close = h("button", { type: "button", class: "btn btn-danger", id: "close-vote" }, withdraws ? "提前终止并撤回" : "结束表决并公布结果");
    close.addEventListener("click", async () => {
      const ok = await confirmDialog(withdraws
        ? { title: "提前终止表决", message: `截止时间（${dateTime(p.closes_at)}）前结束只能撤回该事项：不视为通过，不能据此使用维修资金，已投的票和统计照常公布。确定撤回吗？`, confirmText: "撤回事项", danger: true }
        : { title: "结束表决", message: "全部业主均已表决，结束后结果立即冻结并向业主公布。确定现在结束吗？", confirmText: "结束表决", danger: true });
      if (ok) act(close, "close", withdraws ? "事项已撤回，已通知业主" : "表决已结束，结果已公布");
    });
    buttons.append(close);
  }

  const info = h("section", { class: "panel" },
    h("div", { class: "detail-head" },
      h("span", { class: ["status", `fund-${p.status}`], id: "proposal-status", text: p.status_label }),
      h("span", { class: "status", id: "proposal-stage", text: p.stage_label }),
      p.outcome ? outcomeBadge(p.outcome, p.outcome_label) : null,
      p.status === "voting" && p.closes_at ? h("span", { class: "muted", text: remaining(p.closes_at) }) : null),
    h("p", { class: "fund-amount" }, "使用金额 ", h("strong", { text: money(p.amount_yuan) })),
    p.description ? h("p", { class: "pre-wrap", text: p.description }) : null,
    h("dl", { class: "kv-list kv-2col" },
      kv("表决规则", h("span", { id: "proposal-rule", text: p.rule_label })),
      kv("分摊范围", p.scope_label),
      p.rule === "objection" ? kv("否决门槛", `${p.objection_threshold}（${p.objection_basis_label}）`) : null,
      kv("应急情形", p.emergency_case_label),
      kv("发起人", p.created_by),
      kv("创建时间", dateTime(p.created_at)),
      kv("开始时间", dateTime(p.opened_at || p.opens_at)),
      kv("截止时间", dateTime(p.closes_at)),
      kv("结束时间", dateTime(p.closed_at)),
      kv("公示截止", dateTime(p.publicity_ends_at)),
      kv("签字", (p.signatures || []).map((s) => `${label(ROLE, s.role)} ${s.name}`).join("；")),
      kv("已支付", p.paid_yuan !== null && p.paid_yuan !== undefined ? money(p.paid_yuan) : "")),
    p.explanation ? h("p", { class: "rule-help", text: p.explanation }) : null,
    buttons.childNodes.length ? buttons : null, status);

  const live = h("span", { class: "live-dot", hidden: p.status !== "voting" }, "实时更新中");
  const tallyPanel = h("section", { class: "panel", id: "tally", "aria-live": "polite", "aria-label": "计票" }, live);
  const tallyBody = h("div", {});
  tallyPanel.append(tallyBody);
  if (p.tally) tallyBody.append(tallyView(p.tally));
  else tallyBody.append(h("p", { class: "muted", text: p.rule === "emergency" ? "应急使用无需表决。" : "开始表决后在此实时显示计票。" }));

  const ballotsPanel = h("section", { class: "panel" }, h("h2", { class: "panel-title", text: "表决记录" }));
  const auditLine = h("p", { class: "muted audit-line" });
  ctx.el.append(h("div", { class: "detail" }, h("div", { class: "detail-main" }, info, ballotsPanel), h("div", { class: "detail-side detail-side-wide" }, tallyPanel)));

  async function loadBallots() {
    if (p.rule === "emergency") {
      ballotsPanel.remove();
      return;
    }
    if (!p.tally) {
      ballotsPanel.append(h("p", { class: "muted", text: "开始表决后在此显示每位业主的表决（仅业委会可见个人选择）" }));
      return;
    }
    const [ballots, audit] = await Promise.all([
      api.get(`/api/v1/fund-proposals/${id}/ballots`, { limit: 100 }, { signal: ctx.signal }),
      api.get(`/api/v1/fund-proposals/${id}/audit`, { limit: 1 }, { signal: ctx.signal }),
    ]);
    if (!ctx.isCurrent()) return;
    auditLine.replaceChildren(icon(audit.intact ? "check" : "alert", { className: audit.intact ? "text-green" : "text-red" }),
      ` 表决日志 ${audit.ballots} 条，哈希链${audit.intact ? "校验完整" : "校验失败"}；链头 `, h("code", { text: (audit.head || "").slice(0, 16) }),
      audit.published_head ? "（已公布）" : "");
    ballotsPanel.replaceChildren(h("h2", { class: "panel-title", text: `表决记录（${ballots.items.length}）` }), auditLine,
      ballots.items.length ? h("table", { class: "table" },
        h("thead", {}, h("tr", {}, ["序号", "业主", "房屋", "选择", "时间"].map((t) => h("th", { scope: "col", text: t })))),
        h("tbody", {}, ballots.items.map((b) => h("tr", {},
          h("td", { text: String(b.seq) }), h("td", { text: b.voter || "—" }),
          h("td", { text: b.rooms.map((r) => r.label).join("、") }),
          h("td", { text: b.choice_label }), h("td", { text: dateTime(b.cast_at) })))))
        : h("p", { class: "muted", text: ballots.all_visible ? "还没有业主表决" : "个人表决内容仅业委会可见" }));
  }
  await loadBallots().catch((error) => { if (error.name !== "AbortError") ballotsPanel.append(errorBox(error)); });

  if (p.status === "voting") {
    let lastKey = "";
    const timer = setInterval(async () => {
      if (document.hidden) return;
      try {
        const tally = await api.get(`/api/v1/fund-proposals/${id}/tally`, undefined, { signal: ctx.signal });
        const key = JSON.stringify([tally.counts, tally.outcome, tally.status]);
        if (key === lastKey) return;
        lastKey = key;
        tallyBody.replaceChildren(tallyView(tally));
        if (tally.status !== "voting") {
          clearInterval(timer);
          ctx.refresh();
          return;
        }
        await loadBallots();
      } catch { /* next tick */ }
    }, LIVE_MS);
    ctx.onLeave(() => clearInterval(timer));
  }
}
