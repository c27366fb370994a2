"""The city's targets (``targets.goals``), measured from data — cases, the quota ledger, the latest
analysis run, land-supply records and yearly statistics — never typed in.

Each goal names a metric; :data:`METRICS` computes it for the city and per district, with a
projection to the goal's deadline from the trend:

* cumulative results of cases (space vacated, land redeveloped, 批而未供 revitalised): the area of
  cases that reached their workflow's ``done`` state (the area entered at the crediting move,
  else the case area), projected at the pace of the last 365 days;
* ratios by year (stock share of supply, land per GDP, development intensity): the latest year,
  projected by a straight line through the years so far;
* counts (open illegal-land parcels, new enforcement cases) and the farmland balance from the
  ledger (quantity quota credited ÷ quantity spent on occupation).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import date

import numpy as np
import pandas as pd
from sqlalchemy import Engine, func, select

from landrenew.policy import Profile
from landrenew.policy.schema import Target
from landrenew.store.models import (
    AnalysisRun,
    ClearanceCase,
    DistrictYear,
    Evidence,
    LandSupply,
    QuotaAccount,
    QuotaTransfer,
    RunTagHit,
)

CITY = "city"
#: a year of pace, for projections from recent events
YEAR_DAYS = 365.0


@dataclass
class Facts:
    """What the targets are measured from, read once."""

    as_of: date
    cases: pd.DataFrame  # one row per case, with done_date and achieved_mu
    transfers: pd.DataFrame  # kind, from_owner, to_owner, amount, value_date
    supply: pd.DataFrame
    stats: pd.DataFrame
    illegal_parcels: pd.DataFrame  # parcel_key, district_code of the latest run's illegal-land hits
    enforcement: pd.DataFrame  # district_code, event_date of the enforcement list
    #: yearly series per (goal, scope), which do not depend on ``as_of`` (shared by ``replace``)
    memo: dict = field(default_factory=dict)


@dataclass
class Measure:
    """A metric for the city and per district, its projection, and what it was measured from."""

    city: float | None
    districts: dict[str, float | None]
    projected_city: float | None
    projected: dict[str, float | None]
    basis_zh: str
    basis_en: str


# --------------------------------------------------------------------------- reading


def read_facts(engine: Engine, profile: Profile, as_of: date | None = None) -> Facts:
    """Read cases, transfers, supply, statistics, the latest run's illegal land and enforcement."""
    as_of = as_of or date.today()
    done = {w.id: w.params.done for w in profile.operations.workflows}
    credit_field = {w.id: next((t.credits for t in w.params.transitions if t.credits), None)
                    for w in profile.operations.workflows}
    c = ClearanceCase.__table__
    with engine.connect() as conn:
        cases = pd.DataFrame(conn.execute(select(c.c.case_no, c.c.district_code, c.c.family, c.c.path, c.c.rule_id,
                                                 c.c.workflow_id, c.c.state, c.c.area_mu, c.c.data,
                                                 c.c.milestones, c.c.parcel_keys)).mappings().all())
        a_from, a_to = QuotaAccount.__table__.alias("f"), QuotaAccount.__table__.alias("t")
        t = QuotaTransfer.__table__
        transfers = pd.DataFrame(conn.execute(
            select(t.c.kind, a_from.c.owner.label("from_owner"), a_to.c.owner.label("to_owner"), t.c.amount,
                   t.c.value_date).join(a_from, a_from.c.id == t.c.debit_account_id)
            .join(a_to, a_to.c.id == t.c.credit_account_id)).mappings().all(),
            columns=["kind", "from_owner", "to_owner", "amount", "value_date"])
        supply = pd.DataFrame(conn.execute(select(LandSupply.__table__)).mappings().all(),
                              columns=[x.name for x in LandSupply.__table__.columns])
        stats = pd.DataFrame(conn.execute(select(DistrictYear.__table__)).mappings().all(),
                             columns=[x.name for x in DistrictYear.__table__.columns])
        run = conn.execute(select(func.max(AnalysisRun.id)).where(AnalysisRun.status == "done")).scalar()
        h = RunTagHit.__table__
        illegal_rules = [r.id for _, r in profile.tag_rules() if r.kind == "record_match"
                         and getattr(r.params, "source", None) == "enforcement"]
        illegal = pd.DataFrame(conn.execute(select(h.c.parcel_key).distinct().where(
            h.c.run_id == run, h.c.rule_id.in_(illegal_rules))).all(), columns=["parcel_key"]) if run else \
            pd.DataFrame(columns=["parcel_key"])
        e = Evidence.__table__
        enforcement = pd.DataFrame(conn.execute(select(e.c.district_code, e.c.event_date, e.c.parcel_code)
                                                .where(e.c.kind == "enforcement")).all(),
                                   columns=["district_code", "event_date", "parcel_code"])
    illegal["district_code"] = illegal["parcel_key"].astype(str).str[:6]
    if len(cases):
        cases["done_date"] = [pd.Timestamp(m[done[w]]) if done.get(w) in m else pd.NaT
                              for m, w in zip(cases["milestones"], cases["workflow_id"], strict=True)]
        cases.loc[cases["state"] == "withdrawn", "done_date"] = pd.NaT
        cases["achieved_mu"] = [float(d.get(credit_field.get(w) or "", a) or a)
                                for d, w, a in zip(cases["data"], cases["workflow_id"], cases["area_mu"], strict=True)]
    else:
        cases = pd.DataFrame(columns=["case_no", "district_code", "family", "path", "rule_id", "state",
                                      "area_mu", "done_date", "achieved_mu", "parcel_keys"])
    return Facts(as_of, cases, transfers, supply, stats, illegal, enforcement)


