"""Reports people hand around: the Excel 台账 (:mod:`.workbook`), the Word briefing (:mod:`.word`) and the
same as PDF (:mod:`.pdf`), for the city or one district, in Chinese or English.

:func:`make_reports` reads the facts once (:mod:`.facts`), writes the workbook, composes the
briefing (:mod:`.briefing`: text, tables, charts and maps drawn offline by :mod:`.figures`) and
renders it. A district role gets its own district's reports only.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

from sqlalchemy import Engine

from landrenew.actors import Actor, Forbidden
from landrenew.lists import run_info
from landrenew.policy import Profile
from landrenew.reports.facts import read_facts
from landrenew.reports.words import Words, district_name

FORMATS = ("xlsx", "docx", "pdf")


class ReportError(ValueError):
    """A report that cannot be made as asked (unknown district or format)."""

    def __init__(self, zh: str, en: str) -> None:
        super().__init__(f"{zh} / {en}")
        self.zh, self.en = zh, en


@dataclass
class Reports:
    """The files written, by format, and how long each took (seconds)."""

    files: dict[str, Path] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)
    run_id: int | None = None


def file_stem(profile: Profile, run_id: int, district: str | None, lang: str, when: date) -> str:
    """``常州市_危污乱散低_批次3_20261127`` / ``Wujin_District_run3_20261127``."""
    where = district_name(profile, district or "city", lang)
    if lang == "en":
        return f"{where.replace(' ', '_')}_run{run_id}_{when:%Y%m%d}"
    return f"{where}_危污乱散低_批次{run_id}_{when:%Y%m%d}"


def check_request(engine: Engine, profile: Profile, district: str | None, run_id: int | None) -> None:
    """Refuse an unknown district (:class:`ReportError`) or run (:class:`~landrenew.lists.ListError`)."""
    if district is not None and district not in profile.city.district_codes:
        raise ReportError(f"没有行政区 {district}（可选：{', '.join(profile.city.district_codes)}）",
                          f"no district {district} (one of {', '.join(profile.city.district_codes)})")
    run_info(engine, run_id)


def make_reports(engine: Engine, profile: Profile, actor: Actor, out: Path, *, run_id: int | None = None,
                 district: str | None = None, lang: str = "zh", formats: Iterable[str] = FORMATS,
                 as_of: date | None = None, appendix_rows: int = 200, maps: bool = True,
                 progress: Callable[[str], None] | None = None, now: datetime | None = None) -> Reports:
    """Write the reports of run ``run_id`` (default: the latest) for ``district`` (default: the city;
    a district role: its own district) into the folder ``out``; ``formats`` of :data:`FORMATS`."""
    formats = list(dict.fromkeys(formats))
    bad = [f for f in formats if f not in FORMATS]
    if bad or not formats:
        raise ReportError(f"未知格式 {', '.join(bad) or '（无）'}（可选：{', '.join(FORMATS)}）",
                          f"unknown format {', '.join(bad) or '(none)'} (one of {', '.join(FORMATS)})")
    check_request(engine, profile, district, run_id)
    mine = actor.districts(profile)
    if mine is not None:
        if district is not None and district not in mine:
            raise Forbidden(f"无权查看其他行政区（{district}）的报告", f"may not see the reports of district {district}")
        district = next(iter(mine))
    step = progress or (lambda _s: None)
    words = Words(profile, lang)
    done = Reports()
    t0 = time.perf_counter()
    step("facts")
    facts = read_facts(engine, profile, run_id, None if district is None else {district}, as_of, now)
    done.run_id, done.seconds["facts"] = facts.run.id, time.perf_counter() - t0
    out.mkdir(parents=True, exist_ok=True)
    stem = file_stem(profile, facts.run.id, district, words.lang, facts.generated.date())
    # the writers are imported when asked for: matplotlib and WeasyPrint take a second to import
    if "xlsx" in formats:
        from landrenew.reports.workbook import write_workbook

        t0 = time.perf_counter()
        step("xlsx")
        name = f"{stem}_ledger.xlsx" if words.en else f"{stem}_台账.xlsx"
        write_workbook(engine, profile, facts, out / name, words)
        done.files["xlsx"], done.seconds["xlsx"] = out / name, time.perf_counter() - t0
    if {"docx", "pdf"} & set(formats):
        from landrenew.reports.briefing import compose_briefing

        t0 = time.perf_counter()
        step("briefing")
        doc = compose_briefing(engine, profile, facts, words, appendix_rows, maps)
        done.seconds["briefing"] = time.perf_counter() - t0
        for fmt in ("docx", "pdf"):
            if fmt not in formats:
                continue
            t0 = time.perf_counter()
            step(fmt)
            path = out / (f"{stem}_briefing.{fmt}" if words.en else f"{stem}_简报.{fmt}")
            if fmt == "docx":
                from landrenew.reports.word import write_docx
                write_docx(doc, path)
            else:
                from landrenew.reports.pdf import write_pdf
                write_pdf(doc, path)
            done.files[fmt], done.seconds[fmt] = path, time.perf_counter() - t0
    return done
