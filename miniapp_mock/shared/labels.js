// The Chinese names of the API's codes, as the server defines them
// (GET /api/v1/labels): loaded once per page load by the app shell, then read from
// memory; the app's HTML carries them (a JSON block, routes/pages.py), so no request
// is made for them unless it does not. The pages keep no copy of their own; a code the server has no label for
// (or labels that could not be loaded, offline) shows as it is. Payloads carry the
// labels of their own codes too (status_label, rule_label...): pages show those.

// Table names, as the endpoint keys them.
export const TICKET_STATUS = "ticket_status";
export const TICKET_KIND = "ticket_kind";
export const TICKET_ACTION = "ticket_action";
export const TICKET_EVENT = "ticket_event";
export const ROLE = "role";
export const FUND_BASIS = "fund_basis";
export const FUND_CHOICE = "fund_choice";
export const FUND_OUTCOME = "fund_outcome";
export const CONVERSATION_STATE = "conversation_state";
export const BOT_INTENT = "bot_intent";

let tables = {};
let pending = null;

/** Fetch the labels (once; a failed attempt is tried again on the next call). */
export function loadLabels() {
  const inline = !pending && document.getElementById("labels-data");
  if (inline) {
    try {
      tables = JSON.parse(inline.textContent) || {};
      pending = Promise.resolve(tables);
    } catch {
      /* a damaged block: ask the server below */
    }
  }
  if (!pending) {
    pending = fetch("/api/v1/labels", { headers: { Accept: "application/json" } })
      .then((response) => {
        if (!response.ok) throw new Error(`labels: HTTP ${response.status}`);
        return response.json();
      })
      .then((body) => {
        tables = body || {};
        return tables;
      })
      .catch(() => {
        pending = null;
        return tables;
      });
  }
  return pending;
}

/** The label of `code` in `table`; the code itself if there is none. */
export function label(table, code) {
  if (code === null || code === undefined) return "";
  const names = tables[table];
  return (names && names[code]) || String(code);
}

/** Whether the server names `code` in `table`. */
export function known(table, code) {
  const names = tables[table];
  return Boolean(names && code !== null && code !== undefined && names[code]);
}

/** [code, label] pairs of a table, in the server's order (for pickers and filters). */
export function entries(table) {
  return Object.entries(tables[table] || {});
}

/** The statuses of a ticket still being worked on (the server's OPEN_STATUSES). */
export function openTicketStatuses() {
  return tables.ticket_open_statuses || [];
}
