"""Benchmark of scale: the analysis pipeline from 100,000 to 3,000,000 parcels on one machine, and a
synthetic province of several cities on a local Dask cluster with bounded worker memory (issue 7).

``python -m landrenew.bench_scale WORKSPACE [--sizes 100000,300000,1000000,3000000] [--province 5]
[--cluster local:2] [--worker-memory 4GiB] [--into BENCHMARKS.md]``

The cities are derived from the analysed demo city in ``WORKSPACE`` (its snapshot): a smaller
city is the first N parcels along a Hilbert curve (a compact part of the city, with the layers,
firms and records that belong to it); a larger one, or the province, is copies of the city laid
side by side, every identifier (parcel key and code, USCC, record id) suffixed per copy so no
two cities share a firm or a parcel. Each size runs in its own process; a thread samples the
process's memory every 20 ms, so every step's peak is its own.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import subprocess
import sys
import threading
import time
from datetime import date
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from landrenew.bench_web import replace_section
from landrenew.store.snapshot import Snapshot

TITLE = "## Scale (the pipeline from 100 k to 3 M parcels; a province on a Dask cluster)"
AS_OF = date(2025, 12, 31)
_GAP_DEG = 0.05  # between copies of the city


class MemorySampler:
    """The process's resident memory, sampled in a thread; the peak of each named step."""

    def __init__(self, every_s: float = 0.02) -> None:
        self.every_s = every_s
        self.step = "start"
        self.peaks: dict[str, float] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        page = os.sysconf("SC_PAGE_SIZE")
        with open("/proc/self/statm") as f:
            while not self._stop.is_set():
                f.seek(0)
                mb = int(f.read().split()[1]) * page / 2**20
                self.peaks[self.step] = max(self.peaks.get(self.step, 0.0), mb)
                time.sleep(self.every_s)

    def __enter__(self) -> MemorySampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def scaled(snapshot: Snapshot, n: int) -> Snapshot:
    """A city of ``n`` parcels from ``snapshot``: a Hilbert-ordered part of it, or copies side by side
    (``n`` a multiple of its size)."""
    size = len(snapshot.parcels)
    if n <= size:
        return _part(snapshot, n)
    if n % size:
        raise ValueError(f"{n} is not a multiple of the city's {size} parcels")
    return _copies(snapshot, n // size)


def _part(s: Snapshot, n: int) -> Snapshot:
    p = s.parcels
    centres = gpd.GeoSeries(p.geometry.envelope.centroid.values)
    order = np.argsort(centres.hilbert_distance().to_numpy(), kind="stable")[:n]
    parcels = p.iloc[np.sort(order)].reset_index(drop=True)
    codes = set(parcels["parcel_code"].dropna())
    links = s.firm_parcels[s.firm_parcels["parcel_code"].isin(codes)]
    usccs = set(links["uscc"])
    box = shapely.box(*parcels.total_bounds)
    layers = s.layers[s.layers.intersects(box).to_numpy()].reset_index(drop=True)
    ev = s.evidence
    keep = (ev["parcel_code"].isin(codes) | ev["uscc"].isin(usccs) | ev.intersects(box)).to_numpy()
    return Snapshot(parcels, layers, s.firms[s.firms["uscc"].isin(usccs)].reset_index(drop=True),
                    links.reset_index(drop=True), ev[keep].reset_index(drop=True), s.input_hash)


def _copies(s: Snapshot, k: int) -> Snapshot:
    x0, y0, x1, y1 = s.parcels.total_bounds
    cols = math.ceil(math.sqrt(k))

    def each(frame: pd.DataFrame, ids: dict[str, str]) -> pd.DataFrame:
        out = []
        for j in range(k):
            f = frame.copy()
            if j:
                tag = f"~{j}"
                for col, how in ids.items():
                    if col in f:
                        v = f[col].astype("string")
                        f[col] = (v.str.replace(";", tag + ";", regex=False) + tag if how == "list" else v + tag
                                  ).astype(object).where(f[col].notna(), None)
                if isinstance(f, gpd.GeoDataFrame):
                    dx, dy = (j % cols) * (x1 - x0 + _GAP_DEG), (j // cols) * (y1 - y0 + _GAP_DEG)
                    f.geometry = shapely.transform(f.geometry.values, lambda xy, dx=dx, dy=dy: xy + (dx, dy))
            out.append(f)
        joined = pd.concat(out, ignore_index=True)
        return gpd.GeoDataFrame(joined, geometry="geometry", crs=frame.crs) if isinstance(frame, gpd.GeoDataFrame) \
            else joined

    one = {"uscc": "one"}
    return Snapshot(each(s.parcels, {"key": "one", "parcel_code": "one", "bsm": "one"}),
                    each(s.layers, {"feature_id": "one"}),
                    each(s.firms, {**one, "parcel_codes": "list"}),
                    each(s.firm_parcels, {**one, "parcel_code": "one"}),
                    each(s.evidence, {**one, "parcel_code": "one", "record_id": "one"}), s.input_hash)


def measure(workspace: Path, n: int, cluster: str | None = None, worker_memory: str = "4GiB") -> dict:
    """The pipeline on a city of ``n`` parcels derived from ``workspace``: seconds and peak MB per step."""
    from landrenew.analysis.pipeline import run_pipeline
    from landrenew.policy import load_profile
    from landrenew.store import Workspace
    from landrenew.store.snapshot import read_snapshot

    ws = Workspace.open(workspace)
    with MemorySampler() as mem:
        mem.step = "snapshot"
        t = time.perf_counter()
        snap = scaled(read_snapshot(ws.engine, ws.cache_dir), n)
        ws.engine.dispose()
        _release()  # the demo city read to derive this one is garbage now; give its memory back
        snapshot_s = time.perf_counter() - t
        profile = load_profile()

        def progress(step: str) -> None:
            mem.step = step.split(" ")[0]

        t = time.perf_counter()
        if cluster:
            from landrenew.cluster import ClusterRun, connect

            os.environ["LANDRENEW_WORKER_MEMORY"] = worker_memory
            with connect(cluster) as client:
                run = ClusterRun(client, workspace / "cache" / "bench_scale", progress=progress)
                try:
                    result = run_pipeline(snap, profile, AS_OF, progress=progress, cluster=run)
                finally:
                    run.close()
                workers = client.run(_peak_mb)
            extra = {"partitions": len(run.parts.parts), "partition_s": round(run.timings["partitions"], 1),
                     "workers": len(workers), "worker_peak_mb": round(max(workers.values())),
                     "worker_memory": worker_memory}
        else:
            result = run_pipeline(snap, profile, AS_OF, progress=progress)
            extra = {}
        compute = time.perf_counter() - t
    steps = {"snapshot": snapshot_s, **result.timings}
    return {"parcels": len(snap.parcels), "firms_rated": len(result.evaluation), "cases": len(result.cases),
            "cluster": cluster or "", "seconds": {k: round(v, 1) for k, v in steps.items()},
            "compute_s": round(compute, 1), "peak_mb": {k: round(v) for k, v in mem.peaks.items()},
            "process_peak_mb": round(max(mem.peaks.values())), **extra}


def _release() -> None:
    import ctypes
    import gc

    gc.collect()
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6").malloc_trim(0)


def _peak_mb() -> float:
    """This process's peak resident memory since it started its program (``VmHWM``; ``ru_maxrss``
    would carry the peak of the process it was forked from, as Dask's workers are)."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return 0.0


def in_child(workspace: Path, n: int, cluster: str | None, worker_memory: str) -> dict:
    """:func:`measure` in a fresh process (each size's memory its own)."""
    cmd = [sys.executable, "-m", "landrenew.bench_scale", str(workspace), "--one", str(n),
           "--worker-memory", worker_memory, "--cluster", cluster or ""]
    out = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if out.returncode:
        raise RuntimeError(f"{n} parcels failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


STEPS = ("snapshot", "overlay", "evaluation", "parcel_classes", "tags", "units", "disposal", "firm_paths",
         "allocation")


def section(rows: list[dict]) -> list[str]:
    """The BENCHMARKS.md section: the curve, then the province."""
    single = [r for r in rows if not r["cluster"]]
    spread = [r for r in rows if r["cluster"]]
    cols = " | ".join(STEPS)
    lines = [TITLE, "",
             f"Measured {date.today()} with `python -m landrenew.bench_scale WORKSPACE --into BENCHMARKS.md` "
             f"(x86_64, {os.cpu_count()} cores, Python {sys.version.split()[0]}), cities derived from the "
             "analysed 1,000,000-parcel demo city: smaller ones are a compact Hilbert-ordered part of it, "
             "larger ones copies side by side with their own identifiers. Seconds per step, then the "
             "pipeline's compute (every step but reading), and each step's peak resident memory (MB). Each "
             "city is analysed as new data is the first time: its parcels are projected in the `overlay` "
             "step (a later run of the same snapshot reads them from its cache).", "",
             f"| parcels | firms rated | {cols} | **compute** | s per 100 k | peak MB: overlay | tags | units "
             "| disposal | process |",
             "|---:|---:|" + "---:|" * len(STEPS) + "---:|---:|---:|---:|---:|---:|---:|"]
    for r in single:
        s = r["seconds"]
        per = r["compute_s"] / r["parcels"] * 100_000
        peaks = " | ".join(f"{r['peak_mb'].get(k, 0):,}" for k in ("overlay", "tags", "units", "disposal"))
        lines.append(f"| {r['parcels']:,} | {r['firms_rated']:,} | "
                     + " | ".join(f"{s.get(k, 0):.1f}" for k in STEPS)
                     + f" | **{r['compute_s']:.1f}** | {per:.1f} | {peaks} | {r['process_peak_mb']:,} |")
    if spread:
        lines += ["", "On a local Dask cluster (`--cluster local:N`, worker processes with a memory limit; "
                  "the client plans and writes the partitions, merges patches and units and runs the "
                  "city-wide steps):", "",
                  "| parcels | cluster | partitions | worker limit | partitioning s | overlay | tags + unit links "
                  "| evaluation | disposal | compute s | client peak MB | worker peak MB |",
                  "|---:|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
        for r in spread:
            s = r["seconds"]
            lines.append(f"| {r['parcels']:,} | `{r['cluster']}` | {r['partitions']} | {r['worker_memory']} | "
                         f"{r['partition_s']:.1f} | {s['overlay']:.1f} | {s['tags']:.1f} | {s['evaluation']:.1f} | "
                         f"{s['disposal']:.1f} | **{r['compute_s']:.1f}** | {r['process_peak_mb']:,} | "
                         f"{r['worker_peak_mb']:,} |")
    return lines


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("workspace", type=Path, help="an analysed demo workspace (the 1,000,000-parcel one)")
    ap.add_argument("--sizes", default="100000,300000,1000000,3000000")
    ap.add_argument("--province", type=int, default=5, help="cities in the province (0: none)")
    ap.add_argument("--cluster", default="local:2", help="the province's cluster")
    ap.add_argument("--worker-memory", default="4GiB")
    ap.add_argument("--one", type=int, help=argparse.SUPPRESS)
    ap.add_argument("--into", type=Path)
    args = ap.parse_args(argv)
    if args.one:
        print(json.dumps(measure(args.workspace, args.one, args.cluster or None, args.worker_memory)))
        return
    rows = []
    for n in (int(x) for x in args.sizes.split(",") if x):
        rows.append(in_child(args.workspace, n, None, args.worker_memory))
        print(json.dumps(rows[-1], ensure_ascii=False), flush=True)
    if args.province:
        from landrenew.store import Workspace

        with Workspace.open(args.workspace).engine.connect() as conn:
            size = int(pd.read_sql("SELECT COUNT(*) AS n FROM parcel", conn)["n"].iloc[0])
        rows.append(in_child(args.workspace, size * args.province, args.cluster, args.worker_memory))
        print(json.dumps(rows[-1], ensure_ascii=False), flush=True)
    if args.into:
        replace_section(args.into, section(rows))


if __name__ == "__main__":
    main()
