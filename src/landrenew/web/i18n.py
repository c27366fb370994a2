"""The words of the pages, in Chinese and English (the data's own words come from the services)."""

from __future__ import annotations

WORDS: dict[str, tuple[str, str]] = {
    "app": ("危污乱散低用地出清提升", "Land clearance and upgrade"),
    "cockpit": ("驾驶舱", "Cockpit"),
    "map": ("一张图", "Map"),
    "lists": ("清单", "Lists"),
    "cases": ("案件", "Cases"),
    "ledger": ("指标台账", "Quota ledger"),
    "runs": ("分析批次", "Runs"),
    "intake": ("数据导入", "Data intake"),
    "reports": ("报告", "Reports"),
    "download_reports": ("下载台账与简报", "Download ledger and briefing"),
    "sign_in": ("登录", "Sign in"),
    "sign_out": ("退出", "Sign out"),
    "user": ("用户名", "User name"),
    "password": ("密码", "Password"),
    "bad_login": ("用户名或密码错误，或账户已停用", "wrong user name or password, or the account is disabled"),
    "other_lang": ("English", "中文"),
    "targets": ("目标完成情况", "Targets"),
    "districts": ("分区排名", "District ranking"),
    "trend": ("完成趋势", "Progress over time"),
    "list_sizes": ("清单规模", "List sizes"),
    "classes": ("亩均评价分类", "Firm classes"),
    "as_of": ("截至", "as of"),
    "loading": ("加载中…", "Loading…"),
    "no_run": ("还没有分析批次：请先运行 landrenew analyze", "no analysis run yet: run landrenew analyze"),
}


def pick(table: dict[str, tuple[str, str]], en: bool) -> dict[str, str]:
    """A page's word table (key → (zh, en)) in one language."""
    return {k: v[1] if en else v[0] for k, v in table.items()}


def words(lang: str) -> dict[str, str]:
    """Every word of the frame in ``lang`` (zh or en)."""
    return pick(WORDS, lang == "en")
