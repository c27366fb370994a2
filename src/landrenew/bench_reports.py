"""Benchmark of the reports: the city's and one district's 台账, Word briefing and PDF, step by step.

``python -m landrenew.bench_reports WORKSPACE [--into BENCHMARKS.md]`` prints the results as JSON (and
writes them into the file's report section); ``landrenew.bench`` runs it on each demo city it builds.
"""

from __future__ import annotations

import argparse
import json
import resource
import tempfile
import time
from pathlib import Path

from landrenew.bench_web import replace_section

TITLE = "## Reports (`landrenew report`)"


def measure(workspace: Path) -> dict:
    """Make the city's reports and the first district's (every format) into a temporary folder:
    seconds per step, file sizes, PDF pages."""
    from pypdf import PdfReader

    from landrenew.actors import Actor
    from landrenew.policy import load_profile
    from landrenew.reports import make_reports
    from landrenew.store import Workspace

    profile = load_profile()
    ws = Workspace.open(workspace)
    out: dict = {}
    with tempfile.TemporaryDirectory() as tmp:
        for scope, district in (("city", None), ("district", profile.city.district_codes[0])):
            t = time.perf_counter()
            done = make_reports(ws.engine, profile, Actor("bench", "city_admin"), Path(tmp) / scope, district=district)
            out[scope] = {"seconds": done.seconds, "total": time.perf_counter() - t,
                          "kb": {k: p.stat().st_size / 1024 for k, p in done.files.items()},
                          "pages": len(PdfReader(str(done.files["pdf"])).pages)}
    out["peak_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return out


def section(results: list[tuple[int, dict]]) -> list[str]:
    """The report section of BENCHMARKS.md for (parcels, measurement) pairs."""
    lines = [TITLE, "",
             "Seconds per step: reading the facts, the 台账 workbook (every list, up to 200,000 rows a sheet), "
             "composing the briefing (text, charts and a map per district), the Word file, the PDF; the city's "
             "reports and the first district's. Peak MB is the benchmark process's.", "",
             "| parcels | scope | facts | workbook | briefing | Word | PDF | total | xlsx KB | docx KB | PDF KB | "
             "PDF pages | peak MB |",
             "|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for parcels, m in results:
        for scope in ("city", "district"):
            r = m[scope]
            s, kb = r["seconds"], r["kb"]
            lines.append(f"| {parcels:,} | {scope} | {s['facts']:.1f} | {s['xlsx']:.1f} | {s['briefing']:.1f} | "
                         f"{s['docx']:.1f} | {s['pdf']:.1f} | **{r['total']:.1f}** | {kb['xlsx']:,.0f} | "
                         f"{kb['docx']:,.0f} | {kb['pdf']:,.0f} | {r['pages']} | {m['peak_mb']:,.0f} |")
    return [*lines, ""]


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("workspace", type=Path)
    ap.add_argument("--parcels", type=int, required=True, help="the city's parcels (for the table)")
    ap.add_argument("--into", type=Path, help="write the results into this BENCHMARKS.md's report section")
    args = ap.parse_args(argv)
    m = measure(args.workspace)
    print(json.dumps(m, ensure_ascii=False))
    if args.into:
        replace_section(args.into, section([(args.parcels, m)]), TITLE)


if __name__ == "__main__":
    main()
