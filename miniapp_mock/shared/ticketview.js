// How a ticket's parts read on both the phone and the desk: the reporter's rating,
// people's names, the timeline of events (newest first) and the photo grid with a
// full-size viewer.

import { dialog, h } from "./dom.js";
import { dateTime } from "./format.js";
import { known, label, TICKET_EVENT, TICKET_STATUS } from "./labels.js";

/** {score, comment} whether the API nests the rating or flattens it. */
export function ratingOf(ticket) {
  if (ticket.rating && typeof ticket.rating === "object") return ticket.rating;
  if (ticket.rating) return { score: ticket.rating, comment: ticket.rating_comment || "" };
  return null;
}

export function personName(person) {
  if (!person) return "";
  if (typeof person === "string") return person;
  return person.name || person.username || (person.id ? `#${person.id}` : "");
}

export function eventTitle(event) {
  if (event.label) return event.label;
  const type = event.type || event.action;
  if (known(TICKET_EVENT, type)) return label(TICKET_EVENT, type);
  if (known(TICKET_STATUS, event.to)) return label(TICKET_STATUS, event.to);
  return type || "状态变更";
}

export function timeline(events) {
  const ordered = [...(events || [])].reverse(); // newest first, as a parcel-tracking timeline
  return h("ol", { class: "timeline" }, ordered.map((e, i) => h("li", { class: ["timeline-item", i === 0 ? "latest" : null] },
    h("span", { class: "timeline-dot", "aria-hidden": "true" }),
    h("div", { class: "timeline-main" },
      h("p", { class: "timeline-title" }, eventTitle(e),
        personName(e.actor) ? h("span", { class: "timeline-actor", text: ` · ${personName(e.actor)}` }) : null),
      e.note ? h("p", { class: "timeline-note", text: e.note }) : null,
      h("time", { class: "timeline-time", datetime: e.at, text: dateTime(e.at) })))));
}

/** Photo thumbnails; `images` (imageLoader) fetches them with the bearer token. */
export function photoGrid(photos, { images, className = "photo-grid" } = {}) {
  return h("div", { class: [className, "photo-grid-view"] }, (photos || []).map((p, i) => {
    if (p.state === "failed") {
      return h("div", { class: "photo-tile failed", role: "img", "aria-label": `照片 ${i + 1} 处理失败` }, "处理失败");
    }
    if (p.state === "processing" || !p.thumb_url) {
      return h("div", { class: "photo-tile processing", role: "img", "aria-label": `照片 ${i + 1} 处理中` },
        h("span", { class: "spinner", "aria-hidden": "true" }), h("span", { class: "photo-state", text: "处理中" }));
    }
    const img = h("img", { alt: `照片 ${i + 1}`, class: "photo-img" });
    const tile = h("button", { type: "button", class: "photo-tile photo-open loading-img", "aria-label": `查看照片 ${i + 1}`, onclick: () => viewPhoto(p, i, images) }, img);
    images.load(p.thumb_url).then((url) => {
      img.src = url;
      tile.classList.remove("loading-img");
    }).catch(() => {
      tile.classList.remove("loading-img");
      tile.classList.add("failed");
    });
    return tile;
  }));
}

function viewPhoto(photo, index, images) {
  const img = h("img", { alt: `照片 ${index + 1} 大图`, class: "photo-large" });
  images.load(photo.url || photo.thumb_url).then((url) => { img.src = url; }).catch(() => {});
  dialog({
    title: `照片 ${index + 1}`, className: "dialog-photo",
    content: [img],
    buttons: [{ text: "关闭", value: "close", className: "btn-plain" }],
  });
}
