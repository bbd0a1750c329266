// 事项详情 (desk): the proposal's figures (amount, cost per m²), the plan's files,
// the step it is at (公示中 → 表决中 → 询异期 → 已公布), the live tally while voting,
// the actions of the committee and the manager (publish the publicity, close,
// finalise after the query window: committee; sign: both), paper ballots entered for
// a named room with the sheet's photo (staff, committee), questions and queries with
// their answers (committee), the ballots (committee) and the state of the
// tamper-evident ballot log. What each person may do, and what an early close would
// do, is the server's (can_open, can_close, can_finalise, can_enter_paper, ...).

import { busy, confirmDialog, errorBox, field, h, icon, toast } from "../../shared/dom.js";
import { fileLink, uploadOne } from "../../shared/files.js";
import { area, dateTime, money, remaining } from "../../shared/format.js";
import { label, ROLE } from "../../shared/labels.js";
import { outcomeBadge, tallyView } from "../../shared/tally.js";
import { api, hasRole, loadMe, setActions, setTitle } from "../core.js";

const LIVE_MS = 3000;

function kv(name, value) {
  if (value === null || value === undefined || value === "") return null;
  return h("div", { class: "kv" }, h("dt", { text: name }), h("dd", {}, value));
}

function stageText(p) {
  if (p.stage === "publicity") return `公示中：${dateTime(p.opens_at)} 自动开始表决，${dateTime(p.closes_at)} 截止`;
  if (p.stage === "query") return `初步统计结果已公示，询异期至 ${dateTime(p.query_ends_at)}`;
  if (p.stage === "published") return `最终结果已公布（${dateTime(p.finalised_at)}）`;
  return "";
}

/** The plan's files (维修方案, 预算, 报价), each opened with the bearer token. */
function planFiles(p, signal) {
  if (!(p.files || []).length) return null;
  return h("div", { class: "plan-files", id: "plan-files" }, h("h3", { class: "panel-subtitle", text: "方案与报价" }),
    h("ul", {}, p.files.map((f) => h("li", {}, fileLink(api, f, { signal, className: "plan-file", withIcon: false })))));
}


/** 录入纸质选票: find the named room, its owner's choice, the photo of the signed sheet. */
function paperPanel(ctx, p, id) {
  if (!p.can_enter_paper) return null;
  const search = h("input", { type: "search", name: "paper_room_q", placeholder: "房号，如 1栋1单元102 或 102", maxlength: "50" });
  const room = h("select", { name: "paper_room" }, h("option", { value: "", text: "先查找房屋" }));
  const find = h("button", { type: "button", class: "btn btn-plain", id: "paper-find" }, "查找");
  const choice = h("select", { name: "paper_choice" }, [h("option", { value: "", text: "请选择" }),
    ...(p.choices || []).map((c) => h("option", { value: c.code, text: c.label }))]);
  const photo = h("input", { type: "file", name: "paper_photo", accept: "image/jpeg,image/png" });
  const status = h("div", { class: "form-status" });
  const submit = h("button", { type: "submit", class: "btn btn-primary", id: "paper-submit" }, "录入纸质选票");
  async function lookup() {
    status.replaceChildren();
    try {
      const found = await api.get(`/api/v1/fund-proposals/${id}/rooms`, { q: search.value.trim() || undefined, limit: 100 }, { signal: ctx.signal });
      room.replaceChildren(...(found.items.length ? found.items.map((r) => h("option", {
        value: String(r.room_id), disabled: Boolean(r.ballot_kind) || r.unsold,
        text: `${r.label} ${r.owner_name || "（未售）"} ${area(r.area_m2)}${r.ballot_kind_label ? `（${r.ballot_kind_label}）` : ""}` }))
        : [h("option", { value: "", text: "没有找到该房屋" })]));
      const first = [...room.options].find((o) => !o.disabled && o.value);
      if (first) room.value = first.value;
    } catch (error) {
      if (error.name !== "AbortError") status.replaceChildren(errorBox(error));
    }
  }
  find.addEventListener("click", () => busy(find, lookup));
  search.addEventListener("keydown", (event) => {
    if (event.key === "Enter") {
      event.preventDefault();
      busy(find, lookup);
    }
  });
  const form = h("form", { class: "form paper-form", novalidate: true },
    h("div", { class: "grid-2" }, field("房屋", search), h("div", { class: "field field-button" }, find)),
    field("表决房屋", room, { required: true }), field("选票上的选择", choice, { required: true }),
    field("选票照片", photo, { required: true, hint: "业主签字的纸质选票拍照上传，照片摘要记入表决日志" }),
    status, h("div", { class: "btn-row" }, submit));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    status.replaceChildren();
    const problems = [];
    if (!room.value) problems.push("请选择房屋");
    if (!choice.value) problems.push("请选择选票上的选择");
    if (!photo.files.length) problems.push("请上传选票照片");
    if (problems.length) {
      status.replaceChildren(errorBox({ message: problems.join("；") }));
      return;
    }
    const roomText = room.options[room.selectedIndex].text;
    busy(submit, async () => {
      const ok = await confirmDialog({ title: "确认录入纸质选票", message: `${roomText}：${choice.options[choice.selectedIndex].text}。录入后不可修改，与线上投票同样计入。`, confirmText: "确认录入" });
      if (!ok) return;
      try {
        const stored = await uploadOne(api, photo.files[0]);
        await api.post(`/api/v1/fund-proposals/${id}/paper-ballots`, { room_id: Number(room.value), choice: choice.value, photo_id: stored.id });
        toast("纸质选票已录入", "success");
        ctx.refresh();
      } catch (error) {
        status.replaceChildren(errorBox(error));
      }
    });
  });
  return h("section", { class: "panel", id: "paper-ballot" }, h("h2", { class: "panel-title", text: "录入纸质选票（线下表决）" }), form);
}