# --------------------------------------------------------------------------- metrics


def _districts(profile: Profile) -> list[str]:
    return list(profile.city.district_codes)


def _cumulative(f: Facts, profile: Profile, goal: Target, mask: pd.Series, zh: str, en: str) -> Measure:
    """Area achieved by the cases in ``mask`` that reached their done state by ``as_of``."""
    cases = f.cases[mask & f.cases["done_date"].notna()]
    cases = cases[cases["done_date"] <= pd.Timestamp(f.as_of)]
    recent = cases[cases["done_date"] > pd.Timestamp(f.as_of) - pd.Timedelta(days=YEAR_DAYS)]
    years_left = max((goal.deadline - f.as_of).days, 0) / YEAR_DAYS
    by = cases.groupby("district_code")["achieved_mu"].sum()
    pace = recent.groupby("district_code")["achieved_mu"].sum()
    dist = {d: float(by.get(d, 0.0)) for d in _districts(profile)}
    proj = {d: dist[d] + float(pace.get(d, 0.0)) * years_left for d in dist}
    return Measure(float(by.sum()), dist, float(by.sum()) + float(pace.sum()) * years_left, proj,
                   f"{zh}：已完成（达到流程完成环节）案件的面积；预测按近12个月进度外推",
                   f"{en}: area of cases that reached their workflow's done state; projected at the last 12 months' pace")


def _vacated(f: Facts, profile: Profile, goal: Target) -> Measure:
    vacating = {r.id for r in profile.disposal.rules if r.params.vacates}
    return _cumulative(f, profile, goal, f.cases["rule_id"].isin(vacating), "腾退", "vacated")


def _family(family: str, zh: str, en: str) -> Callable[[Facts, Profile, Target], Measure]:
    def metric(f: Facts, profile: Profile, goal: Target) -> Measure:
        return _cumulative(f, profile, goal, f.cases["family"] == family, zh, en)
    return metric


def _yearly(f: Facts, profile: Profile, goal: Target, table: pd.DataFrame, value: Callable[[pd.DataFrame], float | None],
            zh: str, en: str) -> Measure:
    """A ratio per year (``value`` of a year's rows), latest year up to ``as_of``; straight-line projection."""
    def series(rows: pd.DataFrame, scope: str) -> pd.Series:
        key = (goal.id, scope)
        if key not in f.memo:
            values = {int(y): value(g) for y, g in rows.groupby("year")} if len(rows) else {}
            f.memo[key] = pd.Series({y: v for y, v in values.items() if v is not None and not pd.isna(v)}, dtype=float).sort_index()
        out = f.memo[key]
        return out[out.index <= f.as_of.year]

    def latest_and_projected(s: pd.Series) -> tuple[float | None, float | None]:
        if s.empty:
            return None, None
        if len(s) < 2:
            return float(s.iloc[-1]), float(s.iloc[-1])
        slope, icpt = np.polyfit(s.index.to_numpy(dtype=float), s.to_numpy(), 1)
        return float(s.iloc[-1]), float(slope * goal.deadline.year + icpt)

    city, city_p = latest_and_projected(series(table, CITY))
    dist, proj = {}, {}
    for d in _districts(profile):
        dist[d], proj[d] = latest_and_projected(series(table[table["district_code"] == d], d))
    return Measure(city, dist, city_p, proj, zh, en)


def _stock_share(f: Facts, profile: Profile, goal: Target) -> Measure:
    s = f.supply.assign(year=pd.to_datetime(f.supply["supply_date"]).dt.year)

    def share(rows: pd.DataFrame) -> float | None:
        total = rows["area_mu"].sum()
        return rows.loc[rows["land_source"] == "stock", "area_mu"].sum() / total if total > 0 else None
    return _yearly(f, profile, goal, s, share, "土地供应记录：当年存量供地面积 ÷ 供地总面积；按历年趋势线性外推",
                   "land-supply records: stock land supplied ÷ all land supplied in the year; straight-line trend")


