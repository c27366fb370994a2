"""Excel workbooks in the 台账 style: one list as a sheet (:func:`export_list`, the lists' download) and
the whole 台账 of a run for a meeting (:func:`write_workbook`): a cover with the run, the profile and
where the data came from; a summary by district; a sheet per 危/污/乱/散/低 list; firms with their
indicator scores; recommendations; 连片 units; cases by state and the open cases; ledger balances and
transfers; targets.

Every sheet has a title line, notes (filters, scope, truncation), headers with units, a frozen
header row, an autofilter, number formats and a SUBTOTAL totals row under columns that add up.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pandas as pd
import xlsxwriter
from sqlalchemy import Engine
from xlsxwriter.utility import xl_rowcol_to_cell

from landrenew.lists import (
    LISTS,
    MAX_EXPORT_ROWS,
    Column,
    describe_filters,
    get_list,
    iter_rows,
    names,
)
from landrenew.policy import Profile
from landrenew.reports.facts import Facts, district_progress
from landrenew.reports.words import Words, district_name

#: a value computed from a row, for columns that are not stored as such (e.g. indicator scores)
Extra = tuple[Column, Callable[[Mapping[str, Any]], Any]]


@dataclass
class Written:
    """A sheet as written: its name, title, rows and how many matched in all."""

    sheet: str
    title: str
    rows: int
    total: int


class Book:
    """An xlsxwriter workbook with the 台账's formats; :meth:`table` writes one sheet."""

    def __init__(self, path: str | Path, profile: Profile, lang: str = "zh") -> None:
        self.lang, self.en = lang, lang == "en"
        self.named = names(profile)
        self.wb = xlsxwriter.Workbook(str(path), {"constant_memory": True, "strings_to_numbers": False,
                                                  "strings_to_formulas": False, "strings_to_urls": False})
        add = self.wb.add_format
        self.f_title = add({"bold": True, "font_size": 12})
        self.f_note = add({"italic": True, "font_color": "#616E7C"})
        self.f_head = add({"bold": True, "bg_color": "#E6F4EE", "border": 1, "text_wrap": True, "valign": "vcenter"})
        self.f_label = add({"bold": True, "top": 1})
        self.f_int = add({"num_format": "0"})
        self.f_pct = add({"num_format": "0.0%"})
        self.f_num = {0: add({"num_format": "#,##0"}), 1: add({"num_format": "#,##0.0"}),
                      2: add({"num_format": "#,##0.00"})}
        self.f_sum = {d: add({"num_format": f.num_format, "bold": True, "top": 1}) for d, f in self.f_num.items()}
        self.f_link = add({"font_color": "#1F5FA8", "underline": 1})

    def close(self) -> None:
        self.wb.close()

    def sheet(self, name: str) -> Any:
        """A new worksheet (names cut to Excel's 31 characters)."""
        return self.wb.add_worksheet(name[:31])

    def table(self, name: str, title: str, columns: Sequence[Column], rows: Iterable[Mapping[str, Any]],
              notes: Sequence[str] = (), extras: Sequence[Extra] = (), total: int | None = None) -> Written:
        """Write ``rows`` (dicts keyed by column key) under a title and notes, as a filtered table
        with a totals row; ``extras`` add computed columns after ``columns``."""
        ws = self.sheet(name)
        ws.write_string(0, 0, title, self.f_title)
        if notes:
            ws.write_string(1, 0, ("; " if self.en else "；").join(notes), self.f_note)
        head = 2
        cols = [*columns, *(c for c, _ in extras)]
        headers = [c.header(self.lang) for c in cols]
        ws.set_row(head, 30)
        for j, h in enumerate(headers):
            ws.write_string(head, j, h, self.f_head)
        ws.freeze_panes(head + 1, 0)
        widths = [max(8, min(40, 2 * len(h))) for h in headers]
        sums = {j: 0.0 for j, c in enumerate(cols) if c.total}
        n = 0
        for r in rows:
            i = head + 1 + n
            values = [r.get(c.key) for c in columns] + [fn(r) for _, fn in extras]
            for j, (c, v) in enumerate(zip(cols, values, strict=True)):
                text = self._write(ws, i, j, c, v)
                if j in sums and text is None and v is not None:
                    sums[j] += float(v)
                if text is not None and n < 200:
                    widths[j] = max(widths[j], min(40, int(1.6 * len(text)) + 2))
            n += 1
        last = head + n
        ws.autofilter(head, 0, max(last, head), len(cols) - 1)
        if sums:
            t = last + 1
            ws.write_string(t, 0, "Total" if self.en else "合计", self.f_label)
            for j in sums:
                rng = f"{xl_rowcol_to_cell(head + 1, j)}:{xl_rowcol_to_cell(max(last, head + 1), j)}"
                ws.write_formula(t, j, f"=SUBTOTAL(109,{rng})", self.f_sum[min(cols[j].digits, 2)],
                                 round(sums[j], 6))
        for j, w in enumerate(widths):
            ws.set_column(j, j, w)
        return Written(name[:31], title, n, n if total is None else total)

    def _write(self, ws: Any, i: int, j: int, c: Column, v: Any) -> str | None:
        """Write one cell; returns its text for a text cell (None for numbers and blanks)."""
        if v is None or (isinstance(v, float) and not math.isfinite(v)):
            return None
        if c.type == "bool":
            text = ("yes" if v else "no") if self.en else ("是" if v else "否")
        elif c.type == "int":
            ws.write_number(i, j, int(v), self.f_int)
            return None
        elif c.type == "number":
            ws.write_number(i, j, float(v), self.f_num[min(c.digits, 2)])
            return None
        elif c.type == "percent":
            ws.write_number(i, j, float(v), self.f_pct)
            return None
        else:
            text = v.isoformat() if isinstance(v, date | datetime) else str(v)
            table = self.named.get(c.names or "", {})
            if text in table:
                label = table[text]["en" if self.en else "zh"]
                text = f"{text} {label}" if c.names == "district" else label
        ws.write_string(i, j, text)
        return text


