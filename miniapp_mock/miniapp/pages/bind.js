// 绑定房屋: the owner proves they are the owner of record by the name and phone the
// property company's ledger holds for the room.

import { busy, errorBox, field, h, toast } from "../../shared/dom.js";
import { navigate } from "../../shared/router.js";
import { api, loadMe } from "../core.js";
import { pendingJoinNotice } from "./join.js";

function input(name, props = {}) {
  return h("input", { name, type: "text", autocomplete: "off", ...props });
}

export default async function render(ctx) {
  const status = h("div", { class: "form-status" });
  const controls = {
    community: input("community", { maxlength: "100", placeholder: "只有一个小区时可不填" }),
    building: input("building", { required: true, maxlength: "32", placeholder: "如 1" }),
    unit: input("unit", { required: true, maxlength: "32", placeholder: "如 1" }),
    number: input("number", { required: true, maxlength: "32", placeholder: "如 101" }),
    owner_name: input("owner_name", { required: true, maxlength: "64", autocomplete: "name", placeholder: "与房产登记一致" }),
    phone: input("phone", { required: true, type: "tel", maxlength: "32", autocomplete: "tel", inputmode: "tel", placeholder: "物业登记的手机号" }),
  };
  const submit = h("button", { type: "submit", class: "btn btn-primary btn-block" }, "验证并绑定");
  const form = h("form", { class: "form", novalidate: true },
    pendingJoinNotice() || h("p", { class: "notice join-hint" }, "家庭成员或租户？请向业主索取邀请码，",
      h("a", { class: "link", href: "#/rooms" }, "输入邀请码加入")),
    h("p", { class: "notice", text: "请填写房产登记的业主姓名和在物业登记的手机号，与物业台账一致即可绑定。" }),
    h("div", { class: "card form-card" },
      field("小区", controls.community),
      h("div", { class: "field-row" },
        field("楼栋", controls.building, { required: true }),
        field("单元", controls.unit, { required: true }),
        field("房号", controls.number, { required: true })),
      field("业主姓名", controls.owner_name, { required: true }),
      field("手机号", controls.phone, { required: true })),
    status, submit);

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    status.replaceChildren();
    const data = {};
    for (const [key, control] of Object.entries(controls)) data[key] = control.value.trim();
    const missing = Object.entries(controls).filter(([key]) => key !== "community" && !data[key]);
    if (missing.length) {
      status.replaceChildren(errorBox({ message: "请填写完整的房屋和业主信息" }));
      missing[0][1].focus();
      return;
    }
    if (!data.community) delete data.community;
    busy(submit, async () => {
      try {
        const room = await api.post("/api/v1/me/rooms", data);
        await loadMe({ fresh: true });
        toast(`已绑定 ${room.building}栋${room.unit}单元${room.number}`, "success");
        navigate("/home", { replace: true });
      } catch (error) {
        status.replaceChildren(errorBox(error));
      }
    });
  });
  ctx.el.append(form);
}