def _land_per_gdp_decline(f: Facts, profile: Profile, goal: Target) -> Measure:
    base_year = goal.params.base_year
    st = f.stats.copy()
    st["per_gdp"] = st["construction_land_mu"] / st["gdp_yi"]

    def decline(rows: pd.DataFrame, all_rows: pd.DataFrame) -> float | None:
        base = all_rows[all_rows["year"] == base_year]
        b = base["construction_land_mu"].sum() / base["gdp_yi"].sum() if len(base) and base["gdp_yi"].sum() > 0 else None
        now = rows["construction_land_mu"].sum() / rows["gdp_yi"].sum() if rows["gdp_yi"].sum() > 0 else None
        return 1.0 - now / b if b and now is not None else None

    def by(rows: pd.DataFrame) -> float | None:
        scope = st[st["district_code"].isin(rows["district_code"].unique())]
        return decline(rows, scope)
    return _yearly(f, profile, goal, st, by, f"分区统计：单位GDP建设用地（亩/亿元）较 {base_year} 年的下降率",
                   f"district statistics: decline of construction land per GDP (mu per 100 M yuan) since {base_year}")


def _intensity(f: Facts, profile: Profile, goal: Target) -> Measure:
    def ratio(rows: pd.DataFrame) -> float | None:
        total = rows["total_area_mu"].sum()
        return rows["construction_land_mu"].sum() / total if total > 0 else None
    return _yearly(f, profile, goal, f.stats, ratio, "分区统计：建设用地面积 ÷ 国土总面积",
                   "district statistics: construction land ÷ total land area")


def _cultivated_change(f: Facts, profile: Profile, goal: Target) -> Measure:
    base_year, st = goal.params.base_year, f.stats

    def change(rows: pd.DataFrame) -> float | None:
        base = st[(st["year"] == base_year) & st["district_code"].isin(rows["district_code"].unique())]
        return rows["cultivated_land_mu"].sum() - base["cultivated_land_mu"].sum() if len(base) else None
    return _yearly(f, profile, goal, st, change, f"分区统计：耕地面积较 {base_year} 年的变化（亩）",
                   f"district statistics: change of cultivated land since {base_year} (mu)")


def _open_illegal(f: Facts, profile: Profile, goal: Target) -> Measure:
    done = f.cases[f.cases["done_date"].notna() & (f.cases["done_date"] <= pd.Timestamp(f.as_of))]
    recent = done["done_date"] > pd.Timestamp(f.as_of) - pd.Timedelta(days=YEAR_DAYS)
    flagged = f.illegal_parcels

    def solved(cases: pd.DataFrame) -> pd.Series:
        keys = set(";".join(cases["parcel_keys"].astype(str)).split(";")) if len(cases) else set()
        return flagged["parcel_key"].isin(keys)

    left, pace = flagged[~solved(done)], flagged[solved(done[recent])]
    years_left = max((goal.deadline - f.as_of).days, 0) / YEAR_DAYS
    by, rate = left.groupby("district_code").size(), pace.groupby("district_code").size()
    dist = {d: float(by.get(d, 0)) for d in _districts(profile)}
    proj = {d: max(0.0, dist[d] - float(rate.get(d, 0)) * years_left) for d in dist}
    return Measure(float(len(left)), dist, max(0.0, len(left) - len(pace) * years_left), proj,
                   "最新分析批次中标注为违法用地、且不在任何已完成处置案件内的宗地数；预测按近12个月处置进度",
                   "parcels flagged as illegal land in the latest run and in no case done yet; projected at the "
                   "last 12 months' pace")


def _new_illegal(f: Facts, profile: Profile, goal: Target) -> Measure:
    e = f.enforcement.dropna(subset=["event_date"])
    when = pd.to_datetime(e["event_date"])
    year = e[(when.dt.year == f.as_of.year) & (when <= pd.Timestamp(f.as_of))]
    elapsed = max((f.as_of - date(f.as_of.year, 1, 1)).days + 1, 1)
    scale = YEAR_DAYS / elapsed
    by = year.groupby("district_code").size()
    dist = {d: float(by.get(d, 0)) for d in _districts(profile)}
    return Measure(float(len(year)), dist, float(len(year)) * scale, {d: v * scale for d, v in dist.items()},
                   f"违法用地案件清单中 {f.as_of.year} 年发现的案件数；预测按全年折算",
                   f"enforcement cases detected in {f.as_of.year}; projected to the full year")