# --------------------------------------------------------------------------- one list


def export_list(engine: Engine, profile: Profile, name: str, target: str | Path, run_id: int | None = None,
                filters: Mapping[str, str | Iterable[str]] | None = None, sort: str | None = None,
                districts: set[str] | None = None, lang: str = "zh", max_rows: int = MAX_EXPORT_ROWS,
                now: datetime | None = None) -> dict[str, Any]:
    """Write list ``name`` (filtered and sorted like :func:`landrenew.lists.query_list`) to the
    workbook ``target``: a title naming the run, its as-of date and the profile; notes with the
    filters and scope; at most ``max_rows`` rows (the sheet says so when more matched). Returns
    {rows, total, truncated, run_id}."""
    book = Book(target, profile, lang)
    try:
        w, run_id_ = _list_sheet(book, engine, profile, name, run_id, filters, sort, districts, max_rows,
                                 now or datetime.now())
    finally:
        book.close()
    return {"rows": w.rows, "total": w.total, "truncated": w.total > w.rows, "run_id": run_id_}


def _list_sheet(book: Book, engine: Engine, profile: Profile, name: str, run_id: int | None,
                filters: Mapping[str, str | Iterable[str]] | None, sort: str | None, districts: set[str] | None,
                max_rows: int, now: datetime, sheet: str | None = None, title: str | None = None) -> tuple[Written, int]:
    """List ``name`` as one sheet of ``book``."""
    en, lang = book.en, book.lang
    spec = get_list(name)
    run, cols, total, rows = iter_rows(engine, profile, name, run_id, filters, sort, districts, lang, max_rows)
    extras: list[Extra] = []
    if spec.name == "firms":
        for ind in profile.evaluation.indicators:
            col = Column(f"score_{ind.key}", f"{ind.name_zh}得分", f"{ind.name_en} score", unit_zh="分",
                         unit_en="points", type="number", digits=1)
            extras.append((col, lambda r, k=f"score_{ind.key}": (r.get("detail") or {}).get(k)))
    stamp = now.strftime("%Y-%m-%d %H:%M")
    profile_text = (f"{run.profile_id} {run.profile_version} ({profile.name_en})" if en else
                    f"{run.profile_id} {run.profile_version}（{profile.name_zh}）")
    head = title or (spec.en if en else spec.zh)
    if en:
        cover = f"{head} — run {run.id}, as of {run.as_of.isoformat()}, profile {profile_text}; exported {stamp}; {total} rows"
    else:
        cover = f"{head} — 分析批次 {run.id}，基准日 {run.as_of.isoformat()}，政策 {profile_text}；导出于 {stamp}；共 {total} 行"
    notes = []
    described = describe_filters(spec, filters, lang)
    if described:
        notes.append(f"Filters: {described}" if en else f"筛选条件：{described}")
    if districts is not None:
        ds = ", ".join(sorted(districts)) if en else "、".join(sorted(districts))
        notes.append(f"limited to district {ds}" if en else f"仅含行政区 {ds}")
    if total > max_rows:
        notes.append(f"only the first {max_rows} of {total} rows: narrow the filters to export the rest" if en
                     else f"仅导出前 {max_rows} 行（共 {total} 行）：请缩小筛选范围后分批导出")
    w = book.table(sheet or head, cover, cols, rows, notes, extras, total)
    return replace(w, title=head), run.id


