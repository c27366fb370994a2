"""Compare two policy profiles, reporting rule changes by rule id.

A field inside a rule is reported as ``rule_id`` + ``path`` (``eval.indicator.tax_per_mu``,
``params.weight``); a whole rule added or removed has an empty ``path``; anything
outside rules (header, city, families, tag names …) is reported by its dotted key path.
List items are matched by ``id``/``key``/``code``/``class_key``, so reordering a list is
reported once as an ``(order)`` change, which matters for the ordered disposal table.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from landrenew.policy.schema import Profile

_IDENTS = ("id", "key", "code", "class_key")
_ABSENT: Any = object()


@dataclass(frozen=True)
class Change:
    """One difference between profile ``a`` (old) and ``b`` (new)."""

    path: str
    old: Any
    new: Any
    rule_id: str | None = None

    @property
    def kind(self) -> Literal["added", "removed", "changed"]:
        if self.old is None and self.new is not None:
            return "added"
        if self.new is None and self.old is not None:
            return "removed"
        return "changed"

    @property
    def key(self) -> str:
        """``rule_id: path`` for rule changes, the dotted key path otherwise."""
        if self.rule_id is None:
            return self.path
        return f"{self.rule_id}: {self.path}" if self.path else self.rule_id


def _ident(item: Any) -> str | None:
    if isinstance(item, dict):
        for name in _IDENTS:
            value = item.get(name)
            if isinstance(value, str) and value:
                return value
    return None


def _flatten(
    value: Any,
    prefix: str,
    out: dict[str, Any],
    orders: dict[str, list[str]],
    rule_ids: set[str],
    rules: dict[str, dict[str, Any]] | None,
) -> None:
    """Flatten JSON data into ``out`` (path -> scalar / scalar list); rules go to ``rules``."""
    if isinstance(value, dict):
        if rules is not None and value.get("id") in rule_ids and "clause" in value:
            flat: dict[str, Any] = {}
            body = {k: v for k, v in value.items() if k != "id"}
            _flatten(body, "", flat, {}, rule_ids, None)
            rules[value["id"]] = flat
            return
        if not value and prefix:
            out[prefix] = {}
        for k, v in value.items():
            _flatten(v, f"{prefix}.{k}" if prefix else str(k), out, orders, rule_ids, rules)
        return
    if isinstance(value, list) and value:
        idents = [_ident(x) for x in value]
        if all(idents) and len(set(idents)) == len(idents):
            orders[prefix] = [str(i) for i in idents]
            for item, ident in zip(value, idents, strict=True):
                if rules is not None and item.get("id") in rule_ids and "clause" in item:
                    _flatten(item, prefix, out, orders, rule_ids, rules)
                else:
                    _flatten(item, f"{prefix}[{ident}]", out, orders, rule_ids, rules)
            return
    out[prefix] = value


def _compare(old: dict[str, Any], new: dict[str, Any], rule_id: str | None) -> list[Change]:
    changes = []
    for path in list(old) + [p for p in new if p not in old]:
        a, b = old.get(path, _ABSENT), new.get(path, _ABSENT)
        if a != b:
            changes.append(
                Change(path, None if a is _ABSENT else a, None if b is _ABSENT else b, rule_id)
            )
    return changes


def _split(
    profile: Profile,
) -> tuple[dict[str, Any], dict[str, list[str]], dict[str, dict[str, Any]]]:
    out: dict[str, Any] = {}
    orders: dict[str, list[str]] = {}
    rules: dict[str, dict[str, Any]] = {}
    rule_ids = {r.id for r in profile.rules()}
    _flatten(profile.model_dump(mode="json"), "", out, orders, rule_ids, rules)
    return out, orders, rules


def diff_profiles(a: Profile, b: Profile) -> list[Change]:
    """Every difference from ``a`` to ``b``: header and structure first, then rules by id."""
    flat_a, orders_a, rules_a = _split(a)
    flat_b, orders_b, rules_b = _split(b)
    changes = _compare(flat_a, flat_b, None)
    for path, ids_a in orders_a.items():
        ids_b = orders_b.get(path)
        if ids_b is not None and ids_a != ids_b and sorted(ids_a) == sorted(ids_b):
            changes.append(Change(f"{path} (order)", ids_a, ids_b))
    for rid in list(rules_a) + [r for r in rules_b if r not in rules_a]:
        if rid not in rules_b:
            changes.append(Change("", a.rule(rid).model_dump(mode="json"), None, rid))
        elif rid not in rules_a:
            changes.append(Change("", None, b.rule(rid).model_dump(mode="json"), rid))
        else:
            changes.extend(_compare(rules_a[rid], rules_b[rid], rid))
    return changes
