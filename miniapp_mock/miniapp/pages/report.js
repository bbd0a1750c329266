// 报事报修: kind, room, place, description, urgency and up to 9 photos with previews
// and upload progress. Large photos are scaled down on the phone first (as WeChat's
// picker does with sizeType "compressed"), which matters on a slow connection.

import { busy, errorBox, field, h, icon, toast } from "../../shared/dom.js";
import { roomLabel } from "../../shared/format.js";
import { entries, TICKET_KIND } from "../../shared/labels.js";
import { navigate } from "../../shared/router.js";
import { api, loadMe } from "../core.js";

const MAX_PHOTOS = 9;
const MAX_BYTES = 10 * 1024 * 1024;
const ACCEPT = ["image/jpeg", "image/png", "image/webp", "image/heic", "image/heif"];
const SHRINK_ABOVE_BYTES = 1.5 * 1024 * 1024;
const MAX_EDGE = 2560;
const DESCRIPTION_MAX = 2000;

const KIND_HINTS = {
  home_repair: "家中水电、门窗、管道等故障",
  common_repair: "楼道、电梯、路灯、绿化等公共区域",
  complaint: "对服务、邻里、噪音等的投诉",
  suggestion: "对小区管理的意见建议",
  inquiry: "想了解的事情",
};

function acceptable(file) {
  const type = (file.type || "").toLowerCase();
  if (ACCEPT.includes(type)) return true;
  return !type && /\.(jpe?g|png|webp|heic|heif)$/i.test(file.name || "");
}

/** Whether the phone can show the file as a picture (a text file renamed .jpg cannot):
 * decoded here at once, so it is refused with the reason when picked, not on submit.
 * HEIC is not decodable by every browser: its header is checked instead (the server
 * converts it, and checks every file again). */
async function decodable(file) {
  const type = (file.type || "").toLowerCase();
  if (/heic|heif/.test(type) || /\.(heic|heif)$/i.test(file.name || "")) {
    const head = new Uint8Array(await file.slice(4, 8).arrayBuffer());
    return String.fromCharCode(...head) === "ftyp";
  }
  try {
    if (typeof createImageBitmap === "function") {
      const bitmap = await createImageBitmap(file);
      const ok = bitmap.width > 0 && bitmap.height > 0;
      bitmap.close();
      return ok;
    }
    const url = URL.createObjectURL(file);
    try {
      const img = new Image();
      img.src = url;
      await img.decode();
      return img.naturalWidth > 0;
    } finally {
      URL.revokeObjectURL(url);
    }
  } catch {
    return false;
  }
}

/** Re-encode a big JPEG/PNG/WebP to a smaller JPEG; anything else goes as it is. */
async function shrink(file) {
  if (file.size <= SHRINK_ABOVE_BYTES || !/^image\/(jpeg|png|webp)$/.test(file.type)) return file;
  try {
    const bitmap = await createImageBitmap(file);
    const scale = Math.min(1, MAX_EDGE / Math.max(bitmap.width, bitmap.height));
    const canvas = document.createElement("canvas");
    canvas.width = Math.round(bitmap.width * scale);
    canvas.height = Math.round(bitmap.height * scale);
    const g = canvas.getContext("2d");
    g.fillStyle = "#fff";
    g.fillRect(0, 0, canvas.width, canvas.height);
    g.drawImage(bitmap, 0, 0, canvas.width, canvas.height);
    bitmap.close();
    const blob = await new Promise((resolve) => canvas.toBlob(resolve, "image/jpeg", 0.85));
    if (!blob || blob.size >= file.size) return file;
    return new File([blob], file.name.replace(/\.\w+$/, "") + ".jpg", { type: "image/jpeg" });
  } catch {
    return file;
  }
}