def export_file_name(name: str, run_id: int, lang: str = "zh") -> str:
    """The workbook's file name: ``危污乱散低地块清单_批次1.xlsx`` / ``parcels_run1.xlsx``."""
    spec = get_list(name)
    return f"{spec.name}_run{run_id}.xlsx" if lang == "en" else f"{spec.zh}_批次{run_id}.xlsx"


# --------------------------------------------------------------------------- the 台账

MU = {"unit_zh": "亩", "unit_en": "mu", "type": "number", "total": True, "digits": 2}
COUNT = {"type": "int", "total": True}


def write_workbook(engine: Engine, profile: Profile, facts: Facts, path: Path, words: Words,
                   max_rows: int = MAX_EXPORT_ROWS) -> list[Written]:
    """The 台账 of ``facts``' run and scope as one workbook at ``path``; returns the sheets written
    (the cover first)."""
    book = Book(path, profile, words.lang)
    en = book.en
    districts = None if facts.city else set(facts.districts)
    written: list[Written] = []
    try:
        cover = book.sheet(words["sheet_cover"])  # filled last: it lists the other sheets
        written.append(_summary_sheet(book, profile, facts, words))
        for t in profile.tags.values():
            sheet = f"{t.char} {t.name_en if en else t.name_zh}"
            title = (f"{t.char} {t.name_en}: tagged parcels" if en else f"“{t.char}”类（{t.name_zh}）地块清单")
            w, _ = _list_sheet(book, engine, profile, "parcels", facts.run.id, {"tags": t.char}, None, districts,
                               max_rows, facts.generated, sheet, title)
            written.append(w)
        for name in ("firms", "recommendations", "units"):
            spec = LISTS[name]
            w, _ = _list_sheet(book, engine, profile, name, facts.run.id, None, None, districts, max_rows,
                               facts.generated, spec.en if en else spec.zh)
            written.append(w)
        written += _case_sheets(book, profile, facts, words)
        written += _ledger_sheets(book, facts, words)
        written.append(_target_sheet(book, profile, facts, words))
        _cover(book, cover, profile, facts, words, written)
    finally:
        book.close()
    return [Written(words["sheet_cover"], words["title"], 0, 0), *written]


def _cover(book: Book, ws: Any, profile: Profile, facts: Facts, words: Words, sheets: list[Written]) -> None:
    """The cover: title, scope, the run and its provenance, the contents, the data's batches."""
    en, run, prov = book.en, facts.run, facts.provenance
    ws.set_column(0, 0, 22)
    ws.set_column(1, 1, 60)
    ws.set_column(2, 6, 14)
    ws.write_string(0, 0, words["title"], book.wb.add_format({"bold": True, "font_size": 16}))
    rows = [(words["scope"], words.scope_name(facts)),
            (words["run"], f"{run.id}（{prov.get('note') or ''}）" if prov.get("note") else str(run.id)),
            (words["as_of"], run.as_of.isoformat()), (words["eval_year"], str(run.year or "")),
            (words["ops_as_of"], facts.as_of.isoformat()),
            (words["profile"], f"{run.profile_id} {run.profile_version} — {profile.name_en if en else profile.name_zh}"),
            (words["profile_digest"], str(prov.get("profile_digest") or "")),
            (words["input_hash"], str(prov.get("input_hash") or "")),
            (words["code_version"], str(prov.get("code_version") or "")),
            (words["run_by"], f"{prov.get('user') or ''} {_minutes(prov.get('finished_at'))}".strip()),
            (words["generated"], facts.generated.strftime("%Y-%m-%d %H:%M"))]
    for i, (k, v) in enumerate(rows, start=2):
        ws.write_string(i, 0, k, book.f_label)
        ws.write_string(i, 1, v)
    i = len(rows) + 3
    ws.write_string(i, 0, words["contents"], book.f_title)
    for j, h in enumerate((words["sheet"], words["sheet_title"], words["rows"])):
        ws.write_string(i + 1, j, h, book.f_head)
    for k, s in enumerate(sheets, start=i + 2):
        ws.write_url(k, 0, f"internal:'{s.sheet}'!A1", book.f_link, string=s.sheet)
        ws.write_string(k, 1, s.title)
        ws.write_number(k, 2, s.total, book.f_int)
    i += len(sheets) + 3
    ws.write_string(i, 0, words["sources"], book.f_title)
    heads = [words[k] for k in ("batch", "kind", "file", "loaded", "rejected", "loaded_at", "user")]
    for j, h in enumerate(heads):
        ws.write_string(i + 1, j, h, book.f_head)
    for k, b in enumerate(facts.batches.itertuples(index=False), start=i + 2):
        ws.write_number(k, 0, int(b.id), book.f_int)
        ws.write_string(k, 1, str(b.layer_kind or b.kind))
        ws.write_string(k, 2, str(b.file_name) + (f" [{b.sheet}]" if b.sheet else ""))
        ws.write_number(k, 3, int(b.rows_loaded or 0), book.f_int)
        ws.write_number(k, 4, int(b.rows_rejected or 0), book.f_int)
        ws.write_string(k, 5, _minutes(b.loaded_at))
        ws.write_string(k, 6, str(b.user or ""))


