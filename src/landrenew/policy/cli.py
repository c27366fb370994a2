"""``landrenew policy …``: show, validate and diff policy profiles."""

from __future__ import annotations

import json
from enum import Enum
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from landrenew.policy.diff import Change, diff_profiles
from landrenew.policy.loader import DEFAULT_PROFILE, ProfileError, load_profile
from landrenew.policy.schema import Profile, Rule

policy_app = typer.Typer(
    name="policy",
    help="Show, validate and compare policy profiles (rules, weights, targets as data).",
    no_args_is_help=True,
)


class Lang(str, Enum):
    zh = "zh"
    en = "en"


_SECTIONS: dict[str, tuple[str, str]] = {
    "targets": ("目标", "Targets"),
    "tags": ("危污乱散低标签", "Tags (危污乱散低)"),
    "evaluation": ("亩均效益评价", "Per-mu evaluation"),
    "land_rules": ("用地规则", "Land rules"),
    "disposal": ("处置路径", "Disposal"),
    "quota": ("指标", "Quota"),
    "allocation": ("差别化资源配置", "Differentiated allocation"),
}

_HEAD: dict[str, tuple[str, str]] = {
    "id": ("规则编号", "rule id"),
    "clause": ("条款", "clause"),
    "description": ("说明", "description"),
    "params": ("参数", "parameters"),
    "assumption": ("假设", "assumption"),
    "key": ("键", "key"),
    "old": ("原值", "old"),
    "new": ("新值", "new"),
    "code": ("代码", "code"),
    "name": ("名称", "name"),
    "kind": ("类型", "kind"),
}

_BASE_FIELDS = {"id", "clause", "description_zh", "description_en", "assumption", "source_note"}


def _t(pair: tuple[str, str], lang: Lang) -> str:
    return pair[0] if lang is Lang.zh else pair[1]


def _console(stderr: bool = False) -> Console:
    # markup off: key paths like ``targets.goals[target.x]`` must print as written
    return Console(stderr=stderr, soft_wrap=False, highlight=False, markup=False)


def _value(v: Any) -> str:
    if isinstance(v, str):
        return v
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    if isinstance(v, list) and all(isinstance(x, str) for x in v):
        return "[" + ", ".join(v) + "]"
    return json.dumps(v, ensure_ascii=False)


def _lines(data: Any, lang: Lang, prefix: str = "") -> list[str]:
    """``key: value`` lines of nested data in one language; scalar lists stay on one line."""
    other = "_en" if lang is Lang.zh else "_zh"
    if isinstance(data, dict):
        out: list[str] = []
        for k, v in data.items():
            if v is None or v == [] or v == {} or str(k).endswith(other):
                continue
            key = f"{prefix}.{k}" if prefix else str(k)
            if isinstance(v, dict):
                out += _lines(v, lang, key)
            else:
                out.append(f"{key}: {_value(v)}")
        return out
    return [f"{prefix}: {_value(data)}"] if prefix else [_value(data)]


def _rule_params(rule: Rule, lang: Lang) -> list[str]:
    """Everything of a rule except its shared fields: kind, names, when, params …"""
    data = rule.model_dump(mode="json", exclude=_BASE_FIELDS)
    params = data.pop("params", {})
    return _lines(data, lang) + _lines(params, lang)


def _description(rule: Rule, lang: Lang) -> str:
    return rule.description_zh if lang is Lang.zh else rule.description_en


def _flag(rule: Rule, lang: Lang) -> Text:
    if not rule.assumption:
        return Text("")
    return Text("假设 [I]" if lang is Lang.zh else "yes [I]", style="yellow")


def _load_or_exit(name_or_path: str, console: Console) -> Profile:
    try:
        return load_profile(name_or_path)
    except ProfileError as e:
        _print_errors(e, console)
        raise typer.Exit(1) from None


def _print_errors(error: ProfileError, console: Console) -> None:
    n = len(error.issues)
    console.print(
        f"✗ invalid policy profile {error.source} — {n} error(s) / 政策配置无效，{n} 处错误",
        style="bold red",
    )
    for issue in error.issues:
        console.print(Text.assemble("  ", (issue.path, "red"), f": {issue.en} / {issue.zh}"))


def _header(profile: Profile, lang: Lang, console: Console) -> None:
    name = profile.name_zh if lang is Lang.zh else profile.name_en
    s = profile.source
    console.print(Text.assemble((name, "bold"), f"  ({profile.id} v{profile.version})"))
    console.print(f"{s.document}  {s.date}  {s.title_zh if lang is Lang.zh else s.title_en}")
    console.print(f"sha256 {profile.digest()}")
    city = profile.city
    table = Table(title=city.name_zh if lang is Lang.zh else city.name_en, title_justify="left")
    for col in ("code", "name", "kind"):
        table.add_column(_t(_HEAD[col], lang))
    for d in city.districts:
        table.add_row(
            d.code or "—",
            d.name_zh if lang is Lang.zh else d.name_en,
            d.kind + (f" ⊂ {', '.join(d.overlaps)}" if d.overlaps else ""),
        )
    console.print(table)
    console.print(f"extent {list(city.extent)}  storage {city.storage_crs}  area {city.area_crs}")


