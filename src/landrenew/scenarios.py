"""What if the policy said otherwise? Re-run the analysis in memory with changed profile values.

An override names a rule by id and a parameter inside it: ``land.plot_ratio.industrial:floor=1.2``,
``eval.indicator.tax_per_mu:weight=50``. Values are YAML (numbers, strings, lists). The changed
profile is validated like any profile, so a weight set that no longer sums to 100 is refused.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date

import yaml

from landrenew.analysis.pipeline import AnalysisResult, run_pipeline
from landrenew.compare import Comparison, compare, parcel_paths
from landrenew.policy import Profile, parse_profile
from landrenew.store.snapshot import Snapshot


class OverrideError(ValueError):
    """An override that names no rule or parameter, or is not KEY=VALUE."""


@dataclass
class WhatIf:
    """The base and the changed analysis of the same data, and how they differ."""

    base: AnalysisResult
    alt: AnalysisResult
    comparison: Comparison
    overrides: list[str]


def _rules(node: object) -> Iterator[dict]:
    """Every dict with an ``id`` and ``params`` anywhere in a dumped profile."""
    if isinstance(node, dict):
        if "id" in node and "params" in node:
            yield node
        for v in node.values():
            yield from _rules(v)
    elif isinstance(node, list):
        for v in node:
            yield from _rules(v)


def apply_overrides(profile: Profile, overrides: list[str]) -> Profile:
    """A copy of ``profile`` with each ``RULE_ID:param.path=VALUE`` applied, validated."""
    data = profile.model_dump(mode="json", exclude_none=True)
    rules = {r["id"]: r for r in _rules(data)}
    for item in overrides:
        target, sep, raw = item.partition("=")
        rule_id, colon, path = target.strip().partition(":")
        if not sep or not colon or not path:
            raise OverrideError(f"写法应为 RULE_ID:参数=值 / expected RULE_ID:param=VALUE, got {item!r}")
        if rule_id not in rules:
            raise OverrideError(f"没有规则 / no rule {rule_id!r}")
        node = rules[rule_id]["params"]
        *parents, leaf = path.split(".")
        for key in parents:
            if not isinstance(node, dict) or key not in node:
                raise OverrideError(f"{rule_id} 没有参数 / has no parameter {path!r}")
            node = node[key]
        if not isinstance(node, dict) or leaf not in node:
            known = ", ".join(node) if isinstance(node, dict) else ""
            raise OverrideError(f"{rule_id} 没有参数 / has no parameter {path!r} (有 has: {known})")
        node[leaf] = yaml.safe_load(raw)
    return parse_profile(data, source="what-if")


def whatif(snapshot: Snapshot, profile: Profile, overrides: list[str], as_of: date,
           year: int | None = None) -> WhatIf:
    """Analyse ``snapshot`` under ``profile`` and under the overridden profile; nothing is stored."""
    changed = apply_overrides(profile, overrides)
    base = run_pipeline(snapshot, profile, as_of, year)
    alt = run_pipeline(snapshot, changed, as_of, year)
    keys = snapshot.parcels["key"].to_numpy()

    def tags(r: AnalysisResult) -> object:
        return r.tags["tags"].set_axis(keys)

    return WhatIf(base, alt, compare(tags(base), tags(alt), base.evaluation, alt.evaluation,
                                     parcel_paths(base.cases), parcel_paths(alt.cases)), overrides)
