"""The load service: read → validate → store, all or nothing.

A file with any error changes nothing in the store; with ``skip_invalid`` the good rows
load and the rejected rows are written beside the report with their problems.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import pandas as pd
from sqlalchemy import text

from landrenew.intake import messages as msg
from landrenew.intake.read import read_raw
from landrenew.intake.report import IntakeReport
from landrenew.intake.schema import LAYER_KINDS, source_kind
from landrenew.intake.validate import IntakeContext, parts_above_whole, validate
from landrenew.policy import Profile
from landrenew.store import Workspace
from landrenew.store.load import BatchInfo, merge_statistics, stored_statistics, write_batch


@dataclass
class LoadResult:
    """The outcome of one load: the report, and the batch when something was stored."""

    report: IntakeReport
    batch_id: int | None = None
    rows_loaded: int = 0
    rejected_path: Path | None = None

    @property
    def loaded(self) -> bool:
        """True when a batch was written."""
        return self.batch_id is not None


def intake_context(profile: Profile) -> IntakeContext:
    """What validation needs of the city, from the policy profile."""
    city = profile.city
    return IntakeContext(city.name_zh, {d.code: d.name_zh for d in city.districts if d.code},
                         tuple(city.extent), city.area_crs)


def sha256_of(path: Path) -> str:
    """SHA-256 of a file, or of every file of a folder (a File GDB) in name order."""
    h = hashlib.sha256()
    files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
    if path.suffix.lower() == ".shp":
        files = sorted(p for p in path.parent.glob(path.stem + ".*") if p.is_file())
    for f in files:
        with f.open("rb") as fh:
            for block in iter(lambda fh=fh: fh.read(1 << 20), b""):
                h.update(block)
    return h.hexdigest()


def load_file(ws: Workspace, profile: Profile, kind: str, path: Path, *, layer_kind: str | None = None,
              sheet: str | None = None, layer: str | None = None, crs: str | None = None,
              encoding: str | None = None, skip_invalid: bool = False, user: str | None = None,
              on_stage: Callable[[str], None] = lambda _: None, dry_run: bool = False) -> LoadResult:
    """Validate ``path`` as a source of ``kind`` and store it as one ingest batch.

    ``on_stage`` is told each stage as it starts: read, validate, references, write.
    With ``dry_run`` every check runs (references too) and nothing is written.
    """
    path = Path(path)
    if kind == "layer" and layer_kind not in LAYER_KINDS:
        raise ValueError(f"layer_kind must be one of {', '.join(LAYER_KINDS)}")
    spec = source_kind(kind, layer_kind)
    report = IntakeReport(str(path), kind)
    on_stage("read")
    raw = read_raw(path, spec, report, sheet=sheet, layer=layer, encoding=encoding)
    on_stage("validate")
    checked = validate(raw, spec, intake_context(profile), report, crs) if raw is not None else None
    result = LoadResult(report)
    if checked is None or (not report.ok and not skip_invalid):
        return result
    on_stage("references")
    _check_references(ws, kind, checked.frame, checked.rows, report)
    if kind == "statistics":
        _check_merged_statistics(ws, checked.frame, checked.rows, report)
        if not report.ok and not skip_invalid:
            return result
    if dry_run:
        return result
    records = checked.frame.loc[~checked.rows.isin(report.rejected).to_numpy()]
    if len(records):
        info = BatchInfo(kind, path.name, sha256_of(path), report.rows_read, layer_kind, sheet,
                         checked.source_crs, profile.id, user)
        on_stage("write")
        result.batch_id = write_batch(ws.engine, info, records, report.frame())
        result.rows_loaded = len(records)
    if report.rejected:  # after the store's commit: a killed load leaves no file of a batch never stored
        result.rejected_path = _write_rejected(ws, path, raw.frame, raw.rows, report, spec.geometry != "none",
                                               raw.geometry)
    return result


#: (column, what it names, table and column holding the known values, zh/en labels)
_REFERENCES = {
    "parcel_codes": ("parcel", "parcel_code", "宗地代码", "parcel code", "宗地", "parcels"),
    "parcel_code": ("parcel", "parcel_code", "宗地代码", "parcel code", "宗地", "parcels"),
    "uscc": ("firm_year", "uscc", "企业信用代码", "firm (USCC)", "企业亩均数据", "firm data"),
}


KIND_TABLES = {"parcels": "parcel", "firms": "firm_year"}


def _check_references(ws: Workspace, kind: str, records: pd.DataFrame, rows: pd.Series,
                      report: IntakeReport) -> None:
    """Warn (not refuse) where a list names a parcel or firm the store does not hold yet."""
    for column, (table, key, zh, en, source, source_en) in _REFERENCES.items():
        if column not in records.columns or records[column].isna().all() or table == KIND_TABLES.get(kind):
            continue
        with ws.engine.connect() as conn:
            known = set(conn.execute(text(f"SELECT DISTINCT {key} FROM {table}")).scalars())
        values = records[column].astype("string")
        each = values.str.split(";").explode() if column == "parcel_codes" else values
        unknown = each.notna() & ~each.isin(known)
        missing = unknown.groupby(level=0).any().reindex(values.index, fill_value=False).to_numpy()
        report.add("warning", msg.UNKNOWN_REFERENCE.format(what=zh, what_en=en, source=source, source_en=source_en),
                   rows[missing], column, values[missing])


def _check_merged_statistics(ws: Workspace, records: pd.DataFrame, rows: pd.Series, report: IntakeReport) -> None:
    """Refuse district-years whose figures, merged with those already stored, break a part-of-whole rule
    (e.g. this file's construction land above the total area loaded earlier from another bureau)."""
    spec = source_kind("statistics")
    ok = ~rows.isin(report.rejected).to_numpy()
    frame = records.loc[ok]
    if frame.empty:
        return
    with ws.engine.connect() as conn:
        stored = stored_statistics(conn, frame)
    if stored.empty:
        return
    merged = merge_statistics(frame, stored).set_axis(frame.index)
    for parts, whole, over, shown in parts_above_whole(merged, spec):
        labels = {"parts": " + ".join(spec.column(p).zh for p in parts), "whole": spec.column(whole).zh,
                  "parts_en": " + ".join(parts), "whole_en": whole}
        idx = over[over].index
        report.add("error", msg.PART_ABOVE_WHOLE_STORED.format(**labels), rows[idx], spec.column(whole).zh,
                   shown)
        report.rejected |= set(rows[idx].tolist())


def _write_rejected(ws: Workspace, path: Path, frame: pd.DataFrame, rows: pd.Series, report: IntakeReport,
                    spatial: bool, geometry: gpd.GeoSeries | None) -> Path:
    """The rejected rows as delivered, with a 问题 (problems) column, for the sender to fix."""
    issues = report.frame()
    issues = issues[(issues["severity"] == "error") & issues["row"].notna()]
    problems = issues.groupby("row").apply(
        lambda g: "；".join((g["column"].fillna("") + "：" + g["problem_zh"]).tolist()), include_groups=False)
    mask = rows.isin(report.rejected).to_numpy()
    out = frame.loc[mask].copy()
    out.insert(0, "行号", rows[mask].to_numpy())
    out.insert(1, "问题", out["行号"].map(problems).to_numpy())
    spatial = spatial and geometry is not None
    target = ws.reports_dir / f"{path.stem}.rejected{'.gpkg' if spatial else '.xlsx'}"
    part = target.with_name(f".{target.stem}.partial{target.suffix}")  # written whole, then renamed
    part.unlink(missing_ok=True)
    if spatial:
        gpd.GeoDataFrame(out, geometry=geometry.loc[mask].to_numpy(), crs=geometry.crs).to_file(
            part, driver="GPKG", layer=target.stem)
    else:
        out.to_excel(part, index=False)
    part.replace(target)
    return target
