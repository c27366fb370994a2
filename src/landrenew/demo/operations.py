"""The city's operations after the analysis, for the demo: cases opened from the top
recommendations in 2023, worked through their workflows in 2023–2025, and a few quota transfers
(增减挂钩 节余指标调剂) and spends (占用) in the ledger — all through the services.

Everything is planned up front with numpy (who goes how far, on which dates, with which values)
and then executed case by case with :func:`landrenew.cases.open_cases`, :func:`~landrenew.cases.
transition`, :func:`~landrenew.cases.add_comment` and the ledger's ``transfer`` / ``spend``, so the
services check every move, role, date and balance. Deterministic for a seed (on an empty store).

The states and what each move needs come from the profile (``operations.workflows``: each
workflow's ``main_path``; ``operations.fields`` for the values); the numbers below are demo
parameters (how busy the city is), not policy.
"""

from __future__ import annotations

import math
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import func, select

from landrenew import ledger
from landrenew.actors import Actor
from landrenew.cases import ATTACHMENT, COMMENT, add_comment, open_cases, transition
from landrenew.demo.names import person_names
from landrenew.policy import Profile
from landrenew.policy.schema import ANY_STATE, CaseField, Transition, Workflow
from landrenew.store import Workspace
from landrenew.store.models import ClearanceCase, RunCase

#: called as progress(stage, done, total)
Progress = Callable[[str, int, int], None]

# --------------------------------------------------------------------------- demo parameters

#: share of the run's recommendations that get a case, and a cap that keeps the demo quick
OPEN_SHARE = 0.4
MAX_CASES = 1_000
#: the quarterly batches of 2023 in which cases are opened (each district a few days apart)
OPEN_BATCHES = (date(2023, 2, 20), date(2023, 5, 15), date(2023, 8, 21), date(2023, 11, 13))
#: the last day of the simulated operations
END = date(2025, 12, 31)
#: mean days of a step: a plain move, one that needs an approval or a document, closing after done
PLAIN_DAYS, APPROVAL_DAYS, CLOSE_DAYS = 40, 75, 120
#: mean days of the works before the crediting move, by disposal family (else DEFAULT_WORKS_DAYS)
WORKS_DAYS = {"ecological": 240, "illegal": 210, "upgrade": 420, "unsupplied": 150, "idle": 120}
DEFAULT_WORKS_DAYS = 240
#: spread of a case's overall pace (lognormal sigma) and of each step (gamma shape, mean 1)
PACE_SIGMA, STEP_SHAPE = 0.35, 3.0
MIN_GAP_DAYS = 3
#: shares of cases that stall at some step, are withdrawn before crediting, get an officer comment
STALL_SHARE, WITHDRAW_SHARE, COMMENT_SHARE = 0.12, 0.05, 0.10
#: share of the entered area against the case's construction area at acceptance
AREA_FACTOR = (0.85, 1.0)
#: fine of illegal land use, 元 per m² of the area (the penalty field in 万元)
PENALTY_YUAN_PER_M2 = (10.0, 60.0)
M2_PER_MU = 10_000.0 / 15.0
#: 增减挂钩 节余指标 moves from the rural districts to the urban cores, at 元/亩
RURAL = ("320413", "320481", "320412")
URBAN = ("320402", "320404", "320411")
PRICE_YUAN_PER_MU = (200_000.0, 500_000.0)
TRANSFER_ROUNDS = (date(2024, 9, 10), date(2025, 6, 16))
TRANSFER_SHARE = (0.3, 0.5)
LINKAGE_SPENDS = (date(2024, 12, 9), date(2025, 10, 20))
FARMLAND_SPEND, PLAN_SPEND = date(2025, 4, 14), date(2025, 8, 25)
SPEND_SHARE = (0.3, 0.6)

ADMIN = Actor("市自然资源和规划局 王建国", "city_admin")

WITHDRAW_REASONS = (
    "企业已完成自主整改并通过复核，不再列入出清范围，予以撤销。",
    "地块纳入省重点项目用地范围，按规划另行处置，本案撤销。",
    "权属争议经法院判决后主体变更，须重新认定，原案撤销。",
    "经复核原认定依据有误，予以撤销。",
    "与相邻案件合并办理，本案撤销。",
)
OFFICER_COMMENTS = (
    "已现场踏勘，界址清楚，无权属争议。",
    "已约谈权利人，权利人同意按方案推进。",
    "企业已签订搬迁补偿协议，正在清场。",
    "村委会已出具复垦后耕种管护承诺。",
    "受雨季影响施工暂缓，预计下月复工。",
    "已报区政府专题会议研究，同意推进。",
)


