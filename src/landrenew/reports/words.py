"""The reports' words, Chinese and English, and how they write numbers, dates and names."""

from __future__ import annotations

import math
from datetime import date
from typing import TYPE_CHECKING, Any

from landrenew import ledger
from landrenew.policy import Profile
from landrenew.render import format_measure

if TYPE_CHECKING:
    from landrenew.reports.facts import Facts

CITY = "city"
#: how the profile's comparators are written in a report
COMPARATORS = {">=": "≥", "<=": "≤", "==": "=", ">": ">", "<": "<"}

#: key → (zh, en)
TEXT: dict[str, tuple[str, str]] = {
    "title": ("“危污乱散低”用地出清提升工作台账", "Land clearance and upgrade (危污乱散低): ledger"),
    "briefing": ("“危污乱散低”用地出清提升工作简报", "Land clearance and upgrade (危污乱散低): briefing"),
    "scope": ("范围", "Scope"), "run": ("分析批次", "Analysis run"), "as_of": ("分析基准日", "Run as of"),
    "eval_year": ("亩均评价年度", "Evaluation year"), "ops_as_of": ("案件与台账截至", "Cases and ledger as of"),
    "profile": ("政策参数", "Policy profile"), "profile_digest": ("政策参数指纹", "Profile digest"),
    "input_hash": ("数据指纹", "Input data hash"), "code_version": ("程序版本", "Code version"),
    "run_by": ("分析人与完成时间", "Run by, finished"), "generated": ("生成时间", "Generated"),
    "contents": ("目录", "Contents"), "sheet": ("工作表", "Sheet"), "sheet_title": ("内容", "Content"),
    "rows": ("行数", "Rows"), "sources": ("数据来源（导入批次）", "Data sources (ingest batches)"),
    "batch": ("批次", "Batch"), "kind": ("数据类型", "Kind"), "file": ("文件", "File"),
    "loaded": ("导入行数", "Rows loaded"), "rejected": ("拒绝行数", "Rows rejected"),
    "loaded_at": ("导入时间（UTC）", "Loaded (UTC)"), "user": ("操作人", "User"),
    "sheet_cover": ("封面", "Cover"), "sheet_summary": ("分区汇总", "By district"),
    "summary_title": ("分区汇总", "Summary by district"),
    "sheet_states": ("案件办理情况", "Cases by state"), "states_title": ("案件按办理状态汇总", "Cases by state"),
    "sheet_open": ("在办案件", "Open cases"), "open_title": ("在办案件清单（按状态）", "Open cases, by state"),
    "sheet_balances": ("指标余额", "Quota balances"), "balances_title": ("指标台账余额", "Quota ledger balances"),
    "sheet_transfers": ("指标流水", "Quota transfers"),
    "transfers_title": ("指标台账流水（入账、调剂、使用、冲正）", "Quota ledger transfers"),
    "sheet_targets": ("目标完成", "Targets"), "targets_title": ("目标完成情况", "Targets: progress"),
    "city": ("全市", "whole city"), "yes": ("是", "yes"), "no": ("否", "no"),
}


def district_name(profile: Profile, code: str, lang: str = "zh") -> str:
    """A district's name (``city`` → the city's), else the code."""
    if code == CITY:
        return profile.city.name_en if lang == "en" else profile.city.name_zh
    for d in profile.city.districts:
        if d.code == code:
            return d.name_en if lang == "en" else d.name_zh
    return code


class Words:
    """The words of one report language."""

    def __init__(self, profile: Profile, lang: str = "zh") -> None:
        self.profile, self.lang = profile, "en" if lang == "en" else "zh"
        self.en = self.lang == "en"

    def __getitem__(self, key: str) -> str:
        zh, en = TEXT[key]
        return en if self.en else zh

    def scope_name(self, facts: Facts) -> str:
        """``常州市（全市）`` / ``Changzhou (whole city)``, or the district's name."""
        if facts.city:
            city = district_name(self.profile, CITY, self.lang)
            return f"{city} ({self['city']})" if self.en else f"{city}（{self['city']}）"
        return (", " if self.en else "、").join(district_name(self.profile, d, self.lang) for d in facts.districts)

    def run_note(self, facts: Facts) -> str:
        r = facts.run
        if self.en:
            return f"run {r.id}, as of {r.as_of.isoformat()}, evaluation year {r.year}, profile {r.profile_id} {r.profile_version}"
        return f"分析批次 {r.id}，基准日 {r.as_of.isoformat()}，评价年度 {r.year}，政策参数 {r.profile_id} {r.profile_version}"

    def cases_note(self, facts: Facts) -> str:
        return f"as of {facts.as_of.isoformat()}" if self.en else f"截至 {facts.as_of.isoformat()}"

    def ledger_note(self, facts: Facts) -> str:
        scope = "every account" if self.en else "全部账户"
        if not facts.city:
            scope = "the district's accounts" if self.en else "本区账户"
        return f"{scope}, as of {facts.generated:%Y-%m-%d %H:%M}" if self.en else \
            f"{scope}，截至 {facts.generated:%Y-%m-%d %H:%M}"

    def targets_note(self, facts: Facts) -> str:
        return (f"measured from cases, the ledger, the latest run and statistics, as of {facts.as_of.isoformat()}"
                if self.en else f"由案件、指标台账、最新分析批次与统计数据计算，截至 {facts.as_of.isoformat()}")

    def measure(self, value: Any, unit: str) -> str:
        """A target value in its unit (亩 with separators, ratios as %, counts)."""
        return format_measure(value, unit)

    def goal(self, comparator: str, target: Any, unit: str) -> str:
        """A goal as it is written: ``≥ 10,000.0``."""
        return f"{COMPARATORS.get(comparator, comparator)} {self.measure(target, unit)}"

    def yes_no(self, value: bool | None) -> str:
        if value is None or (isinstance(value, float) and math.isnan(value)):
            return "—"
        return self["yes"] if value else self["no"]

    def transfer_type(self, kind: str) -> str:
        return ledger.type_name(kind, self.lang)

    def date(self, d: date) -> str:
        """``2026年11月27日`` / ``27 November 2026``."""
        return f"{d.day} {d:%B %Y}" if self.en else f"{d.year}年{d.month}月{d.day}日"