def _rule_table(title: str, rules: list[Rule], lang: Lang) -> Table:
    table = Table(title=title, title_justify="left", show_lines=True)
    table.add_column(_t(_HEAD["id"], lang), no_wrap=True)
    table.add_column(_t(_HEAD["clause"], lang), overflow="fold")
    table.add_column(_t(_HEAD["description"], lang), overflow="fold", ratio=2)
    table.add_column(_t(_HEAD["params"], lang), overflow="fold", ratio=2)
    table.add_column(_t(_HEAD["assumption"], lang))
    for r in rules:
        table.add_row(
            r.id, r.clause, _description(r, lang), "\n".join(_rule_params(r, lang)), _flag(r, lang)
        )
    return table


@policy_app.command("show")
def show(
    name_or_path: Annotated[
        str, typer.Argument(help="bundled profile name or path to a YAML file")
    ] = DEFAULT_PROFILE,
    lang: Annotated[
        Lang, typer.Option("--lang", help="language of names and descriptions")
    ] = Lang.zh,
    rule: Annotated[
        str | None, typer.Option("--rule", help="show only the rule with this id")
    ] = None,
) -> None:
    """Show a profile's rules: id, clause, description, parameters, assumption flag."""
    console = _console()
    profile = _load_or_exit(name_or_path, console)
    if rule is not None:
        if not profile.has_rule(rule):
            console.print(f"no rule {rule!r} in {profile.id} / 无此规则", style="red")
            raise typer.Exit(1)
        r = profile.rule(rule)
        table = _rule_table(profile.rule_path(rule), [r], lang)
        console.print(table)
        if r.source_note:
            console.print(f"note: {r.source_note}")
        return
    _header(profile, lang, console)
    by_section: dict[str, list[Rule]] = {}
    for path, r in profile.iter_rules():
        by_section.setdefault(str(path[0]), []).append(r)
    for section, rules in by_section.items():
        console.print(
            _rule_table(_t(_SECTIONS.get(section, (section, section)), lang), rules, lang)
        )
    n = len(profile.assumptions())
    console.print(
        f"{len(profile.rules())} rules, {n} flagged [I]"
        if lang is Lang.en
        else f"共 {len(profile.rules())} 条规则，其中 {n} 条为假设值 [I]"
    )


@policy_app.command("validate")
def validate(
    file: Annotated[Path, typer.Argument(help="YAML profile to check")],
) -> None:
    """Check a profile file; list every error with its key path (exit 1 if any)."""
    console = _console()
    try:
        profile = load_profile(file)
    except ProfileError as e:
        _print_errors(e, console)
        raise typer.Exit(1) from None
    console.print(
        Text.assemble(
            (f"✓ {file} is valid / 校验通过", "bold green"),
            f": {profile.id} v{profile.version}, {len(profile.rules())} rules, "
            f"{len(profile.assumptions())} assumptions, {len(profile.city.districts)} districts, "
            f"sha256 {profile.digest()}",
        )
    )


def _cell(change: Change, value: Any, lang: Lang) -> str:
    if value is None:
        return "—"
    if change.path == "" and isinstance(value, dict):
        desc = value.get("description_zh" if lang is Lang.zh else "description_en", "")
        return f"({'规则' if lang is Lang.zh else 'rule'}) {desc}"
    return _value(value)


@policy_app.command("diff")
def diff(
    a: Annotated[str, typer.Argument(help="old profile: bundled name or YAML path")],
    b: Annotated[str, typer.Argument(help="new profile: bundled name or YAML path")],
    lang: Annotated[Lang, typer.Option("--lang")] = Lang.zh,
) -> None:
    """List what changed from profile A to profile B, by rule id."""
    console = _console()
    pa = _load_or_exit(a, console)
    pb = _load_or_exit(b, console)
    changes = diff_profiles(pa, pb)
    if not changes:
        console.print("no differences / 无差异")
        return
    table = Table(title=f"{a} → {b}", title_justify="left")
    table.add_column(_t(_HEAD["id"], lang), no_wrap=True)
    table.add_column(_t(_HEAD["key"], lang), overflow="fold")
    table.add_column(_t(_HEAD["old"], lang), overflow="fold")
    table.add_column(_t(_HEAD["new"], lang), overflow="fold")
    for c in changes:
        table.add_row(
            c.rule_id or "", c.path or c.kind, _cell(c, c.old, lang), _cell(c, c.new, lang)
        )
    console.print(table)
    console.print(f"{len(changes)} change(s) / 处变更")
