// 指标台账: balances by district × kind (and the city pool), a chart per district, the transfer
// history page by page, and a transfer / spend form for the roles the profile allows.
import * as echarts from "echarts/core";
import { BarChart } from "echarts/charts";
import { GridComponent, LegendComponent, TooltipComponent } from "echarts/components";
import { CanvasRenderer } from "echarts/renderers";
import { api, el, en, fmt, name } from "./_common.js";

echarts.use([BarChart, GridComponent, LegendComponent, TooltipComponent, CanvasRenderer]);
const T = (zh, e) => (en ? e : zh);
const byId = (id) => document.getElementById(id);
const PAGE = 20;
let page = 1;

/** A random UUID (v4) — crypto.randomUUID needs a secure context, intranet http may not be one. */
function uuid() {
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6] & 0x0f) | 0x40; b[8] = (b[8] & 0x3f) | 0x80;
  const h = [...b].map((x) => x.toString(16).padStart(2, "0")).join("");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

function drawBalances(data) {
  const value = (o, k) => data.rows.find((r) => r.owner === o && r.kind === k)?.balance ?? 0;
  const head = el("tr", {}, el("th", {}, T("账户", "Account")),
    ...data.kinds.map((k) => el("th", { class: "num" }, name(k), el("small", {}, ` ${en ? k.unit_en : k.unit_zh}`))));
  const body = data.owners.map((o) => el("tr", { class: o.side, "data-owner": o.key }, el("th", {}, name(o)),
    ...data.kinds.map((k) => el("td", { class: "num" }, fmt(value(o.key, k.key))))));
  const box = byId("balances");
  box.replaceChildren(el("table", { class: "grid-table balances" }, el("thead", {}, head), el("tbody", {}, ...body)));
  box.removeAttribute("aria-busy");

  const districts = data.owners;
  const area = data.kinds.filter((k) => k.unit_zh === "亩");
  const holder = byId("chart-balances");
  const chart = echarts.getInstanceByDom(holder) || echarts.init(holder, null, { renderer: "canvas" });
  chart.setOption({
    tooltip: { trigger: "axis" }, legend: { top: 0 }, grid: { left: 70, right: 20, top: 50, bottom: 40 },
    xAxis: { type: "category", data: districts.map(name) },
    yAxis: { type: "value", name: T("亩", "mu") },
    series: area.map((k) => ({ type: "bar", name: name(k), data: districts.map((o) => value(o.key, k.key)) })),
  });
}
window.addEventListener("resize", () => echarts.getInstanceByDom(byId("chart-balances"))?.resize());

async function drawHistory() {
  const h = await api(`/api/ledger/history?page=${page}&limit=${PAGE}`);
  byId("history-total").textContent = T(`共 ${h.total} 笔`, `${h.total} transfers`);
  const rows = h.rows.map((t) => el("tr", { "data-transfer": t.transfer_id },
    el("td", {}, String(t.seq)), el("td", {}, t.value_date), el("td", {}, t.type_name), el("td", {}, t.kind_name),
    el("td", {}, `${t.from_name} → ${t.to_name}`), el("td", { class: "num" }, `${fmt(t.amount)} ${t.unit}`),
    el("td", { class: "num" }, t.price_yuan_per_mu === null ? "—" : fmt(t.price_yuan_per_mu)),
    el("td", {}, t.case_no ? el("a", { href: `/cases/${encodeURIComponent(t.case_no)}` }, t.case_no) : t.reason),
    el("td", {}, t.actor)));
  byId("history").replaceChildren(el("table", { class: "grid-table history" },
    el("thead", {}, el("tr", {}, ...["#", T("日期", "Date"), T("类型", "Type"), T("指标", "Kind"), T("转出 → 转入", "From → to"),
      T("数量", "Amount"), T("单价 元/亩", "Price yuan/mu"), T("事由 / 案件", "Reason / case"), T("经办", "By")]
      .map((x) => el("th", {}, x)))),
    el("tbody", {}, ...rows)));
  const pages = Math.max(1, Math.ceil(h.total / PAGE));
  const prev = el("button", { type: "button", class: "prev" }, T("上一页", "Previous"));
  const next = el("button", { type: "button", class: "next" }, T("下一页", "Next"));
  prev.disabled = page <= 1; next.disabled = page >= pages;
  prev.addEventListener("click", () => { page -= 1; drawHistory().catch(fail); });
  next.addEventListener("click", () => { page += 1; drawHistory().catch(fail); });
  byId("pager").replaceChildren(prev, el("span", {}, `${page} / ${pages}`), next);
}