@dataclass
class OperationsSummary:
    """What :func:`simulate_operations` did."""

    run_id: int
    opened: int = 0
    skipped: int = 0
    moves: int = 0
    comments: int = 0
    withdrawn: int = 0
    by_state: pd.DataFrame = field(default_factory=pd.DataFrame)  # workflow, state, cases, area_mu
    credited: dict[str, float] = field(default_factory=dict)  # ledger kind -> amount credited by cases
    transfers: int = 0
    spends: int = 0
    seconds: float = 0.0
    note: str | None = None  # why nothing was done


def simulate_operations(ws: Workspace, profile: Profile, run_id: int, seed: int,
                        progress: Progress | None = None) -> OperationsSummary:
    """Open cases for the top recommendations of ``run_id``, move them through 2023–2025, credit
    their quota, transfer and spend some of it; verify the ledger (a :class:`RuntimeError` if not ok).

    A workspace that has cases already is left as it is (a second demo on the same store would
    otherwise open and credit the same parcels again for the new run)."""
    step = progress or (lambda *_: None)
    t0 = time.perf_counter()
    with ws.engine.connect() as conn:
        existing = conn.execute(select(func.count()).select_from(ClearanceCase.__table__)).scalar_one()
    if existing:
        return OperationsSummary(run_id, by_state=cases_by_state(ws, profile), seconds=time.perf_counter() - t0,
                                 note=f"工作空间已有 {existing:,} 件案件，未再模拟 the workspace has {existing:,} cases "
                                      "already: operations not simulated again (use --fresh)")
    rng = np.random.default_rng([seed, 20_230_101])
    end = min(END, date.today())
    officers = _officers(profile, rng)
    out = OperationsSummary(run_id)

    step("open", 0, len(OPEN_BATCHES))
    opened = _open(ws, profile, run_id, rng, out, step)
    cases = _opened_cases(ws, opened)
    actions = plan_actions(cases, profile, rng, end)
    draws = _draws(rng, len(cases))
    scratch = ws.path / "tmp" / "demo-operations"
    scratch.mkdir(parents=True, exist_ok=True)
    try:
        _execute(ws, profile, cases, actions, draws, officers, scratch, out, step)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
        if not any(scratch.parent.iterdir()):
            scratch.parent.rmdir()
    step("ledger", 0, 1)
    _ledger_operations(ws, profile, rng, officers, end, out)
    with ws.engine.begin() as conn:
        report = ledger.verify(conn, profile)
        if not report.ok:
            raise RuntimeError("指标台账校验未通过 ledger verification failed:\n" + report.frame().to_string())
        hist = ledger.history(conn, profile)
    mine = hist[(hist["transfer_type"] == "credit") & hist["case_id"].isin(cases["id"])]
    out.credited = {k: float(v) for k, v in mine.groupby("kind", sort=False)["amount"].sum().items()}
    out.by_state = cases_by_state(ws, profile, set(opened))
    out.seconds = time.perf_counter() - t0
    step("done", 1, 1)
    return out


# --------------------------------------------------------------------------- open


def _officers(profile: Profile, rng: np.random.Generator) -> dict[str, Actor]:
    """One district officer per district."""
    codes = list(profile.city.district_codes)
    names = person_names(rng, len(codes))
    return {c: Actor(f"{profile.city.district(c).name_zh}经办 {n}", "district_officer", c)
            for c, n in zip(codes, names, strict=True)}


def _quota_per_group(counts: pd.Series) -> dict[tuple[str, str], int]:
    """Cases to open per (district, disposal family) — each district runs a programme per family:
    OPEN_SHARE of the group's recommendations, scaled down to MAX_CASES."""
    total = min(round(OPEN_SHARE * int(counts.sum())), MAX_CASES)
    exact = counts / counts.sum() * total
    base = np.floor(exact).astype(int)
    rest = (exact - base).sort_values(ascending=False, kind="stable")
    base[rest.index[: total - int(base.sum())]] += 1  # largest remainders
    return {(str(d), str(f)): int(n) for (d, f), n in base.items()}


