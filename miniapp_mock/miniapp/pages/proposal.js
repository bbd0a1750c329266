// 表决详情: what the money is for, how much (and per m² of the scope), the plan's
// files, which rule decides, the step the decision is at (公示中 with when voting
// opens, 表决中 with the deadline, 询异期 with its end, 已公布), the figures so far
// (or the frozen result), the owner's own ballot and receipt and how it was cast
// (线下已投, 委托投票), a proxy given or held, withdrawing an objection or the one
// change where allowed, and questions (公示期) and queries (询异期) with the
// committee's answers. What the caller may do is the server's (can_* flags).

import { append, busy, confirmDialog, errorBox, field, h, icon, toast } from "../../shared/dom.js";
import { fileLink, uploadOne } from "../../shared/files.js";
import { area, dateTime, money, remaining } from "../../shared/format.js";
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

/** One line naming where the decision stands and the date that matters at that step. */
export function stageLine(p) {
  if (p.stage === "publicity") {
    return `公示中：${dateTime(p.opens_at)} 开始表决${p.closes_at ? `，${dateTime(p.closes_at)} 截止` : ""}`;
  }
  if (p.stage === "voting" && p.closes_at) return `${remaining(p.closes_at)}（${dateTime(p.closes_at)} 截止）`;
  if (p.stage === "query") {
    return p.query_ends_at ? `初步统计结果已公示，询异期至 ${dateTime(p.query_ends_at)}` : "初步统计结果已公示";
  }
  if (p.stage === "published") return `最终结果已公布${p.finalised_at ? `（${dateTime(p.finalised_at)}）` : ""}`;
  return "";
}

/** The plan's files (维修方案, 预算, 报价): each opens with the bearer token. */
export function planFiles(p, signal) {
  if (!(p.files || []).length) return null;
  return h("section", { class: "card", id: "plan-files" },
    h("h2", { class: "card-title", text: "方案与报价" }),
    h("ul", { class: "plan-file-list" }, p.files.map((f) => h("li", {}, fileLink(api, f, { signal, className: "plan-file" })))));
}


/** How each of the owner's rooms stands: voted (and how), the objection withdrawn,
 * given to a proxy, or not yet. A withdrawal takes the rooms out of the count, so a
 * room not voted now may have a withdrawn objection in the log. */
function roomStatus(p) {
  const rooms = p.my_rooms || [];
  if (!rooms.length || !p.tally) return null;
  const ballots = [...(p.my_ballots || [])].sort((a, b) => a.seq - b.seq);
  const latest = new Map();
  for (const b of ballots) for (const r of b.rooms || []) latest.set(r.room_id, b);
  const last = ballots[ballots.length - 1];
  return h("ul", { class: "room-status", id: "my-room-status" }, rooms.map((r) => {
    const b = latest.get(r.room_id);
    let text = "未投票";
    if (r.voted && (b || last)) text = (b || last).kind_label;
    else if (last && last.action === "withdraw") text = "已撤回异议";
    else if (p.my_proxy) text = `已委托 ${p.my_proxy.proxy_name} 投票`;
    return h("li", { dataset: { room: String(r.room_id) } }, `${r.label}：`, h("strong", { class: "room-vote-kind", text }));
  }));
}

