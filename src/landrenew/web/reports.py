"""报告: the Excel 台账, the Word briefing and its PDF, made in the background with progress and
downloaded by the user who asked (a district role gets its own district's reports only)."""

from __future__ import annotations

import secrets
import shutil
import time
from datetime import date
from pathlib import Path
from typing import Literal
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, HTMLResponse
from pydantic import BaseModel, Field

from landrenew import history
from landrenew.actors import Forbidden
from landrenew.lists import ListError
from landrenew.reports import FORMATS, ReportError, check_request, make_reports
from landrenew.reports.fonts import FontMissing, cjk_fonts
from landrenew.store import Workspace
from landrenew.targets import quarter_ends
from landrenew.web.api import MAX_TREND_QUARTERS
from landrenew.web.context import Ctx
from landrenew.web.errors import refusal
from landrenew.web.i18n import pick
from landrenew.web.render import render

router = APIRouter()
api = APIRouter(prefix="/api/reports", tags=["reports"])

#: the steps of :func:`landrenew.reports.make_reports`, for the progress bar
STEPS = ("facts", "xlsx", "briefing", "docx", "pdf")
MEDIA = {"xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
         "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
         "pdf": "application/pdf"}
WORDS: dict[str, tuple[str, str]] = {
    "reports": ("报告", "Reports"),
    "intro": ("生成周例会所用的台账（Excel）、工作简报（Word）及其 PDF：内容取自最新分析批次、案件与指标台账。",
              "Make the ledger workbook (Excel), the briefing (Word) and its PDF for the weekly meeting, from the "
              "latest run, the cases and the quota ledger."),
    "scope": ("范围", "Scope"), "city": ("全市", "Whole city"), "language": ("语言", "Language"),
    "formats": ("文件", "Files"), "xlsx": ("台账 Excel", "Ledger (Excel)"), "docx": ("简报 Word", "Briefing (Word)"),
    "pdf": ("简报 PDF", "Briefing (PDF)"), "run": ("分析批次", "Run"), "latest": ("最新", "latest"),
    "maps": ("附地图", "with maps"), "make": ("生成报告", "Make the reports"),
}


def _jobs(request: Request) -> history.AnalysisJobs:
    return history.jobs_of(request.app.state, "report_jobs", STEPS)


def reports_dir(ws: Workspace) -> Path:
    """Where the web app keeps the reports it made, one folder per job."""
    return ws.cache_dir / "reports"


def clean_reports(ws: Workspace, keep_days: float) -> int:
    """Remove report folders older than ``keep_days``; returns how many."""
    folder = reports_dir(ws)
    if not folder.is_dir():
        return 0
    cutoff = time.time() - keep_days * 86400
    old = [d for d in folder.iterdir() if d.is_dir() and d.stat().st_mtime < cutoff]
    for d in old:
        shutil.rmtree(d, ignore_errors=True)
    return len(old)


@router.get("/reports", response_class=HTMLResponse, include_in_schema=False)
def reports_page(request: Request, ctx: Ctx) -> HTMLResponse:
    mine = ctx.actor.districts(ctx.profile)
    districts = [d for d in ctx.profile.city.districts if d.code and (mine is None or d.code in mine)]
    return render(request, "reports.html", "reports", ctx, {
        "rw": pick(WORDS, ctx.en), "districts": districts, "city_scope": mine is None, "formats": FORMATS})


class ReportRequest(BaseModel):
    district: str | None = Field(None, description="a district code (default: the city; a district role: its own)")
    run: int | None = Field(None, description="analysis run id (default: the latest finished run)")
    lang: Literal["zh", "en"] | None = Field(None, description="language (default: the page's)")
    formats: list[Literal["xlsx", "docx", "pdf"]] = Field(default_factory=lambda: list(FORMATS), min_length=1)
    as_of: date | None = Field(None, description="cases, ledger and targets as of (default today)")
    maps: bool = Field(True, description="maps of the flagged parcels in the briefing")


