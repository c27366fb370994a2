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

#: the demo at default size must finish within this many seconds (issue #2)
DEMO_TARGET_S = 60.0


def measure(n_parcels: int, seed: int) -> dict:
    """Run the demo job once in a temporary workspace; stage timings (s) and peak memory (MB)."""
    from landrenew.demo.job import run_demo
    from landrenew.policy import load_profile
    from landrenew.store import Workspace

    with tempfile.TemporaryDirectory() as tmp:
        t = time.perf_counter()
        run = run_demo(Workspace.open(Path(tmp) / "ws"), load_profile(), n_parcels, seed)
        total = time.perf_counter() - t
        rows = {d.kind: 0 for d, _ in run.loads}
        for d, r in run.loads:
            rows[d.kind] += r.rows_loaded
    return {"parcels": n_parcels, "total": total, **run.timings, "rows": rows, "failed": len(run.failed),
            "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def _row(m: dict) -> str:
    load = sum(v for k, v in m.items() if k.startswith("load:"))
    rate = m["rows"].get("parcels", 0) / m["load:parcels"] if m.get("load:parcels") else 0
    ok = "✓" if m["failed"] == 0 else f"✗ {m['failed']} failed"
    target = f" ({'within' if m['total'] < DEMO_TARGET_S else 'OVER'} {DEMO_TARGET_S:.0f} s)" if m["parcels"] == 50_000 else ""
    return (f"| {m['parcels']:,} | {m['build']:.1f} | {m['write']:.1f} | {m['load:parcels']:.1f} | "
            f"{m.get('load:firms', 0):.1f} | {load:.1f} | **{m['total']:.1f}**{target} | {rate:,.0f} | "
            f"{m['peak_mb']:,.0f} | {ok} |")


def main() -> None:
    """Run every size in a child process and write the table."""
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--sizes", default="50000,1000000", help="comma-separated parcel counts")
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
    ]
    args.out.write_text("\n".join(lines), encoding="utf-8")
    print(f"written {args.out}")


if __name__ == "__main__":
    main()
