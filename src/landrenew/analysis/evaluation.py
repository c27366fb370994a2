"""Step 2 of the analysis: the 亩均效益 evaluation ("6+x", 常政办发〔2018〕28号).

Pure and vectorised: no I/O, no Python loop over firms (only over the handful of indicators,
groups and rule items of the profile). Every number — weights, cap, cut-offs, benchmark
multiple and year offset, scopes, veto / not-rated tests, minimum land per group, bonus and
penalty points — comes from ``profile.evaluation``.

How a firm of the evaluation year is scored:

1. **Not rated (T).** The profile's ``not_rated`` tests (utilities, < 2 years in production)
   and each group's ``min_land_mu`` (规下 < 3 亩) put a firm in the not-rated class, first hit
   in profile order. A missing value never satisfies a test (``years_in_production`` unknown
   → rated; ``land_area_mu`` unknown → not below the minimum). T firms keep their raw
   ``value_*`` and ``benchmark_*`` for information but get no score, rank or adjustment, and
   take no part in benchmark or group means. Not-rated takes precedence over veto.
2. **Indicator values.** ``value_k = numerator ÷ denominator × numerator_scale``. A missing
   numerator or denominator, or a denominator ≤ 0 (zero land, zero energy, no employees…),
   makes the value *undefined*; it is then handled by the profile's ``missing`` rule:
   ``group_mean`` (mean of the rated firms of the same scope with a defined value, this
   year), ``previous_group_mean`` (the same mean in the previous year; this year's where the
   previous year has none), ``zero``, or ``exclude_indicator`` (the firm is scored on its
   other indicators, their weights scaled up to the group's total). ``filled_k`` flags such
   values (a group where no rated firm has a value leaves it missing; it then scores 0).
   With this year's mean, raising one firm's taxes lifts the values filled for its peers and
   can cost it rank; the previous year's mean does not move with this year's data, so more
   tax never lowers a firm's class wherever the previous year has a mean.
3. **Benchmarks.** ``benchmark_k = multiple × mean`` of the rated firms' defined values in the
   same scope (``benchmark.scope``, district and group) in year ``year + year_offset``.
   Fallback when that year has no rated firm with a value for the indicator in the scope
   (e.g. the previous year was never loaded): ``current_mean`` = the same multiple of this
   year's mean in the scope, or ``error``. ``benchmark_basis_k`` records per firm which one
   was used (``previous_year`` / ``current_year`` / ``none``).
4. **Scores.** ``score_k = clip(value_k ÷ benchmark_k, 0, cap_ratio) × weight`` of the
   firm's group (a group without its own weight set uses the indicators' weights; an
   indicator absent from a group's set weighs 0). A zero benchmark gives the cap to a
   positive value and 0 to a zero value; an unknown benchmark or value gives 0. Scores are
   therefore always finite for rated firms. ``score = Σ score_k + adjustment_points``; the
   "x" items (bonus / penalty) are tested on the firm's columns; an item whose column is
   absent from the data is skipped and listed in ``attrs["skipped_rules"]``.
5. **Rank and class.** Rated firms (veto firms included: their score is real) are ranked by
   score within ``classes.rank_within`` (district, group), 1 = best, ties share the best
   rank (``min``). ``rank_fraction = rank ÷ rated firms in the group``; the class is the first
   whose cumulative cut-off is ≥ the fraction. Veto items then force their class (D), first
   hit in profile order. ``class_rule`` names the rule that decided the class.

Note a consequence of rank ÷ size: in a group of one the only firm has fraction 1 (worst
class); in a group of two the best has 0.5.

:func:`parcel_classes` gives each parcel the class of the firm holding most of it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

import numpy as np
import pandas as pd

from landrenew.policy.schema import Evaluation, FieldTest, Group, Profile

BenchmarkFallback = Literal["current_mean", "error"]

#: columns every firm-year row must carry
ID_COLUMNS = ("uscc", "name", "district_code", "group", "year")
#: numeric tolerance when comparing a rank fraction with a cut-off (not a policy value)
_TOL = 1e-9
_PREVIOUS, _CURRENT, _NONE = "previous_year", "current_year", "none"


# --------------------------------------------------------------------------- helpers


def _numeric(frame: pd.DataFrame, column: str) -> np.ndarray:
    """A column as float64 (missing, unparsable and infinite → NaN); all NaN when absent."""
    if column not in frame.columns:
        return np.full(len(frame), np.nan)
    out = pd.to_numeric(frame[column], errors="coerce").to_numpy(dtype=float, na_value=np.nan, copy=True)
    out[~np.isfinite(out)] = np.nan
    return out


def _field_test(frame: pd.DataFrame, test: FieldTest) -> np.ndarray:
    """Rows where ``test`` holds; a missing value never satisfies it."""
    col = frame[test.field]
    if test.op in ("is_true", "is_false"):
        want = test.op == "is_true"
        return col.eq(want).fillna(False).to_numpy(dtype=bool)
    x = _numeric(frame, test.field)
    v = float(test.value)  # type: ignore[arg-type]  # validated: comparisons carry a value
    with np.errstate(invalid="ignore"):
        out = {">=": x >= v, ">": x > v, "<=": x <= v, "<": x < v, "==": x == v}[test.op]
    return out & ~np.isnan(x)


def _num_text(x: pd.Series) -> pd.Series:
    """Numbers as short text (``1.5``, ``2``), vectorised; missing → ``?``."""
    return x.map(lambda v: "?" if pd.isna(v) else f"{v:g}")


def _test_text(frame: pd.DataFrame, test: FieldTest) -> tuple[pd.Series, pd.Series]:
    """The condition a test checked, with each row's value, in Chinese and English (0-based index)."""
    idx = pd.RangeIndex(len(frame))
    if test.op in ("is_true", "is_false"):
        word_zh, word_en = ("为真", "is true") if test.op == "is_true" else ("为假", "is false")
        return (pd.Series(f"{test.field} {word_zh}", index=idx, dtype=object),
                pd.Series(f"{test.field} {word_en}", index=idx, dtype=object))
    text = (f"{test.field} = " + _num_text(frame[test.field]) + f" {test.op} {test.value:g}").set_axis(idx)
    return text, text


