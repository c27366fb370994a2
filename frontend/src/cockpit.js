// 驾驶舱: every target with progress and projection, district ranking, trends, list sizes, classes.
import * as echarts from "echarts/core";
import { BarChart, LineChart, PieChart } from "echarts/charts";
import { GridComponent, LegendComponent, TooltipComponent } from "echarts/components";
import { CanvasRenderer } from "echarts/renderers";
import { api, el, en, fmt, meta, name } from "./_common.js";

echarts.use([BarChart, LineChart, PieChart, GridComponent, LegendComponent, TooltipComponent, CanvasRenderer]);
const T = (zh, e) => (en ? e : zh);
const CUMULATIVE = ["vacated_space_mu", "inefficient_redeveloped_mu", "unsupplied_revitalised_mu"];

function card(row) {
  const pct = row.progress === null ? null : Math.min(row.progress, 1);
  const off = row.on_track === false;
  return el("article", { class: `card${off ? " off" : ""}`, "data-target": row.target_id },
    el("h2", {}, en ? row.name_en : row.name_zh),
    el("div", { class: "value" }, fmt(row.value, row.unit)),
    el("div", { class: "target" }, `${T("目标", "target")} ${row.comparator} ${fmt(row.target, row.unit)} · ${row.deadline}`),
    pct === null ? el("div", { class: "bar" }) : el("div", { class: "bar" }, el("span", { style: `width:${pct * 100}%` })),
    el("div", { class: `proj ${row.on_track ? "ok" : row.on_track === false ? "bad" : ""}` },
      `${T("期末预测", "projected")} ${fmt(row.projected, row.unit)}` +
      (row.on_track === null ? "" : row.on_track ? T(" · 可达标", " · on track") : T(" · 难达标", " · off track"))),
  );
}

function chart(id, option) {
  const c = echarts.init(document.getElementById(id), null, { renderer: "canvas" });
  c.setOption({ tooltip: { trigger: "axis" }, grid: { left: 60, right: 20, top: 30, bottom: 40 }, ...option });
  window.addEventListener("resize", () => c.resize());
}

async function main() {
  const [m, t, ov] = await Promise.all([meta(), api("/api/targets"), api("/api/overview")]);
  document.getElementById("as-of").textContent = `${T("截至", "as of")} ${t.as_of}`;
  const city = t.rows.filter((r) => r.scope === "city");
  const box = document.getElementById("targets");
  box.replaceChildren(...city.map(card));
  box.removeAttribute("aria-busy");

  const districts = m.districts;
  const byMetric = (metric) => districts.map((d) => t.rows.find((r) => r.metric === metric && r.scope === d.code)?.value ?? 0);
  chart("chart-districts", {
    legend: { top: 0 },
    xAxis: { type: "category", data: districts.map(name) },
    yAxis: { type: "value", name: T("亩", "mu") },
    series: CUMULATIVE.map((metric) => ({ type: "bar", name: name(m.targets.find((g) => g.metric === metric)),
                                          data: byMetric(metric) })),
  });

  const run = ov.run;
  if (run) {
    const tags = m.tags.map((tag) => ({ name: `${tag.char} ${name(tag)}`, value: run.tags[tag.char] || 0 }));
    chart("chart-lists", { xAxis: { type: "category", data: tags.map((x) => x.name) }, yAxis: { type: "value" },
                           series: [{ type: "bar", data: tags.map((x) => x.value), name: T("宗地", "parcels") }] });
    const classes = Object.entries(run.classes).sort();
    chart("chart-classes", { tooltip: { trigger: "item" }, legend: { top: 0 },
                             series: [{ type: "pie", radius: ["35%", "70%"], data: classes.map(([k, v]) => ({ name: k, value: v })) }] });
  }
  const trend = await api(`/api/targets/trend?end=${t.as_of}`);
  const dates = [...new Set(trend.rows.map((r) => r.date))];
  chart("chart-trend", {
    legend: { top: 0 },
    xAxis: { type: "category", data: dates },
    yAxis: { type: "value", name: T("亩", "mu") },
    series: CUMULATIVE.map((metric) => {
      const goal = m.targets.find((g) => g.metric === metric);
      return { type: "line", name: name(goal), data: dates.map((d) => trend.rows.find((r) => r.date === d && r.target_id === goal.id)?.value ?? null) };
    }),
  });
}

main().catch((e) => {
  const box = document.getElementById("targets");
  box.replaceChildren(el("p", { class: "error", role: "alert" }, e.message));
});