function proxyCard(ctx, p, id) {
  const own = (p.my_rooms || []).filter((r) => !r.voted);
  if (p.stage !== "voting" || !own.length) return null;
  const card = h("section", { class: "card", id: "proxy" }, h("h2", { class: "card-title", text: "委托投票" }));
  const status = h("div", { class: "form-status" });
  if (p.my_proxy) {
    const revoke = h("button", { type: "button", class: "btn btn-plain btn-small", id: "revoke-proxy" }, "撤销委托");
    revoke.addEventListener("click", async () => {
      const ok = await confirmDialog({ title: "撤销委托", message: `撤销后 ${p.my_proxy.proxy_name} 不能再代您投票。`, confirmText: "撤销委托" });
      if (!ok) return;
      await busy(revoke, async () => {
        try {
          await api.post(`/api/v1/fund-proposals/${id}/proxy/revoke`, { room_id: own[0].room_id });
          toast("委托已撤销", "success");
          ctx.refresh();
        } catch (error) {
          status.replaceChildren(errorBox(error));
        }
      });
    });
    card.append(h("p", { id: "proxy-status" }, "已委托 ", h("strong", { text: p.my_proxy.proxy_name }), ` 代为投票（${dateTime(p.my_proxy.created_at)}）`),
      h("p", { class: "field-hint", text: "受托人投票前，您可以撤销委托，或自己投票（自己投票后委托不再生效）。" }),
      h("div", { class: "btn-row" }, revoke), status);
    return card;
  }
  const phone = h("input", { type: "tel", name: "proxy_phone", inputmode: "numeric", maxlength: "20", placeholder: "受托人登录小程序使用的手机号" });
  const name = h("input", { type: "text", name: "proxy_name", maxlength: "50", placeholder: "与授权委托书一致" });
  const doc = h("input", { type: "file", name: "proxy_document", accept: "image/jpeg,image/png,application/pdf" });
  const submit = h("button", { type: "submit", class: "btn btn-plain btn-block" }, "提交委托");
  const form = h("form", { class: "form", novalidate: true },
    field("受托人姓名", name), field("受托人手机号", phone, { required: true }),
    field("授权委托书（签字后拍照或PDF）", doc, { required: true }), status, submit);
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    status.replaceChildren();
    const problems = [];
    if (!phone.value.trim()) problems.push("请填写受托人手机号");
    if (!doc.files.length) problems.push("请上传授权委托书");
    if (problems.length) {
      status.replaceChildren(errorBox({ message: problems.join("；") }));
      return;
    }
    busy(submit, async () => {
      try {
        const document = await uploadOne(api, doc.files[0]);
        const proxy = await api.post(`/api/v1/fund-proposals/${id}/proxy`, {
          room_id: own[0].room_id, phone: phone.value.trim(), document_id: document.id });
        const typed = name.value.trim();
        toast(typed && typed !== proxy.proxy_name ? `已委托 ${proxy.proxy_name}（账号名与填写的“${typed}”不同，请核对）` : `已委托 ${proxy.proxy_name}`, "success");
        ctx.refresh();
      } catch (error) {
        status.replaceChildren(errorBox(error));
      }
    });
  });
  card.append(h("details", { class: "proxy-form" }, h("summary", { text: "不方便投票？委托他人代为投票" }),
    h("p", { class: "field-hint", text: `委托仅对本事项有效，受托人为您名下的 ${own.map((r) => r.label).join("、")} 投票。` }), form));
  return card;
}

function heldProxyCard(p, id) {
  const rooms = p.proxy_rooms || [];
  if (!rooms.length) return null;
  const open = p.stage === "voting" && rooms.some((r) => !r.voted);
  return h("section", { class: "card", id: "proxy-held" },
    h("h2", { class: "card-title", text: "受托投票" }),
    h("ul", {}, rooms.map((r) => h("li", {}, `${r.label}：`, h("strong", { text: r.voted ? "已投" : "未投" })))),
    open ? h("a", { class: ["btn", "btn-block", "btn-primary"], href: `#/fund/${id}/vote?for=proxy`, id: "go-vote-proxy" }, "受托投票") : null);
}

function ballotActions(ctx, p, id) {
  if (!p.can_withdraw && !p.can_change) return null;
  const status = h("div", { class: "form-status" });
  const row = h("div", { class: "btn-row" });
  if (p.can_withdraw) {
    const withdraw = h("button", { type: "button", class: "btn btn-plain", id: "withdraw-objection" }, "撤回异议");
    withdraw.addEventListener("click", async () => {
      const ok = await confirmDialog({ title: "撤回异议", message: "撤回后视为同意，且不能再次提出异议。", confirmText: "撤回异议" });
      if (!ok) return;
      await busy(withdraw, async () => {
        try {
          const room = (p.my_rooms || [])[0];
          await api.post(`/api/v1/fund-proposals/${id}/ballots/withdraw`, { room_id: room.room_id });
          toast("异议已撤回", "success");
          ctx.refresh();
        } catch (error) {
          status.replaceChildren(errorBox(error));
        }
      });
    });
    row.append(withdraw);
  }
  if (p.can_change) row.append(h("a", { class: "btn btn-plain", href: `#/fund/${id}/vote?change=1`, id: "go-change" }, "更改选择（仅一次）"));
  return h("section", { class: "card", id: "ballot-actions" }, row,
    h("p", { class: "field-hint", text: p.can_withdraw ? "截止前可撤回异议，撤回记入表决日志。" : "本小区允许在截止前更改一次选择，更改记入表决日志。" }), status);
}

