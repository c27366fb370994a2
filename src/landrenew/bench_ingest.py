"""Benchmark of ingest: every parcel of a demo city in one GeoPackage, validated and stored in a fresh
workspace, stage by stage (issue 7: 1,000,000 parcels within 60 s).

``python -m landrenew.bench_ingest WORKSPACE [--into BENCHMARKS.md]`` merges the demo's parcel
deliveries of ``WORKSPACE`` (GeoPackages and the Shapefile, each in its own CRS and field names)
into one GeoPackage in EPSG:4490 with the Chinese field names, loads it and prints the results as
JSON; ``landrenew.bench`` runs it on each demo city it builds.
"""

from __future__ import annotations

import argparse
import json
import resource
import tempfile
import time
from pathlib import Path

from landrenew.bench_web import replace_section

TITLE = "## Ingest (`landrenew load parcels` of one GeoPackage)"
TARGET_S = 60.0


def one_geopackage(workspace: Path, target: Path) -> int:
    """The demo's parcel deliveries of ``workspace`` as one GeoPackage at ``target``; returns its rows."""
    import geopandas as gpd
    import pandas as pd
    import pyogrio

    folder = workspace / "deliveries"
    packages = sorted(folder.rglob("*宗地.gpkg"))
    frames = [pyogrio.read_dataframe(p, use_arrow=True) for p in packages]
    names = list(frames[0].columns)
    for shp in sorted(folder.rglob("*宗地.shp")):  # the same fields under their national abbreviations
        frame = pyogrio.read_dataframe(shp, encoding="GBK")
        frame.columns = names
        frames.append(frame)
    merged = gpd.GeoDataFrame(pd.concat([f.to_crs("EPSG:4490") for f in frames], ignore_index=True),
                              geometry="geometry", crs="EPSG:4490")
    pyogrio.write_dataframe(merged, target, layer="宗地")
    return len(merged)


def measure(workspace: Path) -> dict:
    """Load the merged GeoPackage into a fresh workspace: seconds per stage, rows per second."""
    from landrenew.loading import load_file
    from landrenew.policy import load_profile
    from landrenew.store import Workspace

    with tempfile.TemporaryDirectory() as tmp:
        source = Path(tmp) / "宗地.gpkg"
        rows = one_geopackage(workspace, source)
        ws = Workspace.open(Path(tmp) / "ws")
        stages: dict[str, float] = {}
        t0 = time.perf_counter()
        result = load_file(ws, load_profile(), "parcels", source,
                           on_stage=lambda s: stages.__setitem__(s, time.perf_counter() - t0))
        total = time.perf_counter() - t0
    marks = [*stages.values(), total]
    seconds = {s: marks[i + 1] - marks[i] for i, s in enumerate(stages)}
    return {"rows": rows, "loaded": result.rows_loaded, "seconds": seconds, "total": total,
            "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def section(results: list[tuple[int, dict]]) -> list[str]:
    """The ingest section of BENCHMARKS.md for (parcels, measurement) pairs."""
    lines = [TITLE, "",
             "The demo's parcel deliveries merged into one GeoPackage (EPSG:4490, Chinese field names), then "
             "loaded into a fresh SQLite workspace: read, validate (CRS, geometry repair, codes, areas), "
             "check references, write (rows, spatial index, text index) — seconds per stage.", "",
             "| parcels | read | validate | references | write | total | rows/s | peak MB |",
             "|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for parcels, m in results:
        s = m["seconds"]
        mark = (" ✓" if m["total"] <= TARGET_S else " ✗") if parcels >= 1_000_000 else ""
        lines.append(f"| {parcels:,} | {s.get('read', 0):.1f} | {s.get('validate', 0):.1f} | "
                     f"{s.get('references', 0):.1f} | {s.get('write', 0):.1f} | **{m['total']:.1f}**{mark} | "
                     f"{m['loaded'] / m['total']:,.0f} | {m['peak_mb']:,.0f} |")
    return [*lines, "", f"Target (issue 7): 1,000,000 parcels validated and stored within {TARGET_S:.0f} s.", ""]


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("workspace", type=Path, help="a demo workspace (its deliveries folder is read)")
    ap.add_argument("--into", type=Path, help="write the results into this BENCHMARKS.md's ingest section")
    args = ap.parse_args(argv)
    m = measure(args.workspace)
    print(json.dumps(m, ensure_ascii=False))
    if args.into:
        replace_section(args.into, section([(m["rows"], m)]), TITLE)


if __name__ == "__main__":
    main()
