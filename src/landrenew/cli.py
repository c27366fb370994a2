"""`landrenew`: one command per user task, each a thin call into a service."""

from __future__ import annotations

import os
from datetime import date
from pathlib import Path
from typing import Annotated

import pandas as pd
import typer

from landrenew import backup_cli
from landrenew.audit_cli import audit_app
from landrenew.cases_cli import cases_app
from landrenew.cli_options import (
    ActorOpt,
    DbOpt,
    LangOpt,
    ProfileOpt,
    UserOpt,
    WorkspaceOpt,
    actor_of,
    lang_of,
)
from landrenew.codes.landuse import ydyh_name
from landrenew.geo.area import M2_PER_MU
from landrenew.intake.schema import KINDS, LAYER_KINDS
from landrenew.ledger_cli import ledger_app
from landrenew.policy import Profile, load_profile
from landrenew.policy.cli import policy_app
from landrenew.render import (
    console,
    format_measure,
    print_comparison,
    print_firm,
    print_frame,
    print_report,
    print_targets,
)
from landrenew.store import Workspace
from landrenew.store.workspace import ENV_DATABASE_URL
from landrenew.targets import target_table
from landrenew.users_cli import users_app

app = typer.Typer(help="危污乱散低 用地出清提升 — land clearance and upgrade (常政发〔2022〕47号)",
                  no_args_is_help=True, pretty_exceptions_enable=False)
app.add_typer(policy_app, name="policy", help="政策参数 policy profile: show | validate | diff")
app.add_typer(cases_app, name="cases")
app.add_typer(ledger_app, name="ledger")
app.add_typer(users_app, name="users")
app.add_typer(audit_app, name="audit")
app.command()(backup_cli.backup)
app.command()(backup_cli.restore)


@app.command()
def init(workspace: WorkspaceOpt = None, db: DbOpt = None) -> None:
    """创建/升级工作空间 Create or upgrade a workspace (runs the schema migrations)."""
    ws = Workspace.open(workspace, db)
    console.print(f"[green]工作空间就绪 workspace ready[/]: {ws.path}  ({_safe_url(ws.database_url)})")


@app.command()
def load(
    kind: Annotated[str, typer.Argument(help="数据类型 kind: " + " | ".join(KINDS))],
    file: Annotated[Path, typer.Argument(help="文件 file (.gpkg .shp .gdb .geojson .parquet .xlsx .csv)")],
    layer_kind: Annotated[str | None, typer.Option("--layer-kind", help="管控图层 for kind=layer: "
                                                   + " | ".join(LAYER_KINDS))] = None,
    sheet: Annotated[str | None, typer.Option(help="Excel 工作表 sheet name")] = None,
    layer: Annotated[str | None, typer.Option(help="GIS 图层 layer name inside a GeoPackage / GDB")] = None,
    crs: Annotated[str | None, typer.Option(help="坐标系 e.g. EPSG:4549, EPSG:4528, GCJ02")] = None,
    encoding: Annotated[str | None, typer.Option(help="文本编码 e.g. GBK (auto-detected when absent)")] = None,
    skip_invalid: Annotated[bool, typer.Option("--skip-invalid", help="导入合格行，问题行另存 "
                                               "load the good rows, write rejected rows to a file")] = False,
    report: Annotated[Path | None, typer.Option(help="问题报告 report file (.xlsx or .csv)")] = None,
    user: Annotated[str | None, typer.Option(help="操作人 who loads (default: login name)")] = None,
    workspace: WorkspaceOpt = None, db: DbOpt = None, profile: ProfileOpt = "changzhou-2022",
    lang: LangOpt = "",
) -> None:
    """导入一个数据文件 Validate one delivered file and load it as an ingest batch (all or nothing)."""
    from landrenew.loading import load_file

    if kind not in KINDS:
        raise typer.BadParameter(f"kind 应为 {' | '.join(KINDS)}", param_hint="KIND")
    if kind == "layer" and layer_kind not in LAYER_KINDS:
        raise typer.BadParameter(f"--layer-kind 应为 {' | '.join(LAYER_KINDS)}", param_hint="--layer-kind")
    ws = Workspace.open(workspace, db)
    stages = {"read": "读取 reading", "validate": "校验 validating", "references": "核对关联 checking references",
              "write": "写入 writing"}
    with console.status(f"{file.name}") as status:
        result = load_file(ws, load_profile(profile), kind, file, layer_kind=layer_kind, sheet=sheet, layer=layer,
                           crs=crs, encoding=encoding, skip_invalid=skip_invalid, user=user,
                           on_stage=lambda s: status.update(f"{file.name}: {stages[s]} …"))
    target = report or ws.reports_dir / f"{file.stem}.report.xlsx"
    result.report.write(target)
    print_report(result.report, lang_of(lang))
    en = lang_of(lang) == "en"
    if result.loaded:
        console.print(("[green]Loaded[/] " if en else "[green]已导入[/] ")
                      + f"{result.rows_loaded} / {result.report.rows_read} (batch {result.batch_id})")
    else:
        console.print("[red]Nothing loaded; the store is unchanged.[/]" if en else "[red]未导入，库内数据未改变。[/]")
    if result.rejected_path:
        console.print(("Rejected rows: " if en else "问题行：") + str(result.rejected_path))
    console.print(("Report: " if en else "问题报告：") + str(target))
    if not result.report.ok:
        raise typer.Exit(1)


