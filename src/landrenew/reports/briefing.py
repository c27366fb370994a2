"""The weekly briefing (工作简报) as a :class:`~landrenew.reports.document.Document`: 基本情况 with the
lists and firm classes, the targets with their progress and trend, each district's progress, key
findings, maps of the flagged parcels for the city and each district, and appendices with the
top of each list. Written once from :class:`~landrenew.reports.facts.Facts`; rendered to Word and
PDF by :mod:`.word` and :mod:`.pdf`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
from sqlalchemy import Engine, select

from landrenew.features import geom_column, to_shapes
from landrenew.lists import Column, get_list, iter_rows, names
from landrenew.onemap import district_features
from landrenew.policy import Profile
from landrenew.reports import figures
from landrenew.reports.document import Document, Figure, Heading, PageBreak, Paragraph, Table
from landrenew.reports.facts import YIELDS, Facts, district_progress
from landrenew.reports.words import Words, district_name
from landrenew.store.models import Parcel, RunParcel

#: Chinese ordinal numbers for headings (一、二、…)
ORDINALS = "一二三四五六七八九十"
#: the columns of each list shown in an appendix (the full lists are in the workbook)
APPENDIX_COLUMNS = {
    "parcels": ("parcel_key", "district_code", "dlbm", "area_mu", "tags", "firm_name", "firm_class"),
    "firms": ("uscc", "name", "district_code", "land_area_mu", "score", "firm_class"),
    "recommendations": ("case_id", "district_code", "path", "area_mu", "tags", "priority", "case_state"),
}


#: Chinese characters and full-width punctuation: no spaces beside them in Chinese text (a justified
#: line would stretch them)
_CJK = "[\u3000-\u303f\u4e00-\u9fff\uff00-\uffef“”‘’]"
_SPACES = re.compile(f"(?<={_CJK}) +| +(?={_CJK})")


def tight(text: str) -> str:
    """Chinese text without the ASCII spaces next to Chinese characters: ``宗地 3,993 宗`` → ``宗地3,993宗``."""
    return _SPACES.sub("", text)


def n(v: Any) -> str:
    """An integer count with thousands separators."""
    return f"{int(round(float(v or 0))):,}"


def mu(v: Any, digits: int = 1) -> str:
    """An area (or any amount) with thousands separators and ``digits`` decimals."""
    return f"{float(v or 0):,.{digits}f}"


def pct(v: Any) -> str:
    """A share as a percentage; — when unknown."""
    if v is None or (isinstance(v, float) and np.isnan(v)):
        return "—"
    return f"{float(v):.1%}"


class Briefing:
    """Writes the document for one scope; ``t(zh, en)`` picks the language."""

    def __init__(self, engine: Engine, profile: Profile, facts: Facts, words: Words, appendix_rows: int = 200,
                 maps: bool = True) -> None:
        self.engine, self.profile, self.facts, self.w = engine, profile, facts, words
        self.en, self.appendix_rows, self.maps = words.en, appendix_rows, maps
        self.tags = list(profile.tags.values())
        self.named = names(profile)
        self.section = 0
        self.numbers = {"table": 0, "figure": 0}

    def t(self, zh: str, en: str) -> str:
        return en if self.en else tight(zh)

    def district(self, code: str) -> str:
        return district_name(self.profile, code, self.w.lang)

    def caption(self, kind: str, zh: str, en: str) -> str:
        """The next table's or figure's caption, numbered in document order: ``表3　…`` / ``Table 3. …``."""
        self.numbers[kind] += 1
        k = self.numbers[kind]
        return self.t(f"{'表' if kind == 'table' else '图'}{k}　{zh}", f"{kind.title()} {k}. {en}")

    def heading(self, zh: str, en: str) -> Heading:
        self.section += 1
        return Heading(f"{self.section}. {en}" if self.en else f"{ORDINALS[self.section - 1]}、{zh}")

    # ----------------------------------------------------------------- the whole document

    def compose(self) -> Document:
        f, w = self.facts, self.w
        scope = self.district(f.districts[0]) if not f.city else self.district("city")
        title = f"{scope} {w['briefing']}" if self.en else f"{scope}{w['briefing']}"
        subtitle = self.t(f"{w.date(f.generated.date())}　·　分析批次 {f.run.id}（基准日 {w.date(f.run.as_of)}）",
                          f"{w.date(f.generated.date())} · run {f.run.id} (as of {w.date(f.run.as_of)})")
        doc = Document(title, subtitle, w.lang, footer=self.t(
            f"landrenew 依据 {f.run.profile_id} {f.run.profile_version} 生成；数据指纹 {str(f.provenance.get('input_hash'))[:12]}",
            f"made by landrenew with {f.run.profile_id} {f.run.profile_version}; data hash "
            f"{str(f.provenance.get('input_hash'))[:12]}"))
        doc.add(*self.overview(), *self.targets(), *self.progress(), *self.findings(), *self.map_section(),
                PageBreak(), *self.appendices())
        return doc

    # ----------------------------------------------------------------- 一、基本情况

    def overview(self) -> list[Any]:
        f = self.facts
        total_n, total_mu = f.parcels["parcels"].sum(), f.parcels["area_mu"].sum()
        flagged_n, flagged_mu = f.flagged["flagged"].sum(), f.flagged["flagged_mu"].sum()
        share = flagged_mu / total_mu if total_mu else None
        where = self.t("全市" if f.city else "本区", "the city" if f.city else "the district")
        per_tag = [(t, f.flagged[f"n_{t.char}"].sum(), f.flagged[f"mu_{t.char}"].sum()) for t in self.tags]
        tag_text = self.t("；".join(f"“{t.char}”（{t.name_zh}）{n(k)} 宗、{mu(a)} 亩" for t, k, a in per_tag),
                          "; ".join(f"{t.char} ({t.name_en}) {n(k)} parcels, {mu(a)} mu" for t, k, a in per_tag))
        r = f.run
        out: list[Any] = [self.heading("基本情况", "Overview"), Paragraph(self.t(
            f"截至{self.w.date(r.as_of)}，{where}共有宗地 {n(total_n)} 宗、{mu(total_mu)} 亩。第 {r.id} 批次分析"
            f"（亩均评价年度 {r.year}，政策参数 {r.profile_id} {r.profile_version}）标注“危污乱散低”地块 "
            f"{n(flagged_n)} 宗、{mu(flagged_mu)} 亩，占宗地面积的 {pct(share)}。其中 {tag_text}（一宗地块可同时属于多类）。",
            f"As of {self.w.date(r.as_of)}, {where} has {n(total_n)} parcels covering {mu(total_mu)} mu. Run {r.id} "
            f"(evaluation year {r.year}, profile {r.profile_id} {r.profile_version}) tagged {n(flagged_n)} parcels, "
            f"{mu(flagged_mu)} mu, {pct(share)} of the parcel area: {tag_text} (a parcel may carry several tags)."))]
        rows = [[f"{t.char} {t.name_en if self.en else t.name_zh}", n(k), mu(a), pct(a / flagged_mu if flagged_mu else None)]
                for t, k, a in per_tag]
        rows.append([self.t("合计（去重）", "Total (each parcel once)"), n(flagged_n), mu(flagged_mu), pct(1.0 if flagged_mu else None)])
        out.append(Table(self.caption("table", "“危污乱散低”地块", "Tagged parcels"),
                         [self.t("类别", "List"), self.t("宗数", "Parcels"), self.t("面积（亩）", "Area (mu)"),
                          self.t("占标注面积", "Share of tagged area")], rows, ["l", "r", "r", "r"], total=True))
        out += self.firm_paragraphs()
        out += self.recommendation_paragraphs()
        return out

    def firm_paragraphs(self) -> list[Any]:
        f, p = self.facts, self.profile.evaluation.classes.params
        classes = list(p.cutoffs)
        counts = {k: int(f.firms[k].sum()) for k in [*classes, p.not_rated]}
        rated = sum(counts[k] for k in classes)
        worst = classes[-1]
        land = float(f.firms[f"land_{worst}"].sum())
        text = self.t(
            f"亩均效益评价参评企业 {n(rated)} 家，其中 " + "、".join(f"{k} 类 {n(counts[k])} 家" for k in classes)
            + f"；不参评 {n(counts[p.not_rated])} 家。{worst} 类企业用地 {mu(land)} 亩，是低效用地再开发的重点。",
            f"{n(rated)} firms were rated for output per mu: " + ", ".join(f"class {k} {n(counts[k])}" for k in classes)
            + f"; {n(counts[p.not_rated])} not rated. Class {worst} firms hold {mu(land)} mu, the first candidates "
            "for redevelopment.")
        out: list[Any] = [Paragraph(text)]
        table = f.firms[classes].rename(index=self.district)
        if len(table) and rated:
            out.append(Figure(self.caption("figure", "亩均评价企业分类（分区）", "Firms by class and district"),
                              figures.bar_chart(table, title=self.t("各区企业亩均分类", "Firm classes by district"),
                                                ylabel=self.t("企业数（家）", "firms"),
                                                colours={k: figures.CLASS_COLOURS.get(k, "#878787") for k in classes}),
                              14.0))
        return out

    def recommendation_paragraphs(self) -> list[Any]:
        f = self.facts
        rec = f.recommendations
        sums = {y: float(rec[y].sum()) if len(rec) else 0.0 for y in ("cases", "area_mu", *YIELDS)}
        c = f.cases
        done, open_ = c[c["done"]], c[c["open"]]
        text = self.t(
            f"分析提出处置建议 {n(sums['cases'])} 个、{mu(sums['area_mu'])} 亩，预计腾退空间 {mu(sums['vacated_mu'])} 亩、"
            f"补充耕地 {mu(sums['cultivated_mu'])} 亩（其中水田 {mu(sums['paddy_mu'])} 亩）、新增粮食产能 "
            f"{n(sums['grain_kg'])} 公斤，形成增减挂钩节余指标 {mu(sums['construction_quota_mu'])} 亩、增存挂钩计划指标 "
            f"{mu(sums['stock_linkage_mu'])} 亩。截至{self.w.date(f.as_of)}，已立案 {n(len(c))} 件，办结 {n(len(done))} 件、"
            f"{mu(done['area_mu'].sum())} 亩，在办 {n(len(open_))} 件、{mu(open_['area_mu'].sum())} 亩。",
            f"The run recommends {n(sums['cases'])} cases over {mu(sums['area_mu'])} mu, expected to vacate "
            f"{mu(sums['vacated_mu'])} mu, add {mu(sums['cultivated_mu'])} mu of cultivated land ({mu(sums['paddy_mu'])} "
            f"mu paddy) and {n(sums['grain_kg'])} kg of grain capacity, and yield {mu(sums['construction_quota_mu'])} mu "
            f"of linkage quota and {mu(sums['stock_linkage_mu'])} mu of stock-linkage plan quota. By "
            f"{self.w.date(f.as_of)}, {n(len(c))} cases were opened: {n(len(done))} done ({mu(done['area_mu'].sum())} "
            f"mu), {n(len(open_))} open ({mu(open_['area_mu'].sum())} mu).")
        return [Paragraph(text)]

    # ----------------------------------------------------------------- 二、目标完成情况

    def targets(self) -> list[Any]:
        f = self.facts
        t = f.targets
        out: list[Any] = [self.heading("目标完成情况", "Targets")]
        if t.empty:
            return [*out, Paragraph(self.t("政策参数未设目标。", "The profile sets no targets."))]
        name = "name_en" if self.en else "name_zh"
        if f.city:
            city = t[t["scope"] == "city"]
            rows = [[r[name], self.w.goal(r["comparator"], r["target"], r["unit"]),
                     self.w.measure(r["value"], r["unit"]), pct(r["progress"]), self.w.yes_no(r["met"]),
                     self.w.measure(r["projected"], r["unit"]), self.w.yes_no(r["on_track"]),
                     r["deadline"].isoformat()] for r in city.to_dict("records")]
            out.append(Table(self.caption("table", "目标完成情况（全市）", "Targets (city)"),
                             [self.t("目标", "Target"), self.t("目标值", "Goal"), self.t("现值", "Value"),
                              self.t("进度", "Progress"), self.t("已达标", "Met"), self.t("期末预测", "Projected"),
                              self.t("预计达标", "On track"), self.t("期限", "Deadline")], rows,
                             ["l", "r", "r", "r", "c", "r", "c", "c"],
                             note=self.w.targets_note(f)))
            behind = city[city["on_track"].eq(False)]
            text = (self.t("按目前进度，以下目标预计到期不能完成：", "At the current pace these targets will be missed: ")
                    + ("、" if not self.en else ", ").join(
                        f"{r[name]}（预测 {self.w.measure(r['projected'], r['unit'])}，目标 "
                        f"{self.w.goal(r['comparator'], r['target'], r['unit'])}）" if not self.en else
                        f"{r[name]} (projected {self.w.measure(r['projected'], r['unit'])}, goal "
                        f"{self.w.goal(r['comparator'], r['target'], r['unit'])})" for r in behind.to_dict("records"))
                    + self.t("。", ".")) if len(behind) else self.t("各项目标按目前进度均可如期完成。",
                                                                     "At the current pace every target will be met.")
            out.append(Paragraph(text))
            out += self.trend_figure()
        else:
            d = f.districts[0]
            mine = t[t["scope"] == d]
            rows = [[r[name], self.w.measure(r["value"], r["unit"]), self.w.measure(r["projected"], r["unit"]),
                     r["deadline"].isoformat()] for r in mine.to_dict("records")]
            out.append(Table(self.caption("table", f"{self.district(d)}目标相关指标", f"Target measures, {self.district(d)}"),
                             [self.t("目标", "Target"), self.t("本区现值", "District value"),
                              self.t("期末预测", "Projected"), self.t("期限", "Deadline")], rows, ["l", "r", "r", "c"],
                             note=self.t("目标为全市目标，本表为本区贡献；", "Targets are set for the whole city; "
                                         "this is the district's share. ") + self.w.targets_note(f)))
        return out

    def trend_figure(self) -> list[Any]:
        """Progress of the ``>=`` targets at quarter ends, as a share of the goal."""
        tr = self.facts.trend
        goals = {g.id: g for g in self.profile.targets.goals if g.params.comparator in (">=", ">") and g.params.value > 0}
        tr = tr[tr["target_id"].isin(list(goals))]
        if tr.empty:
            return []
        wide = tr.pivot_table(index="date", columns="target_id", values="value", aggfunc="first")
        wide = wide[[g for g in goals if g in wide.columns]]
        wide = wide.apply(lambda col: col / goals[col.name].params.value)
        wide.columns = [goals[g].name_en if self.en else goals[g].name_zh for g in wide.columns]
        png = figures.line_chart(wide, title=self.t("目标进度（季末）", "Progress toward the targets (quarter ends)"),
                                 ylabel=self.t("完成目标值的比例", "share of the goal"), percent=True, reference=1.0,
                                 reference_label=self.t("目标", "goal"))
        return [Figure(self.caption("figure", "主要目标进度走势", "Progress of the main targets"), png, 15.0)]

    # ----------------------------------------------------------------- 三、各区推进情况

    def progress(self) -> list[Any]:
        f = self.facts
        prog = district_progress(f)
        cols = [self.t("行政区", "District"), self.t("标注地块（宗）", "Tagged parcels"),
                self.t("标注面积（亩）", "Tagged area (mu)"), self.t("建议面积（亩）", "Recommended (mu)"),
                self.t("立案（件）", "Opened"), self.t("在办（件）", "Open"), self.t("办结（件）", "Done"),
                self.t("办结面积（亩）", "Done (mu)"), self.t("办结率", "Done share")]
        rows = [[self.district(d), n(r["flagged"]), mu(r["flagged_mu"]), mu(r["recommended_mu"]), n(r["opened"]),
                 n(r["open"]), n(r["done"]), mu(r["done_mu"]), pct(r["done_share"])]
                for d, r in zip(prog.index, prog.to_dict("records"), strict=True)]
        note = self.t("办结率＝办结案件面积÷处置建议面积。", "Done share = area of cases done ÷ recommended area.")
        if not f.city:
            return [self.heading("本区推进情况", "Progress in the district"),
                    Table(self.caption("table", "本区推进情况", "Progress"), cols, rows, ["l", *["r"] * 8], note=note),
                    *self.state_table()]
        rows = [[str(i + 1), *r] for i, r in enumerate(rows)]
        total = prog.sum(numeric_only=True)
        share = total["done_mu"] / total["recommended_mu"] if total["recommended_mu"] else None
        rows.append(["", self.t("合计", "Total"), n(total["flagged"]), mu(total["flagged_mu"]),
                     mu(total["recommended_mu"]), n(total["opened"]), n(total["open"]), n(total["done"]),
                     mu(total["done_mu"]), pct(share)])
        tags = pd.DataFrame({f"{t.char} {t.name_en if self.en else t.name_zh}": f.flagged[f"mu_{t.char}"]
                             for t in self.tags}).rename(index=self.district)
        return [self.heading("各区推进情况", "Progress by district"),
                Table(self.caption("table", "各区推进情况（按办结率排名）", "Districts ranked by done share"),
                      [self.t("排名", "Rank"), *cols], rows, ["c", "l", *["r"] * 8], total=True, note=note),
                Figure(self.caption("figure", "各区“危污乱散低”地块面积", "Tagged area by district and list"),
                       figures.bar_chart(tags, title=self.t("各区标注地块面积", "Tagged area by district"),
                                         ylabel=self.t("面积（亩）", "area (mu)"),
                                         colours=figures.TAG_COLOURS[:len(self.tags)]), 15.0),
                *self.state_table()]

    def state_table(self) -> list[Any]:
        """Cases per state (open states first), in all and in area."""
        c = self.facts.cases
        if c.empty:
            return [Paragraph(self.t("尚未立案。", "No case has been opened yet."))]
        state = "state_en" if self.en else "state_zh"
        by = (c.groupby([state, "open"]).agg(cases=("case_no", "size"), area=("area_mu", "sum"))
              .reset_index().sort_values(["open", "cases"], ascending=[False, False]))
        rows = [[r[state], self.w.yes_no(bool(r["open"])), n(r["cases"]), mu(r["area"])] for r in by.to_dict("records")]
        rows.append([self.t("合计", "Total"), "", n(len(c)), mu(c["area_mu"].sum())])
        return [Table(self.caption("table", "案件办理状态", "Cases by state"),
                      [self.t("状态", "State"), self.t("在办", "Open"), self.t("案件（件）", "Cases"),
                       self.t("面积（亩）", "Area (mu)")], rows, ["l", "c", "r", "r"], total=True,
                      note=self.w.cases_note(self.facts))]

    # ----------------------------------------------------------------- 四、主要发现

    def findings(self) -> list[Any]:
        f = self.facts
        out: list[Any] = [self.heading("主要发现", "Key findings")]
        items: list[str] = []
        flagged_mu = f.flagged["flagged_mu"].sum()
        per_tag = sorted(((f.flagged[f"mu_{t.char}"].sum(), t) for t in self.tags), key=lambda x: -x[0])
        if flagged_mu and per_tag:
            a, t = per_tag[0]
            items.append(self.t(f"“{t.char}”（{t.name_zh}）类面积最大，{mu(a)} 亩，占标注面积的 {pct(a / flagged_mu)}。",
                                f"The {t.name_en} list ({t.char}) is the largest: {mu(a)} mu, {pct(a / flagged_mu)} "
                                "of the tagged area."))
        if f.city and flagged_mu:
            top = f.flagged["flagged_mu"].idxmax()
            share = f.flagged.loc[top, "flagged_mu"] / flagged_mu
            items.append(self.t(f"{self.district(top)}标注面积最多，{mu(f.flagged.loc[top, 'flagged_mu'])} 亩，占全市的 {pct(share)}。",
                                f"{self.district(top)} has the most tagged land: {mu(f.flagged.loc[top, 'flagged_mu'])} "
                                f"mu, {pct(share)} of the city's."))
            prog = district_progress(f).dropna(subset=["done_share"])
            if len(prog) > 1:
                low = prog.index[-1]
                items.append(self.t(f"{self.district(low)}办结率最低（{pct(prog.loc[low, 'done_share'])}），需加快推进。",
                                    f"{self.district(low)} has the lowest done share "
                                    f"({pct(prog.loc[low, 'done_share'])}) and needs to speed up."))
        items += self.worst_firms()
        open_ = f.cases[f.cases["open"]]
        if len(open_):
            state = "state_en" if self.en else "state_zh"
            busiest = open_[state].value_counts()
            oldest = open_.sort_values("days_open", ascending=False).iloc[0]
            items.append(self.t(
                f"在办案件 {n(len(open_))} 件，其中处于“{busiest.index[0]}”环节的最多（{n(busiest.iloc[0])} 件）；"
                f"平均已办 {n(open_['days_open'].mean())} 天，最长为 {oldest['case_no']}（{n(oldest['days_open'])} 天）。",
                f"{n(len(open_))} cases are open, most of them at \"{busiest.index[0]}\" ({n(busiest.iloc[0])}); on "
                f"average open {n(open_['days_open'].mean())} days, the longest {oldest['case_no']} "
                f"({n(oldest['days_open'])} days)."))
        for i, text in enumerate(items):
            out.append(Paragraph(f"({i + 1}) {text}" if self.en else f"（{ORDINALS[i]}）{text}"))
        return out

    def worst_firms(self) -> list[str]:
        """The largest firms (by land) of the lowest class."""
        worst = list(self.profile.evaluation.classes.params.cutoffs)[-1]
        _, _, total, rows = iter_rows(self.engine, self.profile, "firms", self.facts.run.id, {"firm_class": worst},
                                      "-land_area_mu", self._districts(), self.w.lang, 5)
        top = list(rows)
        if not top:
            return []
        names_ = ("、" if not self.en else ", ").join(f"{r['name']}（{mu(r['land_area_mu'])} 亩）" if not self.en else
                                                       f"{r['name']} ({mu(r['land_area_mu'])} mu)" for r in top)
        return [self.t(f"{worst} 类企业 {n(total)} 家，用地最多的是：{names_}。",
                       f"{n(total)} firms are class {worst}; those with the most land: {names_}.")]

    def _districts(self) -> set[str] | None:
        return None if self.facts.city else set(self.facts.districts)

    # ----------------------------------------------------------------- 五、图件

    def map_section(self) -> list[Any]:
        if not self.maps:
            return []
        f = self.facts
        out: list[Any] = [self.heading("“危污乱散低”地块分布图", "Maps of the tagged parcels")]
        parcels, districts = self.map_layers()
        scopes = ([("city", None)] if f.city else []) + [(d, d) for d in f.districts]
        for label, code in scopes:
            ps = parcels if code is None else parcels[parcels["district_code"] == code]
            ds = districts if code is None else districts[districts["district_code"] == code]
            counts = ps["category"].value_counts()
            cats = [(t.char, f"{t.char} {t.name_en if self.en else t.name_zh}（{n(counts.get(t.char, 0))}）"
                     if not self.en else f"{t.char} {t.name_en} ({n(counts.get(t.char, 0))})",
                     figures.TAG_COLOURS[k % len(figures.TAG_COLOURS)]) for k, t in enumerate(self.tags)]
            name = self.district(label)
            png = figures.parcel_map(ps, ds, cats, title=self.t(f"{name}“危污乱散低”地块分布", f"{name}: tagged parcels"),
                                     legend_title=self.t("主要类别（宗数）", "First tag (parcels)"),
                                     scale_label=self.t("千米", "km"), north_label=self.t("北", "N"),
                                     metric_crs=self.profile.city.area_crs)
            out.append(Figure(self.caption("figure", f"{name}“危污乱散低”地块分布图", f"{name}: tagged parcels"),
                              png, 15.0))
        out.append(Paragraph(self.t("地块按其首个类别着色（顺序：" + "、".join(t.char for t in self.tags) + "）。",
                                    "Parcels are coloured by their first tag (in the order "
                                    + ", ".join(t.char for t in self.tags) + ")."), "note"))
        return out

    def map_layers(self) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
        """The scope's flagged parcels (with their first tag as ``category``) and district outlines."""
        f = self.facts
        p, rp = Parcel.__table__, RunParcel.__table__
        with self.engine.connect() as conn:
            rows = conn.execute(select(rp.c.district_code, rp.c.tags, geom_column(conn, p.c.geom).label("wkb"))
                                .select_from(rp.join(p, p.c.key == rp.c.parcel_key))
                                .where(rp.c.run_id == f.run.id, rp.c.district_code.in_(f.districts))).all()
        order = "".join(t.char for t in self.tags)
        first = [next((ch for ch in order if ch in (r.tags or "")), None) for r in rows]
        parcels = gpd.GeoDataFrame({"district_code": [r.district_code for r in rows], "category": first},
                                   geometry=to_shapes([r.wkb for r in rows]), crs=self.profile.city.storage_crs)
        fc = district_features(self.engine, self.profile)
        districts = gpd.GeoDataFrame.from_features(fc["features"], crs="EPSG:4490") if fc["features"] else \
            gpd.GeoDataFrame({"district_code": [], "name": []}, geometry=[], crs="EPSG:4490")
        if len(districts):
            districts["name"] = districts["name_en" if self.en else "name_zh"]
            districts = districts[districts["district_code"].isin(f.districts)]
        return parcels, districts

    # ----------------------------------------------------------------- 附件

    def appendices(self) -> list[Any]:
        f = self.facts
        worst = list(self.profile.evaluation.classes.params.cutoffs)[-1]
        parts = [("parcels", None, "-area_mu", self.t("“危污乱散低”地块清单（按面积）", "Tagged parcels (by area)")),
                 ("firms", {"firm_class": worst}, "-land_area_mu",
                  self.t(f"{worst} 类企业清单（按用地面积）", f"Class {worst} firms (by land)")),
                 ("recommendations", {"matched": "true"}, "-priority",
                  self.t("处置建议清单（按优先级）", "Recommendations (by priority)"))]
        out: list[Any] = [Heading(self.t("附件", "Appendices"))]
        for i, (name, filters, sort, title) in enumerate(parts, start=1):
            out.append(self.list_table(i, name, filters, sort, title))
        open_ = f.cases[f.cases["open"]].sort_values(["state_order", "priority"], ascending=[True, False])
        state = "state_en" if self.en else "state_zh"
        rows = [[r["case_no"], self.district(r["district_code"]), self._name("path", r["path"]), r[state],
                 mu(r["area_mu"]), n(r["days_open"])] for r in open_.head(self.appendix_rows).to_dict("records")]
        out.append(Table(self.t(f"附件{len(parts) + 1}　在办案件清单", f"Appendix {len(parts) + 1}. Open cases"),
                         [self.t("案件编号", "Case"), self.t("行政区", "District"), self.t("处置路径", "Path"),
                          self.t("状态", "State"), self.t("面积（亩）", "Area (mu)"), self.t("已办天数", "Days open")],
                         rows, ["l", "l", "l", "l", "r", "r"], note=self.more(len(open_), len(rows))))
        return out

    def _name(self, kind: str, code: Any) -> str:
        if code is None or (isinstance(code, float) and np.isnan(code)):
            return ""
        entry = self.named.get(kind, {}).get(str(code))
        return entry["en" if self.en else "zh"] if entry else str(code)

    def cell(self, c: Column, v: Any) -> str:
        """A list cell as text: numbers with separators, coded values by name."""
        if v is None or (isinstance(v, float) and np.isnan(v)):
            return ""
        if c.type == "number":
            return mu(v, min(c.digits, 2))
        if c.type == "int":
            return n(v)
        if c.names == "district":
            return self.district(str(v))
        return self._name(c.names, v) if c.names else str(v)

    def more(self, total: int, shown: int) -> str:
        """The note under an appendix: how many rows there are and where the rest is."""
        if total <= shown:
            return self.t(f"共 {n(total)} 条。", f"{n(total)} rows.")
        return self.t(f"共 {n(total)} 条，列前 {n(shown)} 条；完整清单见同期台账（Excel）。",
                      f"{n(total)} rows, the first {n(shown)} shown; the full list is in the ledger workbook (Excel).")

    def list_table(self, i: int, name: str, filters: Mapping[str, str] | None, sort: str, title: str) -> Table:
        """The top of a list as an appendix table."""
        spec = get_list(name)
        keys = APPENDIX_COLUMNS[name]
        _, cols, total, rows = iter_rows(self.engine, self.profile, name, self.facts.run.id, filters, sort,
                                         self._districts(), self.w.lang, self.appendix_rows)
        shown = [c for c in spec.shown(self.w.lang) if c.key in keys]
        body = [[self.cell(c, r.get(c.key)) for c in shown] for r in rows]
        return Table(self.t(f"附件{i}　{title}", f"Appendix {i}. {title}"), [c.header(self.w.lang) for c in shown],
                     body, ["r" if c.type in ("number", "int") else "l" for c in shown],
                     note=self.more(total, len(body)))


def compose_briefing(engine: Engine, profile: Profile, facts: Facts, words: Words, appendix_rows: int = 200,
                     maps: bool = True) -> Document:
    """The briefing of ``facts``' run and scope."""
    return Briefing(engine, profile, facts, words, appendix_rows, maps).compose()

