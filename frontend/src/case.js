// 案件: facts, milestones, estimated vs entered values, a form per move the user may make (built
// from what the move requires), comments, the event history and the quota credited.
// A move sends the version it loaded; a 409 says who changed the case and keeps what was typed.
import { api, el, en, fmt, name } from "./_common.js";

const T = (zh, e) => (en ? e : zh);
const root = document.getElementById("case");
const no = root.dataset.caseNo;
const base = `/api/cases/${encodeURIComponent(no)}`;
let current = null; // the case as loaded: its version goes with every change

const byId = (id) => document.getElementById(id);
const row = (k, v) => [el("dt", {}, k), el("dd", {}, v ?? "—")];

function table(head, body, cls = "") {
  return el("table", { class: `grid-table ${cls}` }, el("thead", {}, el("tr", {}, ...head.map((h) => el("th", {}, h)))),
    el("tbody", {}, ...body.map((r) => el("tr", {}, ...r.map((c) => el("td", {}, c ?? "—"))))));
}

function drawFacts(c) {
  byId("state").textContent = `${en ? c.state_en : c.state_zh} · ${T("第", "version ")}${c.version}${T(" 版", "")}`;
  const facts = byId("facts");
  facts.replaceChildren(
    ...row(T("行政区", "District"), en ? c.district_en : c.district_zh),
    ...row(T("处置类别", "Family"), en ? c.family_en : c.family_zh),
    ...row(T("处置路径", "Path"), en ? c.path_en : c.path_zh),
    ...row(T("政策依据", "Clause"), c.clause),
    ...row(T("面积", "Area"), `${fmt(c.area_mu)} ${T("亩", "mu")}`),
    ...row(T("宗地", "Parcels"), `${T(`${c.n_parcels} 宗`, `${c.n_parcels}`)}：${c.parcel_keys.slice(0, 6).join("、")}${c.parcel_keys.length > 6 ? " …" : ""}`),
    ...row(T("标签", "Tags"), c.tags),
    ...row(T("优先度", "Priority"), fmt(c.priority)),
    ...row(T("立案", "Opened"), `${c.opened_at}（${T("分析批次", "run")} ${c.run_id ?? "—"}）`),
    ...(c.closed_at ? row(T("办结", "Closed"), c.closed_at) : []),
  );
  facts.removeAttribute("aria-busy");
}

function drawTimeline(c) {
  const reached = Object.fromEntries(c.milestones.map((m) => [m.state, m.date]));
  byId("timeline").replaceChildren(...c.states.filter((s) => reached[s.key] || !s.terminal || s.key === c.state).map((s) =>
    el("li", { class: `${reached[s.key] ? "done" : "todo"}${s.key === c.state ? " now" : ""}` },
      el("span", { class: "name" }, name(s)), el("span", { class: "date" }, reached[s.key] || ""))));
}

function drawValues(c) {
  const est = table([T("预估（分析批次）", "Estimated (run)"), T("数值", "Value")],
    c.estimate.map((e) => [name(e), `${fmt(e.value)} ${en ? e.unit_en : e.unit}`]));
  const ent = c.entered.length
    ? table([T("实际填报", "Entered"), T("数值", "Value")],
      c.entered.map((f) => [name(f), `${typeof f.value === "number" ? fmt(f.value) : f.value}${f.unit ? ` ${f.unit}` : ""}`]))
    : el("p", { class: "muted" }, T("尚未填报实际数值", "nothing entered yet"));
  byId("values").replaceChildren(el("div", { class: "two" }, est, ent));
}

function drawCredited(c) {
  byId("credited").replaceChildren(c.credited.length
    ? table([T("日期", "Date"), T("指标", "Kind"), T("数量", "Amount"), T("记账编号", "Transfer id")],
      c.credited.map((t) => [t.value_date, en ? t.kind_name_en : t.kind_name, `${fmt(t.amount)} ${en ? t.unit_en : t.unit}`, t.transfer_id]))
    : el("p", { class: "muted" }, T("本案尚未入账指标", "no quota credited for this case yet")));
}