def _open(ws: Workspace, profile: Profile, run_id: int, rng: np.random.Generator, out: OperationsSummary,
          step: Progress) -> list[str]:
    """Open each district's share of the run's recommendations per disposal family, best first, in
    quarterly batches."""
    t = RunCase.__table__
    with ws.engine.connect() as conn:
        rows = conn.execute(
            select(t.c.district_code, t.c.family, func.count()).where(
                t.c.run_id == run_id, t.c.matched.is_(True), t.c.path.is_not(None))
            .group_by(t.c.district_code, t.c.family).order_by(t.c.district_code, t.c.family)).all()
    if not rows:
        return []
    counts = pd.Series([n for _, _, n in rows], index=pd.MultiIndex.from_tuples([(d, f) for d, f, _ in rows]),
                       dtype=float)
    quota = _quota_per_group(counts)
    batches = len(OPEN_BATCHES)
    jitter = rng.integers(0, 15, size=(batches, len(quota)))
    opened: list[str] = []
    for b, day in enumerate(OPEN_BATCHES):
        for j, ((district, family), n) in enumerate(quota.items()):
            upto = round(n * (b + 1) / batches)  # cumulative: recommendations opened earlier are skipped
            if upto <= 0:
                continue
            when = day + timedelta(days=int(jitter[b, j]))
            res = open_cases(ws, profile, ADMIN, run_id=run_id, district=district, family=family, top=upto,
                             when=when)
            opened += res.opened
        step("open", b + 1, batches)
    out.opened = len(opened)
    out.skipped = sum(quota.values()) - len(opened)
    return opened


def _opened_cases(ws: Workspace, numbers: list[str]) -> pd.DataFrame:
    c = ClearanceCase.__table__
    cols = [c.c.id, c.c.case_no, c.c.district_code, c.c.family, c.c.workflow_id, c.c.state, c.c.version,
            c.c.area_mu, c.c.construction_mu, c.c.estimate, c.c.opened_at]
    rows = []
    with ws.engine.connect() as conn:
        for i in range(0, len(numbers), 900):
            rows += conn.execute(select(*cols).where(c.c.case_no.in_(numbers[i:i + 900]))).mappings().all()
    df = pd.DataFrame(rows, columns=[x.name for x in cols])
    return df.sort_values("case_no", kind="stable").reset_index(drop=True)


# --------------------------------------------------------------------------- plan


def _workflows(profile: Profile) -> dict[str, Workflow]:
    return {w.id: w for w in profile.operations.workflows}


def _main_paths(profile: Profile) -> dict[str, list[Transition]]:
    return {w.id: w.params.main_path() for w in profile.operations.workflows}


def _step_days(wf: Workflow, family: str) -> list[float]:
    """Mean days of each step of the workflow's main path for a case of ``family``."""
    path = wf.params.main_path()
    done_at = next((i for i, t in enumerate(path) if t.to_state == wf.params.done), len(path) - 1)
    out = []
    for i, t in enumerate(path):
        if t.credits:
            out.append(WORKS_DAYS.get(family, DEFAULT_WORKS_DAYS))
        elif i > done_at:
            out.append(CLOSE_DAYS)
        elif any(r != COMMENT for r in t.requires):  # a decision with its document or values
            out.append(APPROVAL_DAYS)
        else:
            out.append(PLAIN_DAYS)
    return out


