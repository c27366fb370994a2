// 分析批次: history, a comparison of two runs, what-if scenarios, a new analysis with its progress.
import * as echarts from "echarts/core";
import { BarChart } from "echarts/charts";
import { GridComponent, LegendComponent, TooltipComponent } from "echarts/components";
import { CanvasRenderer } from "echarts/renderers";
import { api, el, en, fmt, meta, name } from "./_common.js";

echarts.use([BarChart, GridComponent, LegendComponent, TooltipComponent, CanvasRenderer]);
const T = (zh, e) => (en ? e : zh);
const $ = (id) => document.getElementById(id);
const page = $("runs-page");
const cityScope = page.dataset.city === "1";

const MEASURES = {
  parcels: ["地块", "parcels"], flagged_parcels: ["标注地块", "flagged parcels"], firms_rated: ["参评企业", "firms rated"],
  units: ["处置单元", "units"], tag_danger: ["危", "danger"], tag_pollution: ["污", "pollution"],
  tag_disorder: ["乱", "disorder"], tag_scattered: ["散", "scattered"], tag_low: ["低", "low efficiency"],
  cases: ["处置建议", "recommended cases"], vacated_mu: ["腾退空间（亩）", "vacated (mu)"],
  cultivated_mu: ["补充耕地（亩）", "cultivated land (mu)"], paddy_mu: ["水田（亩）", "paddy (mu)"],
  grain_kg: ["粮食产能（公斤）", "grain capacity (kg)"], construction_quota_mu: ["增减挂钩节余指标（亩）", "linkage quota (mu)"],
  stock_linkage_mu: ["增存挂钩计划指标（亩）", "stock-linkage quota (mu)"],
};
const STEPS = {
  snapshot: ["读取数据", "reading the workspace"], overlay: ["叠加分析", "overlay"], evaluation: ["亩均评价", "evaluation"],
  parcel_classes: ["地块分类", "parcel classes"], tags: ["五类标注", "tags"], units: ["连片单元", "units"],
  disposal: ["处置路径", "disposal paths"], firm_paths: ["企业处置", "firm paths"], allocation: ["差别化配置", "allocation"],
  store: ["保存结果", "storing results"], outputs: ["写出成果", "writing files"],
};
const measureName = (k) => (MEASURES[k] ? T(...MEASURES[k]) : k.startsWith("class_") ? `${T("亩均", "class")} ${k.slice(6)}` : k);
const stepName = (s) => (STEPS[s] ? T(...STEPS[s]) : s);

let picked = [];

function runRow(r) {
  const box = el("input", { type: "checkbox", "data-run": r.id, "aria-label": `${T("选择批次", "select run")} ${r.id}` });
  if (r.status !== "done" || !cityScope) box.disabled = true;
  box.addEventListener("change", () => {
    picked = box.checked ? [...picked.filter((x) => x !== r.id), r.id] : picked.filter((x) => x !== r.id);
    if (picked.length > 2) {
      const drop = picked.shift();
      document.querySelector(`input[data-run="${drop}"]`).checked = false;
    }
    document.querySelectorAll("#run-table tbody tr").forEach((tr) => tr.classList.toggle("picked", picked.includes(Number(tr.dataset.run))));
    const btn = $("compare");
    if (btn) btn.disabled = picked.length !== 2;
  });
  const statusText = { done: T("完成", "done"), failed: T("失败", "failed"), running: T("运行中", "running"),
                       interrupted: T("中断", "interrupted") }[r.status] || r.status;
  return el("tr", { "data-run": r.id },
    el("td", {}, box),
    el("td", { class: "num" }, r.id),
    el("td", { class: `status-${r.status}` }, statusText),
    el("td", {}, r.as_of || ""),
    el("td", { class: "num" }, r.year ?? "—"),
    el("td", {}, `${r.profile_id} ${r.profile_version}`),
    el("td", {}, el("code", { title: r.input_hash }, (r.input_hash || "").slice(0, 10))),
    el("td", { class: "num" }, fmt(r.counts.flagged_parcels)),
    el("td", { class: "num" }, fmt(r.counts.firms_rated)),
    el("td", { class: "num" }, fmt(r.counts.cases)),
    el("td", { class: "num" }, r.seconds.toFixed(1)),
    el("td", {}, r.user || ""),
    el("td", {}, (r.started_at || "").slice(0, 16).replace("T", " ")),
    el("td", {}, r.note || ""),
  );
}

