// A list read page by page through the API's next_cursor, with a 加载更多 button.

import { busy, h } from "./dom.js";

/**
 * Shows the first page in `list` at once and each next one when `more` is clicked
 * (`more` is hidden when there is no next page). `fetchPage(cursor)` returns the
 * API's body ({items, next_cursor, ...}); `render(item)` makes one row; `empty` is the
 * text of an empty list. Resolves to the first page's body.
 */
export function pagedList({ list, more, fetchPage, render, empty }) {
  let cursor = null;
  async function page(first) {
    const body = await fetchPage(cursor);
    if (first) list.replaceChildren();
    list.append(...body.items.map(render));
    if (first && !body.items.length) list.append(h("li", { class: "empty", text: empty }));
    cursor = body.next_cursor;
    more.hidden = !cursor;
    return body;
  }
  more.addEventListener("click", () => busy(more, () => page(false)));
  return page(true);
}
