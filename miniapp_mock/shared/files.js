// Stored files, shared by the phone app and the desk: a link that opens one (fetched
// with the bearer token, shown from a blob: URL in a new tab) and a one-file upload
// to POST /api/v1/attachments (a notice's or plan's file, a ballot's photo, a proxy
// form). The server checks and re-encodes what is uploaded.

import { h, toast } from "./dom.js";

/** "📄 方案.pdf（3页）": the file's name, with its pages when it is a PDF. */
export function fileText(f, { withIcon = true } = {}) {
  const sign = f.content_type === "application/pdf" ? "📄" : "🖼";
  return `${withIcon ? `${sign} ` : ""}${f.name}${f.pages ? `（${f.pages}页）` : ""}`;
}

export function fileLink(api, f, { signal, className = "file-link", withIcon = true } = {}) {
  const link = h("a", { href: "#", class: className, dataset: { id: String(f.id) },
    text: fileText(f, { withIcon }) });
  link.addEventListener("click", async (event) => {
    event.preventDefault();
    try {
      window.open(URL.createObjectURL(await api.blob(f.url, { signal })), "_blank", "noopener");
    } catch (error) {
      toast(error.message || "文件打开失败", "error");
    }
  });
  return link;
}

export async function uploadOne(api, file) {
  const form = new FormData();
  form.append("files", file);
  return (await api.upload("/api/v1/attachments", form).promise).items[0];
}