function questionsCard(ctx, p, id) {
  if (!p.can_read_plan) return null;
  const list = h("ul", { class: "question-list" });
  const card = h("section", { class: "card", id: "questions" },
    h("h2", { class: "card-title", text: p.stage === "query" || p.stage === "published" ? "提问与询异" : "提问与答复" }), list);
  api.get(`/api/v1/fund-proposals/${id}/comments`, undefined, { signal: ctx.signal }).then((page) => {
    list.replaceChildren(...(page.items.length ? page.items.map((c) => h("li", { class: "question", dataset: { id: String(c.id), stage: c.stage } },
      h("p", {}, h("span", { class: ["tag", "tag-gray"], text: c.stage === "query" ? "询异" : "提问" }), " ",
        h("strong", { text: c.author }), h("span", { class: "muted", text: ` ${dateTime(c.created_at)}` })),
      h("p", { class: "pre-wrap question-body", text: c.body }),
      c.answer ? h("p", { class: "question-answer" }, h("span", { class: "muted", text: "业委会答复：" }), c.answer)
        : h("p", { class: "muted question-answer", text: "待业委会答复" }))) : [h("li", { class: "muted", text: "暂无提问" })]));
  }).catch((error) => { if (error.name !== "AbortError") list.replaceChildren(errorBox(error)); });
  if (p.can_ask) {
    const query = p.stage === "query";
    const body = h("textarea", { name: "question", rows: "3", maxlength: "2000",
      placeholder: query ? "对初步统计结果有疑问（如本户的票是否计入），请在询异期内提出" : "对方案、预算或报价有疑问，请在公示期内提出" });
    const status = h("div", { class: "form-status" });
    const submit = h("button", { type: "submit", class: "btn btn-plain btn-block", id: "ask" }, query ? "提交询异" : "提交提问");
    const form = h("form", { class: "form", novalidate: true }, field(query ? "询异" : "提问", body), status, submit);
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      status.replaceChildren();
      if (!body.value.trim()) {
        status.replaceChildren(errorBox({ message: "请填写内容" }));
        return;
      }
      busy(submit, async () => {
        try {
          await api.post(`/api/v1/fund-proposals/${id}/comments`, { body: body.value.trim() });
          toast(query ? "询异已提交，业委会将答复" : "提问已提交，业委会将答复", "success");
          ctx.refresh();
        } catch (error) {
          status.replaceChildren(errorBox(error));
        }
      });
    });
    card.append(form);
  }
  return card;
}

