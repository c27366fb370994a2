// 数据导入: choose the kind, upload a file, read the validation report, confirm the load.
import { api, el, en, fmt, name } from "./_common.js";

const T = (zh, e) => (en ? e : zh);
const $ = (id) => document.getElementById(id);
const canLoad = $("intake-page").dataset.canLoad === "1";
const SEVERITY = { error: ["错误", "error"], warning: ["警告", "warning"], repaired: ["已修复", "repaired"] };
let kinds = [];
let current = null; // the latest validation: { upload_id, report, … }

function showKind() {
  const k = kinds.find((x) => x.kind === $("kind").value);
  if (!k) return;
  $("layer-kind-box").hidden = k.kind !== "layer";
  $("layer-kind").required = k.kind === "layer";
  const links = [el("a", { href: k.templates.xlsx, download: "" }, `${T("下载模板", "template")} .xlsx`)];
  if (k.templates.gpkg) {
    const lk = k.kind === "layer" ? `&layer_kind=${encodeURIComponent($("layer-kind").value)}` : "";
    links.push(el("a", { href: k.templates.gpkg + lk, download: "" }, ".gpkg"));
  }
  $("templates").replaceChildren(...links);
  const required = [...k.columns.filter((c) => c.required).map((c) => c.zh),
    ...k.one_of.map((g) => `${g.join(T("或", " or "))}${T("（二选一）", "")}`)];
  $("formats").textContent = `${T("接受", "accepts")} ${k.formats.map((f) => `.${f}`).join(" ")}${k.spatial ? " .zip" : ""}` +
    (required.length ? ` · ${T("必填列", "required columns")}：${required.join("、")}` : "");
}

function setFile(files) {
  if (files && files.length) $("file").files = files;
  const f = $("file").files[0];
  $("drop-text").textContent = f ? `${f.name} · ${fmt(f.size / 1048576)} MB` : $("drop-text").dataset.empty;
}

function summary(r) {
  const parts = [el("span", {}, `${T("读取", "rows read")} ${fmt(r.rows_read)} ${T("行", "")}`)];
  parts.push(el("span", { class: r.errors ? "e" : "ok" }, `${T("错误", "errors")} ${fmt(r.errors)}`));
  parts.push(el("span", { class: r.warnings ? "w" : "" }, `${T("警告", "warnings")} ${fmt(r.warnings)}`));
  parts.push(el("span", { class: r.repaired ? "r" : "" }, `${T("已修复", "repaired")} ${fmt(r.repaired)}`));
  if (!r.fatal && r.errors) parts.push(el("span", {}, `${T("可导入", "loadable")} ${fmt(r.rows_loadable)} ${T("行", "rows")}`));
  if (r.ok) parts.push(el("span", { class: "ok" }, T("校验通过，可以导入", "valid: ready to load")));
  return parts;
}

function issueTable(r) {
  const heads = [["级别", "severity"], ["行", "row"], ["列", "column"], ["值", "value"], ["问题", "problem"], ["修改方法", "fix"]];
  const rows = r.issues.map((i) => el("tr", { class: `sev-${i.severity}` },
    el("td", {}, T(...SEVERITY[i.severity])), el("td", { class: "num" }, i.row ?? ""), el("td", {}, i.column ?? ""),
    el("td", {}, i.value ?? ""), el("td", {}, en ? i.problem_en : i.problem_zh), el("td", {}, en ? i.fix_en : i.fix_zh)));
  if (!rows.length) rows.push(el("tr", {}, el("td", { colspan: heads.length }, T("没有发现问题", "no problems found"))));
  return [el("thead", {}, el("tr", {}, ...heads.map((h, i) => el("th", i === 1 ? { class: "num" } : {}, T(...h))))), el("tbody", {}, ...rows)];
}

function updateConfirm() {
  const btn = $("confirm");
  if (!btn || !current) return;
  const r = current.report;
  const skip = $("skip-invalid").checked;
  btn.disabled = current.loaded || r.fatal || r.rows_loadable === 0 || (r.errors > 0 && !skip);
}

function showReport(v) {
  current = v;
  const r = v.report;
  $("report").hidden = false;
  $("load-result").hidden = true;
  $("report-title").replaceChildren(`${v.file_name}${v.data_path !== v.file_name ? ` → ${v.data_path}` : ""} · `,
    el("a", { href: v.report_url, download: "" }, T("下载完整报告 .xlsx", "full report .xlsx")));
  $("report-summary").replaceChildren(...summary(r));
  $("issues").replaceChildren(...issueTable(r));
  if (r.issues_total > r.issues.length) {
    $("report-summary").append(el("span", {}, T(`表中列出前 ${r.issues.length} 条，共 ${r.issues_total} 条`, `first ${r.issues.length} of ${r.issues_total} listed`)));
  }
  if ($("skip-invalid")) $("skip-invalid").checked = false;
  updateConfirm();
}