function postForm(data) {
  const owners = data.owners.map((o) => el("option", { value: o.key }, name(o)));
  const field = (label, control) => el("label", { class: "field" }, el("span", {}, label), control);
  const type = el("select", { name: "type" }, ...data.actions.map((a) => el("option", { value: a },
    a === "transfer" ? T("调剂（区/市之间）", "transfer (between districts / city)") : T("使用（占用）", "spend (occupy)"))));
  const toField = field(T("转入", "To"), el("select", { name: "to" }, ...owners.map((o) => o.cloneNode(true))));
  const priceField = field(T("单价（元/亩）", "Price (yuan/mu)"), el("input", { name: "price_yuan_per_mu", type: "number", min: "0", step: "any" }));
  const today = new Date().toISOString().slice(0, 10);
  const form = el("form", { class: "post-form" },
    field(T("类型", "Type"), type),
    field(T("指标", "Kind"), el("select", { name: "kind" }, ...data.kinds.map((k) => el("option", { value: k.key }, `${name(k)}（${en ? k.unit_en : k.unit_zh}）`)))),
    field(T("转出", "From"), el("select", { name: "from" }, ...owners)),
    toField,
    field(T("数量", "Amount"), el("input", { name: "amount", type: "number", min: "0", step: "any", required: "" })),
    priceField,
    field(T("事由", "Reason"), el("input", { name: "reason", type: "text", required: "" })),
    field(T("记账日期", "Value date"), el("input", { name: "value_date", type: "date", value: today, required: "" })),
    el("input", { type: "hidden", name: "transfer_id", value: uuid() }),
    el("p", { class: "msg", role: "status" }),
    el("button", { type: "submit" }, T("记账", "Post")));
  const sync = () => {
    const spend = type.value === "spend";
    toField.hidden = spend; priceField.hidden = spend;
    priceField.querySelector("input").required = !spend;
  };
  type.addEventListener("change", sync); sync();
  // a changed request is a new posting: a new id; a resubmission of the same one keeps its id
  form.addEventListener("input", (e) => { if (e.target.name !== "transfer_id") form.transfer_id.value = uuid(); });
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const msg = form.querySelector(".msg");
    const button = form.querySelector("button[type=submit]");
    const f = new FormData(form);
    const body = { transfer_id: f.get("transfer_id"), type: f.get("type"), kind: f.get("kind"), from: f.get("from"),
                   amount: Number(f.get("amount")), reason: f.get("reason"), value_date: f.get("value_date") };
    if (body.type === "transfer") { body.to = f.get("to"); body.price_yuan_per_mu = Number(f.get("price_yuan_per_mu")); }
    button.disabled = true; msg.className = "msg"; msg.textContent = "";
    try {
      const p = await api("/api/ledger/transfers", { method: "POST", body: JSON.stringify(body),
                                                     headers: { "Content-Type": "application/json" } });
      msg.className = "msg ok";
      msg.textContent = `${p.replayed ? T("此笔已记账（未重复记账）", "already posted (not posted twice)") : T("已记账", "posted")}：#${p.seq} ${p.from_name} → ${p.to_name} ${fmt(p.amount)} ${p.unit}`;
      form.transfer_id.value = uuid();
      page = 1;
      await refresh();
    } catch (err) {
      msg.className = "msg error"; msg.textContent = err.message;
    } finally { button.disabled = false; }
  });
  return form;
}

async function refresh() {
  const data = await api("/api/ledger/balances");
  drawBalances(data);
  await drawHistory();
  return data;
}

function fail(e) {
  byId("balances").replaceChildren(el("p", { class: "error", role: "alert" }, e.message));
}

async function main() {
  const data = await refresh();
  if (data.actions.length) {
    byId("post").replaceChildren(postForm(data));
    byId("post-panel").hidden = false;
  }
}

main().catch(fail);