export default async function render(ctx) {
  const id = ctx.params.id;
  const p = await api.get(`/api/v1/fund-proposals/${id}`, undefined, { signal: ctx.signal });
  if (!ctx.isCurrent()) return;
  setTitle(p.rule === "objection" ? "公示与异议" : p.rule === "emergency" ? "应急使用公示" : "表决详情");
  const voting = p.status === "voting";
  const myRooms = p.my_rooms || [];
  const ballots = p.my_ballots || [];
  const ownOpen = voting && myRooms.some((r) => !r.voted);
  const line = stageLine(p);

  const head = h("section", { class: "card proposal-hero" },
    h("div", { class: "proposal-head" },
      h("span", { class: ["tag", voting ? "tag-green" : "tag-gray"], id: "proposal-status", text: p.status_label }),
      h("span", { class: ["tag", "tag-gray"], id: "proposal-stage", text: p.stage_label }),
      p.outcome ? outcomeBadge(p.outcome, p.outcome_label) : null),
    h("h2", { class: "proposal-hero-title", text: p.title }),
    h("p", { class: "proposal-hero-amount" }, h("span", { class: "muted", text: "使用金额 " }), h("strong", { text: money(p.amount_yuan) })),
    p.cost_per_m2 ? h("p", { class: "muted", id: "cost-per-m2", text: `分摊面积 ${area(p.scope_area_m2)}，每平方米约 ${money(p.cost_per_m2)}` }) : null,
    line ? h("p", { class: voting ? "deadline" : "stage-line", id: "stage-line" }, voting ? icon("alert") : null, line) : null);

  const mine = h("section", { class: "card", id: "my-vote" }, h("h2", { class: "card-title", text: "我的表决" }));
  if (ownOpen && !ballots.some((b) => b.action === "cast")) {
    const objection = p.rule === "objection";
    mine.append(
      h("p", { text: `${objection ? "对该事项有异议？" : "请对该事项表决。"}表决房屋：${myRooms.map((r) => r.label).join("、")}${myRooms.length > 1 ? "（同一业主合并为一票）" : ""}` }),
      h("a", { class: ["btn", "btn-block", objection ? "btn-warn" : "btn-primary"], href: `#/fund/${id}/vote`, id: "go-vote" },
        objection ? "提出异议" : (p.my_proxy ? "自己投票" : "参与表决")),
      h("p", { class: "field-hint", text: objection ? "不提出异议视为同意，无需操作；截止前可撤回异议。" : (p.allow_change ? "截止前可更改一次选择。" : "表决提交后不可更改。") }));
  } else if (p.rule === "emergency") {
    mine.replaceChildren(h("h2", { class: "card-title", text: "签字确认" }),
      h("p", { class: "muted", text: (p.signatures || []).length
        ? (p.signatures || []).map((s) => `${label(ROLE, s.role)} ${s.name}（${dateTime(s.signed_at)}）`).join("；")
        : "等待业委会委员和项目经理签字" }));
  } else if (ballots.length) {
    mine.append(roomStatus(p));
  } else if (voting) {
    mine.append(h("p", { class: "muted", text: myRooms.length ? "您已完成表决。" : ((p.proxy_rooms || []).length ? "您名下没有本事项分摊范围内的房屋，可为委托人投票。" : "您名下没有本事项分摊范围内的房屋，无需表决。") }));
  } else if (p.stage === "publicity") {
    mine.append(h("p", { class: "muted", text: `公示期内可查看方案并提问，${dateTime(p.opens_at)} 开始表决。` }));
  } else {
    const withdrawn = p.outcome === "withdrawn";
    mine.append(h("p", { class: "muted", text: p.status === "closed" ? (withdrawn ? "该事项已撤回，不视为通过。" : (myRooms.length ? "您未参加本次表决。" : "表决已结束。")) : "尚未开始表决。" }));
  }
  if (!ballots.length && myRooms.length && p.tally) mine.append(roomStatus(p));

  const facts = h("section", { class: "card" },
    h("h2", { class: "card-title", text: "事项说明" }),
    p.description ? h("p", { class: "pre-wrap", text: p.description }) : null,
    h("dl", { class: "kv-list facts" },
      kv("分摊范围", p.scope_label),
      kv("分摊面积", p.scope_area_m2 ? area(p.scope_area_m2) : ""),
      kv("每平方米", p.cost_per_m2 ? money(p.cost_per_m2) : ""),
      kv("表决规则", p.rule_label),
      p.rule === "objection" ? kv("否决门槛", `异议超过 ${p.objection_threshold}（${p.objection_basis_label}）`) : null,
      kv("应急情形", p.emergency_case_label),
      kv("发起人", p.created_by),
      kv("公示发布", dateTime(p.published_at)),
      kv("开始时间", dateTime(p.opened_at || p.opens_at)),
      kv("截止时间", dateTime(p.closes_at)),
      kv("结束时间", dateTime(p.closed_at)),
      kv("询异截止", dateTime(p.query_ends_at)),
      kv("最终公布", dateTime(p.finalised_at)),
      kv("公示截止", dateTime(p.publicity_ends_at)),
      p.paid_yuan !== null && p.paid_yuan !== undefined ? kv("已支付", money(p.paid_yuan)) : null),
    h("p", { class: "rule-help", text: p.explanation }));

  const tallyBox = p.tally ? h("section", { class: "card", id: "tally" }, tallyView(p.tally),
    p.status === "closed" ? h("p", { class: "tally-note", text: p.tally.frozen
      ? `${p.outcome === "withdrawn" ? "业委会已在截止前终止表决并撤回该事项（不视为通过），以上统计" : (p.stage === "query" ? "以上为初步统计结果，询异期满后由业委会公布最终结果；初步结果" : "表决已结束，结果")}已冻结并公示${p.chain_head ? `（表决日志链头 ${p.chain_head.slice(0, 16)}…）` : ""}。`
      : "表决已截止，结果即将公布（以上为截止时的统计）。" }) : null) : null;
  if (tallyBox && p.status === "closed" && p.can_read_plan) tallyBox.append(h("a", { class: "btn btn-plain btn-block", href: "#", id: "result-pdf", text: "表决结果 (PDF)", onclick: (event) => { event.preventDefault(); api.blob(`/api/v1/fund-proposals/${id}/result.pdf`).then((b) => window.open(URL.createObjectURL(b), "_blank", "noopener")).catch((error) => toast(error.message || "文件打开失败", "error")); } }));
  append(ctx.el, [head, ballots.length ? [ballots.map((b) => receiptCard(id, b)), mine] : mine,
    ballotActions(ctx, p, id), proxyCard(ctx, p, id), heldProxyCard(p, id), tallyBox,
    planFiles(p, ctx.signal), questionsCard(ctx, p, id), facts]);
}