def plan_actions(cases: pd.DataFrame, profile: Profile, rng: np.random.Generator, end: date) -> pd.DataFrame:
    """What happens to each case: one row per move or comment (case_no, when, action, step, to_state,
    comment), in the order to execute them. Dates are drawn for all cases at once."""
    cols = ["case_no", "when", "action", "step", "to_state", "comment", "rank"]
    n = len(cases)
    if n == 0:
        return pd.DataFrame(columns=cols)
    wfs, main = _workflows(profile), _main_paths(profile)
    paths = [main[w] for w in cases["workflow_id"]]
    length = np.array([len(p) for p in paths])
    m = int(length.max())
    mean = np.full((n, m), np.nan)
    credit_at = np.zeros(n, dtype=int)
    for i, (w, fam) in enumerate(zip(cases["workflow_id"], cases["family"], strict=True)):
        days = _step_days(wfs[w], fam)
        mean[i, : len(days)] = days
        credit_at[i] = next((k for k, t in enumerate(paths[i]) if t.credits), length[i] - 1)
    pace = rng.lognormal(0.0, PACE_SIGMA, n)
    gaps = np.maximum(np.rint(mean * pace[:, None] * rng.gamma(STEP_SHAPE, 1.0 / STEP_SHAPE, (n, m))), MIN_GAP_DAYS)
    opened = pd.to_datetime(cases["opened_at"]).to_numpy().astype("datetime64[D]")
    dates = opened[:, None] + np.nancumsum(np.nan_to_num(gaps, nan=0.0), axis=1).astype("timedelta64[D]")
    idx = np.arange(m)[None, :]
    # a few cases stall at some step; a few are withdrawn before they are credited
    stop = length.copy()
    stalls = rng.random(n) < STALL_SHARE
    stop[stalls] = (rng.random(int(stalls.sum())) * length[stalls]).astype(int)
    withdraws = ~stalls & (rng.random(n) < WITHDRAW_SHARE)
    stop[withdraws] = (rng.random(int(withdraws.sum())) * (credit_at[withdraws] + 1)).astype(int)
    last_day = np.datetime64(end, "D")
    done = (idx < stop[:, None]) & (idx < length[:, None]) & (dates <= last_day)
    n_done = done.sum(axis=1)
    last = np.where(n_done > 0, dates[np.arange(n), np.maximum(n_done - 1, 0)], opened)
    w_gap = np.maximum(np.rint(rng.gamma(STEP_SHAPE, 120.0 / STEP_SHAPE, n)), MIN_GAP_DAYS).astype("timedelta64[D]")
    w_date = last + w_gap
    withdraws &= w_date <= last_day
    # officer comments, somewhere between the opening and the case's last event (or the end)
    commented = rng.random(n) < COMMENT_SHARE
    until = np.where(withdraws, w_date, np.where(n_done < length, last_day, last))
    span = (until - opened).astype(int)
    c_date = opened + np.maximum(1, (rng.uniform(0.2, 0.9, n) * span).astype(int)).astype("timedelta64[D]")
    commented &= (span > 2) & (c_date <= last_day)
    c_text = rng.integers(0, len(OFFICER_COMMENTS), n)
    w_text = rng.integers(0, len(WITHDRAW_REASONS), n)

    rows_i, rows_k = np.nonzero(done)
    numbers = cases["case_no"].to_numpy()
    moves = pd.DataFrame({"case_no": numbers[rows_i], "when": dates[rows_i, rows_k], "action": "move",
                          "step": rows_k, "to_state": [paths[i][k].to_state for i, k in zip(rows_i, rows_k, strict=True)],
                          "comment": None, "rank": rows_k})
    wi = np.nonzero(withdraws)[0]
    withdraw_to = [_withdrawal(wfs[w]).to_state for w in cases["workflow_id"].to_numpy()[wi]]
    out_w = pd.DataFrame({"case_no": numbers[wi], "when": w_date[wi], "action": "withdraw", "step": -1,
                          "to_state": withdraw_to, "comment": [WITHDRAW_REASONS[j] for j in w_text[wi]], "rank": m + 1})
    ci = np.nonzero(commented)[0]
    out_c = pd.DataFrame({"case_no": numbers[ci], "when": c_date[ci], "action": "comment", "step": -1,
                          "to_state": None, "comment": [OFFICER_COMMENTS[j] for j in c_text[ci]], "rank": -1})
    actions = pd.concat([x for x in (moves, out_w, out_c) if len(x)], ignore_index=True)
    actions["when"] = pd.to_datetime(actions["when"]).dt.date
    return actions.sort_values(["when", "case_no", "rank"], kind="stable").reset_index(drop=True)[cols]


def _withdrawal(wf: Workflow) -> Transition:
    """The workflow's ``any → …`` move to a terminal state (撤销)."""
    for t in wf.params.transitions:
        if t.from_state == ANY_STATE and wf.params.state(t.to_state).terminal:
            return t
    raise ValueError(f"workflow {wf.id} has no withdrawal from any state")


# --------------------------------------------------------------------------- values


@dataclass
class _Draws:
    """Per-case random numbers for the values entered along the workflow."""

    area_factor: np.ndarray
    choice: np.ndarray
    grade: np.ndarray
    penalty_rate: np.ndarray


def _draws(rng: np.random.Generator, n: int) -> _Draws:
    return _Draws(rng.uniform(*AREA_FACTOR, n), rng.random(n), rng.standard_normal(n),
                  rng.uniform(*PENALTY_YUAN_PER_M2, n))


