// A notice's attachments, shared by the phone app and the desk: images shown inline,
// PDFs opened in a new tab, both fetched with the bearer token (blob: URLs).

import { h } from "./dom.js";
import { imageLoader } from "./api.js";
import { fileLink } from "./files.js";

export function attachmentList(api, notice, signal) {
  if (!notice.attachments || !notice.attachments.length) return null;
  const images = imageLoader(api, signal);
  return h("div", { class: "notice-files" }, notice.attachments.map((a) => {
    if (a.content_type.startsWith("image/")) {
      const img = h("img", { class: "notice-image", alt: a.name });
      images.load(a.url).then((url) => { img.src = url; }).catch(() => { img.alt = `${a.name}（加载失败）`; });
      return img;
    }
    return fileLink(api, a, { signal, className: "notice-file" });
  }));
}