export default async function render(ctx) {
  const me = await loadMe();
  const rooms = me.rooms || [];
  const photos = []; // {file, url, tile, bar}
  ctx.onLeave(() => photos.forEach((p) => URL.revokeObjectURL(p.url)));

  // --- kind
  const kindGroup = h("div", { class: "chips", role: "radiogroup", "aria-labelledby": "kind-label" });
  for (const [value, text] of entries(TICKET_KIND)) {
    const radio = h("input", { type: "radio", name: "kind", value, class: "chip-input", checked: value === (ctx.query.kind || "home_repair") });
    kindGroup.append(h("label", { class: "chip" }, radio, h("span", { text })));
  }
  const kindHint = h("p", { class: "field-hint", id: "kind-hint" });

  // --- room
  const roomSelect = h("select", { name: "room_id" },
    rooms.map((r) => h("option", { value: String(r.id), text: roomLabel(r) })));
  const roomField = rooms.length
    ? field("报修房屋", roomSelect)
    : h("div", { class: "notice notice-warn" }, "室内报修需要先绑定房屋。",
      h("a", { href: "#/bind", class: "link" }, "去绑定"));

  const location = h("input", { name: "location", type: "text", maxlength: "100", autocomplete: "off",
    placeholder: "如：卫生间、厨房、3栋2单元电梯" });
  // no maxlength: a pasted text over the limit would be cut silently; the counter
  // turns red and submitting is refused with the reason instead
  const description = h("textarea", { name: "description", rows: "4", "aria-describedby": "description-count",
    placeholder: "请描述问题，如：卫生间水管接口漏水，地面有积水" });
  const counter = h("span", { class: "counter", id: "description-count", "aria-live": "off" });
  if (ctx.query.description) description.value = ctx.query.description;
  function countDescription() {
    const n = description.value.length;
    counter.textContent = `${n}/${DESCRIPTION_MAX}`;
    counter.classList.toggle("counter-over", n > DESCRIPTION_MAX);
  }
  countDescription();
  description.addEventListener("input", countDescription);
  const urgent = h("input", { type: "checkbox", name: "urgent", class: "switch-input", role: "switch", checked: ctx.query.urgent === "1" });

  // --- photos
  const fileInput = h("input", { type: "file", accept: ACCEPT.join(","), multiple: true, class: "visually-hidden", id: "photo-input" });
  const addTile = h("label", { class: "photo-tile photo-add", for: "photo-input" },
    icon("camera"), h("span", { class: "photo-add-text", text: "添加照片" }));
  const grid = h("div", { class: "photo-grid" }, addTile);
  const photoCount = h("span", { class: "counter", text: `0/${MAX_PHOTOS}` });
  // keyboard: the label is not focusable, the visually hidden input is; show focus on the tile
  fileInput.addEventListener("focus", () => addTile.classList.add("focus"));
  fileInput.addEventListener("blur", () => addTile.classList.remove("focus"));

  function refreshPhotos() {
    photoCount.textContent = `${photos.length}/${MAX_PHOTOS}`;
    addTile.hidden = photos.length >= MAX_PHOTOS;
    fileInput.disabled = photos.length >= MAX_PHOTOS;
  }

  function addPhoto(file) {
    const url = URL.createObjectURL(file);
    const bar = h("span", { class: "photo-progress-bar" });
    const remove = h("button", { type: "button", class: "photo-remove", "aria-label": `删除照片 ${file.name}` }, icon("close"));
    const tile = h("div", { class: "photo-tile" },
      h("img", { src: url, alt: `照片预览 ${photos.length + 1}`, class: "photo-img" }),
      h("span", { class: "photo-progress", "aria-hidden": "true" }, bar), remove);
    const entry = { file, url, tile, bar };
    remove.addEventListener("click", () => {
      const index = photos.indexOf(entry);
      if (index >= 0) photos.splice(index, 1);
      URL.revokeObjectURL(url);
      tile.remove();
      refreshPhotos();
      fileInput.focus();
    });
    photos.push(entry);
    grid.insertBefore(tile, addTile);
  }

  fileInput.addEventListener("change", async () => {
    const chosen = Array.from(fileInput.files || []);
    fileInput.value = "";
    const problems = [];
    for (const original of chosen) {
      if (photos.length >= MAX_PHOTOS) {
        problems.push(`最多上传 ${MAX_PHOTOS} 张照片`);
        break;
      }
      if (!acceptable(original)) {
        problems.push(`${original.name}：只支持 JPG、PNG、WebP、HEIC 格式的图片`);
        continue;
      }
      if (!(await decodable(original))) {
        problems.push(`${original.name}：无法识别为图片（文件已损坏或不是照片），请重新选择`);
        continue;
      }
      const file = await shrink(original);
      if (file.size > MAX_BYTES) {
        problems.push(`${original.name}：单张照片不能超过 10MB`);
        continue;
      }
      addPhoto(file);
    }
    refreshPhotos();
    if (problems.length) toast([...new Set(problems)].join("；"), "error");
  });

  // --- progress and submit
  const progress = h("div", { class: "upload-progress", hidden: true },
    h("div", { class: "progress", role: "progressbar", "aria-label": "上传进度", "aria-valuemin": "0", "aria-valuemax": "100", "aria-valuenow": "0" },
      h("span", { class: "progress-bar" })),
    h("span", { class: "progress-text", text: "正在上传…" }));
  const status = h("div", { class: "form-status" });
  const submit = h("button", { type: "submit", class: "btn btn-primary btn-block" }, "提交");

  const form = h("form", { class: "form", novalidate: true },
    h("div", { class: "card form-card" },
      h("p", { class: "field-label", id: "kind-label", text: "类型" }), kindGroup, kindHint),
    h("div", { class: "card form-card" },
      h("div", { class: "room-field" }, roomField),
      field("位置", location),
      field("问题描述", description, { required: true }), h("div", { class: "field-foot" }, counter),
      h("label", { class: "switch-row" },
        h("span", { class: "switch-text" }, h("span", { text: "紧急" }),
          h("span", { class: "field-hint", text: "漏水、电梯困人、停电、燃气异味等，4小时内处理" })),
        urgent, h("span", { class: "switch", "aria-hidden": "true" }))),
    h("div", { class: "card form-card" },
      h("div", { class: "field-head" }, h("span", { class: "field-label", text: "照片（选填）" }), photoCount),
      grid, fileInput),
    progress, status, submit);

  function syncKind() {
    const kind = form.querySelector("input[name=kind]:checked").value;
    kindHint.textContent = KIND_HINTS[kind] || "";
    form.querySelector(".room-field").hidden = kind !== "home_repair";
  }
  kindGroup.addEventListener("change", syncKind);
  syncKind();

  function showProgress(fraction) {
    const pct = Math.round(fraction * 100);
    progress.querySelector(".progress").setAttribute("aria-valuenow", String(pct));
    progress.querySelector(".progress-bar").style.width = `${pct}%`;
    progress.querySelector(".progress-text").textContent = fraction >= 1 ? "上传完成，正在处理…" : `正在上传 ${pct}%`;
    // each photo's share of the body, in order: its own bar fills as its bytes go out
    const total = photos.reduce((sum, p) => sum + p.file.size, 0) || 1;
    let sent = fraction * total;
    for (const p of photos) {
      const part = Math.max(0, Math.min(1, sent / p.file.size));
      p.bar.style.width = `${Math.round(part * 100)}%`;
      p.tile.classList.toggle("uploaded", part >= 1);
      sent -= p.file.size;
    }
  }

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    status.replaceChildren();
    const kind = form.querySelector("input[name=kind]:checked").value;
    const text = description.value.trim();
    if (!text) {
      status.replaceChildren(errorBox({ message: "请填写问题描述" }));
      description.focus();
      return;
    }
    if (text.length > DESCRIPTION_MAX) {
      status.replaceChildren(errorBox({ message: `问题描述最多 ${DESCRIPTION_MAX} 字，当前 ${text.length} 字，请精简后再提交` }));
      description.focus();
      return;
    }
    if (kind === "home_repair" && !rooms.length) {
      status.replaceChildren(errorBox({ message: "室内报修需要先绑定房屋" }));
      return;
    }
    const data = new FormData();
    data.append("kind", kind);
    data.append("description", text);
    data.append("location", location.value.trim());
    if (kind === "home_repair" && rooms.length) data.append("room_id", roomSelect.value);
    data.append("urgent", urgent.checked ? "true" : "false");
    for (const p of photos) data.append("photos", p.file, p.file.name);
    busy(submit, async () => {
      progress.hidden = false;
      showProgress(0);
      form.classList.add("uploading");
      const job = api.upload("/api/v1/tickets", data, showProgress);
      ctx.onLeave(job.abort);
      try {
        const ticket = await job.promise;
        toast("提交成功，物业会尽快处理", "success");
        navigate(`/tickets/${ticket.id}`, { replace: true });
      } catch (error) {
        if (error.name === "AbortError") return;
        progress.hidden = true;
        status.replaceChildren(errorBox(error));
      } finally {
        form.classList.remove("uploading");
      }
    });
  });
  ctx.el.append(form);
  refreshPhotos();
}
