// Shared by the pages: language, words, JSON calls with the CSRF token, number formats.
export const lang = document.body.dataset.lang === "en" ? "en" : "zh";
export const en = lang === "en";
const csrf = document.querySelector('meta[name="csrf-token"]')?.content || "";

export async function api(path, options = {}) {
  const headers = { Accept: "application/json", ...(options.headers || {}) };
  if (options.method && options.method !== "GET") headers["X-CSRF-Token"] = csrf;
  const res = await fetch(path, { credentials: "same-origin", ...options, headers });
  const body = res.headers.get("content-type")?.includes("json") ? await res.json() : null;
  if (!res.ok) {
    const e = body?.error || {};
    throw Object.assign(new Error((en ? e.en : e.zh) || res.statusText), { status: res.status, code: e.code });
  }
  return body;
}

export function fmt(value, unit) {
  if (value === null || value === undefined) return "—";
  if (unit === "ratio") return `${(value * 100).toFixed(1)}%`;
  const digits = Math.abs(value) >= 100 ? 0 : 1;
  return value.toLocaleString(en ? "en-US" : "zh-CN", { maximumFractionDigits: digits });
}

export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "class") node.className = v; else if (k === "style") node.style.cssText = v; else node.setAttribute(k, v);
  }
  for (const c of children) node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return node;
}

let metaPromise = null;
/** The profile's names (districts, tags, classes, families) — fetched once per page. */
export function meta() {
  metaPromise = metaPromise || api("/api/meta");
  return metaPromise;
}

export const name = (item) => (item ? (en ? item.name_en : item.name_zh) : "");
