// 报告: ask for the ledger workbook, the briefing and its PDF; follow the job; offer the files.
import { api, el, en } from "./_common.js";

const T = (zh, e) => (en ? e : zh);
const $ = (id) => document.getElementById(id);
const STEPS = { facts: T("读取数据", "reading the store"), xlsx: T("写台账", "writing the workbook"),
                briefing: T("编写简报、绘制地图", "composing the briefing, drawing maps"),
                docx: T("写 Word", "writing Word"), pdf: T("写 PDF", "writing PDF") };
const NAMES = { xlsx: T("台账 Excel", "Ledger (Excel)"), docx: T("简报 Word", "Briefing (Word)"), pdf: T("简报 PDF", "Briefing (PDF)") };
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function make(event) {
  event.preventDefault();
  const form = event.target;
  const data = new FormData(form);
  const body = { formats: data.getAll("formats"), lang: data.get("lang"), maps: data.get("maps") === "on" };
  if (data.get("district")) body.district = data.get("district");
  if (data.get("run")) body.run = Number(data.get("run"));
  const button = form.querySelector("button[type=submit]");
  button.disabled = true;
  $("error").hidden = true;
  $("files").replaceChildren();
  $("job").hidden = false;
  try {
    let job = await api("/api/reports", { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) });
    while (job.state === "queued" || job.state === "running") {
      $("job-bar").value = job.percent;
      $("job-text").textContent = `${job.percent}% · ${STEPS[job.step] || job.step} · ${job.seconds.toFixed(0)} s`;
      await sleep(700);
      job = await api(`/api/reports/jobs/${job.job_id}`);
    }
    if (job.state === "failed") throw new Error(job.error);
    $("job-bar").value = 100;
    $("job-text").textContent = `${T("完成：分析批次", "done: run")} ${job.run_id} · ${job.seconds.toFixed(1)} s`;
    $("files").replaceChildren(...job.files.map((f) => el("li", {},
      el("a", { href: f.url, download: f.name, "data-format": f.format }, `${T("下载", "Download")} ${NAMES[f.format]}`),
      ` ${f.name} (${Math.max(1, Math.round(f.size / 1024)).toLocaleString()} KB)`)));
  } catch (e) {
    $("error").textContent = e.message;
    $("error").hidden = false;
  } finally {
    button.disabled = false;
  }
}

$("report-form").addEventListener("submit", make);
