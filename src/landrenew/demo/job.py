"""`landrenew demo`: build the demo city, write the bureaus' files and load them through intake."""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from landrenew.demo.deliveries import Delivery
from landrenew.loading import LoadResult, load_file
from landrenew.policy import Profile
from landrenew.store import Workspace

#: called as stage(name, done, total) while the job runs
Progress = Callable[[str, int, int], None]


@dataclass
class DemoRun:
    """What a demo run built and loaded, with the seconds each stage took."""

    workspace: Workspace
    loads: list[tuple[Delivery, LoadResult]] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def failed(self) -> list[tuple[Delivery, LoadResult]]:
        """Deliveries that did not load cleanly."""
        return [(d, r) for d, r in self.loads if not (r.loaded and r.report.ok)]


def run_demo(ws: Workspace, profile: Profile, n_parcels: int, seed: int,
             progress: Progress | None = None) -> DemoRun:
    """Build the city, write its deliveries into the workspace and load each one through intake."""
    from landrenew.demo import build_city, write_deliveries

    step = progress or (lambda *_: None)
    run = DemoRun(ws)
    t = time.perf_counter()
    step("build", 0, 1)
    city = build_city(n_parcels, seed)
    run.timings["build"] = time.perf_counter() - t
    step("write", 0, 1)
    t = time.perf_counter()
    deliveries = write_deliveries(city, ws.path / "deliveries")
    run.timings["write"] = time.perf_counter() - t
    for i, d in enumerate(deliveries):
        step(f"load {d.path.name}" + (f" [{d.sheet}]" if d.sheet else ""), i, len(deliveries))
        t = time.perf_counter()
        result = load_file(ws, profile, d.kind, d.path, layer_kind=d.layer_kind, sheet=d.sheet, crs=d.crs,
                           user="demo")
        result.report.write(ws.reports_dir / f"{d.path.stem}{'.' + d.sheet if d.sheet else ''}.report.xlsx")
        run.timings[f"load:{d.kind}"] = run.timings.get(f"load:{d.kind}", 0.0) + time.perf_counter() - t
        run.loads.append((d, result))
    step("done", len(deliveries), len(deliveries))
    return run


def empty_workspace(folder: Path) -> None:
    """Remove a workspace's SQLite store and the files that belong to it: reports, deliveries, run
    outputs and attachments (for ``demo --fresh``)."""
    for name in ("landrenew.sqlite", "landrenew.sqlite-wal", "landrenew.sqlite-shm"):
        (folder / name).unlink(missing_ok=True)
    for sub in ("deliveries", "reports", "runs", "attachments"):
        shutil.rmtree(folder / sub, ignore_errors=True)