@app.command()
def status(
    batch: Annotated[int | None, typer.Option(help="显示某批次的警告与修复 show one batch's warnings and repairs")] = None,
    workspace: WorkspaceOpt = None, db: DbOpt = None, profile: ProfileOpt = "changzhou-2022",
) -> None:
    """工作空间概况 What the store holds: rows, 亩 by land use and district, the ingest batches."""
    from landrenew.store.summary import area_by_landuse_and_district, batch_issues, batches, counts

    ws = Workspace.open(workspace, db)
    if batch is not None:
        print_frame(batch_issues(ws.engine, batch), f"批次 {batch} 的警告与修复 warnings and repairs of batch {batch}")
        return
    print_frame(pd.DataFrame(counts(ws.engine).items(), columns=["内容 content", "行数 rows"]), f"工作空间 {ws.path}")
    names = {d.code: d.name_zh for d in load_profile(profile).city.districts if d.code}
    area = area_by_landuse_and_district(ws.engine).rename(columns=names)
    print_frame(area.reset_index(), "用地面积（亩）按三调一级地类与行政区 area in 亩 by land use and district")
    print_frame(batches(ws.engine, limit=20), "导入批次 ingest batches (latest 20; --batch ID for details)")


@app.command()
def templates(folder: Annotated[Path, typer.Argument(help="输出目录 output folder")]) -> None:
    """生成数据模板 Write the Excel / GeoPackage templates of every source kind."""
    from landrenew.intake.templates import write_templates

    for p in write_templates(folder):
        console.print(f"  {p}")


