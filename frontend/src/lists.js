// 清单: tagged parcels, firms (with indicator contributions), recommendations, 连片 units —
// filter, sort by a column header, page, export the same selection to Excel. State lives in the URL.
import * as echarts from "echarts/core";
import { BarChart } from "echarts/charts";
import { GridComponent, TooltipComponent } from "echarts/components";
import { CanvasRenderer } from "echarts/renderers";
import { api, el, en, meta } from "./_common.js";

echarts.use([BarChart, GridComponent, TooltipComponent, CanvasRenderer]);
const T = (zh, e) => (en ? e : zh);
const root = document.getElementById("lists");
const NAME = root.dataset.list;
const PAGING = ["page", "page_size"];
const params = new URLSearchParams(location.search);
params.delete("lang");
let spec = null;
let names = {};
let restricted = null;
let expanded = new Set();

const nameOf = (kind, code) => {
  const n = names[kind]?.[code];
  return n ? (en ? n.en : n.zh) : code;
};

function number(v, digits) {
  return v.toLocaleString(en ? "en-US" : "zh-CN", { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

function cell(col, v) {
  if (v === null || v === undefined || v === "") return el("td", { class: "empty" }, "—");
  if (col.type === "number") return el("td", { class: "num" }, number(v, col.digits));
  if (col.type === "int") return el("td", { class: "num" }, String(v));
  if (col.type === "bool") return el("td", {}, v ? T("是", "yes") : T("否", "no"));
  if (col.link === "map") return el("td", {}, el("a", { href: `/map?parcel=${encodeURIComponent(v)}` }, v));
  if (col.link === "case") return el("td", {}, el("a", { href: `/cases/${encodeURIComponent(v)}` }, v));
  if (col.link === "map_list") {
    const keys = String(v).split(";");
    const td = el("td", { class: "keys" });
    keys.slice(0, 2).forEach((k, i) => {
      if (i) td.append(" ");
      td.append(el("a", { href: `/map?parcel=${encodeURIComponent(k)}` }, k));
    });
    if (keys.length > 2) td.append(el("span", { class: "more", title: keys.slice(2).join(" ") }, ` +${keys.length - 2}`));
    return td;
  }
  if (col.key === "tags") return el("td", {}, ...tagChips(String(v)));
  if (col.names === "district") return el("td", { title: v }, nameOf("district", v));
  if (col.names) return el("td", { title: v }, nameOf(col.names, v));
  return String(v).length > 30 ? el("td", { class: "long", title: v }, v) : el("td", {}, v);
}

function tagChips(text) {
  // "危散低" or, for units, "散1 低6": one chip per tag (with its count)
  const parts = text.match(/[^\s\d]\d*/g) || [];
  return parts.map((p) => el("span", { class: `chip tag-${p[0]}` }, p));
}

function sortState() {
  const s = params.get("sort") || spec.default_sort;
  const first = s.split(",")[0];
  return { key: first.replace(/^[-+]/, ""), desc: first.startsWith("-") };
}

function header() {
  const { key, desc } = sortState();
  const tr = el("tr");
  if (NAME === "firms") tr.append(el("th", { class: "toggle", "aria-label": T("展开", "expand") }));
  for (const col of spec.columns) {
    const th = el("th", { "data-key": col.key, class: ["number", "int"].includes(col.type) ? "num" : "" });
    if (col.sort) {
      const on = key === col.key;
      th.setAttribute("aria-sort", on ? (desc ? "descending" : "ascending") : "none");
      const b = el("button", { type: "button", class: `sort${on ? " on" : ""}`, title: T("点击排序", "click to sort") },
        col.header, el("span", { class: "arrow" }, on ? (desc ? "▼" : "▲") : "↕"));
      b.addEventListener("click", () => {
        const numeric = ["number", "int"].includes(col.type);
        const next = on ? (desc ? col.key : `-${col.key}`) : (numeric ? `-${col.key}` : col.key);
        params.set("sort", next);
        params.delete("page");
        load();
      });
      th.append(b);
    } else {
      th.append(col.header);
    }
    tr.append(th);
  }
  return tr;
}

function contributionRow(row, span) {
  const parts = row.contributions || [];
  const box = el("div", { class: "contrib" });
  const chartBox = el("div", { class: "contrib-chart" });
  const table = el("table", { class: "contrib-table" },
    el("thead", {}, el("tr", {}, ...[T("指标", "indicator"), T("数值", "value"), T("基准", "benchmark"),
      T("权重", "weight"), T("得分（分）", "points")].map((h) => el("th", {}, h)))),
    el("tbody", {}, ...parts.map((c) => el("tr", {},
      el("td", {}, (en ? c.name_en : c.name_zh) + (c.filled ? T("（补值）", " (filled)") : "")),
      el("td", { class: "num" }, c.value === null ? "—" : `${number(c.value, c.unit === "ratio" ? 4 : 2)} ${c.unit === "ratio" ? "" : c.unit}`),
      el("td", { class: "num" }, c.benchmark === null ? "—" : number(c.benchmark, c.unit === "ratio" ? 4 : 2)),
      el("td", { class: "num" }, c.weight === null ? "—" : number(c.weight, 0)),
      el("td", { class: "num" }, c.score === null ? "—" : number(c.score, 1))))));
  box.append(chartBox, table);
  const tr = el("tr", { class: "detail" }, el("td", { colspan: String(span) }, box));
  requestAnimationFrame(() => {
    const chart = echarts.init(chartBox, null, { renderer: "canvas" });
    const labels = parts.map((c) => (en ? c.name_en : c.name_zh));
    chart.setOption({
      animation: false, tooltip: { trigger: "axis" }, grid: { left: 130, right: 40, top: 10, bottom: 25 },
      xAxis: { type: "value", name: T("分", "pts") }, yAxis: { type: "category", data: labels, inverse: true },
      series: [{ type: "bar", name: T("得分", "points"), data: parts.map((c) => c.score ?? 0),
                 itemStyle: { color: "#0b6e4f" }, barMaxWidth: 22,
                 label: { show: true, position: "right", formatter: (p) => number(p.value, 1) } }],
    });
  });
  return tr;
}

function body(data) {
  const rows = [];
  const span = spec.columns.length + (NAME === "firms" ? 1 : 0);
  for (const r of data.rows) {
    const tr = el("tr");
    if (NAME === "firms") {
      const open = expanded.has(r.uscc);
      const b = el("button", { type: "button", class: "expand", "aria-expanded": String(open),
                               title: T("指标得分贡献", "indicator contributions") }, open ? "▾" : "▸");
      b.addEventListener("click", () => {
        if (expanded.has(r.uscc)) expanded.delete(r.uscc); else expanded.add(r.uscc);
        render(data);
      });
      tr.append(el("td", { class: "toggle" }, b));
    }
    for (const col of spec.columns) tr.append(cell(col, r[col.key]));
    rows.push(tr);
    if (NAME === "firms" && expanded.has(r.uscc)) rows.push(contributionRow(r, span));
  }
  if (!rows.length) rows.push(el("tr", {}, el("td", { colspan: String(span), class: "none" }, T("没有符合条件的记录", "no matching rows"))));
  return rows;
}

function foot(data) {
  if (!spec.columns.some((c) => c.total) || !data.total) return [];
  const tr = el("tr");
  if (NAME === "firms") tr.append(el("td"));
  spec.columns.forEach((col, i) => {
    if (col.total) tr.append(el("td", { class: "num" }, number(data.totals[col.key] ?? 0, col.digits)));
    else tr.append(el("td", {}, i === 0 ? T(`合计（${data.total} 条）`, `Total (${data.total} rows)`) : ""));
  });
  return [tr];
}

function pager(data) {
  const pages = Math.max(1, Math.ceil(data.total / data.page_size));
  const go = async (p) => {
    params.set("page", String(p));
    await load();
    root.scrollIntoView({ block: "start" });
  };
  const button = (label, p, disabled, aria) => {
    const b = el("button", { type: "button", "aria-label": aria }, label);
    if (disabled) b.disabled = true; else b.addEventListener("click", () => go(p));
    return b;
  };
  const size = el("select", { "aria-label": T("每页行数", "rows per page"), name: "page_size" },
    ...[20, 50, 100, 200].map((n) => el("option", { value: String(n) }, T(`每页 ${n} 条`, `${n} per page`))));
  size.value = String(data.page_size);
  size.addEventListener("change", () => { params.set("page_size", size.value); params.delete("page"); load(); });
  return [
    button("«", 1, data.page <= 1, T("首页", "first page")),
    button("‹", data.page - 1, data.page <= 1, T("上一页", "previous page")),
    el("span", { class: "where" }, T(`第 ${data.page} / ${pages} 页`, `page ${data.page} of ${pages}`)),
    button("›", data.page + 1, data.page >= pages, T("下一页", "next page")),
    button("»", pages, data.page >= pages, T("末页", "last page")),
    size,
  ];
}

function render(data) {
  const table = document.getElementById("table");
  table.tHead.replaceChildren(header());
  table.tBodies[0].replaceChildren(...body(data));
  table.tFoot.replaceChildren(...foot(data));
  document.getElementById("pager").replaceChildren(...pager(data));
  const from = data.total ? (data.page - 1) * data.page_size + 1 : 0;
  const to = Math.min(data.total, data.page * data.page_size);
  document.getElementById("summary").textContent =
    T(`共 ${data.total} 条，显示第 ${from}–${to} 条`, `${data.total} rows, showing ${from}–${to}`);
  document.getElementById("run-info").textContent =
    T(`分析批次 ${data.run.id} · 基准日 ${data.run.as_of}`, `run ${data.run.id} · as of ${data.run.as_of}`);
}

function query(withPaging = true) {
  const q = new URLSearchParams(params);
  if (!withPaging) PAGING.forEach((k) => q.delete(k));
  for (const [k, v] of [...q.entries()]) if (v === "") q.delete(k);
  return q;
}

async function load() {
  const q = query();
  history.replaceState(null, "", `${location.pathname}${q.toString() ? `?${q}` : ""}`);
  const xq = query(false);
  if (en) xq.set("lang", "en");
  document.getElementById("export").href = `/api/lists/${NAME}.xlsx${xq.toString() ? `?${xq}` : ""}`;
  const summary = document.getElementById("summary");
  summary.classList.remove("error");
  try {
    const data = await api(`/api/lists/${NAME}?${q}`);
    render(data);
  } catch (e) {
    summary.textContent = e.message;
    summary.classList.add("error");
    summary.setAttribute("role", "alert");
  }
}

function fillForm(form, m) {
  // district
  const district = form.elements.district_code;
  for (const c of spec.choices.district_code || []) district.append(el("option", { value: c.value }, en ? c.en : c.zh));
  if (restricted) {
    district.value = restricted[0];
    district.disabled = true;
  }
  // selects of the list's other fixed-choice columns (class, family, path, space, matched)
  const box = document.getElementById("selects");
  for (const col of spec.columns) {
    const choices = spec.choices[col.key];
    if (!choices || col.key === "district_code") continue;
    const select = el("select", { name: col.key },
      el("option", { value: "" }, T("全部", "all")),
      ...choices.map((c) => el("option", { value: c.value }, en ? c.en : c.zh)));
    box.append(el("label", { class: `f-${col.key}` }, en ? col.en : col.zh, select));
  }
  // tag chips
  if (spec.columns.some((c) => c.filter === "tags")) {
    const chips = document.getElementById("tag-chips");
    chips.hidden = false;
    for (const t of m.tags) {
      const b = el("button", { type: "button", class: `chip tag-${t.char}`, "data-tag": t.char, "aria-pressed": "false",
                               title: en ? t.name_en : t.name_zh }, t.char);
      b.addEventListener("click", () => {
        b.setAttribute("aria-pressed", String(b.getAttribute("aria-pressed") !== "true"));
        form.requestSubmit();
      });
      chips.append(b);
    }
  }
  document.getElementById("area-range").hidden = !spec.columns.some((c) => c.key === "area_mu");
  // current values from the URL
  for (const e of form.elements) if (e.name && params.has(e.name) && !e.disabled) e.value = params.get(e.name);
  const tags = params.get("tags") || "";
  form.querySelectorAll("[data-tag]").forEach((b) => b.setAttribute("aria-pressed", String(tags.includes(b.dataset.tag))));
  for (const s of form.querySelectorAll("select")) s.addEventListener("change", () => form.requestSubmit());
}

function readForm(form) {
  for (const e of form.elements) {
    if (!e.name || e.disabled || e.name === "page_size") continue;
    if (e.value === "") params.delete(e.name); else params.set(e.name, e.value);
  }
  const tags = [...form.querySelectorAll("[data-tag][aria-pressed=true]")].map((b) => b.dataset.tag).join("");
  if (tags) params.set("tags", tags); else params.delete("tags");
  params.delete("page");
}

async function main() {
  const [cat, m] = await Promise.all([api("/api/lists"), meta()]);
  spec = cat.lists.find((s) => s.name === NAME);
  names = cat.names;
  restricted = cat.districts;
  if (spec.note) document.getElementById("note").textContent = spec.note;
  // keep the URL's filters when switching tabs where they apply
  document.querySelectorAll(".tabs a").forEach((a) => a.addEventListener("click", (ev) => {
    const other = cat.lists.find((s) => s.name === a.dataset.list);
    const keep = new URLSearchParams();
    for (const [k, v] of query(false)) {
      const base = k.replace(/_(min|max)$/, "");
      if (k !== "sort" && (k === "q" || other.columns.some((c) => c.key === base && c.filter))) keep.set(k, v);
    }
    if (en) keep.set("lang", "en");
    ev.preventDefault();
    location.href = `${a.getAttribute("href")}${keep.toString() ? `?${keep}` : ""}`;
  }));
  const form = document.getElementById("filters");
  fillForm(form, m);
  form.addEventListener("submit", (ev) => { ev.preventDefault(); readForm(form); load(); });
  document.getElementById("reset").addEventListener("click", () => {
    for (const k of [...params.keys()]) if (k !== "page_size") params.delete(k);
    form.reset();
    form.querySelectorAll("[data-tag]").forEach((b) => b.setAttribute("aria-pressed", "false"));
    if (restricted) form.elements.district_code.value = restricted[0];
    expanded = new Set();
    load();
  });
  await load();
}

main().catch((e) => {
  const s = document.getElementById("summary");
  s.textContent = e.message;
  s.classList.add("error");
});
