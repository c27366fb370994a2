"""Read-only summaries of a workspace."""

from __future__ import annotations

import pandas as pd
from sqlalchemy import Engine, func, select

from landrenew.store.models import (
    AnalysisRun,
    ControlFeature,
    DistrictYear,
    Evidence,
    FirmYear,
    IngestBatch,
    IngestIssue,
    LandSupply,
    Parcel,
)


def counts(engine: Engine) -> dict[str, int]:
    """Rows per content: parcels, each control layer, firm-years, each evidence list, land-supply records,
    district-years of statistics, batches."""
    out: dict[str, int] = {}
    with engine.connect() as conn:
        out["宗地 parcels"] = conn.scalar(select(func.count()).select_from(Parcel)) or 0
        for kind, n in conn.execute(select(ControlFeature.layer_kind, func.count()).group_by(ControlFeature.layer_kind)):
            out[f"图层 layer {kind}"] = n
        out["企业年度 firm-years"] = conn.scalar(select(func.count()).select_from(FirmYear)) or 0
        for kind, n in conn.execute(select(Evidence.kind, func.count()).group_by(Evidence.kind)):
            out[f"清单 list {kind}"] = n
        out["供地记录 land supply"] = conn.scalar(select(func.count()).select_from(LandSupply)) or 0
        out["分区年度统计 district-years"] = conn.scalar(select(func.count()).select_from(DistrictYear)) or 0
        out["导入批次 batches"] = conn.scalar(select(func.count()).select_from(IngestBatch)) or 0
    return out


def batches(engine: Engine, limit: int = 20) -> pd.DataFrame:
    """The latest ingest batches, newest first: id, kind, file, rows loaded/rejected, warnings, repairs, when, who."""
    t = IngestBatch.__table__
    q = (select(t.c.id, t.c.kind, t.c.layer_kind, t.c.file_name, t.c.sheet, t.c.rows_loaded, t.c.rows_rejected,
                t.c.warnings, t.c.repairs, t.c.loaded_at, t.c.user).order_by(t.c.id.desc()).limit(limit))
    with engine.connect() as conn:
        df = pd.DataFrame(conn.execute(q).fetchall(), columns=[c.name for c in q.selected_columns])
    return pd.DataFrame({
        "批次 id": df["id"], "类型 kind": df["layer_kind"].fillna(df["kind"]),
        "文件 file": df["file_name"] + df["sheet"].map(lambda s: f" [{s}]" if s else ""),
        "导入 loaded": df["rows_loaded"], "拒绝 rejected": df["rows_rejected"], "警告 warn": df["warnings"],
        "修复 fixed": df["repairs"], "时间 time (UTC)": pd.to_datetime(df["loaded_at"]).dt.strftime("%m-%d %H:%M"),
        "操作人 user": df["user"],
    })


def area_by_landuse_and_district(engine: Engine) -> pd.DataFrame:
    """Parcel area in 亩 by 三调 level-1 land-use class (rows) and district (columns)."""
    from landrenew.codes.landuse import dlbm_table
    from landrenew.geo.area import M2_PER_MU

    t = Parcel.__table__
    level1 = func.substr(t.c.dlbm, 1, 2)
    q = select(level1.label("level1"), t.c.district_code, func.sum(t.c.area_m2)).group_by(level1, t.c.district_code)
    with engine.connect() as conn:
        df = pd.DataFrame(conn.execute(q).fetchall(), columns=["level1", "district_code", "area_m2"])
    if df.empty:
        return df
    names = dlbm_table().drop_duplicates("level1").set_index("level1")["level1_name"]
    df["class"] = df["level1"].fillna("") + " " + df["level1"].map(names).fillna("未填 not given")
    table = df.pivot_table(index="class", columns="district_code", values="area_m2", aggfunc="sum", fill_value=0.0)
    table = table / M2_PER_MU
    table.loc["合计 total"] = table.sum()
    table["合计 total"] = table.sum(axis=1)
    return table


def batch_issues(engine: Engine, batch_id: int) -> pd.DataFrame:
    """The warnings and repairs kept with one ingest batch, by row."""
    t = IngestIssue.__table__
    q = (select(t.c.severity, t.c.row, t.c.column, t.c.value, t.c.problem_zh, t.c.problem_en)
         .where(t.c.batch_id == batch_id).order_by(t.c.row))
    with engine.connect() as conn:
        return pd.DataFrame(conn.execute(q).fetchall(), columns=[c.name for c in q.selected_columns])


def runs(engine: Engine, limit: int = 50) -> pd.DataFrame:
    """The latest analysis runs: id, status, dates, profile, data hash, flagged parcels, total seconds."""
    t = AnalysisRun.__table__
    q = select(t).order_by(t.c.id.desc()).limit(limit)
    with engine.connect() as conn:
        df = pd.DataFrame(conn.execute(q).mappings().all(), columns=[c.name for c in t.columns])
    return pd.DataFrame({
        "批次 run": df["id"], "状态 status": df["status"], "基准日 as of": df["as_of"].astype(str),
        "年度 year": df["year"], "政策 profile": df["profile_id"] + " " + df["profile_version"],
        "数据 data": df["input_hash"].str.slice(0, 10), "标注地块 flagged": df["counts"].map(lambda c: (c or {}).get("flagged_parcels")),
        "秒 s": df["timings"].map(lambda t: round(sum((t or {}).values()), 1)), "操作人 user": df["user"],
    })


def run_overview(engine: Engine, run_id: int | None = None) -> dict | None:
    """Sizes of a run's lists (default: the latest finished run): parcels per tag, firms per class,
    recommendations per disposal family — None without a run."""
    from landrenew.store.models import RunCase, RunFirm, RunTagHit

    with engine.connect() as conn:
        if run_id is None:
            run_id = conn.execute(select(func.max(AnalysisRun.id)).where(AnalysisRun.status == "done")).scalar()
        t = AnalysisRun.__table__
        run = conn.execute(select(t).where(t.c.id == run_id)).first() if run_id else None
        if run is None:
            return None
        h, f, c = RunTagHit.__table__, RunFirm.__table__, RunCase.__table__
        tags = dict(conn.execute(select(h.c.tag, func.count(func.distinct(h.c.parcel_key)))
                                 .where(h.c.run_id == run_id).group_by(h.c.tag)).all())
        classes = dict(conn.execute(select(f.c.firm_class, func.count()).where(f.c.run_id == run_id)
                                    .group_by(f.c.firm_class)).all())
        families = {k: {"cases": n, "area_mu": float(a or 0)} for k, n, a in conn.execute(
            select(c.c.family, func.count(), func.sum(c.c.area_mu))
            .where(c.c.run_id == run_id, c.c.matched.is_(True)).group_by(c.c.family)).all()}
    return {"run_id": run.id, "as_of": run.as_of.isoformat(), "year": run.year, "tags": tags,
            "classes": classes, "families": families}