def _minutes(t: Any) -> str:
    return "" if t is None else pd.Timestamp(t).strftime("%Y-%m-%d %H:%M")


def _summary_sheet(book: Book, profile: Profile, facts: Facts, words: Words) -> Written:
    """One row per district: parcels, flagged, each tag list, firm classes, recommendations, cases."""
    progress = district_progress(facts).reindex(facts.districts)
    params = profile.evaluation.classes.params
    cols = [Column("district_code", "行政区", "District", names="district"),
            Column("parcels", "宗地总数", "Parcels", unit_zh="宗", unit_en="parcels", **COUNT),
            Column("area_mu", "宗地面积", "Parcel area", **MU),
            Column("flagged", "标注地块", "Tagged parcels", unit_zh="宗", unit_en="parcels", **COUNT),
            Column("flagged_mu", "标注面积", "Tagged area", **MU)]
    for t in profile.tags.values():
        cols += [Column(f"n_{t.char}", f"“{t.char}”地块", f"{t.char} parcels", unit_zh="宗", unit_en="parcels", **COUNT),
                 Column(f"mu_{t.char}", f"“{t.char}”面积", f"{t.char} area", **MU)]
    for k in params.cutoffs:
        cols.append(Column(k, f"{k}类企业", f"Class {k} firms", unit_zh="家", unit_en="firms", **COUNT))
    cols += [Column("recommended", "处置建议", "Recommendations", unit_zh="个", unit_en="cases", **COUNT),
             Column("recommended_mu", "建议面积", "Recommended area", **MU),
             Column("opened", "已立案", "Cases opened", unit_zh="件", unit_en="cases", **COUNT),
             Column("open", "在办", "Open", unit_zh="件", unit_en="cases", **COUNT),
             Column("done", "已办结", "Done", unit_zh="件", unit_en="cases", **COUNT),
             Column("done_mu", "办结面积", "Area done", **MU),
             Column("done_share", "办结面积占建议面积", "Done share of recommended", type="percent")]
    frame = pd.concat([facts.parcels, facts.flagged.drop(columns=["flagged", "flagged_mu"]),
                       facts.firms[list(params.cutoffs)], progress], axis=1)
    rows = [{"district_code": d, **r} for d, r in zip(frame.index, frame.to_dict("records"), strict=True)]
    title = words["summary_title"] + f" — {words.scope_name(facts)}"
    return book.table(words["sheet_summary"], title, cols, rows,
                      [words.run_note(facts)], total=len(rows))


