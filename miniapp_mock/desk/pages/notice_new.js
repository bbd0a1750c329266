// 发布公告: title, body, category (labels from the server), scope (the whole community
// or chosen buildings), attachments (images, PDF), pin, publish time (later =
// scheduled) and expiry. The residents in scope get a WeChat message at publish time.

import { busy, errorBox, field, h } from "../../shared/dom.js";
import { navigate } from "../../shared/router.js";
import { api, setActions } from "../core.js";

const MAX_FILES = 5;

export default async function render(ctx) {
  setActions(h("a", { class: "btn btn-plain btn-small", href: "#/notices" }, "返回列表"));
  const options = await api.get("/api/v1/desk/notices/options", undefined, { signal: ctx.signal });
  if (!ctx.isCurrent()) return;
  const communities = options.communities;

  const community = h("select", { name: "community_id" }, communities.map((c) => h("option", { value: c.id, text: c.name })));
  const title = h("input", { type: "text", name: "title", maxlength: "100", required: true, placeholder: "如：12月5日1栋停水通知" });
  const body = h("textarea", { name: "body", rows: "6", maxlength: "10000", required: true, placeholder: "时间、范围、原因、注意事项、联系电话" });
  const category = h("select", { name: "category" }, Object.entries(options.categories).map(([code, text]) => h("option", { value: code, text })));
  const scopeKind = h("select", { name: "scope_kind" },
    h("option", { value: "community", text: "全小区" }), h("option", { value: "buildings", text: "指定楼栋" }));
  const buildingBox = h("div", { class: "check-row", id: "notice-buildings" });
  const files = h("input", { type: "file", name: "files", multiple: true, accept: "image/*,application/pdf" });
  const pinned = h("input", { type: "checkbox", name: "pinned" });
  const publishAt = h("input", { type: "datetime-local", name: "publish_at" });
  const expiresAt = h("input", { type: "datetime-local", name: "expires_at" });
  const status = h("div", { class: "form-status" });
  const submit = h("button", { type: "submit", class: "btn btn-primary" }, "发布");

  function syncBuildings() {
    const c = communities.find((x) => String(x.id) === community.value) || communities[0];
    buildingBox.replaceChildren(...(c ? c.buildings : []).map((b) => h("label", { class: "check" },
      h("input", { type: "checkbox", value: b.id, name: "building" }), ` ${b.name}`)));
    buildingField.hidden = scopeKind.value !== "buildings";
  }
  const buildingField = field("楼栋", buildingBox);
  community.addEventListener("change", syncBuildings);
  scopeKind.addEventListener("change", syncBuildings);

  const form = h("form", { class: "panel form-panel", novalidate: true },
    communities.length > 1 ? field("小区", community) : null,
    field("标题", title, { required: true }),
    field("正文", body, { required: true }),
    h("div", { class: "grid-2" }, field("类别", category), field("范围", scopeKind)),
    buildingField,
    field("附件（图片或 PDF，可选）", files, { hint: `最多${MAX_FILES}个` }),
    h("div", { class: "grid-2" },
      field("发布时间（可选，默认立即；北京时间）", publishAt), field("失效时间（可选）", expiresAt)),
    h("label", { class: "check" }, pinned, " 置顶"),
    status, h("div", { class: "btn-row" }, submit, h("a", { class: "btn btn-plain", href: "#/notices" }, "取消")));

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    status.replaceChildren();
    const data = {
      community_id: Number(community.value), title: title.value.trim(), body: body.value.trim(),
      category: category.value, pinned: pinned.checked, building_ids: [],
    };
    if (scopeKind.value === "buildings") {
      data.building_ids = [...buildingBox.querySelectorAll("input:checked")].map((i) => Number(i.value));
    }
    if (publishAt.value) data.publish_at = `${publishAt.value}:00+08:00`;
    if (expiresAt.value) data.expires_at = `${expiresAt.value}:00+08:00`;
    const problems = [];
    if (!data.title) problems.push("请填写标题");
    if (!data.body) problems.push("请填写正文");
    if (scopeKind.value === "buildings" && !data.building_ids.length) problems.push("请选择楼栋");
    if (files.files.length > MAX_FILES) problems.push(`附件最多${MAX_FILES}个`);
    if (problems.length) {
      status.replaceChildren(errorBox({ message: problems.join("；") }));
      return;
    }
    busy(submit, async () => {
      try {
        if (files.files.length) {
          const upload = new FormData();
          upload.append("community_id", String(data.community_id));
          for (const f of files.files) upload.append("files", f);
          const stored = await api.upload("/api/v1/attachments", upload).promise;
          data.attachment_ids = stored.items.map((a) => a.id);
        }
        await api.post("/api/v1/desk/notices", data);
        navigate("/notices", { replace: true });
      } catch (error) {
        status.replaceChildren(errorBox(error));
      }
    });
  });
  ctx.el.append(form);
  syncBuildings();
  title.focus();
}