async function loadRuns() {
  const { runs } = await api("/api/runs");
  const heads = [["", ""], ["批次", "run"], ["状态", "status"], ["基准日", "as of"], ["年度", "year"], ["政策", "profile"],
    ["数据", "data"], ["标注地块", "flagged"], ["参评企业", "firms"], ["处置建议", "cases"], ["秒", "s"], ["操作人", "user"],
    ["开始 (UTC)", "started (UTC)"], ["备注", "note"]];
  const table = $("run-table");
  const numeric = new Set([1, 4, 7, 8, 9, 10]);
  table.replaceChildren(
    el("thead", {}, el("tr", {}, ...heads.map((h, i) => el("th", numeric.has(i) ? { class: "num" } : {}, T(...h))))),
    el("tbody", {}, ...(runs.length ? runs.map(runRow) : [el("tr", {}, el("td", { colspan: heads.length }, T("还没有分析批次", "no runs yet")))])),
  );
  table.removeAttribute("aria-busy");
  picked = [];
  if ($("compare")) $("compare").disabled = true;
  return runs;
}

// ------------------------------------------------------------------ comparison

function keyList(keys, total) {
  if (!total) return "0";
  const more = total > keys.length ? T(`（列出前 ${keys.length} 个）`, ` (first ${keys.length} listed)`) : "";
  return el("details", {}, el("summary", {}, `${fmt(total)}${more}`), el("div", { class: "keys" }, ...keys.map((k) => el("span", {}, k))));
}

const noPath = (p) => (p === "—" ? T("无建议", "none") : p);

function renderComparison(c, tags, labelA, labelB) {
  const tagName = (ch) => { const t = tags.find((x) => x.char === ch); return t ? `${ch} ${name(t)}` : ch; };
  const lists = el("table", { class: "data lists" },
    el("thead", {}, el("tr", {}, el("th", {}, T("清单", "list")), el("th", { class: "num" }, labelA), el("th", { class: "num" }, labelB),
      el("th", {}, T("新进", "entered")), el("th", {}, T("退出", "left")))),
    el("tbody", {}, ...c.lists.map((l) => el("tr", { "data-tag": l.tag },
      el("td", {}, tagName(l.tag)), el("td", { class: "num" }, fmt(l.in_a)), el("td", { class: "num" }, fmt(l.in_b)),
      el("td", { class: l.entered ? "up" : "" }, keyList(l.entered_keys, l.entered)),
      el("td", { class: l.left ? "down" : "" }, keyList(l.left_keys, l.left))))));
  const cls = c.transitions.classes;
  const matrix = el("table", { class: "data matrix" },
    el("thead", {}, el("tr", {}, el("th", {}, `${labelA} \\ ${labelB}`), ...cls.map((k) => el("th", { class: "num" }, k)))),
    el("tbody", {}, ...cls.map((k, i) => el("tr", {}, el("th", {}, k), ...c.transitions.matrix[i].map((n, j) =>
      el("td", { class: `num ${i === j ? "diag" : n ? "moved" : ""}` }, n ? fmt(n) : "·"))))));
  const paths = c.paths.length
    ? el("table", { class: "data" }, el("thead", {}, el("tr", {}, el("th", {}, labelA), el("th", {}, labelB), el("th", { class: "num" }, T("宗地", "parcels")))),
      el("tbody", {}, ...c.paths.slice(0, 30).map((p) => el("tr", {}, el("td", {}, noPath(p.path_a)), el("td", {}, noPath(p.path_b)), el("td", { class: "num" }, fmt(p.parcels))))))
    : el("p", { class: "hint" }, T("处置路径无变化", "no path changed"));
  return el("div", { class: "diff-grid" },
    el("div", {}, el("h3", {}, T("清单变化", "List changes")), lists),
    el("div", {}, el("h3", {}, `${T("亩均分类转移", "Firm class transitions")} · ${T("分类变化企业", "firms reclassified")} ${fmt(c.firms_changed)}`), matrix),
    el("div", {}, el("h3", {}, `${T("处置路径变化", "Path changes")} · ${fmt(c.paths_changed)} ${T("宗", "parcels")}`), paths),
  );
}