def _clip(f: CaseField, v: float) -> float:
    lo = f.minimum if f.minimum is not None else -math.inf
    hi = f.maximum if f.maximum is not None else math.inf
    return min(max(v, lo), hi)


def _is_document_number(f: CaseField) -> bool:
    return f.type == "text" and ("文号" in f.name_zh or "approval" in f.key)


def _value(f: CaseField, case: pd.Series, i: int, draws: _Draws, when: date, doc_no: str | None) -> Any:
    """A plausible value of field ``f`` for case row ``case`` (index ``i`` in the draws)."""
    basis = float(case["construction_mu"] or 0.0) or float(case["area_mu"])
    if f.type in ("number", "integer") and (f.unit == "亩" or f.key.endswith("_mu")):
        return round(_clip(f, basis * draws.area_factor[i]), 2)
    if f.type in ("number", "integer") and f.unit == "万元":
        return round(_clip(f, basis * M2_PER_MU * draws.penalty_rate[i] / 10_000.0), 2)
    if f.type == "integer":
        lo = f.minimum if f.minimum is not None else 1.0
        hi = f.maximum if f.maximum is not None else lo + 10.0
        return int(_clip(f, round((lo + hi) / 2 + draws.grade[i] * (hi - lo) / 8)))
    if f.type == "number":
        lo = f.minimum if f.minimum is not None else 0.0
        hi = f.maximum if f.maximum is not None else lo + 100.0
        return round(lo + draws.area_factor[i] * (hi - lo) / 2, 2)
    if f.type == "choice":
        weights = np.ones(len(f.choices))
        if "水田" in f.choices:  # paddy where the estimate saw paddy, else mostly dry / irrigated land
            paddy = float((case["estimate"] or {}).get("paddy_mu", 0.0)) > 0
            weights[f.choices.index("水田")] = 4.0 * (len(f.choices) - 1) if paddy else 0.15
        cum = np.cumsum(weights / weights.sum())
        return f.choices[min(int(np.searchsorted(cum, draws.choice[i], side="right")), len(f.choices) - 1)]
    if f.type == "date":
        return when.isoformat()
    if _is_document_number(f) and doc_no:
        return doc_no
    return f"{f.name_zh}（{case['case_no']}）"


def _document_numbers(actions: pd.DataFrame, cases: pd.DataFrame, profile: Profile) -> dict[int, str]:
    """Approval numbers like 常自然资规〔2024〕37号, numbered by date within each year."""
    main = _main_paths(profile)
    wf_of = dict(zip(cases["case_no"], cases["workflow_id"], strict=True))
    needs = [i for i, r in actions[actions["action"] == "move"].iterrows()
             if any(_is_document_number(profile.operations.field(k))
                    for k in main[wf_of[r["case_no"]]][r["step"]].requires
                    if k not in (ATTACHMENT, COMMENT))]
    out = {}
    serial: dict[int, int] = {}
    for i in needs:  # actions are in date order
        year = actions.at[i, "when"].year
        serial[year] = serial.get(year, 0) + 1
        out[i] = f"常自然资规〔{year}〕{serial[year]}号"
    return out


# --------------------------------------------------------------------------- execute


def _memo(profile: Profile, case: pd.Series, wf: Workflow, t: Transition, when: date, values: dict[str, Any],
          title: str) -> str:
    names = {s.key: s.name_zh for s in wf.params.states}
    lines = [f"常州市“危污乱散低”用地出清提升 — {title}", f"案件编号：{case['case_no']}（"
             f"{profile.city.district(case['district_code']).name_zh}）",
             f"办理环节：{names.get(t.from_state, t.from_state)} → {names[t.to_state]}（{t.name_zh or t.to_state}）",
             f"日期：{when.year}年{when.month}月{when.day}日"]
    for k, v in values.items():
        f = profile.operations.field(k)
        lines.append(f"{f.name_zh}：{v}{' ' + f.unit if f.unit else ''}")
    lines.append("（示范数据 demo data）")
    return "\n".join(lines) + "\n"


def _attachment_title(profile: Profile, t: Transition) -> str:
    fields = [profile.operations.field(k) for k in t.requires if k not in (ATTACHMENT, COMMENT)]
    if t.credits:
        return "验收意见"
    if any(_is_document_number(f) for f in fields):
        return "批复"
    if any(f.unit == "万元" for f in fields):
        return "罚没款缴纳凭证"
    return f"{t.name_zh or t.to_state}文书"