function input(need) {
  const label = `${name(need)}${need.unit ? `（${need.unit}）` : ""}`;
  let control;
  if (need.type === "choice") {
    control = el("select", { name: need.key, required: "" }, el("option", { value: "" }, "—"),
      ...need.choices.map((ch) => el("option", { value: ch }, ch)));
  } else if (need.type === "comment") {
    control = el("textarea", { name: "comment", rows: "2", required: "" });
  } else if (need.type === "file") {
    control = el("input", { type: "file", name: "attachment", required: "" });
  } else {
    const attrs = { name: need.key, required: "" };
    if (need.type === "number" || need.type === "integer") {
      Object.assign(attrs, { type: "number", step: need.type === "integer" ? "1" : "any", inputmode: "decimal" });
      if (need.minimum !== null) attrs.min = String(need.minimum);
      if (need.maximum !== null) attrs.max = String(need.maximum);
    } else attrs.type = need.type === "date" ? "date" : "text";
    control = el("input", attrs);
  }
  return el("label", { class: "field" }, el("span", {}, label), control);
}

function moveForm(m) {
  const needsComment = m.requires.some((n) => n.key === "comment");
  const needsFile = m.requires.some((n) => n.key === "attachment");
  const form = el("form", { class: "move", "data-to": m.to_state },
    el("h3", {}, name(m), el("small", {}, ` → ${en ? m.to_en : m.to_zh}`)),
    el("input", { type: "hidden", name: "to_state", value: m.to_state }),
    ...m.requires.map(input),
    ...(needsFile ? [] : [el("label", { class: "field" }, el("span", {}, T("附件（可选）", "File (optional)")),
      el("input", { type: "file", name: "attachment" }))]),
    ...(needsComment ? [] : [el("label", { class: "field" }, el("span", {}, T("意见（可选）", "Comment (optional)")),
      el("textarea", { name: "comment", rows: "2" }))]),
    ...(m.credits ? [el("p", { class: "muted" }, T("此环节将按填报面积入账指标", "this move credits quota on the area entered"))] : []),
    el("p", { class: "msg", role: "status" }),
    el("button", { type: "submit" }, name(m)));
  form.addEventListener("submit", (e) => { e.preventDefault(); send(form, `${base}/move`); });
  return form;
}

function commentForm() {
  const form = el("form", { class: "move comment-form" },
    el("label", { class: "field" }, el("span", {}, T("意见", "Comment")), el("textarea", { name: "comment", rows: "2", required: "" })),
    el("label", { class: "field" }, el("span", {}, T("附件（可选）", "File (optional)")), el("input", { type: "file", name: "attachment" })),
    el("p", { class: "msg", role: "status" }),
    el("button", { type: "submit" }, T("提交意见", "Add comment")));
  form.addEventListener("submit", (e) => { e.preventDefault(); send(form, `${base}/comment`); });
  return form;
}

/** What the user typed in the forms (not files), to put back after a redraw. */
function typed() {
  const out = {};
  for (const f of document.querySelectorAll("#moves form, #comment form")) {
    const key = f.dataset.to || "comment";
    out[key] = {};
    for (const i of f.querySelectorAll("input:not([type=file]):not([type=hidden]), select, textarea")) out[key][i.name] = i.value;
  }
  return out;
}

function restore(values) {
  for (const f of document.querySelectorAll("#moves form, #comment form")) {
    const saved = values[f.dataset.to || "comment"] || {};
    for (const i of f.querySelectorAll("input:not([type=file]):not([type=hidden]), select, textarea")) {
      if (saved[i.name]) i.value = saved[i.name];
    }
  }
}

