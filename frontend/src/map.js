// 一张图: district boundaries as the base, parcels (vector tiles) coloured by tag, class or disposal
// family, control layers toggled, search by parcel code or firm, and a parcel's explanation with its case.
import maplibregl from "maplibre-gl";
import { api, el, en, fmt, name } from "./_common.js";

const T = (zh, e) => (en ? e : zh);
const COLON = en ? ": " : "：";
// district names are written at city scale only, where no parcels are drawn (they would cover them)
const LABEL_MAX_ZOOM = 10;
const pick = (obj, key) => (obj ? obj[`${key}_${en ? "en" : "zh"}`] ?? obj[`${key}_zh`] : "");
const UNFLAGGED = "#c7ced6";
const TAG_COLOURS = ["#d62728", "#8c564b", "#9467bd", "#ff7f0e", "#1f77b4", "#17becf", "#e377c2"];
const CLASS_COLOURS = { A: "#1a9850", B: "#66bd63", C: "#fdae61", D: "#d73027", T: "#878787" };
const FAMILY_COLOURS = ["#2ca02c", "#1f77b4", "#ff7f0e", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#17becf"];
// control layers: dashed outlines and faint fills in colours apart from the parcels' themes
const LAYER_COLOURS = { eco_redline: "#2e7d32", basic_farmland: "#afb42b", urban_boundary: "#ad1457",
                        industrial_line: "#78909c", industrial_park: "#00838f", planned_use: "#424242" };
const DISTRICT_FILLS = ["#f3efe4", "#e9f1ea", "#e8eef6", "#f4e9ec", "#eef0e4", "#ece8f4", "#e6f2f1", "#f6eee2"];

const mapEl = document.getElementById("map");
const panel = document.getElementById("panel");
const panelBody = document.getElementById("panel-body");
const notice = document.getElementById("notice");
let legendData = null;
let districtNames = {};
let parcelsReady = false;

const map = new maplibregl.Map({
  container: mapEl,
  style: { version: 8, sources: {}, layers: [{ id: "background", type: "background", paint: { "background-color": "#dfe6ec" } }] },
  center: [119.8, 31.6], zoom: 8, attributionControl: false, dragRotate: false, pitchWithRotate: false,
});
map.addControl(new maplibregl.NavigationControl({ showCompass: false }), "top-right");
map.addControl(new maplibregl.ScaleControl({ unit: "metric" }), "bottom-right");

function showNotice(text) {
  notice.textContent = text;
  notice.hidden = false;
}

// ---------------------------------------------------------------- colours and legend

function themeEntries(theme) {
  if (!legendData) return [];
  if (theme === "class") return legendData.classes.map((c) => ({ key: c.key, label: `${c.key} ${name(c)}`, colour: CLASS_COLOURS[c.key] || "#999" }));
  if (theme === "family") return legendData.families.map((f, i) => ({ key: f.key, label: name(f), colour: FAMILY_COLOURS[i % FAMILY_COLOURS.length] }));
  return legendData.tags.map((t, i) => ({ key: t.char, label: `${t.char} ${name(t)}`, colour: TAG_COLOURS[i % TAG_COLOURS.length] }));
}

function colourExpression(theme) {
  const entries = themeEntries(theme);
  if (theme === "tags") {
    // a parcel with several tags takes the colour of the first in the profile's order
    const tags = ["coalesce", ["get", "tags"], ""];
    return ["case", ...entries.flatMap((e) => [["in", e.key, tags], e.colour]), UNFLAGGED];
  }
  const prop = theme === "class" ? "firm_class" : "family";
  if (!entries.length) return UNFLAGGED;
  return ["match", ["coalesce", ["get", prop], ""], ...entries.flatMap((e) => [e.key, e.colour]), UNFLAGGED];
}

function currentTheme() {
  return document.querySelector('input[name="theme"]:checked')?.value || "tags";
}

function drawLegend() {
  const box = document.getElementById("legend");
  const theme = currentTheme();
  const rows = themeEntries(theme).map((e) =>
    el("li", { "data-key": e.key }, swatch(e.colour), e.label));
  rows.push(el("li", { "data-key": "" }, swatch(UNFLAGGED), theme === "class" ? T("无企业分类", "no firm class")
    : theme === "family" ? T("无处置建议", "no disposal path") : T("未标注", "not flagged")));
  box.replaceChildren(el("ul", {}, ...rows));
  box.removeAttribute("aria-busy");
}

function swatch(colour) {
  const s = el("span", { class: "swatch" });
  s.style.background = colour;
  return s;
}

function applyTheme() {
  drawLegend();
  if (parcelsReady) map.setPaintProperty("parcels-fill", "fill-color", colourExpression(currentTheme()));
}

// ---------------------------------------------------------------- sources

function districtLabels(fc) {
  for (const f of fc.features) {
    const label = el("div", { class: "district-label" }, pick(f.properties, "name"));
    new maplibregl.Marker({ element: label }).setLngLat(f.properties.label).addTo(map);
  }
}

function fitTo(fc) {
  const boxes = fc.features.map((f) => f.bbox).filter(Boolean);
  if (!boxes.length) return;
  const b = [Math.min(...boxes.map((x) => x[0])), Math.min(...boxes.map((x) => x[1])),
             Math.max(...boxes.map((x) => x[2])), Math.max(...boxes.map((x) => x[3]))];
  map.fitBounds([[b[0], b[1]], [b[2], b[3]]], { padding: 30, duration: 0 });
}

async function addDistricts() {
  const fc = await api("/api/map/districts");
  fc.features.forEach((f, i) => { f.properties.fill = DISTRICT_FILLS[i % DISTRICT_FILLS.length]; });
  districtNames = Object.fromEntries(fc.features.map((f) => [f.properties.district_code, pick(f.properties, "name")]));
  map.addSource("districts", { type: "geojson", data: fc });
  map.addLayer({ id: "districts-fill", type: "fill", source: "districts", paint: { "fill-color": ["get", "fill"] } });
  map.addLayer({ id: "districts-line", type: "line", source: "districts",
                 paint: { "line-color": "#5b6770", "line-width": 1.6, "line-dasharray": [4, 2] } });
  mapEl.dataset.districts = String(fc.features.length);
  districtLabels(fc);
  fitTo(fc);
  const toggle = document.getElementById("layer-districts");
  const showLabels = () => {
    const on = toggle.checked && map.getZoom() < LABEL_MAX_ZOOM;
    document.querySelectorAll(".district-label").forEach((n) => { n.hidden = !on; });
  };
  toggle.addEventListener("change", () => {
    const v = toggle.checked ? "visible" : "none";
    for (const id of ["districts-fill", "districts-line"]) map.setLayoutProperty(id, "visibility", v);
    showLabels();
  });
  map.on("zoomend", showLabels);
}

/** A vector source from our TileJSON, with absolute tile URLs (null when the tiles are not served). */
async function vectorSource(layer) {
  let tj;
  try {
    tj = await api(`/tiles/${layer}.json`);
  } catch {
    return null;
  }
  return { type: "vector", tiles: tj.tiles.map((t) => (/^https?:/.test(t) ? t : location.origin + t)), minzoom: tj.minzoom ?? 0,
           maxzoom: tj.maxzoom ?? 14, ...(tj.bounds ? { bounds: tj.bounds } : {}) };
}

async function addParcels() {
  const src = await vectorSource("parcels");
  if (!src) {
    showNotice(mapEl.dataset.noTiles);
    return;
  }
  map.addSource("parcels", src);
  map.addLayer({ id: "parcels-fill", type: "fill", source: "parcels", "source-layer": "parcels",
                 paint: { "fill-color": colourExpression(currentTheme()), "fill-opacity": 0.8 } });
  map.addLayer({ id: "parcels-line", type: "line", source: "parcels", "source-layer": "parcels",
                 paint: { "line-color": "#ffffff", "line-width": 0.4, "line-opacity": 0.8 } });
  map.addLayer({ id: "parcels-selected", type: "line", source: "parcels", "source-layer": "parcels",
                 filter: ["==", ["get", "key"], ""], paint: { "line-color": "#111", "line-width": 2.5 } });
  parcelsReady = true;
  mapEl.dataset.parcels = "1";
  const hint = document.getElementById("zoom-hint");
  const toggleHint = () => { hint.hidden = map.getZoom() >= src.minzoom; };
  map.on("zoomend", toggleHint);
  toggleHint();
  map.on("click", "parcels-fill", (e) => {
    const f = e.features && e.features[0];
    if (f) openParcel(f.properties.key);
  });
  map.on("mouseenter", "parcels-fill", () => { map.getCanvas().style.cursor = "pointer"; });
  map.on("mouseleave", "parcels-fill", () => { map.getCanvas().style.cursor = ""; });
}

async function addControls() {
  const list = document.getElementById("layer-list");
  const kinds = legendData.layers;
  const src = kinds.length ? await vectorSource("controls") : null;
  if (src) map.addSource("controls", src);
  const before = parcelsReady ? "parcels-fill" : undefined;
  for (const k of kinds) {
    const colour = LAYER_COLOURS[k.key] || "#455a64";
    const box = el("input", { type: "checkbox", "data-layer": k.key });
    if (!src) box.disabled = true;
    list.append(el("label", {}, box, swatch(colour), ` ${name(k)}`));
    if (!src) continue;
    const filter = ["==", ["get", "layer_kind"], k.key];
    map.addLayer({ id: `ctl-${k.key}-fill`, type: "fill", source: "controls", "source-layer": "controls", filter,
                   layout: { visibility: "none" }, paint: { "fill-color": colour, "fill-opacity": 0.12 } }, before);
    map.addLayer({ id: `ctl-${k.key}-line`, type: "line", source: "controls", "source-layer": "controls", filter,
                   layout: { visibility: "none" },
                   paint: { "line-color": colour, "line-width": 1.4, "line-dasharray": [3, 1.5] } }, before);
    box.addEventListener("change", () => {
      for (const part of ["fill", "line"]) {
        map.setLayoutProperty(`ctl-${k.key}-${part}`, "visibility", box.checked ? "visible" : "none");
      }
    });
  }
}

// ---------------------------------------------------------------- search

function flyTo(bbox) {
  if (!bbox) return;
  map.fitBounds([[bbox[0], bbox[1]], [bbox[2], bbox[3]]], { padding: 120, maxZoom: 16, duration: 600 });
}

async function runSearch(q) {
  const box = document.getElementById("results");
  const { matches } = await api(`/api/map/search?q=${encodeURIComponent(q)}`);
  if (!matches.length) {
    box.replaceChildren(el("li", { class: "none" }, T("没有找到", "nothing found")));
  } else {
    box.replaceChildren(...matches.map((m) => {
      const b = el("button", { type: "button", class: "result", "data-kind": m.kind, "data-key": m.key },
        el("strong", {}, m.code), el("span", {}, `${m.kind === "firm" ? T("企业", "firm") : T("宗地", "parcel")} · `
          + `${districtNames[m.district_code] || m.district_code}${m.label ? ` · ${m.label}` : ""}`));
      b.addEventListener("click", () => {
        const opened = m.kind === "firm" ? openFirm(m.key) : openParcel(m.key);
        flyTo(m.bbox);  // after the panel opened: the map is its final size
        return opened;
      });
      return el("li", {}, b);
    }));
  }
  box.hidden = false;
}

// ---------------------------------------------------------------- the panel

function section(title, ...children) {
  return el("section", {}, el("h3", {}, title), ...children);
}

function facts(pairs) {
  const dl = el("dl", { class: "facts" });
  for (const [k, v] of pairs) dl.append(el("dt", {}, k), el("dd", {}, v === null || v === undefined || v === "" ? "—" : v));
  return dl;
}

function showPanel(...children) {
  panelBody.replaceChildren(...children);
  if (panel.hidden) {
    panel.hidden = false;
    map.resize();
  }
}

function select(key) {
  if (parcelsReady) map.setFilter("parcels-selected", ["==", ["get", "key"], key || ""]);
}

function hitRow(h) {
  const evidence = [h.evidence_kind, h.evidence_id].filter(Boolean).join(" ");
  return el("li", { class: "hit" },
    el("div", {}, el("span", { class: "tag" }, h.tag), ` ${pick(h, "tag_name")} · `, el("code", {}, h.rule_id)),
    el("div", { class: "clause" }, `${T("依据", "Clause")}${COLON}${h.clause}`),
    evidence ? el("div", {}, `${T("证据", "Evidence")}${COLON}${evidence}`) : "",
    h.value ? el("div", {}, `${T("实际", "Value")}${COLON}${h.value}`) : "",
    h.threshold ? el("div", { class: "muted" }, `${T("标准", "Threshold")}${COLON}${h.threshold}`) : "",
    pick(h, "note") ? el("div", { class: "muted" }, pick(h, "note")) : "");
}

function caseBlock(c) {
  if (!c) return el("p", { class: "muted" }, T("尚未立案", "no case opened"));
  if (!c.visible) {
    return el("p", { class: "other-case" }, `${T("其他区案件", "a case of another district")}（${districtNames[c.district_code] || c.district_code}）`);
  }
  return facts([
    [T("案件编号", "Case"), el("a", { href: c.href }, c.case_no)],
    [T("状态", "State"), pick(c, "state")],
    [T("立案日期", "Opened"), c.opened_at],
    [T("办结日期", "Closed"), c.closed_at],
  ]);
}

function firmBlock(f) {
  const link = el("button", { type: "button", class: "linkish" }, `${f.name}（${f.uscc}）`);
  link.addEventListener("click", () => openFirm(f.uscc));
  return facts([
    [T("企业", "Firm"), link],
    [T("亩均分类", "Class"), `${f.firm_class} ${pick(f, "class_name")}`],
    [T("分类依据", "Why"), `${pick(f, "class_reason")}（${f.class_rule}）`],
  ]);
}

async function openParcel(key) {
  select(key);
  showPanel(el("p", {}, T("加载中…", "Loading…")));
  let x;
  try {
    x = await api(`/api/explain/parcel/${encodeURIComponent(key)}`);
  } catch (e) {
    showPanel(el("p", { class: "error", role: "alert" }, e.message));
    return;
  }
  const p = x.parcel;
  const r = x.result;
  const rec = x.recommendation;
  const out = [
    el("h2", {}, p.parcel_code || p.bsm || p.key),
    facts([
      [T("行政区", "District"), districtNames[p.district_code] || p.district_code],
      [T("地类", "Land use"), `${p.dlbm || ""} ${p.dlmc || ""}`],
      [T("权利人", "Holder"), p.right_holder],
      [T("面积", "Area"), p.area_mu === null ? null : `${fmt(p.area_mu)} ${T("亩", "mu")}`],
      [T("容积率", "Plot ratio"), p.plot_ratio === null ? null : p.plot_ratio.toFixed(2)],
      [T("园区", "Park"), r?.park_name],
    ]),
    section(T("标注与依据", "Tags and why"),
      x.hits.length ? el("ul", { class: "hits" }, ...x.hits.map(hitRow))
        : el("p", { class: "muted" }, T(`分析批次 ${x.run_id} 中未被标注`, `not flagged in run ${x.run_id}`))),
  ];
  if (x.firm) out.push(section(T("亩均评价", "Firm evaluation"), firmBlock(x.firm)));
  else if (r?.firm_class) out.push(section(T("亩均评价", "Firm evaluation"), facts([[T("亩均分类", "Class"), r.firm_class]])));
  if (rec) {
    out.push(section(T("处置建议", "Recommended disposal"), facts([
      [T("处置类别", "Family"), pick(rec, "family")],
      [T("处置路径", "Path"), pick(rec, "path")],
      [T("依据条款", "Clause"), rec.clause],
      [T("理由", "Reason"), pick(rec, "reason")],
      [T("建议单元", "Unit"), `${rec.case_id} · ${rec.n_parcels} ${T("宗", "parcels")} · ${fmt(rec.area_mu)} ${T("亩", "mu")}`],
    ])));
  }
  out.push(section(T("案件", "Case"), caseBlock(x.case)));
  showPanel(...out);
}

async function openFirm(uscc) {
  showPanel(el("p", {}, T("加载中…", "Loading…")));
  let x;
  try {
    x = await api(`/api/explain/firm/${encodeURIComponent(uscc)}`);
  } catch (e) {
    showPanel(el("p", { class: "error", role: "alert" }, e.message));
    return;
  }
  const f = x.firm;
  select(x.parcels[0]);
  const parcels = el("ul", { class: "parcel-links" }, ...x.parcels.map((k) => {
    const b = el("button", { type: "button", class: "linkish" }, k);
    b.addEventListener("click", () => openParcel(k));
    return el("li", {}, b);
  }));
  const rows = x.indicators.map((i) => el("tr", {}, el("td", {}, i.key), el("td", {}, fmt(i.value)),
    el("td", {}, fmt(i.benchmark)), el("td", {}, fmt(i.score))));
  showPanel(
    el("h2", {}, f.name),
    facts([
      [T("统一社会信用代码", "USCC"), f.uscc],
      [T("行政区", "District"), districtNames[f.district_code] || f.district_code],
      [T("规模", "Group"), f.group],
      [T("亩均分类", "Class"), `${f.firm_class} ${pick(f, "class_name")}`],
      [T("分类依据", "Why"), `${pick(f, "class_reason")}（${f.class_rule}）`],
      [T("得分 / 排名", "Score / rank"), `${fmt(f.score)} / ${f.rank ?? "—"}`],
      [T("处置路径", "Path"), f.path_zh && !en ? f.path_zh : f.path],
    ]),
    section(T("指标", "Indicators"), el("table", { class: "indicators" },
      el("thead", {}, el("tr", {}, el("th", {}, T("指标", "indicator")), el("th", {}, T("值", "value")),
        el("th", {}, T("基准", "benchmark")), el("th", {}, T("得分", "score")))), el("tbody", {}, ...rows))),
    section(T("占用宗地", "Parcels"), parcels),
  );
}

// ---------------------------------------------------------------- start

document.getElementById("panel-close").addEventListener("click", () => {
  panel.hidden = true;
  map.resize();
  select(null);
});
document.getElementById("search").addEventListener("submit", (e) => {
  e.preventDefault();
  const q = document.getElementById("q").value.trim();
  if (q) runSearch(q).catch((err) => showNotice(err.message));
});
document.querySelectorAll('input[name="theme"]').forEach((r) => r.addEventListener("change", applyTheme));

map.on("load", async () => {
  try {
    legendData = await api("/api/map/legend");
    drawLegend();
    await addDistricts();
    await addParcels();
    await addControls();
    mapEl.dataset.ready = "1";
  } catch (e) {
    showNotice(e.message);
  }
});
