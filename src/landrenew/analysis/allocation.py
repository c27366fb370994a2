"""Step 6 of the analysis: differentiated resource allocation by 亩均 class.

Pure and vectorised: the profile's ``allocation.classes`` (a handful) become a small lookup
table that is merged onto the firms; no loop over firms. Every rate and level comes from the
profile (``allocation.classes[*].params``; C's "share of D" is resolved by
``Allocation.surcharges_for``) and ``quota.by_class`` (order of new land quota, classes
excluded from it).

Surcharges (元) = the firm's yearly consumption × the class's rate: electricity (kWh),
water (m³), gas (m³), sewage (m³). A rate of 0 gives 0 whatever the consumption; a positive
rate with unknown consumption gives NaN for that item, listed in ``surcharge_missing``;
``surcharge_total_yuan`` adds the known items. Firms whose class has no allocation rule
(not rated, T) get no levels, no rule and zero surcharges.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from landrenew.policy.schema import Profile

#: consumption column, rate field of ``Surcharges``, output column, unit and names
SURCHARGE_ITEMS = (
    ("electricity_kwh", "electricity_yuan_per_kwh", "surcharge_electricity_yuan", "kWh", "电费", "electricity"),
    ("water_m3", "water_yuan_per_m3", "surcharge_water_yuan", "m³", "水费", "water"),
    ("gas_m3", "gas_yuan_per_m3", "surcharge_gas_yuan", "m³", "气费", "gas"),
    ("sewage_m3", "sewage_yuan_per_m3", "surcharge_sewage_yuan", "m³", "污水处理费", "sewage"),
)
CONSUMPTION = [c for c, *_ in SURCHARGE_ITEMS]
#: columns of :func:`allocate`, in order
ALLOCATION_COLUMNS = [
    "uscc", "name", "district_code", "year", "class", "score", *CONSUMPTION,
    *[o for _, _, o, *_ in SURCHARGE_ITEMS], "surcharge_total_yuan", "surcharge_missing",
    "land_supply", "energy_quota", "support_funds", "new_land_order", "new_land_excluded",
    "rule_id", "clause", "surcharge_rule", "reason_zh", "reason_en",
]
_LIST_SORT = ["district_code", "score", "uscc"]


def _text(values: np.ndarray, fmt: str) -> np.ndarray:
    """Numbers as text (``fmt``), ``?`` for NaN."""
    arr = np.asarray(values, dtype=float)
    out = np.char.mod(fmt, np.nan_to_num(arr)).astype(object)
    out[np.isnan(arr)] = "?"
    return out


def _class_table(profile: Profile) -> pd.DataFrame:
    """One row per class of ``allocation.classes``: levels, rates and the rule they come from."""
    alloc = profile.allocation
    order = {c: i + 1 for i, c in enumerate(profile.quota.by_class.params.priority_order)}
    excluded = set(profile.quota.by_class.params.excluded)
    rows = []
    for a in alloc.classes:
        p = a.params
        rates = alloc.surcharges_for(a.class_key)
        source = a.id
        if p.surcharges is None and p.surcharge_share_of is not None:
            source = f"{alloc.for_class(p.surcharge_share_of).id} × {p.surcharge_share:g}"
        row = {"class": a.class_key, "land_supply": p.land_supply, "energy_quota": p.energy_quota,
               "support_funds": p.support_funds, "new_land_order": order.get(a.class_key),
               "new_land_excluded": a.class_key in excluded, "rule_id": a.id, "clause": a.clause,
               "surcharge_rule": source,
               "head_zh": f"{a.class_key}类（{a.name_zh}）：{a.description_zh}",
               "head_en": f"Class {a.class_key} ({a.name_en}): {a.description_en}"}
        for _, field, *_ in SURCHARGE_ITEMS:
            row[field] = getattr(rates, field)
        rows.append(row)
    return pd.DataFrame(rows)


def allocate(evaluation: pd.DataFrame, profile: Profile, firms: pd.DataFrame | None = None
             ) -> pd.DataFrame:
    """Land supply, energy quota and surcharges per firm, by its 亩均 class.

    Args:
        evaluation: :func:`landrenew.analysis.evaluation.evaluate` (``uscc, name,
            district_code, year, class``; ``score`` when present). Consumption columns
            (``electricity_kwh, water_m3, gas_m3, sewage_m3``) are read from it when it has
            them, else from ``firms``.
        profile: the policy profile.
        firms: firm-year rows with the consumption columns, merged on ``uscc`` and ``year``.

    Returns:
        One row per evaluated firm: :data:`ALLOCATION_COLUMNS` — ``land_supply``
        (priority / normal / no_new_land / excluded), ``energy_quota`` (priority / normal /
        restricted), ``support_funds``, ``new_land_order`` (1 = first in
        ``quota.by_class.priority_order``, NA if not listed), ``new_land_excluded``,
        ``rule_id`` / ``clause`` of the class's allocation rule, ``surcharge_rule`` (where the
        rates come from, e.g. ``allocation.d × 0.5``) and the reason with each surcharge's
        formula.
    """
    ev = evaluation.reset_index(drop=True).copy()
    for c in ("uscc", "class"):
        if c not in ev:
            raise ValueError(f"evaluation lacks column {c!r}")
    for c in ("name", "district_code", "year", "score"):
        if c not in ev:
            ev[c] = np.nan
    need = [c for c in CONSUMPTION if c not in ev]
    if need and firms is not None and len(firms):
        keys = ["uscc", "year"] if "year" in firms and ev["year"].notna().any() else ["uscc"]
        extra = firms[keys + [c for c in need if c in firms]].drop_duplicates(keys, keep="last")
        if "year" in keys:
            extra = extra.astype({"year": np.int64})
            ev["_year"] = pd.to_numeric(ev["year"], errors="coerce").astype("Int64")
            extra = extra.rename(columns={"year": "_year"}).astype({"_year": "Int64"})
            ev = ev.merge(extra, on=["uscc", "_year"], how="left").drop(columns="_year")
        else:
            ev = ev.merge(extra, on="uscc", how="left")
    for c in CONSUMPTION:
        if c not in ev:
            ev[c] = np.nan
        ev[c] = pd.to_numeric(ev[c], errors="coerce")

    table = _class_table(profile)
    m = ev.merge(table, on="class", how="left")
    known = m["rule_id"].notna().to_numpy()
    n = len(m)
    total = np.zeros(n)
    missing = np.full(n, "", dtype=object)
    parts_z = np.full(n, "", dtype=object)
    parts_e = np.full(n, "", dtype=object)
    for col, field, out, unit, name_zh, name_en in SURCHARGE_ITEMS:
        rate = m[field].fillna(0.0).to_numpy(float)
        use = m[col].to_numpy(float)
        value = np.where(rate > 0, use * rate, 0.0)
        m[out] = value
        unknown = (rate > 0) & np.isnan(use)
        total += np.nan_to_num(value, nan=0.0)
        missing = np.where(unknown, missing + np.where(missing == "", "", ";") + col, missing)
        r = rate > 0
        rs = _text(rate, "%g")
        us = _text(use, "%.12g")
        vs = _text(value, "%.2f")
        fz = name_zh + " " + us + " " + unit + " × " + rs + " 元 = " + vs + " 元"
        fe = name_en + " " + us + " " + unit + " × " + rs + " yuan = " + vs + " yuan"
        parts_z = np.where(r, parts_z + np.where(parts_z == "", "", "；") + fz, parts_z)
        parts_e = np.where(r, parts_e + np.where(parts_e == "", "", "; ") + fe, parts_e)
    m["surcharge_total_yuan"] = total
    m["surcharge_missing"] = missing
    head_z = m["head_zh"].astype(object).fillna("").to_numpy(object)
    head_e = m["head_en"].astype(object).fillna("").to_numpy(object)
    cls = m["class"].astype(object).fillna("—").to_numpy(object)
    m["reason_zh"] = np.where(
        known, head_z + np.where(parts_z == "", "", "加收：" + parts_z + "。"),
        "等级 " + cls + " 无差别化配置规则（如不参评），不加收、不调整。")
    m["reason_en"] = np.where(
        known, head_e + np.where(parts_e == "", "", " Surcharges: " + parts_e + "."),
        "Class " + cls + " has no allocation rule (e.g. not rated): no surcharge, no change.")
    m["support_funds"] = m["support_funds"].astype("boolean").fillna(False).astype(bool)
    m["new_land_excluded"] = m["new_land_excluded"].astype("boolean").fillna(False).astype(bool)
    m["new_land_order"] = pd.array(m["new_land_order"], dtype="Int64")
    for c in ("land_supply", "energy_quota", "rule_id", "clause", "surcharge_rule"):
        m[c] = m[c].astype(object).where(known, None)
    return m[ALLOCATION_COLUMNS]


def allocation_lists(alloc: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """The published lists from :func:`allocate`, each sorted by district, then score (best first):

    * ``land_priority`` — land supply ``priority`` (A: land first);
    * ``energy_priority`` — energy quota ``priority``;
    * ``land_excluded`` — land supply ``excluded`` (barred from industrial land auctions);
    * ``no_new_land`` — no new construction land (``no_new_land`` or ``excluded``);
    * ``energy_restricted`` — energy quota ``restricted``;
    * ``surcharge`` — firms paying a surcharge, largest total first.
    """
    def pick(mask: pd.Series, *, worst_first: bool = False) -> pd.DataFrame:
        sel = alloc[mask.fillna(False).to_numpy(bool)]
        return sel.sort_values(_LIST_SORT, ascending=[True, worst_first, True], kind="stable",
                               na_position="last").reset_index(drop=True)

    land = alloc["land_supply"].astype(object)
    energy = alloc["energy_quota"].astype(object)
    surcharge = alloc[alloc["surcharge_total_yuan"].to_numpy(float) > 0]
    return {
        "land_priority": pick(land == "priority"),
        "energy_priority": pick(energy == "priority"),
        "land_excluded": pick(land == "excluded", worst_first=True),
        "no_new_land": pick(land.isin(["no_new_land", "excluded"]), worst_first=True),
        "energy_restricted": pick(energy == "restricted", worst_first=True),
        "surcharge": surcharge.sort_values(["surcharge_total_yuan", "uscc"], ascending=[False, True],
                                           kind="stable").reset_index(drop=True),
    }
