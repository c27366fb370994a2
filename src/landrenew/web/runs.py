"""分析批次: the run history, the difference between two runs, what-if scenarios, and analyses
started from the page (in a background thread, with progress)."""

from __future__ import annotations

import threading
from datetime import date

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, Field

from landrenew import history
from landrenew.compare import diff_runs
from landrenew.policy import ProfileError
from landrenew.scenarios import OverrideError, whatif
from landrenew.store.snapshot import read_snapshot
from landrenew.web.context import Ctx
from landrenew.web.errors import refusal
from landrenew.web.i18n import pick
from landrenew.web.render import render

router = APIRouter()
api = APIRouter(prefix="/api", tags=["runs"])

WORDS: dict[str, tuple[str, str]] = {
    "history": ("分析批次", "Analysis runs"),
    "new_run": ("新建分析", "New analysis"),
    "as_of": ("基准日", "As of"),
    "note": ("备注", "Note"),
    "start": ("开始分析", "Start"),
    "compare": ("比较所选两个批次", "Compare the two selected runs"),
    "pick_two": ("在表中勾选两个批次进行比较（较早的为基准）", "Tick two runs in the table to compare them (the older is the base)"),
    "diff": ("批次比较", "Comparison"),
    "whatif": ("情景推演", "What-if"),
    "whatif_help": ("修改政策参数，在内存中重新分析并与现行参数比较；不保存任何结果。",
                    "Change policy values, analyse again in memory and compare with the current values; "
                    "nothing is stored."),
    "rule": ("规则", "Rule"),
    "param": ("参数", "Parameter"),
    "value": ("新值", "New value"),
    "add": ("添加", "Add"),
    "run_whatif": ("推演", "Run what-if"),
    "running": ("计算中…", "Working…"),
}


def _jobs(request: Request) -> history.AnalysisJobs:
    return history.jobs_of(request.app.state, "analysis_jobs")


def _may_analyze(ctx: Ctx) -> bool:
    role = ctx.profile.operations.role(ctx.user.role)
    return not role.read_only and role.key in history.analysis_roles(ctx.profile)


@router.get("/runs", response_class=HTMLResponse, include_in_schema=False)
def runs_page(request: Request, ctx: Ctx) -> HTMLResponse:
    city_scope = ctx.actor.districts(ctx.profile) is None
    return render(request, "runs.html", "runs", ctx, {
        "rw": pick(WORDS, ctx.en), "can_analyze": _may_analyze(ctx), "city_scope": city_scope,
        "today": date.today().isoformat()})


@api.get("/runs", summary="The analysis runs, newest first: status, as-of, year, profile, data hash, counts, "
                          "seconds, user, note")
def list_runs(ctx: Ctx, limit: int = Query(100, ge=1, le=1000)) -> dict:
    return {"runs": history.run_history(ctx.ws.engine, limit)}


@api.get("/runs/jobs/{job_id}", summary="Progress of an analysis started with POST /api/runs")
def job_status(job_id: str, request: Request, ctx: Ctx) -> dict:
    job = _jobs(request).get(job_id)
    if job is None:
        raise refusal(404, "no_job", "没有这个分析任务", "no such analysis job")
    return job.as_dict()


@api.get("/runs/{run_id}", summary="One analysis run")
def get_run(run_id: int, ctx: Ctx) -> dict:
    run = history.run_detail(ctx.ws.engine, run_id)
    if run is None:
        raise refusal(404, "no_run", f"没有分析批次 {run_id}", f"no run {run_id}")
    return run


@api.get("/runs/{a}/diff/{b}", summary="Compare run b with base run a: parcels that entered or left each list, "
                                       "firm class transitions, path changes (city roles)")
def diff(a: int, b: int, ctx: Ctx) -> dict:
    history.require_city_scope(ctx.actor, ctx.profile, "比较分析批次", "compare runs")
    try:
        c = diff_runs(ctx.ws.engine, a, b)
    except LookupError as exc:
        raise refusal(404, "no_run", str(exc), str(exc)) from exc
    return {"a": a, "b": b, **history.comparison_dict(c)}


class AnalyzeRequest(BaseModel):
    as_of: date | None = Field(None, description="analysis date (default today)")
    year: int | None = Field(None, ge=1, le=9999, description="evaluation year (default: the latest in the data)")
    note: str | None = Field(None, max_length=500)
    outputs: bool = Field(True, description="write the run's GeoPackage / Excel / JSON files")


@api.post("/runs", status_code=202, summary="Start an analysis in the background (roles of the profile's "
                                            "analyze permission, else its open permission); poll the job")
def start_run(body: AnalyzeRequest, request: Request, ctx: Ctx) -> dict:
    ctx.actor.require(ctx.profile, history.analysis_roles(ctx.profile), "运行分析", "run an analysis")
    from landrenew.runs import analyze

    ws, profile, user = ctx.ws, ctx.profile, ctx.user.name

    def work(progress) -> int:  # noqa: ANN001
        run_id, _ = analyze(ws, profile, body.as_of, body.year, user=user, note=body.note, outputs=body.outputs,
                            progress=progress)
        return run_id

    try:
        job = _jobs(request).start(user, work)
    except history.Busy as exc:
        raise refusal(409, "busy", f"另一项分析正在运行（{exc.job.user}），请稍后", f"another analysis is running "
                     f"({exc.job.user}); try again when it ends") from exc
    return job.as_dict()


@api.get("/profile/rules", summary="Rules of the profile with numeric parameters (what a what-if may change)")
def rules(ctx: Ctx) -> dict:
    return {"rules": history.rule_parameters(ctx.profile)}


class WhatIfRequest(BaseModel):
    set: list[str] = Field(min_length=1, max_length=20, description="overrides RULE_ID:param=VALUE",
                           examples=[["land.plot_ratio.industrial:floor=1.2"]])
    as_of: date | None = Field(None, description="analysis date (default: the latest run's)")
    year: int | None = Field(None, ge=1, le=9999, description="evaluation year (default: the latest in the data)")


_whatif_lock = threading.Lock()


@api.post("/whatif", summary="Analyse the store's data under the profile and under changed values; compare; "
                             "nothing is stored (city-scope roles)")
def run_whatif(body: WhatIfRequest, ctx: Ctx) -> dict:
    history.require_city_scope(ctx.actor, ctx.profile, "进行全市情景推演", "run a city-wide what-if")
    if not _whatif_lock.acquire(blocking=False):
        raise refusal(409, "busy", "另一项情景推演正在计算，请稍后", "another what-if is being computed; try again shortly")
    try:
        as_of = body.as_of or history.latest_as_of(ctx.ws.engine) or date.today()
        snapshot = read_snapshot(ctx.ws.engine, ctx.ws.cache_dir)
        w = whatif(snapshot, ctx.profile, body.set, as_of, body.year)
    except OverrideError as exc:
        raise refusal(422, "override", str(exc), str(exc)) from exc
    except ProfileError as exc:
        raise refusal(422, "profile", "改后的政策配置无效：" + "；".join(f"{i.path}: {i.zh}" for i in exc.issues),
                     "the changed profile is invalid: " + "; ".join(f"{i.path}: {i.en}" for i in exc.issues)) from exc
    finally:
        _whatif_lock.release()
    return history.whatif_dict(w)


router.include_router(api)
