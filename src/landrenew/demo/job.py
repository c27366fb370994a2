"""`landrenew demo`: build the demo city, write the bureaus' files, load them through intake, summarise."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from landrenew.loading import load_file
from landrenew.policy import Profile
from landrenew.store import Workspace
from landrenew.store.summary import counts


def run_demo(console: Console, workspace: Path | None, db: str | None, profile: Profile,
             n_parcels: int, seed: int, fresh: bool) -> bool:
    """Build, deliver and load the demo city into a workspace; True when every file loaded."""
    from landrenew.demo import build_city, write_deliveries

    t0 = time.perf_counter()
    ws = _fresh(workspace) if fresh and db is None else None
    ws = Workspace.open(ws or workspace, db)
    with Progress(TextColumn("{task.description}"), BarColumn(), TextColumn("{task.completed}/{task.total}"),
                  TimeElapsedColumn(), console=console) as progress:
        task = progress.add_task("生成示范城市 building the city", total=1)
        city = build_city(n_parcels, seed)
        progress.advance(task)
        task = progress.add_task("写出各部门交付文件 writing deliveries", total=1)
        deliveries = write_deliveries(city, ws.path / "deliveries")
        progress.advance(task)
        task = progress.add_task("校验并导入 validating and loading", total=len(deliveries))
        failed = []
        for d in deliveries:
            progress.update(task, description=f"导入 loading {d.path.name}" + (f" [{d.sheet}]" if d.sheet else ""))
            result = load_file(ws, profile, d.kind, d.path, layer_kind=d.layer_kind, sheet=d.sheet, crs=d.crs,
                               user="demo")
            if not result.loaded or not result.report.ok:
                failed.append((d, result))
            progress.advance(task)
    elapsed = time.perf_counter() - t0
    _print_summary(console, city.summary(), counts(ws.engine), ws, elapsed)
    for d, result in failed:
        from landrenew.cli import print_report

        console.print(f"[red]导入失败 failed[/]: {d.path}")
        print_report(result.report)
    return not failed


def _fresh(workspace: Path | None) -> Path:
    """Empty the workspace folder (SQLite store, reports, deliveries) before a fresh demo."""
    from landrenew.store.workspace import DEFAULT_WORKSPACE

    folder = Path(workspace or DEFAULT_WORKSPACE).resolve()
    if folder.exists():
        for name in ("landrenew.sqlite", "landrenew.sqlite-wal", "landrenew.sqlite-shm"):
            (folder / name).unlink(missing_ok=True)
        for sub in ("deliveries", "reports"):
            shutil.rmtree(folder / sub, ignore_errors=True)
    return folder


def _print_summary(console: Console, summary: dict, stored: dict[str, int], ws: Workspace, elapsed: float) -> None:
    """Parcels, 亩 by land use and district, firms and list sizes; then what to run next."""
    by_district = summary.get("mu_by_district_and_class")
    if by_district is not None and len(by_district):
        t = Table(title="示范城市 用地面积（亩）by land-use class and district")
        t.add_column("地类 class")
        for col in by_district.columns:
            t.add_column(str(col), justify="right")
        for idx, row in by_district.iterrows():
            t.add_row(str(idx), *[f"{v:,.0f}" for v in row])
        console.print(t)
    s = Table(title="入库 stored", show_header=False)
    for name, n in stored.items():
        s.add_row(name, f"{n:,}")
    console.print(s)
    console.print(f"[green]完成 done[/] in {elapsed:.1f} s — workspace {ws.path}")
    console.print("下一步 next:  landrenew status   |   landrenew policy show   |   landrenew templates templates/")
