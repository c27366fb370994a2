// 案件看板: cases per workflow state (one board per workflow of the chosen disposal family),
// counts per column, cards linking to the case; filters by district and family.
import { api, el, en, fmt, meta, name } from "./_common.js";

const T = (zh, e) => (en ? e : zh);
const params = new URLSearchParams(location.search);
const state = { district: params.get("district") || "", family: params.get("family") || "" };

function card(c) {
  return el("a", { class: "case-card", href: `/cases/${encodeURIComponent(c.case_no)}`, "data-case": c.case_no },
    el("strong", {}, c.case_no),
    el("span", { class: "meta" }, `${en ? c.district_en : c.district_zh} · ${fmt(c.area_mu)} ${T("亩", "mu")}`),
    el("span", { class: "meta" }, el("span", { class: "tags" }, c.tags || ""), ` ${T("最近", "last")} ${c.last_date || "—"}`));
}

function column(col) {
  const more = col.count - col.cards.length;
  return el("section", { class: `column${col.terminal ? " terminal" : ""}`, "data-state": col.state },
    el("header", {}, el("span", { class: "name" }, name(col)),
      el("span", { class: "count", title: `${fmt(col.area_mu)} ${T("亩", "mu")}` }, String(col.count))),
    el("div", { class: "cards-col" }, ...col.cards.map(card),
      ...(more > 0 ? [el("p", { class: "more" }, T(`另有 ${more} 件`, `${more} more`))] : [])));
}

function workflow(wf) {
  return el("section", { class: "workflow", "data-workflow": wf.id },
    el("h2", {}, `${name(wf)} `, el("small", {}, T(`${wf.total} 件`, `${wf.total} cases`))),
    el("div", { class: "columns" }, ...wf.columns.map(column)));
}

async function draw() {
  const q = new URLSearchParams();
  if (state.district) q.set("district", state.district);
  if (state.family) q.set("family", state.family);
  const box = document.getElementById("board");
  box.setAttribute("aria-busy", "true");
  let b = await api(`/api/cases/board?${q}`);
  if (!state.family) {
    const first = b.families.find((f) => f.count > 0);
    if (first) {
      state.family = first.key;
      q.set("family", first.key);
      b = await api(`/api/cases/board?${q}`);
    }
  }
  history.replaceState(null, "", `/cases?${q}`);
  const tabs = document.getElementById("families");
  tabs.replaceChildren(...b.families.map((f) => {
    const t = el("button", { type: "button", role: "tab", class: f.key === state.family ? "on" : "",
                             "aria-selected": String(f.key === state.family), "data-family": f.key },
      name(f), el("span", { class: "badge" }, String(f.count)));
    t.addEventListener("click", () => { state.family = f.key; draw().catch(fail); });
    return t;
  }));
  const all = b.families.reduce((n, f) => n + f.count, 0);
  document.getElementById("total").textContent = T(`共 ${all} 件`, `${all} cases`);
  const shown = b.workflows.filter((w) => w.total > 0);
  box.replaceChildren(...(shown.length ? shown.map(workflow) : [el("p", { class: "empty" }, T("没有案件", "no cases"))]));
  box.removeAttribute("aria-busy");
}

function fail(e) {
  document.getElementById("board").replaceChildren(el("p", { class: "error", role: "alert" }, e.message));
}

async function main() {
  const [m, me] = await Promise.all([meta(), api("/api/me")]);
  const sel = document.getElementById("f-district");
  const mine = me.district_code;
  for (const d of m.districts) {
    if (!mine || d.code === mine) sel.append(el("option", { value: d.code }, name(d)));
  }
  if (mine) { state.district = mine; sel.disabled = true; }
  sel.value = state.district;
  sel.addEventListener("change", () => { state.district = sel.value; draw().catch(fail); });
  document.getElementById("filters").addEventListener("submit", (e) => e.preventDefault());
  await draw();
}

main().catch(fail);
