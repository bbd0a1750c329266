// 新建维修资金事项: what, how much, whose rooms share the cost, which rule decides,
// until when, and the plan's files (维修方案, 预算, 报价: PDF or photos, uploaded first
// with POST /api/v1/attachments, their ids sent with the proposal). Saved as a draft;
// publishing it (公示, then voting) is a separate, deliberate step (committee members
// only). The objection threshold and basis, the shortest voting
// window and the publicity period are the community's (GET /fund/rules): shown here,
// not chosen per proposal.

import { busy, errorBox, field, h } from "../../shared/dom.js";
import { localInput } from "../../shared/format.js";
import { FUND_BASIS, label } from "../../shared/labels.js";
import { navigate } from "../../shared/router.js";
import { api, setActions } from "../core.js";

export default async function render(ctx) {
  setActions(h("a", { class: "btn btn-plain btn-small", href: "#/fund" }, "返回列表"));
  const rules = await api.get("/api/v1/fund/rules", undefined, { signal: ctx.signal });
  if (!ctx.isCurrent()) return;

  const title = h("input", { type: "text", name: "title", maxlength: "100", required: true, placeholder: "如：3栋电梯更换曳引机" });
  const description = h("textarea", { name: "description", rows: "4", maxlength: "5000", placeholder: "维修原因、方案、报价来源、施工单位等" });
  const amount = h("input", { type: "text", name: "amount_yuan", inputmode: "decimal", required: true, placeholder: "如 86000.00", pattern: "\\d+(\\.\\d{1,2})?" });
  const scopeKind = h("select", { name: "scope_kind" },
    h("option", { value: "buildings", text: "指定楼栋" }), h("option", { value: "community", text: "全小区" }));
  const buildings = h("input", { type: "text", name: "buildings", placeholder: "楼栋号，多个用逗号分隔，如 3 或 1,2" });
  const rule = h("select", { name: "rule" }, rules.rules.map((r) => h("option", { value: r.code, text: r.label })));
  const ruleHelp = h("p", { class: "rule-help" });
  const minDays = (code) => (rules.min_voting_days || {})[code] || 0;
  // the publicity period, then the rule's shortest window, plus a day, at 18:00: a
  // proposal published today can keep the suggested deadline
  const defaultClose = (code) => localInput(new Date(Date.now() + ((rules.notice_days || 0) + minDays(code) + 1) * 86400000)).replace(/T.*/, "T18:00");
  const closesAt = h("input", { type: "datetime-local", name: "closes_at", value: defaultClose(rules.rules[0]?.code) });
  let suggested = closesAt.value;
  const opensAt = h("input", { type: "datetime-local", name: "opens_at" });
  const threshold = h("output", { id: "objection-threshold", class: "readonly-value", text: rules.objection_threshold });
  const basis = h("output", { id: "objection-basis", class: "readonly-value", text: label(FUND_BASIS, rules.objection_basis) });
  const windowHint = h("p", { class: "field-hint", id: "window-hint" });
  // No case preselected: the committee must choose one (the server answers 400 without it).
  const emergencyCase = h("select", { name: "emergency_case" }, [h("option", { value: "", text: "请选择应急情形" }), ...rules.emergency_cases.map((c) => h("option", { value: c.code, text: c.label }))]);

  const objectionFields = h("fieldset", { class: "fieldset" }, h("legend", { text: "否定表决设置（本小区统一规定）" }),
    h("div", { class: "grid-2" }, field("异议比例", threshold, { hint: "超过该比例即否决" }), field("计算方式", basis, { hint: "面积、人数的比较口径" })),
    h("p", { class: "field-hint", text: "由管理员按小区规定设置，各事项相同，不能单独修改。" }));
  const emergencyFields = h("fieldset", { class: "fieldset" }, h("legend", { text: "应急情形" }), field("情形", emergencyCase));
  const deadlineFields = h("div", {}, h("div", { class: "grid-2" },
    field("表决截止时间（北京时间）", closesAt, { required: true }), field("开始时间（可选，默认公示期满时）", opensAt)),
    windowHint, h("p", { class: "field-hint", text: `结果公示不少于${rules.publicity_days}天，公示期满后方可支取；只有业委会委员可以发布公示。` }));
  const buildingsField = field("楼栋", buildings);
  const MAX_FILES = 20;
  const planFiles = h("input", { type: "file", name: "plan_files", multiple: true, accept: "application/pdf,image/jpeg,image/png" });
  const status = h("div", { class: "form-status" });
  const submit = h("button", { type: "submit", class: "btn btn-primary" }, "保存草稿");

  function sync() {
    const r = rule.value;
    const info = rules.rules.find((x) => x.code === r);
    ruleHelp.textContent = info ? info.explanation : "";
    objectionFields.hidden = r !== "objection";
    emergencyFields.hidden = r !== "emergency";
    deadlineFields.hidden = r === "emergency";
    buildingsField.hidden = scopeKind.value !== "buildings";
    windowHint.textContent = minDays(r) ? `${r === "objection" ? "异议期" : "表决期"}不少于${minDays(r)}天（从开始表决算起到截止时间）。` : "";
  }
  rule.addEventListener("change", () => {
    // an untouched deadline follows the new rule's minimum
    if (closesAt.value === suggested) closesAt.value = suggested = defaultClose(rule.value);
    sync();
  });
  scopeKind.addEventListener("change", sync);

  const form = h("form", { class: "panel form-panel", novalidate: true },
    field("事项名称", title, { required: true }),
    field("说明", description),
    field("方案、预算与报价（PDF 或图片，可多选）", planFiles, { hint: `最多${MAX_FILES}个文件；范围内业主、物业和业委会可查看` }),
    h("div", { class: "grid-2" }, field("使用金额（元）", amount, { required: true }), field("分摊范围", scopeKind)),
    buildingsField,
    field("表决规则", rule), ruleHelp,
    h("p", { class: "field-hint", text: rules.headcount_note }),
    objectionFields, emergencyFields, deadlineFields,
    status, h("div", { class: "btn-row" }, submit, h("a", { class: "btn btn-plain", href: "#/fund" }, "取消")));

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    status.replaceChildren();
    const data = {
      title: title.value.trim(), description: description.value.trim(),
      amount_yuan: amount.value.trim(), rule: rule.value,
    };
    if (scopeKind.value === "community") data.scope = { community: true };
    else data.scope = { buildings: buildings.value.split(/[,，、\s]+/).map((b) => b.replace(/栋$/, "").trim()).filter(Boolean) };
    if (rule.value === "emergency") {
      if (emergencyCase.value) data.emergency_case = emergencyCase.value;
    } else {
      if (closesAt.value) data.closes_at = `${closesAt.value}:00`;
      if (opensAt.value) data.opens_at = `${opensAt.value}:00`;
    }
    const problems = [];
    if (!data.title) problems.push("请填写事项名称");
    // the server parses the amount ("128,000" too) and says what is wrong with it
    if (!data.amount_yuan) problems.push("请填写金额");
    if (data.scope.buildings && !data.scope.buildings.length) problems.push("请填写楼栋");
    if (planFiles.files.length > MAX_FILES) problems.push(`方案文件最多${MAX_FILES}个`);
    if (problems.length) {
      status.replaceChildren(errorBox({ message: problems.join("；") }));
      return;
    }
    busy(submit, async () => {
      try {
        if (planFiles.files.length) {
          const upload = new FormData();
          for (const f of planFiles.files) upload.append("files", f);
          const stored = await api.upload("/api/v1/attachments", upload).promise;
          data.attachment_ids = stored.items.map((a) => a.id);
        }
        const created = await api.post("/api/v1/fund-proposals", data);
        navigate(`/fund/${created.id}`, { replace: true });
      } catch (error) {
        status.replaceChildren(errorBox(error));
      }
    });
  });
  ctx.el.append(form);
  sync();
  title.focus();
}