def _case_sheets(book: Book, profile: Profile, facts: Facts, words: Words) -> list[Written]:
    """Cases by state (per district and in all), then the open cases, state by state."""
    c = facts.cases
    state = "state_en" if book.en else "state_zh"
    family = {f.key: f.name_en if book.en else f.name_zh for f in profile.disposal.families}
    wf = {w.id: ("/" if book.en else "、").join(family.get(k, k) for k in w.params.families)
          for w in profile.operations.workflows}
    keys = ["workflow_id", "state_order", state, "open"]
    by = c.pivot_table(index=keys, columns="district_code", values="case_no", aggfunc="size", fill_value=0)
    by = by.reindex(columns=facts.districts, fill_value=0)
    by["cases"] = by.sum(axis=1)
    by["area_mu"] = c.groupby(keys)["area_mu"].sum()
    by = by.reset_index().sort_values(["workflow_id", "state_order"])
    rows = [{**r, "workflow": wf.get(r["workflow_id"], r["workflow_id"]), "state": r[state]}
            for r in by.to_dict("records")]
    cols = [Column("workflow", "办理流程", "Workflow"), Column("state", "状态", "State"),
            Column("open", "在办", "Open", type="bool"),
            *[Column(d, district_name(profile, d), district_name(profile, d, "en"), unit_zh="件", unit_en="cases",
                 **COUNT) for d in facts.districts],
            Column("cases", "合计", "All", unit_zh="件", unit_en="cases", **COUNT), Column("area_mu", "面积", "Area", **MU)]
    first = book.table(words["sheet_states"], words["states_title"], cols, rows, [words.cases_note(facts)])
    opened = c[c["open"]].sort_values(["workflow_id", "state_order", "priority"], ascending=[True, True, False])
    cols = [Column("case_no", "案件编号", "Case"), Column("district_code", "行政区", "District", names="district"),
            Column("family", "处置类别", "Family", names="family"), Column("path", "处置路径", "Path", names="path"),
            Column(state, "状态", "State"), Column("area_mu", "面积", "Area", **MU),
            Column("n_parcels", "宗地数", "Parcels", type="int"), Column("tags", "标签", "Tags"),
            Column("priority", "优先级", "Priority", unit_zh="分", unit_en="points", type="number", digits=1),
            Column("opened_at", "立案日期", "Opened"),
            Column("days_open", "已办天数", "Days open", unit_zh="天", unit_en="days", type="int")]
    second = book.table(words["sheet_open"], words["open_title"], cols, opened.to_dict("records"),
                        [words.cases_note(facts)])
    return [first, second]


def _ledger_sheets(book: Book, facts: Facts, words: Words) -> list[Written]:
    """The quota balances of the scope's accounts, then every transfer touching them."""
    cols = [Column("owner_name", "账户", "Account"), Column("kind_name", "指标种类", "Quota"), Column("unit", "单位", "Unit"),
            Column("balance", "余额", "Balance", type="number", digits=2)]
    first = book.table(words["sheet_balances"], words["balances_title"], cols, facts.balances.to_dict("records"),
                       [words.ledger_note(facts)])
    cols = [Column("seq", "序号", "No.", type="int"), Column("value_date", "记账日期", "Value date"),
            Column("transfer_id", "流水号", "Transfer"), Column("transfer_type", "类型", "Type"),
            Column("kind_name", "指标种类", "Quota"), Column("from_name", "转出", "From"), Column("to_name", "转入", "To"),
            Column("amount", "数量", "Amount", type="number", digits=2), Column("unit", "单位", "Unit"),
            Column("price_yuan_per_mu", "价格", "Price", unit_zh="元/亩", unit_en="yuan/mu", type="number", digits=0),
            Column("reason", "事由", "Reason"), Column("actor", "经办人", "By")]
    rows = facts.transfers.assign(transfer_type=[words.transfer_type(t) for t in facts.transfers["transfer_type"]])
    second = book.table(words["sheet_transfers"], words["transfers_title"], cols, rows.to_dict("records"),
                        [words.ledger_note(facts)])
    return [first, second]


def _target_sheet(book: Book, profile: Profile, facts: Facts, words: Words) -> Written:
    """Every target for the scope: value, goal, progress, met, projection, clause and basis."""
    t = facts.targets
    en = book.en
    rows = [{"name": r["name_en" if en else "name_zh"], "scope": district_name(profile, r["scope"], words.lang),
             "value": words.measure(r["value"], r["unit"]), "goal": words.goal(r["comparator"], r["target"], r["unit"])
             if r["scope"] == "city" else "", "progress": r["progress"],
             "met": words.yes_no(r["met"]), "projected": words.measure(r["projected"], r["unit"]),
             "on_track": words.yes_no(r["on_track"]), "deadline": r["deadline"], "clause": r["clause"],
             "basis": r["basis_en" if en else "basis_zh"]} for r in t.to_dict("records")]
    cols = [Column("name", "目标", "Target"), Column("scope", "范围", "Scope"), Column("value", "现值", "Value"),
            Column("goal", "目标值", "Goal"), Column("progress", "进度", "Progress", type="percent"),
            Column("met", "已达标", "Met"), Column("projected", "期末预测", "Projected"),
            Column("on_track", "预计达标", "On track"), Column("deadline", "期限", "Deadline"),
            Column("clause", "政策条款", "Clause"), Column("basis", "计算依据", "Basis")]
    return book.table(words["sheet_targets"], words["targets_title"], cols, rows,
                      [words.targets_note(facts)])