def _pct_text(fraction: np.ndarray) -> pd.Series:
    """Percentages with at most one decimal (``15``, ``20.5``), vectorised."""
    tenths = np.rint(fraction * 1000).astype(np.int64)
    whole = pd.Series(tenths // 10).astype(str)
    dec = pd.Series(tenths % 10)
    return whole + np.where(dec > 0, "." + dec.astype(str), "")


def _class_ranges(cutoffs: dict[str, float]) -> tuple[dict[str, str], dict[str, str]]:
    """Rank range of each class as text, e.g. ``≤ 20% 为 A``, ``20%–60% 为 B``, ``> 95% 为 D``."""
    zh: dict[str, str] = {}
    en: dict[str, str] = {}
    items = list(cutoffs.items())
    lower = 0.0
    for i, (cls, upper) in enumerate(items):
        lo, up = f"{lower * 100:g}%", f"{upper * 100:g}%"
        if i == 0:
            rng = f"≤ {up}"
        elif i == len(items) - 1:
            rng = f"> {lo}"
        else:
            rng = f"{lo}–{up}"
        zh[cls], en[cls] = f"{rng} 为 {cls}", f"{rng} is {cls}"
        lower = upper
    return zh, en


def _keys(frame: pd.DataFrame, columns: Sequence[str], what: str) -> list[pd.Series]:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValueError(f"{what} scope column(s) {missing} not in the firm data")
    return [frame[c] for c in columns]


def _scope_mean(frame: pd.DataFrame, values: pd.DataFrame, scope: Sequence[str], what: str) -> pd.DataFrame:
    """Per row, the mean of ``values`` (NaN skipped) over rows of the same scope."""
    return values.groupby(_keys(frame, scope, what), dropna=False, sort=False).transform("mean")


def _groups(frame: pd.DataFrame, ev: Evaluation) -> tuple[np.ndarray, list[Group]]:
    """Per row, the index of its profile group (matched on column value or key), and the groups."""
    codes, uniques = pd.factorize(frame["group"], use_na_sentinel=False)
    found: list[Group] = []
    unknown = []
    for v in uniques:
        try:
            found.append(ev.group(str(v)))
        except KeyError:
            unknown.append(v)
    if unknown:
        known = [g.params.column_value for g in ev.groups]
        raise ValueError(f"unknown firm group(s) {unknown!r}; the profile's groups are {known}")
    return codes, found


def _not_rated(frame: pd.DataFrame, ev: Evaluation, groups: tuple[np.ndarray, list[Group]], *, reasons: bool,
               skipped: list[dict[str, str]] | None = None) -> tuple[np.ndarray, ...]:
    """Rated mask, and for not-rated rows the deciding rule id and reasons (first hit wins)."""
    n = len(frame)
    t = ev.classes.params.not_rated
    hit = np.zeros(n, dtype=bool)
    rule = np.full(n, None, dtype=object)
    zh = np.full(n, None, dtype=object)
    en = np.full(n, None, dtype=object)
    for r in ev.not_rated:
        if r.params.test.field not in frame.columns:
            if skipped is not None:
                skipped.append(_skip(r.id, r.params.test.field, "not-rated test", "不参评判定"))
            continue
        new = _field_test(frame, r.params.test) & ~hit
        if not new.any():
            continue
        hit |= new
        rule[new] = r.id
        if reasons:
            czh, cen = _test_text(frame.loc[new], r.params.test)
            zh[new] = (czh + f" → {t}：{r.description_zh}").to_numpy(dtype=object)
            en[new] = (cen + f" → {t}: {r.description_en}").to_numpy(dtype=object)
    land = _numeric(frame, "land_area_mu")
    codes, found = groups
    for gi, g in enumerate(found):
        with np.errstate(invalid="ignore"):
            new = (codes == gi) & (land < g.params.min_land_mu) & ~hit
        if not new.any():
            continue
        hit |= new
        rule[new] = g.id
        if reasons:
            lt = _num_text(pd.Series(land[new]))
            m = f"{g.params.min_land_mu:g}"
            zh[new] = (f"{g.name_zh}用地 " + lt + f" 亩 < {m} 亩 → {t}：{g.description_zh}").to_numpy(dtype=object)
            en[new] = (f"{g.name_en} with " + lt + f" mu of land < {m} mu → {t}: {g.description_en}").to_numpy(dtype=object)
    return ~hit, rule, zh, en


def _skip(rule_id: str, field: str, what_en: str, what_zh: str) -> dict[str, str]:
    return {
        "rule": rule_id,
        "field": field,
        "en": f"{what_en} {rule_id} skipped: column {field!r} is not in the firm data",
        "zh": f"{what_zh} {rule_id} 未执行：企业数据中没有 {field!r} 列",
    }


def _raw_values(frame: pd.DataFrame, ev: Evaluation) -> pd.DataFrame:
    """Indicator values (NaN where undefined: missing part or denominator ≤ 0)."""
    out = {}
    for ind in ev.indicators:
        p = ind.params
        if not p.higher_is_better:
            raise NotImplementedError(
                f"indicator {ind.id}: higher_is_better: false is not supported by the evaluation yet"
            )
        num = _numeric(frame, p.numerator)
        den = _numeric(frame, p.denominator)
        ok = ~np.isnan(num) & (den > 0)  # NaN > 0 is False
        v = np.full(len(frame), np.nan)
        np.divide(num, den, out=v, where=ok)
        out[ind.key] = v * p.numerator_scale
    return pd.DataFrame(out, index=frame.index)


def _output_columns(ev: Evaluation) -> list[str]:
    cols = [*ID_COLUMNS, "land_area_mu"]
    for k in (i.key for i in ev.indicators):
        cols += [f"value_{k}", f"filled_{k}", f"benchmark_{k}", f"benchmark_basis_{k}", f"score_{k}"]
    return cols + ["adjustment_points", "adjustment_rules", "score", "rank", "rank_fraction", "class",
                   "class_rule", "class_reason_zh", "class_reason_en"]


# --------------------------------------------------------------------------- evaluate


def evaluate(firms: pd.DataFrame, profile: Profile, year: int | None = None, *,
             benchmark_fallback: BenchmarkFallback | None = None) -> pd.DataFrame:
    """Score, rank and classify every firm of ``year`` (default: the latest year in ``firms``).

    ``firms`` holds one row per firm per year with the canonical columns of the intake
    ``firms`` kind; rows of ``year + benchmark.year_offset`` provide the benchmarks.
    ``benchmark_fallback`` says what to do where that year has no data for a scope
    (``current_mean``, the default, or ``error``); a ``fallback`` key under
    ``evaluation.benchmark.params`` in the profile, once the schema has it, is used when the
    argument is not given.

    Returns one row per firm of ``year``: ``uscc, name, district_code, group, year,
    land_area_mu``; per indicator key ``k``: ``value_k, filled_k, benchmark_k,
    benchmark_basis_k, score_k``; then ``adjustment_points, adjustment_rules`` (``;``-joined
    rule ids), ``score, rank`` (Int64, 1 = best within district and group), ``rank_fraction,
    class, class_rule, class_reason_zh, class_reason_en``. Score, score_k, rank and
    rank_fraction are missing exactly for not-rated (T) firms. ``attrs`` holds ``year``,
    ``benchmark_year``, ``skipped_rules`` (items whose column is absent) and ``notes``
    (fallbacks used), each note a dict with ``en`` and ``zh``.
    """
    ev = profile.evaluation
    missing_cols = [c for c in ID_COLUMNS if c not in firms.columns]
    if missing_cols:
        raise ValueError(f"firm data lacks column(s) {missing_cols}")
    bm = ev.benchmark.params
    fallback = benchmark_fallback or getattr(bm, "fallback", None) or "current_mean"
    if fallback not in ("current_mean", "error"):
        raise ValueError(f"unknown benchmark fallback {fallback!r} (current_mean, error)")
    years = pd.to_numeric(firms["year"], errors="coerce")
    if year is None:
        if years.notna().sum() == 0:
            return pd.DataFrame(columns=_output_columns(ev))
        year = int(years.max())
    year = int(year)
    bench_year = year + bm.year_offset
    cur = firms.loc[(years == year).to_numpy()].reset_index(drop=True)
    prev = firms.loc[(years == bench_year).to_numpy()].reset_index(drop=True)
    skipped: list[dict[str, str]] = []
    notes: list[dict[str, str]] = []
    if cur.empty:
        out = pd.DataFrame(columns=_output_columns(ev))
        out.attrs.update(year=year, benchmark_year=bench_year, skipped_rules=skipped, notes=notes)
        return out
    dup = cur["uscc"].duplicated(keep=False)
    if dup.any():
        raise ValueError(f"{int(dup.sum())} rows share a USCC in {year}, e.g. "
                         f"{sorted(cur.loc[dup, 'uscc'].unique())[:3]}")

    n = len(cur)
    groups = _groups(cur, ev)
    rated, t_rule, t_zh, t_en = _not_rated(cur, ev, groups, reasons=True, skipped=skipped)
    for ind in ev.indicators:
        for col in (ind.params.numerator, ind.params.denominator):
            if col not in cur.columns:
                notes.append({"en": f"indicator {ind.key}: column {col!r} is absent; every value is missing",
                              "zh": f"指标 {ind.key}：缺少 {col!r} 列，全部按缺失处理"})

    keys = [i.key for i in ev.indicators]
    raw = _raw_values(cur, ev)
    rated_raw = raw.where(np.broadcast_to(rated[:, None], raw.shape))  # rated firms only feed means

    # -- benchmarks: multiple × previous-year scope mean, with fallback
    if prev.empty:
        prev_raw = None
    else:
        prev_rated = _not_rated(prev, ev, _groups(prev, ev), reasons=False)[0]
        prev_raw = _raw_values(prev, ev)
        prev_raw = prev_raw.where(np.broadcast_to(prev_rated[:, None], prev_raw.shape))

    def previous_mean(scope: list[str], what: str) -> pd.DataFrame:
        """Per current firm, the previous year's mean of rated firms' values in its scope."""
        if prev_raw is None:
            return pd.DataFrame(np.nan, index=cur.index, columns=keys)
        means = prev_raw.groupby(_keys(prev, scope, what), dropna=False, sort=False).mean()
        return cur[list(scope)].merge(means.reset_index(), on=list(scope), how="left")[keys].set_axis(cur.index)

    prev_mean = previous_mean(list(bm.scope), "benchmark")
    cur_mean = _scope_mean(cur, rated_raw, bm.scope, "benchmark")
    bench = pd.DataFrame(index=cur.index, columns=keys, dtype=float)
    basis: dict[str, np.ndarray] = {}
    for k in keys:
        p = prev_mean[k].to_numpy(dtype=float)
        has_prev = ~np.isnan(p)
        need = ~has_prev & rated
        if need.any():
            where = cur.loc[need, list(bm.scope)].drop_duplicates()
            scopes = sorted(where.astype(str).agg("/".join, axis=1))
            if fallback == "error":
                raise ValueError(f"no benchmark for {k} from {bench_year} in scope(s) {scopes}")
            notes.append({
                "en": f"benchmark {k}: {bench_year} has no rated firm with a value in {scopes}; "
                      f"used {bm.multiple:g} × the {year} mean",
                "zh": f"基准值 {k}：{bench_year} 年 {scopes} 无参评企业数据，改用 {year} 年平均值的 {bm.multiple:g} 倍",
            })
        c = cur_mean[k].to_numpy(dtype=float)
        bench[k] = bm.multiple * np.where(has_prev, p, c)
        basis[k] = np.where(has_prev, _PREVIOUS, np.where(np.isnan(c), _NONE, _CURRENT)).astype(object)

    # -- missing values
    method = ev.missing.params.method
    undefined = raw.isna().to_numpy() & rated[:, None]
    if method == "group_mean":
        fill = _scope_mean(cur, rated_raw, ev.missing.params.scope, "missing")
        values = raw.where(~undefined, fill)
    elif method == "previous_group_mean":  # last year's scope mean; this year's where there is none
        scope = list(ev.missing.params.scope)
        fill = previous_mean(scope, "missing")
        fill = fill.where(fill.notna(), _scope_mean(cur, rated_raw, scope, "missing"))
        values = raw.where(~undefined, fill)
    elif method == "zero":
        values = raw.where(~undefined, 0.0)
    else:  # exclude_indicator
        values = raw

    # -- indicator scores
    cap = ev.score_cap.params.cap_ratio
    w_group = np.array([[ev.weights(g.key).get(k, 0.0) for k in keys] for g in groups[1]], dtype=float)
    v_arr = values.to_numpy(dtype=float)
    b_arr = bench.to_numpy(dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        rel = np.where(b_arr > 0, v_arr / b_arr, np.where((b_arr == 0) & (v_arr > 0), cap, 0.0))
    rel = np.clip(np.nan_to_num(rel, nan=0.0, posinf=cap, neginf=0.0), 0.0, cap)
    w_arr = w_group[groups[0]]
    scores = rel * w_arr
    if method == "exclude_indicator":
        avail = ~np.isnan(v_arr)
        total = w_arr.sum(axis=1)
        have = (w_arr * avail).sum(axis=1)
        factor = np.divide(total, have, out=np.zeros(n), where=have > 0)
        scores = scores * avail * factor[:, None]
    scores[~rated] = np.nan

    # -- "x" items
    points = np.zeros(n)
    applied = np.full(n, "", dtype=object)
    for a in ev.adjustments:
        if a.params.test.field not in cur.columns:
            skipped.append(_skip(a.id, a.params.test.field, "bonus/penalty item", "加减分项"))
            continue
        hit = _field_test(cur, a.params.test) & rated
        points = points + np.where(hit, a.params.points, 0.0)
        applied = np.where(hit, np.where(applied == "", a.id, applied + ";" + a.id), applied)
    score = np.where(rated, scores.sum(axis=1) + points, np.nan)

    # -- rank and class
    s = pd.Series(score)
    by = s.groupby(_keys(cur, ev.classes.params.rank_within, "classes"), dropna=False, sort=False)
    rank = by.rank(method="min", ascending=False).to_numpy(dtype=float)
    size = by.transform("count").to_numpy(dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        frac = np.where(rated, rank / size, np.nan)
    cutoffs = ev.cutoffs
    labels = np.array(list(cutoffs), dtype=object)
    uppers = np.array(list(cutoffs.values()), dtype=float)
    idx = np.clip(np.searchsorted(uppers + _TOL, np.nan_to_num(frac, nan=1.0), side="left"), 0, len(labels) - 1)
    cls = np.where(rated, labels[idx], ev.classes.params.not_rated).astype(object)
    rule = np.where(rated, ev.classes.id, t_rule).astype(object)

    zh = t_zh.copy()
    en = t_en.copy()
    if rated.any():
        rk = pd.Series(rank[rated]).astype(np.int64).astype(str)
        sz = pd.Series(size[rated]).astype(np.int64).astype(str)
        pct = _pct_text(frac[rated])
        rng_zh, rng_en = _class_ranges(cutoffs)
        c = pd.Series(cls[rated])
        zh[rated] = ("排名 " + rk + "/" + sz + "（前 " + pct + "%），" + c.map(rng_zh)).to_numpy(dtype=object)
        en[rated] = ("rank " + rk + "/" + sz + " (top " + pct + "%); " + c.map(rng_en)).to_numpy(dtype=object)
    vetoed = np.zeros(n, dtype=bool)
    for vr in ev.veto:
        if vr.params.test.field not in cur.columns:
            skipped.append(_skip(vr.id, vr.params.test.field, "veto item", "否决项"))
            continue
        new = _field_test(cur, vr.params.test) & rated & ~vetoed
        if not new.any():
            continue
        vetoed |= new
        f = vr.params.forced_class
        cls[new], rule[new] = f, vr.id
        czh, cen = _test_text(cur.loc[new], vr.params.test)
        r_text = (pd.Series(rank[new]).astype(np.int64).astype(str) + "/"
                  + pd.Series(size[new]).astype(np.int64).astype(str))
        zh[new] = (czh + f" → {f}（否决项）：{vr.description_zh}（得分排名 " + r_text + "）").to_numpy(dtype=object)
        en[new] = (cen + f" → {f} (veto): {vr.description_en} (score rank " + r_text + ")").to_numpy(dtype=object)

    cols: dict[str, Any] = {c: cur[c].array for c in ID_COLUMNS}
    cols["year"] = np.full(n, year, dtype=np.int64)
    cols["land_area_mu"] = _numeric(cur, "land_area_mu")
    for j, k in enumerate(keys):
        cols[f"value_{k}"] = v_arr[:, j]
        cols[f"filled_{k}"] = undefined[:, j]
        cols[f"benchmark_{k}"] = b_arr[:, j]
        cols[f"benchmark_basis_{k}"] = basis[k]
        cols[f"score_{k}"] = scores[:, j]
    cols["adjustment_points"] = points
    cols["adjustment_rules"] = applied
    cols["score"] = score
    cols["rank"] = pd.array(np.where(rated, rank, np.nan), dtype="Float64").astype("Int64")
    cols["rank_fraction"] = frac
    cols["class"] = cls
    cols["class_rule"] = rule
    cols["class_reason_zh"] = zh
    cols["class_reason_en"] = en
    out = pd.DataFrame(cols)
    out.attrs.update(year=year, benchmark_year=bench_year, skipped_rules=skipped, notes=notes)
    return out


# --------------------------------------------------------------------------- parcels


def parcel_classes(evaluation: pd.DataFrame, firm_parcels: pd.DataFrame,
                   parcel_area_mu: pd.Series) -> pd.DataFrame:
    """The class of each parcel: that of the firm holding most of its area.

    ``firm_parcels`` links ``uscc, year`` to ``parcel_code``; ``parcel_area_mu`` is indexed by
    parcel code. The data do not say how a firm's land is split over its parcels, so a firm's
    ``land_area_mu`` is spread over its linked parcels in proportion to their areas (equally
    when one of them has no known area or they sum to 0); the firm with the largest estimated
    share of a parcel decides it. Ties go to the better score (not-rated firms last), then to
    the smaller USCC. Links of firms absent from ``evaluation`` (same USCC and year) are
    ignored. Only parcels with at least one evaluated firm are returned.

    Returns a frame indexed by ``parcel_code``: ``class``, ``firm_uscc`` (the deciding firm),
    ``firm_share_mu`` (its estimated 亩 on the parcel), ``firms`` (every USCC on the parcel,
    sorted, ``;``-joined) and ``n_firms``.
    """
    need = [c for c in ("uscc", "year", "class", "score", "land_area_mu") if c not in evaluation.columns]
    if need:
        raise ValueError(f"evaluation lacks column(s) {need}")
    if parcel_area_mu.index.has_duplicates:
        raise ValueError("parcel_area_mu has duplicate parcel codes")
    cols = ["parcel_code", "class", "firm_uscc", "firm_share_mu", "firms", "n_firms"]
    links = firm_parcels[["uscc", "year", "parcel_code"]].dropna().drop_duplicates()
    links = links.astype({"year": np.int64})
    ev = evaluation[["uscc", "year", "class", "score", "land_area_mu"]].astype({"year": np.int64})
    a = links.merge(ev, on=["uscc", "year"], how="inner")
    if a.empty:
        return pd.DataFrame(columns=cols).set_index("parcel_code")
    if a["year"].nunique() > 1:
        raise ValueError(f"parcel classes are for one year; got {sorted(a['year'].unique())}")
    area = a["parcel_code"].map(parcel_area_mu).to_numpy(dtype=float, na_value=np.nan)
    fid = pd.factorize(a["uscc"])[0]  # one year, so one firm per USCC
    known = ~np.isnan(area)
    total = np.bincount(fid, weights=np.where(known, area, 0.0))[fid]
    count = np.bincount(fid)[fid]
    unknown = (np.bincount(fid, weights=~known)[fid] > 0) | ~(total > 0)
    land = pd.to_numeric(a["land_area_mu"], errors="coerce").fillna(0.0).clip(lower=0.0).to_numpy()
    with np.errstate(invalid="ignore", divide="ignore"):
        a["share"] = np.where(unknown, land / count, land * area / total)
    a = a.sort_values(["parcel_code", "share", "score", "uscc"], ascending=[True, False, False, True],
                      na_position="last", kind="stable")
    lead = a.drop_duplicates("parcel_code").set_index("parcel_code")
    # every USCC on a parcel, sorted and ;-joined: a loop over positions within a parcel
    # (a handful), not over parcels
    on = a.sort_values(["parcel_code", "uscc"], kind="stable")
    code, parcels = pd.factorize(on["parcel_code"])
    pos = on.groupby("parcel_code", sort=False).cumcount().to_numpy()
    usccs = on["uscc"].to_numpy(dtype=object)
    joined = np.empty(len(parcels), dtype=object)
    joined[code[pos == 0]] = usccs[pos == 0]
    for j in range(1, int(pos.max()) + 1):
        at = pos == j
        joined[code[at]] = joined[code[at]] + ";" + usccs[at]
    out = pd.DataFrame({
        "class": lead["class"],
        "firm_uscc": lead["uscc"],
        "firm_share_mu": lead["share"].astype(float),
        "firms": pd.Series(joined, index=parcels),
        "n_firms": pd.Series(np.bincount(code), index=parcels),
    })
    out.index.name = "parcel_code"
    return out.sort_index()