async function compare() {
  const [a, b] = [...picked].sort((x, y) => x - y); // the older run is the base
  const box = $("diff");
  box.hidden = false;
  $("diff-title").textContent = `${T("批次", "run")} ${a} → ${b}`;
  $("diff-body").replaceChildren(el("div", { class: "busy" }, el("span", { class: "spinner" }), T("加载中…", "Loading…")));
  try {
    const [m, c] = await Promise.all([meta(), api(`/api/runs/${a}/diff/${b}`)]);
    $("diff-body").replaceChildren(renderComparison(c, m.tags, `${T("批次", "run")} ${a}`, `${T("批次", "run")} ${b}`));
  } catch (e) {
    $("diff-body").replaceChildren(el("p", { class: "error", role: "alert" }, e.message));
  }
}

// ------------------------------------------------------------------ what-if

let rules = [];
const overrides = [];

function fillParams() {
  const rule = rules.find((r) => r.id === $("wi-rule").value);
  if (!rule) return;
  $("wi-param").replaceChildren(...rule.params.map((p) => el("option", { value: p.name }, `${p.name} = ${p.value}`)));
  $("wi-desc").textContent = `${rule.clause} — ${en ? rule.description_en : rule.description_zh}`;
  fillValue();
}

function fillValue() {
  const rule = rules.find((r) => r.id === $("wi-rule").value);
  const p = rule?.params.find((x) => x.name === $("wi-param").value);
  if (p) $("wi-value").value = p.value;
}

function currentOverride() {
  const v = $("wi-value").value.trim();
  return v === "" ? null : `${$("wi-rule").value}:${$("wi-param").value}=${v}`;
}

function showOverrides() {
  $("wi-overrides").replaceChildren(...overrides.map((o, i) => {
    const x = el("button", { type: "button", "aria-label": T("移除", "remove") }, "×");
    x.addEventListener("click", () => { overrides.splice(i, 1); showOverrides(); });
    return el("li", {}, o, x);
  }));
}

function addOverride() {
  const o = currentOverride();
  if (!o) return;
  const key = o.split("=")[0];
  const i = overrides.findIndex((x) => x.split("=")[0] === key);
  if (i >= 0) overrides[i] = o; else overrides.push(o);
  showOverrides();
}

function whatifResult(r, tags) {
  const rows = r.measures.map((m) => el("tr", { "data-measure": m.measure },
    el("td", {}, measureName(m.measure)), el("td", { class: "num" }, fmt(m.base)), el("td", { class: "num" }, fmt(m.alt)),
    el("td", { class: `num ${m.change > 0 ? "up" : m.change < 0 ? "down" : ""}` }, m.change > 0 ? `+${fmt(m.change)}` : fmt(m.change))));
  const table = el("table", { class: "data", id: "wi-table" },
    el("thead", {}, el("tr", {}, el("th", {}, T("指标", "measure")), el("th", { class: "num" }, T("现行", "current")),
      el("th", { class: "num" }, T("情景", "what-if")), el("th", { class: "num" }, T("变化", "change")))),
    el("tbody", {}, ...rows));
  const chartBox = el("div", { class: "wi-chart", id: "wi-chart" });
  const out = el("div", {},
    el("p", { class: "hint" }, `${r.overrides.join("; ")} · ${T("基准日", "as of")} ${r.as_of} · ${T("评价年度", "year")} ${r.year} · ${T("未保存任何结果", "nothing was stored")}`),
    el("div", { class: "wi-result" }, table, chartBox),
    renderComparison(r.comparison, tags, T("现行", "current"), T("情景", "what-if")));
  return { out, chartBox };
}

