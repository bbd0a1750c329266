// How times, money and areas read to a person in mainland China. Times come from the
// API with an offset and are shown in Asia/Shanghai whatever the device's zone; money
// and areas stay decimal strings (never parsed to floats).

const TZ = "Asia/Shanghai";
const partsFormatter = new Intl.DateTimeFormat("zh-CN", {
  timeZone: TZ, year: "numeric", month: "2-digit", day: "2-digit",
  hour: "2-digit", minute: "2-digit", hourCycle: "h23",
});

function parts(value) {
  const date = value instanceof Date ? value : new Date(value);
  if (Number.isNaN(date.getTime())) return null;
  const out = {};
  for (const p of partsFormatter.formatToParts(date)) out[p.type] = p.value;
  return out;
}

/** "2026-11-21 14:05" */
export function dateTime(value) {
  if (!value) return "";
  const p = parts(value);
  return p ? `${p.year}-${p.month}-${p.day} ${p.hour}:${p.minute}` : String(value);
}

/** "2026-11-21" */
export function date(value) {
  if (!value) return "";
  if (/^\d{4}-\d{2}-\d{2}$/.test(value)) return value;
  const p = parts(value);
  return p ? `${p.year}-${p.month}-${p.day}` : String(value);
}

/** "11-21 14:05" for lists; today's times as "14:05". */
export function shortDateTime(value) {
  if (!value) return "";
  const p = parts(value);
  const today = parts(new Date());
  if (!p) return String(value);
  if (p.year === today.year && p.month === today.month && p.day === today.day) return `${p.hour}:${p.minute}`;
  if (p.year === today.year) return `${p.month}-${p.day} ${p.hour}:${p.minute}`;
  return `${p.year}-${p.month}-${p.day}`;
}

/** "还剩 2 天 3 小时" / "还剩 25 分钟" / "已截止". */
export function remaining(value, now = new Date()) {
  const end = new Date(value);
  let ms = end.getTime() - now.getTime();
  if (Number.isNaN(ms)) return "";
  if (ms <= 0) return "已截止";
  const minutes = Math.floor(ms / 60000);
  const days = Math.floor(minutes / 1440);
  const hours = Math.floor((minutes % 1440) / 60);
  if (days > 0) return `还剩 ${days} 天${hours ? ` ${hours} 小时` : ""}`;
  if (hours > 0) return `还剩 ${hours} 小时 ${minutes % 60} 分钟`;
  ms = Math.max(1, minutes);
  return `还剩 ${ms} 分钟`;
}

/** Group the integer part of a decimal string: "12345.60" → "12,345.60". */
function group(text) {
  const negative = text.startsWith("-");
  const [intPart, frac] = (negative ? text.slice(1) : text).split(".");
  const grouped = intPart.replace(/\B(?=(\d{3})+(?!\d))/g, ",");
  return (negative ? "-" : "") + grouped + (frac !== undefined ? `.${frac}` : "");
}

/** "¥12,345.60" from the API's decimal string: rounded half-up to the fen, the sign
 * before the currency ("-¥12.50"). The same text as backend/rules/money.py format_yuan. */
export function money(value) {
  if (value === null || value === undefined || value === "") return "—";
  const fen = multiplyMoney(value, "1");
  if (fen === "") return String(value);
  const negative = fen.startsWith("-") && /[1-9]/.test(fen);
  return `${negative ? "-" : ""}¥${group(fen.replace(/^-/, ""))}`;
}

/** "98.50 ㎡" */
export function area(value) {
  if (value === null || value === undefined || value === "") return "—";
  return `${group(String(value))} ㎡`;
}

/** A fraction as a percentage, e.g. 0.8333 → "83.3%"; already-percent strings pass through. */
export function percent(value, digits = 1) {
  if (value === null || value === undefined || value === "") return "—";
  if (typeof value === "string" && value.endsWith("%")) return value;
  const n = Number(value);
  if (Number.isNaN(n)) return String(value);
  return `${(n * 100).toFixed(digits)}%`;
}

/** Current month "YYYY-MM" in Asia/Shanghai. */
export function thisMonth(now = new Date()) {
  const p = parts(now);
  return `${p.year}-${p.month}`;
}

/** "1栋1单元101" from a room object of /me. */
export function roomLabel(room) {
  if (!room) return "";
  if (room.label) return room.label;
  if (typeof room === "string") return room;
  return `${room.building}栋${room.unit}单元${room.number}`;
}

// ------------------------------------------------------------------ exact decimals
function toScaled(text) {
  const s = String(text).trim();
  const m = /^(-?)(\d+)(?:\.(\d+))?$/.exec(s);
  if (!m) return null;
  const frac = m[3] || "";
  return { n: BigInt(`${m[1]}${m[2]}${frac}`), scale: frac.length };
}

/** a × b rounded half-up to 2 places, on decimal strings (no floating point). */
export function multiplyMoney(a, b) {
  const x = toScaled(a);
  const y = toScaled(b);
  if (!x || !y) return "";
  let n = x.n * y.n;
  let scale = x.scale + y.scale;
  const negative = n < 0n;
  if (negative) n = -n;
  if (scale > 2) {
    const div = 10n ** BigInt(scale - 2);
    const q = n / div;
    n = (n % div) * 2n >= div ? q + 1n : q;
    scale = 2;
  }
  while (scale < 2) { n *= 10n; scale += 1; }
  const digits = n.toString().padStart(3, "0");
  return `${negative ? "-" : ""}${digits.slice(0, -2)}.${digits.slice(-2)}`;
}

/** A value for <input type="datetime-local"> in Asia/Shanghai: "2026-11-28T18:00". */
export function localInput(value) {
  const p = parts(value);
  return p ? `${p.year}-${p.month}-${p.day}T${p.hour}:${p.minute}` : "";
}
