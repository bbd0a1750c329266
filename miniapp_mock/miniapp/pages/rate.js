// 服务评价: 1-5 stars and a comment, once per ticket, after it is resolved.

import { busy, errorBox, field, h, toast } from "../../shared/dom.js";
import { label, TICKET_KIND } from "../../shared/labels.js";
import { navigate } from "../../shared/router.js";
import { api, goBackOr } from "../core.js";
import { ratingOf } from "../../shared/ticketview.js";

const WORDS = { 1: "非常不满意", 2: "不满意", 3: "一般", 4: "满意", 5: "非常满意" };
const QUICK = ["上门及时", "维修专业", "态度很好", "现场整洁", "沟通顺畅"];

export default async function render(ctx) {
  const id = ctx.params.id;
  const ticket = await api.get(`/api/v1/tickets/${id}`, undefined, { signal: ctx.signal });
  if (!ctx.isCurrent()) return;
  if (ratingOf(ticket)) {
    navigate(`/tickets/${id}`, { replace: true });
    return;
  }
  const word = h("span", { class: "star-word", "aria-live": "polite", text: "请打分" });
  const starGroup = h("div", { class: "star-input", role: "radiogroup", "aria-labelledby": "rate-label" });
  for (let n = 1; n <= 5; n += 1) {
    const radio = h("input", { type: "radio", name: "score", value: String(n), class: "star-radio", id: `score-${n}`, "aria-label": `${n} 星 ${WORDS[n]}` });
    starGroup.append(radio, h("label", { for: `score-${n}`, class: "star-label", "aria-hidden": "true", text: "★" }));
  }
  function paint() {
    const checked = starGroup.querySelector("input:checked");
    const score = checked ? Number(checked.value) : 0;
    starGroup.querySelectorAll(".star-label").forEach((el, i) => el.classList.toggle("on", i < score));
    word.textContent = score ? WORDS[score] : "请打分";
  }
  starGroup.addEventListener("change", paint);
  const comment = h("textarea", { name: "comment", rows: "4", maxlength: "500", placeholder: "说说这次服务的感受（选填）" });
  const quick = h("div", { class: "chips" }, QUICK.map((text) => h("button", {
    type: "button", class: "chip chip-button",
    onclick: () => { comment.value = comment.value ? `${comment.value}，${text}` : text; comment.focus(); },
  }, text)));
  const status = h("div", { class: "form-status" });
  const submit = h("button", { type: "submit", class: "btn btn-primary btn-block" }, "提交评价");
  const form = h("form", { class: "form", novalidate: true },
    h("div", { class: "card form-card center" },
      h("p", { class: "muted", text: `${label(TICKET_KIND, ticket.kind)} · ${ticket.description || ""}` }),
      h("p", { class: "field-label", id: "rate-label", text: "本次服务满意度" }), starGroup, word),
    h("div", { class: "card form-card" }, field("评价内容", comment), quick),
    status, submit);
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    status.replaceChildren();
    const checked = starGroup.querySelector("input:checked");
    if (!checked) {
      status.replaceChildren(errorBox({ message: "请先选择星级" }));
      starGroup.querySelector("input").focus();
      return;
    }
    const body = { score: Number(checked.value) };
    if (comment.value.trim()) body.comment = comment.value.trim();
    busy(submit, async () => {
      try {
        await api.post(`/api/v1/tickets/${id}/rating`, body);
        toast("感谢您的评价", "success");
        goBackOr(`/tickets/${id}`);
      } catch (error) {
        status.replaceChildren(errorBox(error));
      }
    });
  });
  ctx.el.append(form);
}