function drawChart(box, r) {
  const shown = r.measures.filter((m) => m.measure.startsWith("tag_") || m.measure.startsWith("class_") ||
    ["flagged_parcels", "units", "cases"].includes(m.measure));
  const c = echarts.init(box, null, { renderer: "canvas" });
  c.setOption({
    tooltip: { trigger: "axis" }, legend: { top: 0 }, grid: { left: 50, right: 16, top: 34, bottom: 60 },
    xAxis: { type: "category", data: shown.map((m) => measureName(m.measure)), axisLabel: { rotate: 30 } },
    yAxis: { type: "value" },
    series: [{ type: "bar", name: T("现行", "current"), data: shown.map((m) => m.base), itemStyle: { color: "#9aa5b1" } },
             { type: "bar", name: T("情景", "what-if"), data: shown.map((m) => m.alt), itemStyle: { color: "#0b6e4f" } }],
  });
  window.addEventListener("resize", () => c.resize());
}

async function runWhatif(ev) {
  ev.preventDefault();
  const set = overrides.length ? [...overrides] : [currentOverride()].filter(Boolean);
  if (!set.length) return;
  const body = { set };
  if ($("wi-as-of").value) body.as_of = $("wi-as-of").value;
  $("wi-busy").hidden = false;
  $("wi-run").disabled = true;
  $("wi-out").replaceChildren();
  try {
    const [m, r] = await Promise.all([meta(), api("/api/whatif", { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) })]);
    const { out, chartBox } = whatifResult(r, m.tags);
    $("wi-out").replaceChildren(out);
    drawChart(chartBox, r);
  } catch (e) {
    $("wi-out").replaceChildren(el("p", { class: "error", role: "alert" }, e.message));
  } finally {
    $("wi-busy").hidden = true;
    $("wi-run").disabled = false;
  }
}

async function setupWhatif(runs) {
  rules = (await api("/api/profile/rules")).rules;
  $("wi-rule").replaceChildren(...rules.map((r) => el("option", { value: r.id }, r.id)));
  const start = rules.find((r) => r.id === "land.plot_ratio.industrial") || rules[0];
  if (start) $("wi-rule").value = start.id;
  const last = runs.find((r) => r.status === "done");
  if (last) $("wi-as-of").value = last.as_of;
  fillParams();
  $("wi-rule").addEventListener("change", fillParams);
  $("wi-param").addEventListener("change", fillValue);
  $("wi-add").addEventListener("click", addOverride);
  $("whatif-form").addEventListener("submit", runWhatif);
}

// ------------------------------------------------------------------ new analysis

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function newRun(ev) {
  ev.preventDefault();
  const form = ev.target;
  const button = form.querySelector("button");
  const data = new FormData(form);
  const body = { as_of: data.get("as_of") || null, note: data.get("note") || null };
  const bar = $("job-bar");
  const text = $("job-text");
  $("job").hidden = false;
  button.disabled = true;
  bar.value = 0;
  text.textContent = T("排队中…", "queued…");
  try {
    let job = await api("/api/runs", { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) });
    while (job.state === "queued" || job.state === "running") {
      await sleep(500);
      job = await api(`/api/runs/jobs/${job.job_id}`);
      bar.value = job.percent;
      text.textContent = `${job.percent}% · ${stepName(job.step)} · ${job.seconds.toFixed(0)} s`;
    }
    if (job.state === "failed") throw new Error(job.error);
    bar.value = 100;
    text.textContent = `${T("完成：批次", "done: run")} ${job.run_id} · ${job.seconds.toFixed(1)} s`;
    await loadRuns();
  } catch (e) {
    text.textContent = e.message;
    text.className = "error";
  } finally {
    button.disabled = false;
  }
}

async function main() {
  const runs = await loadRuns();
  if ($("new-run")) $("new-run").addEventListener("submit", newRun);
  if (cityScope) {
    $("compare").addEventListener("click", compare);
    await setupWhatif(runs);
  }
}

main().catch((e) => {
  $("run-table").replaceChildren(el("tbody", {}, el("tr", {}, el("td", { class: "error", role: "alert" }, e.message))));
});