function drawForms(c) {
  const moves = byId("moves");
  moves.replaceChildren(...(c.moves.length ? c.moves.map(moveForm)
    : [el("p", { class: "muted" }, T("当前角色在此环节无可办理事项", "your role has no move at this step"))]));
  byId("comment").replaceChildren(commentForm());
}

function drawEvents(events) {
  byId("events").replaceChildren(...events.slice().reverse().map((e) => {
    const moved = e.action === "transition" ? `${en ? e.from_state_en : e.from_state_zh} → ${en ? e.to_state_en : e.to_state_zh}`
      : e.action === "open" ? T("立案", "opened") : T("意见", "comment");
    const data = Object.entries(e.data || {}).filter(([k]) => !["run_id", "run_case_id"].includes(k));
    return el("li", { "data-seq": String(e.seq) },
      el("div", { class: "head" }, el("strong", {}, moved), el("span", { class: "muted" }, ` ${e.event_date} · ${e.actor}`),
        el("span", { class: "seq" }, `#${e.seq}`)),
      ...(e.comment ? [el("p", {}, e.comment)] : []),
      ...(data.length ? [el("p", { class: "muted" }, data.map(([k, v]) => `${name(current?.fields.find((f) => f.key === k)) || k}：${v}`).join("；"))] : []),
      ...(e.attachment_sha256 ? [el("p", { class: "file" },
        el("a", { href: `${base}/attachments/${e.attachment_sha256}`, download: e.attachment_name }, `${T("附件", "File")}：${e.attachment_name}`),
        el("code", { title: "SHA-256" }, `SHA-256 ${e.attachment_sha256}`))] : []));
  }));
}

function draw(c, keep) {
  current = c;
  drawFacts(c); drawTimeline(c); drawValues(c); drawCredited(c); drawForms(c);
  if (keep) restore(keep);
}

async function load(keep) {
  const [c, ev] = await Promise.all([api(base), api(`${base}/events`)]);
  byId("stale").hidden = true;
  draw(c, keep);
  drawEvents(ev.rows);
}

async function send(form, url) {
  const msg = form.querySelector(".msg");
  const button = form.querySelector("button[type=submit]");
  const body = new FormData(form);
  for (const [k, v] of [...body.entries()]) {
    if ((typeof v === "string" && v.trim() === "") || (v instanceof File && !v.name)) body.delete(k);
  }
  body.set("version", String(current.version));
  msg.textContent = ""; msg.className = "msg";
  byId("done").textContent = "";
  button.disabled = true;
  try {
    const c = await api(url, { method: "POST", body });
    const ev = await api(`${base}/events`);
    draw(c);
    drawEvents(ev.rows);
    byId("done").textContent = url.endsWith("/move") ? T(`已办理，案件现为「${c.state_zh}」`, `done: the case is now “${c.state_en}”`)
      : T("意见已提交", "comment added");
  } catch (e) {
    button.disabled = false;
    if (e.status === 409) return stale();
    msg.textContent = e.message; msg.className = "msg error";
  }
}

async function stale() {
  let who = T("他人", "someone else");
  try {
    const ev = await api(`${base}/events`);
    const last = ev.rows[ev.rows.length - 1];
    if (last) who = `${last.actor}（${String(last.recorded_at).slice(0, 16).replace("T", " ")}）`;
  } catch { /* the message stays general */ }
  const box = byId("stale");
  const again = el("button", { type: "button", class: "reload" }, T("刷新案件", "Reload the case"));
  again.addEventListener("click", () => load(typed()).catch(fail));
  box.replaceChildren(el("span", {}, T(`此案件已被 ${who} 更新，请刷新后重新办理。你填写的内容会保留。`,
    `This case was updated by ${who}. Please reload and try again; what you typed is kept.`)), again);
  box.hidden = false;
  box.scrollIntoView({ block: "center" });
}

function fail(e) {
  byId("facts").replaceChildren(el("p", { class: "error", role: "alert" }, e.message));
}

load().catch(fail);