def _execute(ws: Workspace, profile: Profile, cases: pd.DataFrame, actions: pd.DataFrame, draws: _Draws,
             officers: dict[str, Actor], scratch: Path, out: OperationsSummary, step: Progress) -> None:
    """Run the planned actions in date order through the case services."""
    if actions.empty:
        return
    wfs, main = _workflows(profile), _main_paths(profile)
    pos = {no: i for i, no in enumerate(cases["case_no"])}
    version = dict(zip(cases["case_no"], cases["version"].astype(int), strict=True))
    docs = _document_numbers(actions, cases, profile)
    total = len(actions)
    for n, (i, a) in enumerate(actions.iterrows()):
        no, when = a["case_no"], a["when"]
        case = cases.iloc[pos[no]]
        wf = wfs[case["workflow_id"]]
        officer = officers[case["district_code"]]
        if a["action"] == "comment":
            got = add_comment(ws, profile, officer, no, version[no], a["comment"], when=when)
            out.comments += 1
        elif a["action"] == "withdraw":
            t = _withdrawal(wf)
            actor = officer if officer.role in t.roles else ADMIN
            got = transition(ws, profile, actor, no, t.to_state, version[no], comment=a["comment"], when=when)
            out.withdrawn += 1
        else:
            t = main[wf.id][int(a["step"])]
            values = {k: _value(profile.operations.field(k), case, pos[no], draws, when, docs.get(i))
                      for k in t.requires if k not in (ATTACHMENT, COMMENT)}
            attachment = None
            if ATTACHMENT in t.requires:
                title = _attachment_title(profile, t)
                attachment = scratch / f"{title}.txt"
                attachment.write_text(_memo(profile, case, wf, t, when, values, title), encoding="utf-8")
            comment = f"{t.name_zh or t.to_state}（示范）" if COMMENT in t.requires else None
            actor = officer if officer.role in t.roles else ADMIN
            got = transition(ws, profile, actor, no, t.to_state, version[no], values=values, comment=comment,
                             attachment=attachment, when=when)
            out.moves += 1
        version[no] = int(got["version"])
        if n % 200 == 0:
            step("cases", n, total)
    step("cases", total, total)


# --------------------------------------------------------------------------- ledger


def _floor(v: float, digits: int) -> float:
    q = 10 ** digits
    return math.floor(v * q) / q


