// 表决文件 (desk): download links of a fund decision's documents, put into the
// proposal page's documents container: the result PDF once the vote is closed, the
// printable ballot sheets during publicity and voting, the Excel exports of the
// ballot log (committee: it holds the choices) and of room-by-room participation
// (empty until voting starts). The server decides who may have which (403/404/409 are
// shown as it words them); the files are fetched with the bearer token.

import { h, toast } from "../../shared/dom.js";
import { api, hasRole } from "../core.js";

async function fetchFile(path, name, { open }) {
  const blob = await api.blob(path);
  const url = URL.createObjectURL(blob);
  if (open) {
    window.open(url, "_blank", "noopener");
  } else {
    const a = h("a", { href: url, download: name, hidden: true });
    document.body.append(a);
    a.click();
    a.remove();
  }
  setTimeout(() => URL.revokeObjectURL(url), 60000);
}

function link(id, text, path, name, open) {
  const a = h("a", { href: "#", class: "btn btn-plain btn-small", id, text });
  a.addEventListener("click", async (event) => {
    event.preventDefault();
    try {
      await fetchFile(path, name, { open });
    } catch (error) {
      toast(error.message || "文件下载失败", "error");
    }
  });
  return a;
}

/** Fill ``container`` with the links that fit proposal ``p`` as it stands now. */
export function documentLinks(container, p, me) {
  if (p.rule === "emergency") return;
  const base = `/api/v1/fund-proposals/${p.id}`;
  const links = [];
  if (p.status === "closed") links.push(link("doc-result", "表决结果（PDF）", `${base}/result.pdf`, `表决结果-${p.id}.pdf`, true));
  if (p.status === "scheduled" || p.status === "voting") links.push(link("doc-sheets", "打印表决票（PDF）", `${base}/ballot-sheets.pdf`, `表决票-${p.id}.pdf`, true));
  if (p.status === "voting" || p.status === "closed") {
    if (hasRole(me, "committee")) links.push(link("doc-ballots", "导出选票记录（Excel）", `${base}/ballots.xlsx`, `选票记录-${p.id}.xlsx`, false));
    links.push(link("doc-participation", "导出参与情况（Excel）", `${base}/participation.xlsx`, `参与情况-${p.id}.xlsx`, false));
  }
  if (!links.length) return;
  container.replaceChildren(h("h3", { class: "panel-subtitle", text: "表决文件" }), h("div", { class: "btn-row" }, links));
}