@api.post("", status_code=202, summary="Make the reports in the background (ledger .xlsx, briefing .docx and "
                                       ".pdf); poll the job, then download each file")
def start_reports(body: ReportRequest, request: Request, ctx: Ctx) -> dict:
    profile, ws, actor = ctx.profile, ctx.ws, ctx.actor
    lang = body.lang or ctx.lang
    if {"docx", "pdf"} & set(body.formats):
        try:
            cjk_fonts()
        except FontMissing as exc:
            raise refusal(503, "no_font", exc.zh, exc.en) from exc
    if body.as_of is not None and len(quarter_ends(profile, body.as_of)) > MAX_TREND_QUARTERS:
        # the briefing's target trend measures every quarter end up to as_of: year 9999 tied a job up
        raise refusal(422, "range", f"基准日 {body.as_of} 过远：目标趋势最多 {MAX_TREND_QUARTERS} 个季度",
                      f"as_of {body.as_of} is too far: the target trend spans at most {MAX_TREND_QUARTERS} quarters")
    try:
        actor.require_district(profile, body.district)
        check_request(ws.engine, profile, body.district, body.run)
    except Forbidden as exc:
        raise refusal(403, "forbidden", exc.zh, exc.en) from exc
    except (ReportError, ListError) as exc:
        raise refusal(422, "report", exc.zh, exc.en) from exc
    clean_reports(ws, request.app.state.settings.keep_uploads_days)
    jobs = _jobs(request)

    def work(progress) -> dict:  # noqa: ANN001
        folder = reports_dir(ws) / secrets.token_hex(8)
        done = make_reports(ws.engine, profile, actor, folder, run_id=body.run, district=body.district, lang=lang,
                            formats=body.formats, as_of=body.as_of, maps=body.maps, progress=progress)
        return {"run_id": done.run_id, "files": {k: str(v) for k, v in done.files.items()},
                "seconds": {k: round(v, 1) for k, v in done.seconds.items()}}

    try:
        job = jobs.start(ctx.user.name, work)
    except history.Busy as exc:
        raise refusal(409, "busy", f"另一份报告正在生成（{exc.job.user}），请稍后", f"another report is being made "
                     f"({exc.job.user}); try again when it ends") from exc
    return _public(job)


def _public(job: history.Job) -> dict:
    """The job as the page sees it: the files by name and download link, not their paths."""
    out = job.as_dict()
    files = (job.result or {}).get("files", {})
    out["result"] = None
    out["files"] = [{"format": fmt, "name": Path(p).name, "size": Path(p).stat().st_size if Path(p).exists() else 0,
                     "url": f"/api/reports/jobs/{job.id}/{fmt}"} for fmt, p in files.items()]
    return out


def _own_job(request: Request, ctx: Ctx, job_id: str) -> history.Job:
    job = _jobs(request).get(job_id)
    if job is None or job.user != ctx.user.name:
        raise refusal(404, "no_job", "没有这个报告任务", "no such report job")
    return job


@api.get("/jobs/{job_id}", summary="Progress of a report job; when done, its files with download links")
def report_job(job_id: str, request: Request, ctx: Ctx) -> dict:
    return _public(_own_job(request, ctx, job_id))


@api.get("/jobs/{job_id}/{fmt}", response_class=FileResponse, summary="Download one file of a finished report job")
def report_file(job_id: str, fmt: str, request: Request, ctx: Ctx) -> FileResponse:
    job = _own_job(request, ctx, job_id)
    path = Path((job.result or {}).get("files", {}).get(fmt, ""))
    if job.state != "done" or fmt not in MEDIA or not path.is_file():
        raise refusal(404, "no_file", "没有这个文件（任务未完成或文件已清理）", "no such file (the job has not finished, "
                     "or the file was cleaned up)")
    ascii_name = f"landrenew_run{job.run_id}.{fmt}"
    disposition = f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(path.name)}"
    return FileResponse(path, media_type=MEDIA[fmt], headers={"Content-Disposition": disposition})


router.include_router(api)