@app.command()
def demo(
    parcels: Annotated[int, typer.Option(help="地块数 number of parcels")] = 50_000,
    seed: Annotated[int, typer.Option(help="随机种子 seed (same seed, same city)")] = 42,
    fresh: Annotated[bool, typer.Option("--fresh", help="先清空工作空间 start from an empty store")] = False,
    analyse: Annotated[bool, typer.Option("--analyze/--no-analyze", help="导入后运行分析 analyse after loading")] = True,
    operations: Annotated[bool, typer.Option("--operations/--no-operations", help="分析后模拟 2023–2025 年的案件办理与"
                                             "指标台账 then simulate cases and the quota ledger in 2023–2025")] = True,
    workspace: WorkspaceOpt = None, db: DbOpt = None, profile: ProfileOpt = "changzhou-2022",
) -> None:
    """生成示范城市 Build the demo Changzhou, write the files bureaus deliver, load them through intake, analyse,
    then work cases and the quota ledger through 2023–2025 and show the targets."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from landrenew.demo.job import empty_workspace, run_demo
    from landrenew.store.summary import area_by_landuse_and_district, counts
    from landrenew.store.workspace import resolve_folder

    policy = load_profile(profile)
    if fresh:
        if db or os.environ.get(ENV_DATABASE_URL):
            raise typer.BadParameter("只清空 SQLite 工作空间；服务器数据库（--db 或 LANDRENEW_DATABASE_URL）请另建空库 "
                                     "--fresh only empties a SQLite workspace; for a server store use an empty database",
                                     param_hint="--fresh")
        empty_workspace(resolve_folder(workspace))
    ws = Workspace.open(workspace, db)
    labels = {"build": "生成示范城市 building the city", "write": "写出各部门交付文件 writing deliveries"}
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=console, transient=False) as bar:
        task = bar.add_task("", total=None)

        def step(name: str, done: int, total: int) -> None:
            bar.update(task, description=labels.get(name, "导入 " + name.removeprefix("load ")), completed=done,
                       total=total if name.startswith(("load", "done")) else None)

        run = run_demo(ws, policy, parcels, seed, step)
    names = {d.code: d.name_zh for d in policy.city.districts if d.code}
    area = area_by_landuse_and_district(ws.engine).rename(columns=names)
    print_frame(area.reset_index(), "用地面积（亩）按三调一级地类与行政区 area in 亩 by land use and district")
    print_frame(pd.DataFrame([(d.agency_zh, d.path.name + (f" [{d.sheet}]" if d.sheet else ""), d.layer_kind or d.kind,
                               r.rows_loaded, r.report.count("warning"), r.report.count("repaired"))
                              for d, r in run.loads],
                             columns=["部门 agency", "文件 file", "类型 kind", "导入 loaded", "警告 warnings",
                                      "修复 repaired"]), "交付文件与导入 deliveries and loads")
    print_frame(pd.DataFrame(counts(ws.engine).items(), columns=["内容 content", "行数 rows"]), "入库 stored")
    total = sum(run.timings.values())
    console.print(f"[green]完成 done[/] {total:.1f} s (build {run.timings['build']:.1f}, write {run.timings['write']:.1f}, "
                  f"load {total - run.timings['build'] - run.timings['write']:.1f}) — {ws.path}")
    for d, r in run.failed:
        console.print(f"[red]导入失败 failed[/]: {d.path}")
        print_report(r.report)
    if run.failed:
        raise typer.Exit(1)
    console.print(f"问题报告 intake reports: {ws.reports_dir}")
    if analyse:
        from landrenew.demo.common import AS_OF

        run_id = _analyze(ws, policy, date.fromisoformat(AS_OF), note="demo")
        if operations:
            from landrenew.demo.operations import END, balance_table, simulate_operations

            stages = {"open": "立案 opening cases", "cases": "案件办理 working cases", "ledger": "指标台账 ledger"}
            with console.status("城市业务 operations …") as status:
                ops = simulate_operations(ws, policy, run_id, seed, lambda s, d, t: status.update(
                    f"{stages.get(s, s)} {d:,}/{t:,} …"))
            if ops.note:
                console.print(f"[yellow]{ops.note}[/]")
            print_frame(ops.by_state, f"案件办理情况 cases by state — 立案 {ops.opened:,}，办理 {ops.moves:,} 步，"
                                      f"意见 {ops.comments:,}，撤销 {ops.withdrawn:,}（{ops.seconds:.1f} s）")
            print_frame(balance_table(ws, policy), f"指标台账余额 quota balances — 调剂 {ops.transfers} 笔 transfers，"
                                                   f"使用 {ops.spends} 笔 spends")
            as_of = min(END, date.today())  # the simulated present: the end of the operations
            print_targets(target_table(ws.engine, policy, as_of))
            console.print(f"按日期查看 as of another date: landrenew targets --as-of {as_of}")
    from landrenew.demo.users import demo_users

    accounts = demo_users(ws, policy)
    print_frame(pd.DataFrame([(n, r, d or "", p or "（已存在 exists）") for n, r, d, p in accounts],
                             columns=["用户 user", "角色 role", "行政区 district", "密码 password"]),
                "网页用户 web users — make serve, then http://127.0.0.1:8000/")
    console.print("另见 see also:  landrenew status  |  landrenew targets  |  landrenew cases list  |  "
                  "landrenew ledger balances  |  landrenew report --out reports  |  landrenew serve")


@app.command()
def analyze(
    as_of: Annotated[str | None, typer.Option("--as-of", help="分析基准日 analysis date YYYY-MM-DD (default today)")] = None,
    year: Annotated[int | None, typer.Option(help="评价年度 evaluation year (default: latest in the data)")] = None,
    note: Annotated[str | None, typer.Option(help="备注 a note kept with the run")] = None,
    workspace: WorkspaceOpt = None, db: DbOpt = None, profile: ProfileOpt = "changzhou-2022",
    cluster: Annotated[str | None, typer.Option(
        help="集群 run the spatial steps per partition on a Dask cluster: its scheduler address "
             "(tcp://host:8786) or local:N for N worker processes here")] = None,
    cluster_data: Annotated[Path | None, typer.Option(
        help="分区数据目录 folder for the partitions' GeoParquet files, readable by every worker "
             "(default WORKSPACE/cache/cluster)")] = None,
) -> None:
    """运行分析 Overlay, 亩均 evaluation, tags, 连片 units, disposal paths, allocation; record the run and its files."""
    _analyze(Workspace.open(workspace, db), load_profile(profile), date.fromisoformat(as_of) if as_of else None,
             year, note, cluster=cluster, cluster_data=cluster_data)


def _analyze(ws: Workspace, policy: Profile, as_of: date | None, year: int | None = None,
             note: str | None = None, cluster: str | None = None, cluster_data: Path | None = None) -> int:
    """Run the analysis with a spinner naming each step; print counts and timings; return the run id."""
    from landrenew.cluster import ClusterError
    from landrenew.runs import analyze as run_analysis

    names = {"snapshot": "读取数据 reading the workspace", "overlay": "叠加分析 overlay",
             "evaluation": "亩均评价 evaluation", "parcel_classes": "地块分类 parcel classes",
             "tags": "五类标注 tags", "units": "连片单元 units", "store": "保存结果 storing results",
             "disposal": "处置路径 disposal paths", "firm_paths": "企业处置 firm paths",
             "allocation": "差别化配置 allocation", "outputs": "写出成果 writing GeoPackage / Excel / JSON"}

    def said(step: str) -> str:  # a cluster step names its partitions: "overlay 3/8"
        name, _, part = step.partition(" ")
        return f"{names.get(name, name)} {part} 分区 partitions" if part else names.get(step, step)

    with console.status("分析 analysing …") as status:
        try:
            run_id, result = run_analysis(ws, policy, as_of, year, note=note, cluster=cluster,
                                          cluster_data=cluster_data,
                                          progress=lambda s: status.update(f"{said(s)} …"))
        except ClusterError as exc:
            console.print(f"[red]{exc}[/]")
            raise typer.Exit(1) from exc
    labels = {"parcels": "地块 parcels", "flagged_parcels": "标注地块 flagged parcels", "firms_rated": "参评企业 firms",
              "units": "处置单元 units", "tag_danger": "危 danger", "tag_pollution": "污 pollution",
              "tag_disorder": "乱 disorder", "tag_scattered": "散 scattered", "tag_low": "低 low efficiency",
              "cases": "处置案件 cases"}
    counts = [(labels.get(k, k.replace("class_", "亩均 class ")), v) for k, v in result.counts().items()]
    print_frame(pd.DataFrame(counts, columns=["指标 measure", "数量 count"]),
                f"分析批次 run {run_id} — 评价年度 {result.year}, 基准日 {result.as_of}")
    yields = {"vacated_mu": "腾退空间（亩）vacated", "cultivated_mu": "补充耕地（亩）cultivated",
              "paddy_mu": "水田（亩）paddy", "grain_kg": "粮食产能（公斤）grain capacity",
              "construction_quota_mu": "增减挂钩节余指标（亩）", "stock_linkage_mu": "增存挂钩计划指标（亩）"}
    print_frame(pd.DataFrame([(yields.get(k, k), v) for k, v in result.yields().items()],
                             columns=["预计产出 projected yield", "数量 amount"]), "处置建议汇总 recommended cases")
    print_frame(pd.DataFrame([(k, f"{v:.2f}") for k, v in result.timings.items()], columns=["步骤 step", "秒 s"]),
                "耗时 timings")
    for kind, path in result.outputs.items():
        console.print(f"成果 {kind}: {path}")
    console.print("下一步 next:  landrenew runs list  |  landrenew explain PARCEL_CODE  |  landrenew explain --firm USCC")
    return run_id


@app.command()
def explain(
    code: Annotated[str | None, typer.Argument(help="宗地代码 parcel code (or BSM)")] = None,
    firm: Annotated[str | None, typer.Option("--firm", help="统一社会信用代码 explain a firm instead")] = None,
    run: Annotated[int | None, typer.Option(help="分析批次 run id (default: the latest)")] = None,
    lang: LangOpt = "", workspace: WorkspaceOpt = None, db: DbOpt = None,
) -> None:
    """解释结果 Why a parcel carries its tags and class, or why a firm has its class — rule, clause, evidence."""
    from landrenew.explain import NotFound, explain_firm, explain_parcel

    en = lang_of(lang) == "en"
    engine = Workspace.open(workspace, db).engine
    try:
        if firm:
            print_firm(explain_firm(engine, firm, run).firm, en)
            return
        if not code:
            raise typer.BadParameter("给出宗地代码或 --firm USCC / give a parcel code or --firm USCC")
        x = explain_parcel(engine, code, run)
    except NotFound as exc:
        console.print(f"[red]{exc}[/]")
        raise typer.Exit(1) from exc
    p = x.parcel
    facts = {"宗地代码 parcel": p["parcel_code"] or p["bsm"], "行政区 district": p["district_code"],
             "地类 land use": f"{p['dlbm']} {p['dlmc'] or ''}", "权利人 holder": p["right_holder"],
             "面积 area": f"{(p['area_m2'] or 0) / M2_PER_MU:,.2f} 亩",
             "容积率 plot ratio": f"{p['floor_area_m2'] / p['area_m2']:.2f}" if p["floor_area_m2"] and p["area_m2"] else "—"}
    if x.result:
        planned = x.result["planned_code"]
        facts |= {"空间 space": x.result["space"], "园区 park": x.result["park_name"] or "—",
                  "规划用途 planned use": (f"{planned} {ydyh_name(pd.Series([planned])).iloc[0] or ''}"
                                           f"（{x.result['plan_zone']}）" if planned else "—"),
                  "亩均分类 class": x.result["firm_class"] or "—", "标注 tags": x.result["tags"],
                  "连片单元 unit": x.result["unit_id"] if x.result["unit_id"] is not None else "—"}
    print_frame(pd.DataFrame(facts.items(), columns=["", ""]).astype(str), f"分析批次 run {x.run_id}")
    if x.hits.empty:
        console.print("Not on any list in this run." if en else "本批次中该宗地未被标注。")
    else:
        note = "note_en" if en else "note_zh"
        print_frame(x.hits[["tag", "rule_id", "clause", "evidence_kind", "evidence_id", "value", "threshold", note]]
                    .fillna(""), "Why: rules and evidence" if en else "标注依据：规则、条款与证据")
    if x.case:
        k = x.case
        reason = k["reason_en"] if en else k["reason_zh"]
        path = k["path"] if en else k["path_zh"]
        console.print(f"[bold]{'Recommended path' if en else '处置建议'}[/] {k['case_id']}"
                      f"（{k['n_parcels']} {'parcels' if en else '宗'}, {k['area_mu']:,.1f} 亩）: [bold]{path or '—'}[/] "
                      f"({k['rule_id'] or '—'}, {k['clause'] or '—'}) — {reason}")
        console.print(f"  {'priority' if en else '优先度'} {k['priority']:.1f}; {'yield' if en else '预计产出'}: "
                      f"腾退 {k['vacated_mu']:,.1f} 亩, 补充耕地 {k['cultivated_mu']:,.1f} 亩, "
                      f"粮食产能 {k['grain_kg']:,.0f} kg, 增减挂钩 {k['construction_quota_mu']:,.1f} 亩, "
                      f"增存挂钩 {k['stock_linkage_mu']:,.1f} 亩")
    if x.firm:
        print_firm(x.firm, en)


@app.command()
def targets(
    district: Annotated[str | None, typer.Option("--district", help="只看一个行政区 one district")] = None,
    as_of: Annotated[str | None, typer.Option("--as-of", help="截至日期 YYYY-MM-DD (default today)")] = None,
    workspace: WorkspaceOpt = None, db: DbOpt = None, profile: ProfileOpt = "changzhou-2022", lang: LangOpt = "",
) -> None:
    """目标完成情况 Every target of the profile measured from cases, ledger, runs and statistics."""
    en = lang_of(lang) == "en"
    ws, prof = Workspace.open(workspace, db), load_profile(profile)
    when = date.fromisoformat(as_of) if as_of else None
    table = target_table(ws.engine, prof, when, {district} if district else None)
    if district is None:
        print_targets(table, en)
    scoped = table[table["scope"] != "city"]
    if len(scoped):
        name = "name_en" if en else "name_zh"
        wide = scoped.pivot_table(index="scope", columns=name, values="value", aggfunc="first", sort=False)
        units = dict(zip(scoped[name], scoped["unit"], strict=False))
        shown = wide.apply(lambda col: col.map(lambda v: format_measure(v, units[col.name])))
        print_frame(shown.reset_index().rename(columns={"scope": "district" if en else "行政区"}),
                    "By district" if en else "分区情况")


@app.command()
def report(
    out: Annotated[Path, typer.Option("--out", "-o", help="输出目录 output folder")],
    district: Annotated[str | None, typer.Option("--district", help="只出一个行政区的报告 one district's reports")] = None,
    run: Annotated[int | None, typer.Option("--run", help="分析批次 run id (default: the latest)")] = None,
    formats: Annotated[str, typer.Option("--formats", help="xlsx,docx,pdf（默认全部 all）")] = "xlsx,docx,pdf",
    as_of: Annotated[str | None, typer.Option("--as-of", help="案件、台账、目标截至 YYYY-MM-DD (default today)")] = None,
    appendix_rows: Annotated[int, typer.Option("--appendix-rows", help="简报附件每表行数 rows per appendix table")] = 200,
    maps: Annotated[bool, typer.Option("--maps/--no-maps", help="简报附地图 maps in the briefing")] = True,
    workspace: WorkspaceOpt = None, db: DbOpt = None, profile: ProfileOpt = "changzhou-2022", lang: LangOpt = "",
    as_: ActorOpt = "", user: UserOpt = None,
) -> None:
    """报告 The Excel 台账, the Word briefing and the same as PDF, for the city or one district."""
    from landrenew.actors import Forbidden
    from landrenew.lists import ListError
    from landrenew.reports import ReportError, make_reports
    from landrenew.reports.fonts import FontMissing

    en = lang_of(lang) == "en"
    ws, prof = Workspace.open(workspace, db), load_profile(profile)
    labels = {"facts": ("读取数据", "reading the store"), "xlsx": ("写台账", "writing the workbook"),
              "briefing": ("编写简报与绘图", "composing the briefing, drawing maps"),
              "docx": ("写 Word", "writing Word"), "pdf": ("写 PDF", "writing PDF")}
    try:
        with console.status("报告 reports …") as status:
            done = make_reports(ws.engine, prof, actor_of(as_, user), out, run_id=run, district=district,
                                lang="en" if en else "zh", formats=[f.strip() for f in formats.split(",") if f.strip()],
                                as_of=date.fromisoformat(as_of) if as_of else None, appendix_rows=appendix_rows,
                                maps=maps, progress=lambda s: status.update(f"{labels.get(s, (s, s))[en]} …"))
    except (ReportError, Forbidden, ListError, FontMissing) as exc:
        console.print(f"[red]{exc.en if en else exc.zh}[/]")
        raise typer.Exit(1) from exc
    for fmt, path in done.files.items():
        console.print(f"{fmt:>5}  {path}  ({path.stat().st_size / 1024:,.0f} KB, {done.seconds[fmt]:.1f} s)")
    console.print(("run" if en else "分析批次") + f" {done.run_id}; " + ", ".join(
        f"{k} {v:.1f} s" for k, v in done.seconds.items()))


@app.command()
def whatif(
    set_: Annotated[list[str], typer.Option("--set", help="RULE_ID:param=VALUE, e.g. land.plot_ratio.industrial:floor=1.2")],
    as_of: Annotated[str | None, typer.Option("--as-of", help="分析基准日 YYYY-MM-DD (default today)")] = None,
    year: Annotated[int | None, typer.Option(help="评价年度 evaluation year")] = None,
    limit: Annotated[int, typer.Option(help="每类最多列出 rows to list per table")] = 20,
    workspace: WorkspaceOpt = None, db: DbOpt = None, profile: ProfileOpt = "changzhou-2022",
) -> None:
    """情景推演 Re-run the analysis in memory with changed policy values; compare; store nothing."""
    from landrenew.policy import ProfileError
    from landrenew.scenarios import OverrideError
    from landrenew.scenarios import whatif as run_whatif
    from landrenew.store.snapshot import read_snapshot

    ws = Workspace.open(workspace, db)
    try:
        with console.status("情景推演 what-if: two analyses in memory …"):
            w = run_whatif(read_snapshot(ws.engine, ws.cache_dir), load_profile(profile), set_,
                           date.fromisoformat(as_of) if as_of else date.today(), year)
    except (OverrideError, ProfileError) as exc:
        console.print(f"[red]{exc}[/]")
        raise typer.Exit(1) from exc
    base, alt = {**w.base.counts(), **w.base.yields()}, {**w.alt.counts(), **w.alt.yields()}
    print_frame(pd.DataFrame([(k, base.get(k, 0), alt.get(k, 0), alt.get(k, 0) - base.get(k, 0))
                              for k in dict.fromkeys([*base, *alt])],
                             columns=["指标 measure", "现行 current", "情景 what-if", "变化 change"]),
                "情景 what-if: " + "; ".join(set_))
    print_comparison(w.comparison, "现行", "情景", limit)
    console.print("未保存任何结果 nothing was stored.")


runs_app = typer.Typer(help="分析批次 analysis runs: list | diff", no_args_is_help=True)
app.add_typer(runs_app, name="runs")


@runs_app.command("list")
def runs_list(workspace: WorkspaceOpt = None, db: DbOpt = None) -> None:
    """列出分析批次 The recorded analysis runs, newest first."""
    from landrenew.store.summary import runs

    print_frame(runs(Workspace.open(workspace, db).engine), "分析批次 analysis runs")


@runs_app.command("diff")
def runs_diff(
    a: Annotated[int, typer.Argument(help="基准批次 base run id")],
    b: Annotated[int, typer.Argument(help="比较批次 other run id")],
    limit: Annotated[int, typer.Option(help="每类最多列出 rows to list per table")] = 30,
    workspace: WorkspaceOpt = None, db: DbOpt = None,
) -> None:
    """比较两个批次 Parcels that entered or left each list, firms whose class or path changed."""
    from landrenew.compare import diff_runs

    try:
        c = diff_runs(Workspace.open(workspace, db).engine, a, b)
    except LookupError as exc:
        console.print(f"[red]{exc}[/]")
        raise typer.Exit(1) from exc
    print_comparison(c, f"{a}", f"{b}", limit)


def _safe_url(url: str) -> str:
    """A database URL without its password."""
    if "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        creds, host = rest.split("@", 1)
        return f"{scheme}://{creds.split(':')[0]}:***@{host}"
    return url


if __name__ == "__main__":
    app()


#: seconds an idle keep-alive connection stays open: longer than a reverse proxy's or a client's own
#: (nginx keeps upstream connections 60 s), so they close first. With uvicorn's 5 s a request sent as
#: the server closed the connection was lost (the soak run's one failed transfer)
KEEP_ALIVE_S = 75


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="监听地址 address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="端口 port")] = 8000,
    secure_cookies: Annotated[bool, typer.Option("--secure-cookies", help="仅经 HTTPS 发送 cookie (behind TLS)")] = False,
    workspace: WorkspaceOpt = None, db: DbOpt = None, profile: ProfileOpt = "changzhou-2022",
) -> None:
    """启动网页服务 Serve the web app, the JSON API, OGC API Features and vector tiles."""
    import uvicorn

    from landrenew.web.app import STATIC, create_app
    from landrenew.web.settings import WebSettings
    from landrenew.web.warm import warm_in_background

    if not (STATIC / "dist").is_dir():
        console.print("[yellow]前端资源未构建 the front-end is not built: run `make assets` (npm, once)[/]")
    settings = WebSettings(Path(workspace) if workspace else None, db, profile, secure_cookies=secure_cookies)
    console.print(f"landrenew: http://{host}:{port}/  (API: /docs)")
    app = create_app(settings)
    warm_in_background(app)
    uvicorn.run(app, host=host, port=port, log_level="info", timeout_keep_alive=KEEP_ALIVE_S)