def _ledger_operations(ws: Workspace, profile: Profile, rng: np.random.Generator, officers: dict[str, Actor],
                       end: date, out: OperationsSummary) -> None:
    """增减挂钩 transfers from the rural districts to the urban cores and a few spends (占用), each at
    most a share of the balance the source held on its value date (and holds now)."""
    kinds = ledger.quota_kinds(profile)
    codes = set(profile.city.district_codes)
    rural = [d for d in RURAL if d in codes]
    urban = [d for d in URBAN if d in codes]
    farmland = [k for k in kinds if k not in (ledger.LINKAGE, ledger.PLAN)]
    name = {d: profile.city.district(d).name_zh for d in codes}
    plan: list[tuple[str, date, str, str, str | None, str]] = []  # type, date, kind, from, to, reason
    if ledger.LINKAGE in kinds:
        for r, day in enumerate(TRANSFER_ROUNDS):
            for j, src in enumerate(rural):
                dst = urban[(j + r) % len(urban)] if urban else None
                if dst:
                    plan.append(("transfer", day + timedelta(days=7 * j), ledger.LINKAGE, src, dst,
                                 f"增减挂钩节余指标跨区调剂：{name[src]} → {name[dst]}（{day.year}年第{r + 1}批）"))
        for day in LINKAGE_SPENDS:
            for j, d in enumerate(urban):
                plan.append(("spend", day + timedelta(days=5 * j), ledger.LINKAGE, d, None,
                             f"{name[d]}{day.year}年度新增建设用地项目使用增减挂钩节余指标"))
    for j, d in enumerate(sorted(codes)):
        for k in farmland:
            plan.append(("spend", FARMLAND_SPEND + timedelta(days=3 * j), k, d, None,
                         f"{name[d]}省市重点项目占用耕地，落实耕地占补平衡（{kinds[k].name_zh}）"))
        if ledger.PLAN in kinds:
            plan.append(("spend", PLAN_SPEND + timedelta(days=3 * j), ledger.PLAN, d, None,
                         f"{name[d]}{PLAN_SPEND.year}年度土地供应使用增存挂钩新增建设用地计划指标"))
    plan = [p for p in plan if p[1] <= end]
    plan.sort(key=lambda p: p[1])
    shares = rng.uniform(0.0, 1.0, len(plan))
    prices = np.round(rng.uniform(*PRICE_YUAN_PER_MU, len(plan)), -4)
    with ws.engine.connect() as conn:
        hist = ledger.history(conn, profile)[["kind", "from_owner", "to_owner", "amount", "value_date"]]
    hist["value_date"] = pd.to_datetime(hist["value_date"]).dt.date
    serial: dict[tuple[str, int], int] = {}
    for (typ, day, kind, src, dst, reason), u, price in zip(plan, shares, prices, strict=True):
        key = ("T" if typ == "transfer" else "S", day.year)
        serial[key] = serial.get(key, 0) + 1
        tid = f"demo-{key[0]}-{day.year}-{serial[key]:03d}"
        lo, hi = TRANSFER_SHARE if typ == "transfer" else SPEND_SHARE
        k_of = hist["kind"] == kind
        as_of = hist["value_date"] <= day
        held = float(hist.loc[k_of & as_of & (hist["to_owner"] == src), "amount"].sum()
                     - hist.loc[k_of & as_of & (hist["from_owner"] == src), "amount"].sum())
        now = float(hist.loc[k_of & (hist["to_owner"] == src), "amount"].sum()
                    - hist.loc[k_of & (hist["from_owner"] == src), "amount"].sum())
        amount = _floor((lo + u * (hi - lo)) * min(held, now), 0 if kinds[kind].unit == "kg" else 2)
        if amount < (100.0 if kinds[kind].unit == "kg" else 1.0):
            continue
        with ws.engine.begin() as conn:
            if ledger.find(conn, tid) is not None:  # posted by an earlier run of the demo
                continue
            if typ == "transfer":
                ledger.transfer(conn, transfer_id=tid, kind=kind, from_owner=src, to_owner=dst or "",
                                amount=amount, price_yuan_per_mu=float(price), reason=reason, actor=ADMIN,
                                profile=profile, value_date=day)
                out.transfers += 1
            else:
                ledger.spend(conn, transfer_id=tid, kind=kind, from_owner=src, amount=amount, reason=reason,
                             actor=officers[src], profile=profile, value_date=day)
                out.spends += 1
        hist.loc[len(hist)] = [kind, src, dst or ledger.CONSUMED, amount, day]


# --------------------------------------------------------------------------- tables


def cases_by_state(ws: Workspace, profile: Profile, numbers: set[str] | None = None) -> pd.DataFrame:
    """Cases (and their area) per workflow and state, in workflow order."""
    c = ClearanceCase.__table__
    with ws.engine.connect() as conn:
        df = pd.DataFrame(conn.execute(select(c.c.case_no, c.c.workflow_id, c.c.state, c.c.area_mu)).all(),
                          columns=["case_no", "workflow_id", "state", "area_mu"])
    if numbers is not None:
        df = df[df["case_no"].isin(numbers)]
    rows = []
    for wf in profile.operations.workflows:
        mine = df[df["workflow_id"] == wf.id]
        for s in wf.params.states:
            hit = mine[mine["state"] == s.key]
            if len(hit):
                rows.append((wf.description_zh.split("：")[0] if wf.description_zh else wf.id, s.name_zh,
                             len(hit), float(hit["area_mu"].sum())))
    return pd.DataFrame(rows, columns=["流程 workflow", "环节 state", "案件 cases", "面积（亩）area"])


def balance_table(ws: Workspace, profile: Profile) -> pd.DataFrame:
    """Ledger balances of the districts and the city pool, one column per quota kind (with unit)."""
    with ws.engine.connect() as conn:
        bal = ledger.balances(conn, profile)
    bal = bal[~bal["owner"].isin(ledger.SYSTEM_OWNERS)]
    if bal.empty:
        return pd.DataFrame()
    bal = bal.assign(col=bal["kind_name"] + "（" + bal["unit"] + "）")
    order = list(dict.fromkeys(bal["owner_name"]))
    wide = bal.pivot_table(index="owner_name", columns="col", values="balance", aggfunc="sum", sort=False)
    wide = wide.reindex(order)[list(dict.fromkeys(bal["col"]))].fillna(0.0)
    return wide.reset_index().rename(columns={"owner_name": "账户 account"})
