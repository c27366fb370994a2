"""Benchmarks (`make bench`): the demo city at several sizes, stage by stage, written to BENCHMARKS.md.

Each size runs in its own process so its peak memory is its own.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from landrenew import bench_ingest, bench_reports, bench_web

#: the demo at default size must finish within this many seconds (issue #2)
DEMO_TARGET_S = 60.0
#: the analysis pipeline on 1,000,000 parcels (issue #3)
PIPELINE_TARGET_S = 60.0


def measure(n_parcels: int, seed: int) -> dict:
    """Run the demo job once in a temporary workspace; stage timings (s) and peak memory (MB)."""
    from datetime import date

    from landrenew import ledger
    from landrenew.demo.common import AS_OF
    from landrenew.demo.job import run_demo
    from landrenew.demo.operations import END, simulate_operations
    from landrenew.policy import load_profile
    from landrenew.runs import analyze
    from landrenew.store import Workspace
    from landrenew.targets import target_table

    profile = load_profile()
    with tempfile.TemporaryDirectory() as tmp:
        t = time.perf_counter()
        ws = Workspace.open(Path(tmp) / "ws")
        run = run_demo(ws, profile, n_parcels, seed)
        total = time.perf_counter() - t
        rows = {d.kind: 0 for d, _ in run.loads}
        for d, r in run.loads:
            rows[d.kind] += r.rows_loaded
        t = time.perf_counter()
        run_id, result = analyze(ws, profile, date.fromisoformat(AS_OF))
        analysis = time.perf_counter() - t
        ops = simulate_operations(ws, profile, run_id, seed)
        t = time.perf_counter()
        target_table(ws.engine, profile, END)
        targets_s = time.perf_counter() - t
        t = time.perf_counter()
        with ws.engine.connect() as conn:
            assert ledger.verify(conn, profile).ok
        verify_s = time.perf_counter() - t
        ws.engine.dispose()
        web = bench_web.measure(Path(tmp) / "ws")
        reports = _child("landrenew.bench_reports", str(Path(tmp) / "ws"), "--parcels", str(n_parcels))
        ingest = _child("landrenew.bench_ingest", str(Path(tmp) / "ws"))
    return {"parcels": n_parcels, "total": total, **run.timings, "rows": rows, "failed": len(run.failed),
            "analysis": analysis, "steps": result.timings, "firms": len(result.evaluation),
            "ops": {"cases": ops.opened, "moves": ops.moves, "comments": ops.comments, "seconds": ops.seconds,
                    "targets": targets_s, "verify": verify_s},
            "web": web, "reports": reports, "ingest": ingest, "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def _child(module: str, *args: str) -> dict:
    """Run a benchmark module in its own process (its own peak memory); its last line of JSON."""
    out = subprocess.run([sys.executable, "-m", module, *args], check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def _row(m: dict) -> str:
    load = sum(v for k, v in m.items() if k.startswith("load:"))
    rate = m["rows"].get("parcels", 0) / m["load:parcels"] if m.get("load:parcels") else 0
    ok = "✓" if m["failed"] == 0 else f"✗ {m['failed']} failed"
    target = f" ({'within' if m['total'] < DEMO_TARGET_S else 'OVER'} {DEMO_TARGET_S:.0f} s)" if m["parcels"] == 50_000 else ""
    return (f"| {m['parcels']:,} | {m['build']:.1f} | {m['write']:.1f} | {m['load:parcels']:.1f} | "
            f"{m.get('load:firms', 0):.1f} | {load:.1f} | **{m['total']:.1f}**{target} | {rate:,.0f} | "
            f"{m['peak_mb']:,.0f} | {ok} |")


def _analysis_row(m: dict) -> str:
    s = m["steps"]
    compute = sum(v for k, v in s.items() if k not in ("snapshot", "store", "outputs"))
    return (f"| {m['parcels']:,} | {m['firms']:,} | {s['snapshot']:.1f} | {s['overlay']:.1f} | {s['evaluation']:.1f} | "
            f"{s['tags']:.1f} | {s['units']:.1f} | {s.get('disposal', 0) + s.get('firm_paths', 0):.1f} | "
            f"{s.get('allocation', 0):.1f} | **{compute:.1f}** | {s['store']:.1f} | {s.get('outputs', 0):.1f} | "
            f"{m['analysis']:.1f} |")


def _operations_row(m: dict) -> str:
    o = m["ops"]
    per = o["seconds"] / max(o["moves"] + o["comments"] + o["cases"], 1) * 1000
    return (f"| {m['parcels']:,} | {o['cases']:,} | {o['moves']:,} | {o['comments']:,} | {o['seconds']:.1f} | "
            f"{per:.1f} | {o['targets']:.2f} | {o['verify']:.2f} |")


def main() -> None:
    """Run every size in a child process and write the table."""
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--sizes", default="50000,100000,1000000", help="comma-separated parcel counts")
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--out", type=Path, default=Path("BENCHMARKS.md"))
    ap.add_argument("--one", type=int, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.one:
        print(json.dumps(measure(args.one, args.seed)))
        return
    results = []
    for n in (int(s) for s in args.sizes.split(",")):
        print(f"demo --parcels {n} …", flush=True)
        out = subprocess.run([sys.executable, "-m", "landrenew.bench", "--one", str(n), "--seed", str(args.seed)],
                             check=True, capture_output=True, text=True).stdout
        results.append(json.loads(out.strip().splitlines()[-1]))
        print("  " + _row(results[-1]), flush=True)
        print("  " + _analysis_row(results[-1]), flush=True)
        print("  " + _operations_row(results[-1]), flush=True)
    lines = [
        "# Benchmarks",
        "",
        f"`make bench` on {datetime.now(UTC):%Y-%m-%d}, {platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}, SQLite store. Seconds per stage of `landrenew demo` "
        "(build the city, write the bureaus' files, validate and load them through intake).",
        "",
        "| parcels | build | write | load parcels | load firms | load all | total | parcels loaded/s | peak MB | ok |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|",
        *(_row(m) for m in results),
        "",
        f"Target: the default demo (50,000 parcels) under {DEMO_TARGET_S:.0f} s; 1,000,000 parcels completes.",
        "",
        "## Analysis (`landrenew analyze` on the loaded demo city)",
        "",
        "Seconds per step: read the workspace (snapshot), overlay, 亩均 evaluation of the latest year's firms, tags,",
        "连片 units, disposal paths (cases and firms), allocation, the pipeline's compute in total, storing the run's",
        "results, writing its GeoPackage / Excel / JSON, and the whole run.",
        "",
        "| parcels | firms rated | snapshot | overlay | evaluation | tags | units | disposal | allocation | compute | store | outputs | run |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
        *(_analysis_row(m) for m in results),
        "",
        f"Target (issue #3): the pipeline on 1,000,000 parcels within {PIPELINE_TARGET_S:.0f} s on 2 cores, "
        "peak memory ≤ 8 GB (peak MB above is for the whole process: build, load and analysis).",
        "",
        "## Operations (the demo's cases and ledger after the analysis)",
        "",
        "Cases opened from the run and worked through 2023–2025 (`demo.operations`: a programme per district and",
        "disposal family, capped at 1,000 cases), each move a transaction of its own with its event, attachment",
        "and credits; then the target table as of the end of 2025 and a full `ledger verify`.",
        "",
        "| parcels | cases | moves | comments | seconds | ms per case operation | target table s | ledger verify s |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|",
        *(_operations_row(m) for m in results),
        "",
        *bench_ingest.section([(m["parcels"], m["ingest"]) for m in results]),
        *bench_web.section([(m["parcels"], m["web"]) for m in results]),
        *bench_reports.section([(m["parcels"], m["reports"]) for m in results]),
        f"Reproduce: `make bench` (or `python -m landrenew.bench --sizes {','.join(str(m['parcels']) for m in results)}`).",
        "",
    ]
    write_keeping_others(args.out, lines)
    print(f"written {args.out}")


def write_keeping_others(path: Path, lines: list[str]) -> None:
    """Write ``lines`` (a title, then ``## `` sections) into ``path``, keeping the sections of the file
    that ``lines`` does not have (those written by the other benchmarks: scale, engines, load)."""
    text = "\n".join(lines)
    ours = {line for line in lines if line.startswith("## ")}
    if path.exists():
        old = path.read_text(encoding="utf-8").split("\n## ")[1:]
        kept = ["## " + part.rstrip("\n") for part in old if "## " + part.splitlines()[0] not in ours]
        text = "\n\n".join([text.rstrip("\n"), *kept])
    path.write_text(text.rstrip("\n") + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
