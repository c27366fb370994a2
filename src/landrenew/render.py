"""Terminal rendering shared by the commands: tables of frames, intake reports, firms, comparisons."""

from __future__ import annotations

import pandas as pd
from rich.console import Console
from rich.table import Table

from landrenew.compare import Comparison
from landrenew.intake.report import SEVERITY_ZH, IntakeReport

console = Console()


def print_report(report: IntakeReport, lang: str = "zh", limit: int = 40) -> None:
    """Print the issues of a load as a table (the first ``limit``, then a count)."""
    df = report.frame()
    if df.empty:
        console.print(f"[green]✓[/] {report.source}: {report.rows_read} 行 rows, 无问题 no problems")
        return
    en = lang == "en"
    table = Table(title=f"{report.source} — {report.count('error')} 错误 errors, {report.count('warning')} "
                        f"警告 warnings, {report.count('repaired')} 修复 repaired", show_lines=False)
    for h in (("severity", "级别"), ("row", "行"), ("column", "列"), ("value", "值"), ("problem", "问题"),
              ("fix", "修改方法")):
        table.add_column(h[0] if en else h[1], overflow="fold")
    style = {"error": "red", "warning": "yellow", "repaired": "cyan"}
    for r in df.head(limit).itertuples():
        table.add_row(f"[{style[r.severity]}]{r.severity if en else SEVERITY_ZH[r.severity]}[/]",
                      "" if r.row is None or str(r.row) == "<NA>" else str(r.row), r.column or "", r.value or "",
                      r.problem_en if en else r.problem_zh, r.fix_en if en else r.fix_zh)
    console.print(table)
    if len(df) > limit:
        console.print(f"… {len(df) - limit} more / 另有 {len(df) - limit} 条，见报告文件")


def print_frame(df: pd.DataFrame, title: str) -> None:
    """Print a DataFrame as a table: numbers right-aligned with thousands separators."""
    if df.empty:
        console.print(f"{title}: —")
        return
    t = Table(title=title)
    numeric = [pd.api.types.is_numeric_dtype(df[c]) and not pd.api.types.is_bool_dtype(df[c]) for c in df.columns]
    for c, num in zip(df.columns, numeric, strict=True):
        t.add_column(str(c), justify="right" if num else "left", overflow="fold")
    for row in df.itertuples(index=False):
        t.add_row(*[cell(v, num) for v, num in zip(row, numeric, strict=True)])
    console.print(t)


def cell(v: object, numeric: bool) -> str:
    """Numbers with thousands separators; small fractional numbers keep 2–3 decimals."""
    if v is None or (not isinstance(v, str) and pd.isna(v)):
        return ""
    if not numeric:
        return str(v)
    if isinstance(v, float) and not v.is_integer():
        return f"{v:,.0f}" if abs(v) >= 1000 else f"{v:,.2f}" if abs(v) >= 1 else f"{v:.3f}"
    return f"{int(v):,}"


def print_firm(f: dict, en: bool) -> None:
    """A firm's class with its rule and reason, and its indicators."""
    reason = f["class_reason_en"] if en else f["class_reason_zh"]
    console.print(f"[bold]{f['name']}[/] {f['uscc']} — {f['group']} — "
                  f"{'class' if en else '亩均分类'} [bold]{f['firm_class']}[/] ({f['class_rule']}): {reason}")
    d = f["detail"] or {}
    keys = sorted({k.split("_", 1)[1] for k in d if k.startswith("score_")})
    rows = [(k, d.get(f"value_{k}"), d.get(f"benchmark_{k}"), d.get(f"score_{k}"), "是" if d.get(f"filled_{k}") else "")
            for k in keys]
    print_frame(pd.DataFrame(rows, columns=["指标 indicator", "值 value", "基准 benchmark", "得分 score", "补缺 filled"])
                , f"{'score' if en else '总分'} {cell(f['score'], True) or '—'}, "
                f"{'rank' if en else '排名'} {f['rank'] if f['rank'] is not None else '—'}")


def print_comparison(c: Comparison, a: str, b: str, limit: int) -> None:
    """The list changes, the parcels that moved, the firm class transitions and changes."""
    print_frame(c.lists.rename(columns={"tag": "清单 list", "in_a": f"{a} 中", "in_b": f"{b} 中", "same": "不变 same",
                                        "entered": "新进 entered", "left": "退出 left"}),
                f"清单变化 list changes {a} → {b}")
    if len(c.parcels):
        print_frame(c.parcels.head(limit), f"变化地块 parcels that entered or left（{len(c.parcels):,}，列前 {limit}）")
    print_frame(c.transitions.reset_index().rename(columns={"class_a": f"{a} \\ {b}"}), "亩均分类转移 class transitions")
    if len(c.firms):
        print_frame(c.firms.head(limit), f"分类变化企业 firms whose class changed（{len(c.firms):,}，列前 {limit}）")
    if len(c.paths):
        moves = c.paths.groupby(["path_a", "path_b"]).size().rename("宗地数 parcels").reset_index()
        print_frame(moves.rename(columns={"path_a": a, "path_b": b}), f"处置路径变化 path changes（{len(c.paths):,} 宗）")


def format_measure(value: object, unit: str) -> str:
    """A target value in its unit: 亩 with separators, ratios as %, counts as integers."""
    if value is None or (isinstance(value, float) and value != value):
        return "—"
    v = float(value)  # type: ignore[arg-type]
    if unit == "ratio":
        return f"{v:.1%}"
    if unit == "count":
        return f"{v:,.0f}"
    return f"{v:,.1f}"


def print_targets(table: pd.DataFrame, en: bool = False) -> None:
    """The target table: per goal the city's value against the target, progress, projection."""
    if table.empty:
        console.print("No targets." if en else "没有目标。")
        return
    yes, no = ("yes", "no") if en else ("是", "否")
    city = table[table["scope"] == "city"]
    t = Table(title=(f"Targets as of {city['as_of'].iloc[0]}" if en else f"目标完成情况（截至 {city['as_of'].iloc[0]}）"))
    for head in (("目标", "target"), ("现值", "value"), ("目标值", "goal"), ("进度", "progress"), ("达标", "met"),
                 ("期末预测", "projected"), ("预计达标", "on track")):
        t.add_column(head[1] if en else head[0], justify="left" if head[1] == "target" else "right")
    for r in city.itertuples(index=False):
        t.add_row(r.name_en if en else r.name_zh, format_measure(r.value, r.unit),
                  f"{r.comparator} {format_measure(r.target, r.unit)}",
                  "—" if r.progress is None or r.progress != r.progress else f"{r.progress:.0%}",
                  "—" if r.met is None else (yes if r.met else no), format_measure(r.projected, r.unit),
                  "—" if r.on_track is None else (yes if r.on_track else no))
    console.print(t)