def _farmland_balance(f: Facts, profile: Profile, goal: Target) -> Measure:
    t = f.transfers
    q = t[(t["kind"] == "quantity") & (pd.to_datetime(t["value_date"]) <= pd.Timestamp(f.as_of))]
    credited = q[q["from_owner"] == "issued"].groupby("to_owner")["amount"].sum()
    spent = q[q["to_owner"] == "consumed"].groupby("from_owner")["amount"].sum()

    def ratio(c: float, s: float) -> float | None:
        return c / s if s > 0 else None
    dist = {d: ratio(float(credited.get(d, 0.0)), float(spent.get(d, 0.0))) for d in _districts(profile)}
    city = ratio(float(credited.sum()), float(spent.sum()))
    return Measure(city, dist, city, dist,
                   "指标台账：补充耕地数量指标入账 ÷ 占用（空表示尚无占用）",
                   "quota ledger: cultivated-land quantity credited ÷ spent on occupation (blank: nothing occupied yet)")


METRICS: dict[str, Callable[[Facts, Profile, Target], Measure]] = {
    "vacated_space_mu": _vacated,
    "inefficient_redeveloped_mu": _family("upgrade", "低效用地再开发", "redeveloped"),
    "unsupplied_revitalised_mu": _family("unsupplied", "批而未供处置", "approved-but-unsupplied land disposed"),
    "stock_supply_share": _stock_share,
    "land_per_gdp_decline": _land_per_gdp_decline,
    "illegal_land_open_cases": _open_illegal,
    "illegal_land_new_cases": _new_illegal,
    "farmland_quota_completion": _farmland_balance,
    "cultivated_land_change_mu": _cultivated_change,
    "development_intensity": _intensity,
}


# --------------------------------------------------------------------------- table


_OPS = {">=": np.greater_equal, ">": np.greater, "<=": np.less_equal, "<": np.less, "==": np.equal}


def _met(value: float | None, comparator: str, target: float) -> bool | None:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return None
    return bool(_OPS[comparator](round(value, 9), target))


def quarter_ends(profile: Profile, end: date, start: date | None = None) -> list[date]:
    """The quarter ends from ``start`` (default: the start of the policy's year, ``source.date``) to
    ``end``; ``[end]`` when there is none — the dates a target trend is shown at."""
    start = start or date(int(str(profile.source.date)[:4]), 1, 1)
    return [d.date() for d in pd.date_range(start, end, freq="QE")] or [end]


def target_trend(engine: Engine, profile: Profile, dates: list[date]) -> pd.DataFrame:
    """The city's value of every goal at each of ``dates`` (facts read once): date, target_id, value."""
    facts = read_facts(engine, profile, max(dates))
    rows = []
    for d in sorted(dates):
        f = replace(facts, as_of=d)
        for goal in profile.targets.goals:
            fn = METRICS.get(goal.params.metric)
            if fn is not None:
                rows.append({"date": d, "target_id": goal.id, "value": fn(f, profile, goal).city})
    return pd.DataFrame(rows, columns=["date", "target_id", "value"])


def target_table(engine: Engine, profile: Profile, as_of: date | None = None,
                 districts: set[str] | None = None) -> pd.DataFrame:
    """One row per goal and scope (the city, then each district): value, target, progress toward a
    ``>=`` goal, whether it is met, the projection at the deadline and whether that meets it."""
    facts = read_facts(engine, profile, as_of)
    rows = []
    for goal in profile.targets.goals:
        fn = METRICS.get(goal.params.metric)
        if fn is None:
            continue
        m = fn(facts, profile, goal)
        p = goal.params
        scopes = [(CITY, m.city, m.projected_city)] if districts is None else []
        scopes += [(d, m.districts.get(d), m.projected.get(d)) for d in profile.city.district_codes
                   if districts is None or d in districts]
        for scope, value, projected in scopes:
            progress = (value / p.value if scope == CITY and p.comparator in (">=", ">") and p.value > 0
                        and value is not None else None)
            rows.append({
                "target_id": goal.id, "metric": p.metric, "name_zh": goal.name_zh, "name_en": goal.name_en,
                "clause": goal.clause, "scope": scope, "value": value, "comparator": p.comparator,
                "target": p.value, "unit": p.unit, "deadline": goal.deadline, "progress": progress,
                "met": _met(value, p.comparator, p.value) if scope == CITY else None,
                "projected": projected, "on_track": _met(projected, p.comparator, p.value) if scope == CITY else None,
                "basis_zh": m.basis_zh, "basis_en": m.basis_en, "as_of": facts.as_of,
            })
    return pd.DataFrame(rows)