async function upload(ev) {
  ev.preventDefault();
  const form = $("upload");
  const data = new FormData(form);
  if (!$("file").files.length) return;
  for (const [k, v] of [...data.entries()]) if (v === "") data.delete(k);
  if (data.get("kind") !== "layer") data.delete("layer_kind");
  $("upload-busy").hidden = false;
  $("upload-error").hidden = true;
  $("validate").disabled = true;
  try {
    showReport(await api("/api/intake/validate", { method: "POST", body: data }));
  } catch (e) {
    $("upload-error").textContent = e.message;
    $("upload-error").hidden = false;
  } finally {
    $("upload-busy").hidden = true;
    $("validate").disabled = false;
  }
}

async function confirmLoad() {
  const btn = $("confirm");
  btn.disabled = true;
  const box = $("load-result");
  try {
    const r = await api(`/api/intake/${current.upload_id}/load`, { method: "POST", headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ skip_invalid: $("skip-invalid").checked }) });
    current.loaded = true;
    box.replaceChildren(el("p", { class: "loaded", role: "status" },
      `${T("已导入", "Loaded")} ${fmt(r.rows_loaded)} / ${fmt(r.report.rows_read)} ${T("行，批次", "rows, batch")} ${r.batch_id}` +
      (r.rejected_file ? ` · ${T("问题行另存为", "rejected rows written to")} ${r.rejected_file}` : "")));
    await loadBatches();
  } catch (e) {
    box.replaceChildren(el("p", { class: "error", role: "alert" }, e.message));
  } finally {
    box.hidden = false;
    updateConfirm();
  }
}

async function loadBatches() {
  const { batches } = await api("/api/intake/batches");
  const kindName = (b) => {
    if (b.layer_kind) { const k = kinds.find((x) => x.kind === "layer")?.layer_kinds.find((l) => l.key === b.layer_kind); return k ? name(k) : b.layer_kind; }
    const k = kinds.find((x) => x.kind === b.kind);
    return k ? name(k) : b.kind;
  };
  const heads = [["批次", "batch"], ["类型", "kind"], ["文件", "file"], ["读取", "read"], ["导入", "loaded"], ["拒绝", "rejected"],
    ["警告", "warnings"], ["修复", "repaired"], ["时间 (UTC)", "time (UTC)"], ["操作人", "user"]];
  const num = new Set([0, 3, 4, 5, 6, 7]);
  $("batches").replaceChildren(
    el("thead", {}, el("tr", {}, ...heads.map((h, i) => el("th", num.has(i) ? { class: "num" } : {}, T(...h))))),
    el("tbody", {}, ...(batches.length ? [] : [el("tr", {}, el("td", { colspan: heads.length }, T("还没有导入批次", "no batches yet")))]),
      ...batches.map((b) => el("tr", { "data-batch": b.id },
      el("td", { class: "num" }, b.id), el("td", {}, kindName(b)), el("td", {}, b.file_name + (b.sheet ? ` [${b.sheet}]` : "")),
      el("td", { class: "num" }, fmt(b.rows_read)), el("td", { class: "num" }, fmt(b.rows_loaded)), el("td", { class: "num" }, fmt(b.rows_rejected)),
      el("td", { class: "num" }, fmt(b.warnings)), el("td", { class: "num" }, fmt(b.repairs)),
      el("td", {}, (b.loaded_at || "").slice(0, 16).replace("T", " ")), el("td", {}, b.user || "")))));
}

async function main() {
  const k = await api("/api/intake/kinds");
  kinds = k.kinds;
  $("kind").replaceChildren(...kinds.map((x) => el("option", { value: x.kind }, `${name(x)}（${x.kind}）`)));
  const layer = kinds.find((x) => x.kind === "layer");
  $("layer-kind").replaceChildren(...(layer ? layer.layer_kinds : []).map((l) => el("option", { value: l.key }, name(l))));
  $("kind").addEventListener("change", showKind);
  $("layer-kind").addEventListener("change", showKind);
  showKind();
  $("drop-text").dataset.empty = `${$("drop-text").textContent} · ≤ ${k.max_upload_mb} MB`;
  $("drop-text").textContent = $("drop-text").dataset.empty;
  const drop = $("drop");
  drop.addEventListener("dragover", (e) => { e.preventDefault(); drop.classList.add("over"); });
  drop.addEventListener("dragleave", () => drop.classList.remove("over"));
  drop.addEventListener("drop", (e) => { e.preventDefault(); drop.classList.remove("over"); setFile(e.dataTransfer.files); });
  $("file").addEventListener("change", () => setFile());
  $("upload").addEventListener("submit", upload);
  if (canLoad) {
    $("confirm").addEventListener("click", confirmLoad);
    $("skip-invalid").addEventListener("change", updateConfirm);
  }
  await loadBatches();
}

main().catch((e) => {
  $("upload-error").textContent = e.message;
  $("upload-error").hidden = false;
});
