"""Load a policy profile from a bundled name or a YAML file, with readable errors.

Every problem is reported with its dotted key path, in English and Chinese. List
elements that carry an ``id`` are shown by that id (``targets.goals[target.vacated_space]``),
others by index (``city.districts[0]``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from landrenew.policy.schema import Profile

PROFILES_DIR = Path(__file__).with_name("profiles")
DEFAULT_PROFILE = "changzhou-2022"

# Chinese wording for pydantic's built-in error types (English comes from pydantic).
_ZH: dict[str, str] = {
    "missing": "缺少必填键",
    "extra_forbidden": "未知键",
    "string_type": "应为文本（编码类取值请加引号）",
    "string_too_short": "不能为空",
    "string_pattern_mismatch": "格式不符合要求",
    "int_type": "应为整数",
    "int_parsing": "应为整数",
    "int_from_float": "应为整数",
    "float_type": "应为数字",
    "float_parsing": "应为数字",
    "bool_type": "应为 true 或 false",
    "bool_parsing": "应为 true 或 false",
    "greater_than": "数值过小",
    "greater_than_equal": "数值过小",
    "less_than": "数值过大",
    "less_than_equal": "数值过大",
    "literal_error": "取值不在允许范围内",
    "enum": "取值不在允许范围内",
    "date_type": "应为日期 YYYY-MM-DD",
    "date_parsing": "应为日期 YYYY-MM-DD",
    "date_from_datetime_parsing": "应为日期 YYYY-MM-DD",
    "list_type": "应为列表",
    "tuple_type": "应为列表",
    "dict_type": "应为映射（键: 值）",
    "model_type": "应为映射（键: 值）",
    "model_attributes_type": "应为映射（键: 值）",
    "too_short": "条目过少",
    "too_long": "条目过多",
    "union_tag_invalid": "kind 取值无效",
    "union_tag_not_found": "缺少 kind",
}


@dataclass(frozen=True)
class Issue:
    """One problem in a profile: where (dotted key path) and what, in English and Chinese."""

    path: str
    en: str
    zh: str

    def __str__(self) -> str:
        return f"{self.path}: {self.en} / {self.zh}"


class ProfileError(Exception):
    """A profile could not be read or is invalid; ``issues`` lists every problem."""

    def __init__(self, issues: Sequence[Issue], source: str = "") -> None:
        self.issues = list(issues)
        self.source = source
        n = len(self.issues)
        where = f" {source}" if source else ""
        head = f"invalid policy profile{where}: {n} error(s) / 政策配置无效：{n} 处错误"
        super().__init__("\n".join([head, *(f"  {i}" for i in self.issues)]))


# --------------------------------------------------------------------------- YAML


class _StrictLoader(yaml.SafeLoader):
    """SafeLoader that refuses duplicate keys (PyYAML silently keeps the last one)."""


def _construct_mapping(loader: _StrictLoader, node: yaml.MappingNode) -> dict[Any, Any]:
    loader.flatten_mapping(node)
    seen: set[Any] = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=True)
        if key in seen:
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key {key!r} / 键 {key!r} 重复", key_node.start_mark
            )
        seen.add(key)
    return loader.construct_mapping(node, deep=True)


_StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def _read_yaml(text: str, source: str) -> Any:
    try:
        return yaml.load(text, Loader=_StrictLoader)  # noqa: S506 - SafeLoader subclass
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "(file)"
        problem = getattr(e, "problem", None) or str(e)
        raise ProfileError(
            [Issue(where, f"YAML error: {problem}", f"YAML 格式错误：{problem}")], source
        ) from e


# --------------------------------------------------------------------------- paths


def display_path(raw: Any, loc: Sequence[str | int]) -> str:
    """Dotted key path of ``loc`` in the raw data; list items shown by their ``id``."""
    out = ""
    node: Any = raw
    for part in loc:
        if isinstance(node, list) and isinstance(part, int):
            label = str(part)
            item = node[part] if 0 <= part < len(node) else None
            ident = item.get("id") if isinstance(item, dict) else None
            if (
                isinstance(ident, str)
                and sum(1 for x in node if isinstance(x, dict) and x.get("id") == ident) == 1
            ):
                label = ident
            out += f"[{label}]"
            node = item
        elif isinstance(node, dict) and part in node:
            out += f".{part}"
            node = node[part]
        elif isinstance(node, dict) and node.get("kind") == part:
            continue  # pydantic names the union member it tried; the YAML has no such key
        elif part == "[key]":
            out += " (key)"
            node = None
        else:
            out += f"[{part}]" if isinstance(part, int) else f".{part}"
            node = None
    return out.lstrip(".") or "(top level)"


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def issues_from_validation(error: ValidationError, raw: Any) -> list[Issue]:
    """Turn a pydantic ValidationError into issues with dotted key paths."""
    out: list[Issue] = []
    for err in error.errors():
        loc = list(err["loc"])
        ctx = err.get("ctx") or {}
        kind = err["type"]
        if kind == "profile":
            for p in ctx["problems"]:
                out.append(Issue(display_path(raw, loc + list(p["path"])), p["en"], p["zh"]))
            continue
        if kind in ("union_tag_invalid", "union_tag_not_found"):
            loc.append("kind")
        if kind == "extra_forbidden":
            en, zh = "unknown key", "未知键"
        elif kind == "missing":
            en, zh = "missing required key", "缺少必填键"
        else:
            en = err["msg"]
            zh = str(ctx.get("zh") or _ZH.get(kind, "取值无效"))
            if not isinstance(err.get("input"), dict | list) and "zh" not in ctx:
                en += f" (got {_short(err.get('input'))})"
        out.append(Issue(display_path(raw, loc), en, zh))
    return out


# --------------------------------------------------------------------------- public


def list_bundled() -> list[str]:
    """Names of the profiles shipped with landrenew."""
    return sorted(p.stem for p in PROFILES_DIR.glob("*.yaml"))


def resolve_profile(name_or_path: str | Path) -> Path:
    """The file of a bundled profile name, or the given path."""
    text = str(name_or_path)
    path = Path(name_or_path)
    if (
        isinstance(name_or_path, Path)
        or path.suffix in (".yaml", ".yml")
        or "/" in text
        or "\\" in text
    ):
        if not path.is_file():
            raise ProfileError(
                [Issue("(file)", f"no such file: {path}", f"文件不存在：{path}")], text
            )
        return path
    if text in list_bundled():
        return PROFILES_DIR / f"{text}.yaml"
    if path.is_file():
        return path
    bundled = ", ".join(list_bundled())
    raise ProfileError(
        [
            Issue(
                "(name)",
                f"unknown profile {text!r}; bundled: {bundled}",
                f"未知政策配置 {text!r}；内置：{bundled}",
            )
        ],
        text,
    )


def parse_profile(data: str | Mapping[str, Any], source: str = "<data>") -> Profile:
    """Validate a profile given as YAML text or as already-parsed data."""
    raw = _read_yaml(data, source) if isinstance(data, str) else data
    if not isinstance(raw, Mapping):
        raise ProfileError(
            [Issue("(top level)", "a profile must be a mapping of keys", "政策配置须为键值映射")],
            source,
        )
    try:
        return Profile.model_validate(raw)
    except ValidationError as e:
        raise ProfileError(issues_from_validation(e, raw), source) from None


def load_profile(name_or_path: str | Path = DEFAULT_PROFILE) -> Profile:
    """Load and validate a bundled profile (by name) or a YAML file (by path).

    Raises :class:`ProfileError` listing every problem with its key path.
    """
    path = resolve_profile(name_or_path)
    return parse_profile(path.read_text(encoding="utf-8"), str(path))