/** Questions during the publicity period and queries (询异) on the preliminary result;
 * committee members answer until the final result is published. */
function questionsPanel(ctx, me, p, id) {
  if (!p.can_read_plan || p.rule === "emergency" || p.status === "draft") return null;
  const canAnswer = hasRole(me, "committee") && !p.finalised_at;
  const list = h("div", { class: "question-list" }, h("p", { class: "muted", text: "加载中…" }));
  api.get(`/api/v1/fund-proposals/${id}/comments`, undefined, { signal: ctx.signal }).then((page) => {
    const open = page.items.filter((c) => !c.answer).length;
    title.textContent = `提问与询异（${page.items.length}${open ? `，${open} 条待答复` : ""}）`;
    list.replaceChildren(...(page.items.length ? page.items.map((c) => {
      const item = h("div", { class: "question", dataset: { id: String(c.id), stage: c.stage } },
        h("p", {}, h("span", { class: "status", text: c.stage === "query" ? "询异" : "提问" }), " ",
          h("strong", { text: c.author }), h("span", { class: "muted", text: ` ${dateTime(c.created_at)}` })),
        h("p", { class: "pre-wrap question-body", text: c.body }));
      if (c.answer) {
        item.append(h("p", { class: "question-answer" }, h("span", { class: "muted", text: "答复：" }), c.answer));
      } else if (canAnswer) {
        const text = h("textarea", { name: "answer", rows: "2", maxlength: "2000" });
        const status = h("div", { class: "form-status" });
        const send = h("button", { type: "submit", class: "btn btn-primary btn-small" }, "答复");
        const form = h("form", { class: "form answer-form", novalidate: true }, field("答复", text), status, send);
        form.addEventListener("submit", (event) => {
          event.preventDefault();
          if (!text.value.trim()) {
            status.replaceChildren(errorBox({ message: "请填写答复" }));
            return;
          }
          busy(send, async () => {
            try {
              await api.post(`/api/v1/fund-proposals/${id}/comments/${c.id}/answer`, { answer: text.value.trim() });
              toast("已答复", "success");
              ctx.refresh();
            } catch (error) {
              status.replaceChildren(errorBox(error));
            }
          });
        });
        item.append(form);
      } else {
        item.append(h("p", { class: "muted question-answer", text: "待业委会答复" }));
      }
      return item;
    }) : [h("p", { class: "muted", text: "暂无提问或询异" })]));
  }).catch((error) => { if (error.name !== "AbortError") list.replaceChildren(errorBox(error)); });
  const title = h("h2", { class: "panel-title", text: "提问与询异" });
  return h("section", { class: "panel", id: "questions" }, title, list);
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
  // Documents for the notice board (result PDF, ballot sheets, Excel exports): their
  // download links go into this container, shown under the plan's files.
  const documents = h("div", { class: "fund-documents", id: "fund-documents" });
  // documents links (result PDF, ballot sheets, Excel) are added on the next line:
  import("./fund_documents.js").then((m) => m.documentLinks(documents, p, me));

  if (p.status === "draft" && p.rule !== "emergency" && p.can_manage && !p.can_open) {
    buttons.append(h("p", { class: "muted", id: "open-by-committee", text: "草稿已保存，由业委会委员决定发布公示。" }));
  }
  if (p.can_open) {
    // publishing starts the publicity period (公示); voting opens by itself after it
    const open = h("button", { type: "button", class: "btn btn-primary", id: "open-vote" }, "发布公示");
    open.addEventListener("click", async () => {
      const ok = await confirmDialog({ title: "发布公示", message: `发布后范围内业主收到通知，可查看方案、预算和报价并提问；公示期满后自动开始表决，开始时锁定范围内房屋的面积和业主名单。截止时间：${dateTime(p.closes_at)}。`, confirmText: "发布公示" });
      if (ok) act(open, "open", "已发布公示，已通知范围内业主");
    });
    buttons.append(open);
  }
  if (p.can_finalise) {
    const finalise = h("button", { type: "button", class: "btn btn-primary", id: "finalise" }, "公布最终结果");
    finalise.addEventListener("click", async () => {
      const ok = await confirmDialog({ title: "公布最终结果", message: "询异期已结束。公布后结果冻结并通知业主，不能再答复询异。", confirmText: "公布最终结果" });
      if (ok) act(finalise, "finalise", "最终结果已公布，已通知业主");
    });
    buttons.append(finalise);
  } else if (p.stage === "query" && p.can_manage) {
    buttons.append(h("p", { class: "muted", id: "finalise-hint", text: `询异期至 ${dateTime(p.query_ends_at)}，期满且询异均已答复后由业委会公布最终结果。` }));
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
    stageText(p) ? h("p", { class: "stage-line", id: "stage-line", text: stageText(p) }) : null,
    h("p", { class: "fund-amount" }, "使用金额 ", h("strong", { text: money(p.amount_yuan) }),
      p.cost_per_m2 ? h("span", { class: "muted", id: "cost-per-m2", text: `（分摊面积 ${area(p.scope_area_m2)}，每平方米 ${money(p.cost_per_m2)}）` }) : null),
    p.description ? h("p", { class: "pre-wrap", text: p.description }) : null,
    h("dl", { class: "kv-list kv-2col" },
      kv("表决规则", h("span", { id: "proposal-rule", text: p.rule_label })),
      kv("分摊范围", p.scope_label),
      p.rule === "objection" ? kv("否决门槛", `${p.objection_threshold}（${p.objection_basis_label}）`) : null,
      kv("应急情形", p.emergency_case_label),
      kv("发起人", p.created_by),
      kv("创建时间", dateTime(p.created_at)),
      kv("公示发布", dateTime(p.published_at)),
      kv("开始时间", dateTime(p.opened_at || p.opens_at)),
      kv("截止时间", dateTime(p.closes_at)),
      kv("结束时间", dateTime(p.closed_at)),
      kv("询异截止", dateTime(p.query_ends_at)),
      kv("最终公布", dateTime(p.finalised_at)),
      kv("公示截止", dateTime(p.publicity_ends_at)),
      kv("签字", (p.signatures || []).map((s) => `${label(ROLE, s.role)} ${s.name}`).join("；")),
      kv("已支付", p.paid_yuan !== null && p.paid_yuan !== undefined ? money(p.paid_yuan) : "")),
    p.explanation ? h("p", { class: "rule-help", text: p.explanation }) : null,
    planFiles(p, ctx.signal), documents,
    buttons.childNodes.length ? buttons : null, status);

  const live = h("span", { class: "live-dot", hidden: p.status !== "voting" }, "实时更新中");
  const tallyPanel = h("section", { class: "panel", id: "tally", "aria-live": "polite", "aria-label": "计票" }, live);
  const tallyBody = h("div", {});
  tallyPanel.append(tallyBody);
  if (p.tally) tallyBody.append(tallyView(p.tally));
  else tallyBody.append(h("p", { class: "muted", text: p.rule === "emergency" ? "应急使用无需表决。" : "开始表决后在此实时显示计票。" }));

  const ballotsPanel = h("section", { class: "panel" }, h("h2", { class: "panel-title", text: "表决记录" }));
  const auditLine = h("p", { class: "muted audit-line" });
  ctx.el.append(h("div", { class: "detail" },
    h("div", { class: "detail-main" }, info, paperPanel(ctx, p, id), questionsPanel(ctx, me, p, id), ballotsPanel),
    h("div", { class: "detail-side detail-side-wide" }, tallyPanel)));

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
        h("thead", {}, h("tr", {}, ["序号", "业主", "房屋", "选择", "方式", "时间"].map((t) => h("th", { scope: "col", text: t })))),
        h("tbody", {}, ballots.items.map((b) => h("tr", { dataset: { kind: b.kind } },
          h("td", { text: String(b.seq) }), h("td", { text: b.voter || "—" }),
          h("td", { text: b.rooms.map((r) => r.label).join("、") }),
          h("td", { text: b.action === "cast" ? b.choice_label : `${b.action_label}：${b.choice_label}` }),
          h("td", { class: "ballot-kind", text: `${b.kind_label}${b.entered_by ? `（${b.entered_by}录入）` : ""}` }),
          h("td", { text: dateTime(b.cast_at) })))))
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
