"""Firms on industrial parcels: codes, names, one row of indicators per firm per evaluation year."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from landrenew.codes.uscc import CHARSET, check_characters, org_check_characters
from landrenew.demo.common import EVAL_YEARS, MU_PER_M2, concat, pick
from landrenew.demo.names import company_names

#: GB/T 4754 manufacturing divisions with Changzhou-like weights and name terms
INDUSTRIES: dict[str, tuple[float, tuple[str, ...]]] = {
    "13": (1.5, ("食品", "粮油")), "14": (1.0, ("食品", "食品科技")), "15": (0.5, ("饮料",)),
    "17": (5.0, ("纺织", "织造", "印染", "纺织品")), "18": (3.0, ("服饰", "制衣")), "19": (0.5, ("鞋业", "皮革")),
    "20": (1.0, ("木业",)), "21": (1.5, ("家具",)), "22": (1.5, ("纸业", "包装")), "23": (1.0, ("印务", "彩印")),
    "24": (0.5, ("文体用品",)), "25": (0.3, ("石化",)), "26": (7.0, ("化工", "化学", "精细化工", "涂料")),
    "27": (3.0, ("医药", "药业", "生物医药")), "28": (1.0, ("化纤",)), "29": (6.0, ("塑业", "橡塑", "塑料制品")),
    "30": (4.0, ("建材", "新材料", "陶瓷")), "31": (2.0, ("钢铁", "特钢")), "32": (2.0, ("铜业", "铝业")),
    "33": (9.0, ("五金", "金属制品", "钢结构")), "34": (12.0, ("机械", "精密机械", "轴承", "通用设备")),
    "35": (9.0, ("机械设备", "装备", "智能装备")), "36": (8.0, ("汽车部件", "汽车零部件", "车辆配件")),
    "37": (2.0, ("轨道交通设备", "船舶配件")), "38": (12.0, ("电气", "电机", "电器", "光伏科技", "电池")),
    "39": (6.0, ("电子", "电子科技", "微电子", "光电")), "40": (2.0, ("仪器", "仪表", "自动化")),
    "41": (1.0, ("工艺品",)), "42": (0.7, ("再生资源",)), "43": (0.5, ("机电维修",)),
    "44": (0.7, ("热电", "新能源")), "45": (0.3, ("燃气",)), "46": (0.5, ("水务",)),
}
HEAVY = ("17", "22", "25", "26", "28", "30", "31", "32", "44")
UTILITIES = ("44", "45", "46")
#: 用地用海 industrial class by industry: 一类 (light), 三类 (heavy polluting), else 二类
CLASS1 = ("13", "14", "15", "18", "19", "21", "23", "24", "39", "40", "41", "43", "45", "46")
CLASS3 = ("22", "25", "26", "28", "31", "32", "42", "44")
#: indicator columns: rounding digits, and whether a value may be missing
DIGITS = {"tax_wan": 2, "sales_wan": 2, "value_added_wan": 2, "energy_tce": 2, "pollutant_eq": 3,
          "employees": 0, "rd_wan": 2, "electricity_kwh": 0, "water_m3": 0, "gas_m3": 0, "sewage_m3": 0}
OPTIONAL = ("value_added_wan", "energy_tce", "pollutant_eq", "employees", "rd_wan", "electricity_kwh",
            "water_m3", "gas_m3", "sewage_m3")


def build_firms(rng: np.random.Generator, district: NDArray[np.object_], parcel_code: NDArray[np.object_],
                industrial: NDArray[np.bool_], vacant: NDArray[np.bool_], area: NDArray[np.float64],
                start_year: NDArray[np.float64],
                park_name: NDArray[np.object_]) -> tuple[pd.DataFrame, NDArray[np.object_], NDArray[np.object_]]:
    """Firms on industrial parcels, one row per firm per evaluation year.

    Neighbouring parcels (same 地籍子区) sometimes form one site; a site hosts one main firm
    and possibly tenants. ``vacant`` parcels (never or barely started) host none. Returns the
    firm-year frame and, for industrial parcels, the right holder (the main firm, or an
    invented company where vacant) and the 用地用海 industrial class (from the main firm's
    industry, random where vacant); other parcels get None.
    """
    n = len(parcel_code)
    ind = np.flatnonzero(industrial & pd.notna(parcel_code))
    ind = ind[np.argsort(parcel_code[ind].astype(str), kind="stable")]
    empty = vacant[ind] | (rng.random(len(ind)) < 0.03) | (start_year[ind] >= 2025.0)
    occ = ind[~empty]
    # sites: runs of occupied parcels in the same 地籍子区 (sorted by code), joined at random
    k12 = pd.Series(parcel_code[occ]).str.slice(0, 12).to_numpy(dtype=object)
    join = rng.random(len(occ)) < 0.07
    join[0] = False
    join[1:] &= k12[1:] == k12[:-1]
    site = np.cumsum(~join) - 1
    n_sites = int(site[-1]) + 1
    starts = np.flatnonzero(np.r_[True, site[1:] != site[:-1]])
    first = occ[starts]
    site_mu = np.bincount(site, weights=area[occ]) * MU_PER_M2
    sizes = np.diff(np.r_[starts, len(occ)])
    site_codes = parcel_code[first].astype(object)
    several = np.repeat(sizes > 1, sizes)
    if several.any():
        joined = pd.Series(parcel_code[occ][several]).groupby(site[several]).agg(";".join)
        site_codes[joined.index.to_numpy()] = joined.to_numpy(dtype=object)
    site_start = np.minimum.reduceat(start_year[occ], starts)
    # firms per site: a main firm (the first) and sometimes one or two tenants
    u = rng.random(n_sites)
    per_site = 1 + (u < 0.09).astype(int) + (u < 0.025).astype(int)
    fu = np.repeat(np.arange(n_sites), per_site)
    nf = len(fu)
    main = np.r_[True, fu[1:] != fu[:-1]]
    w = rng.gamma(2.0, 1.0, nf)
    w[main] *= 2.5
    share = w / np.bincount(fu, weights=w)[fu]
    land_mu = np.round(site_mu[fu] * share * (1 + rng.normal(0, 0.01, nf)), 2)
    fdist = district[first][fu]

    codes = list(INDUSTRIES)
    industry = pick(rng, codes, nf, np.array([INDUSTRIES[c][0] for c in codes]))
    chem_park = park_name[first][fu] == "滨江经济开发区"
    industry[chem_park & (rng.random(nf) < 0.5)] = "26"
    terms = np.empty(nf, dtype=object)
    for c in codes:
        m = industry == c
        terms[m] = pick(rng, INDUSTRIES[c][1], int(m.sum()))
    heavy = np.isin(industry, HEAVY)

    z = rng.normal(0, 1, nf)  # latent productivity
    score = 0.8 * np.log(land_mu + 0.1) + 0.5 * z + rng.normal(0, 1, nf)
    above = score >= np.quantile(score, 0.65)
    suffix = pick(rng, ["有限公司", "股份有限公司", "制造有限公司"], nf, np.array([0.85, 0.08, 0.07]))
    suffix[~above & (rng.random(nf) < 0.15)] = "厂"
    names = company_names(rng, fdist, terms, suffix)
    uscc = make_usccs(rng, fdist)
    fstart = site_start[fu].copy()
    tenant = ~main
    fstart[tenant] += rng.uniform(0, 1, int(tenant.sum())) * np.maximum(2024.9 - fstart[tenant], 0)

    def ln(med: float, sd: float) -> NDArray[np.float64]:
        return np.exp(np.log(med) + sd * rng.normal(0, 1, nf))

    spm = np.where(above, np.exp(np.log(260) + 0.75 * z), np.exp(np.log(75) + 0.85 * z))
    sales = spm * land_mu
    sales[above] = np.maximum(sales[above], 2000 * rng.uniform(1.0, 1.4, int(above.sum())))
    tax = sales * np.where(above, ln(0.026, 0.5), ln(0.025, 0.6))
    va = sales * np.clip(ln(0.22, 0.25), 0.05, 0.6)
    energy = sales * np.where(heavy, ln(0.25, 0.7), ln(0.03, 0.6))
    pollutant = sales * np.where(heavy, ln(2e-3, 0.8), ln(2e-4, 0.8))
    employees = np.maximum(3, sales / np.where(above, ln(120, 0.5), ln(45, 0.6)))
    rd_rate = np.where(above, np.clip(ln(0.025, 0.6), 0, 0.15),
                       np.where(rng.random(nf) < 0.4, 0.0, np.clip(ln(0.01, 0.8), 0, 0.1)))
    e_share = rng.uniform(0.35, 0.85, nf)
    water = sales * ln(1.5, 0.8) * np.where(heavy, 4.0, 1.0)
    gas = energy * (1 - e_share) * rng.uniform(0, 1, nf) * 1e4 / 12.143
    gas[rng.random(nf) < 0.3] = 0.0
    base = {"tax_wan": tax, "sales_wan": sales, "value_added_wan": va, "energy_tce": energy,
            "pollutant_eq": pollutant, "employees": employees, "rd_wan": sales * rd_rate,
            "electricity_kwh": energy * e_share * 1e4 / 1.229, "water_m3": water, "gas_m3": gas,
            "sewage_m3": water * rng.uniform(0.5, 0.85, nf)}
    exits = rng.random(nf) < 0.015
    group = np.where(above, "规上", "规下").astype(object)
    frames = []
    shock = np.zeros(nf)
    for yr in EVAL_YEARS:
        present = np.floor(fstart) <= yr
        if yr == EVAL_YEARS[-1]:
            present &= ~exits
        if yr > EVAL_YEARS[0]:
            shock = shock + rng.normal(0.03, 0.15, nf)
            flip = rng.random(nf) < 0.02
            group = np.where(flip, np.where(group == "规上", "规下", "规上"), group).astype(object)
        cols: dict[str, Any] = {
            "uscc": uscc, "name": names, "district_code": fdist, "year": np.full(nf, yr, dtype=np.int64),
            "group": group.copy(), "industry_code": industry.copy(),
        }
        for key, v in base.items():
            val = np.round(v * np.exp(shock + (rng.normal(0, 0.06, nf) if yr > EVAL_YEARS[0] else 0.0)), DIGITS[key])
            if key in OPTIONAL:
                val[rng.random(nf) < np.where(above, 0.03, 0.06)] = np.nan
            cols[key] = val
        cols["tax_wan"][rng.random(nf) < 0.004] = np.nan
        cols["industry_code"][rng.random(nf) < 0.01] = None
        cols["employees"] = pd.array(cols["employees"], dtype="Int64")
        cols["land_area_mu"] = land_mu
        cols["parcel_codes"] = site_codes[fu]
        cols["years_in_production"] = np.round(np.maximum(yr + 1 - fstart, 0.0), 1)
        cols["is_utility"] = np.isin(industry, UTILITIES)
        cols["veto_safety_accident"] = rng.random(nf) < 0.003
        cols["veto_env_penalty"] = np.zeros(nf, dtype=bool)
        frames.append(pd.DataFrame(cols).loc[present])
    firms = pd.concat(frames, ignore_index=True)

    # industrial parcels: holder and class from the main firm; vacant ones get an invented holder
    holder = np.full(n, None, dtype=object)
    main_of_site = np.flatnonzero(main)[site]
    holder[occ] = names[main_of_site]
    vac = industrial & (holder == None)  # noqa: E711 (element-wise)
    k = int(vac.sum())
    holder[vac] = company_names(rng, district[vac], pick(rng, ["实业", "投资", "科技", "机械", "新材料"], k),
                                np.full(k, "有限公司", dtype=object), set(firms["name"]))
    cls = np.where(np.isin(industry, CLASS1), "100101", np.where(np.isin(industry, CLASS3), "100103", "100102"))
    pclass = np.full(n, None, dtype=object)
    pclass[occ] = cls[main_of_site]
    vac_cls = pick(rng, ["100101", "100102", "100103"], n, np.array([0.45, 0.45, 0.10]))  # drawn for every parcel
    fill = industrial & (pclass == None)  # noqa: E711
    pclass[fill] = vac_cls[fill]
    return firms, holder, pclass


def make_usccs(rng: np.random.Generator, district: NDArray[np.object_]) -> NDArray[np.object_]:
    """Unique USCCs: 9 (market regulator) + 1 (enterprise) + county + GB 11714 org code + check."""
    n = len(district)
    chars = np.array(list(CHARSET), dtype=object)
    out = np.empty(n, dtype=object)
    todo = np.arange(n)
    seen: set[str] = set()
    while len(todo):
        k = len(todo)
        new = rng.random(k) < 0.65  # post-2015 codes: MA + 6 characters
        body = rng.integers(0, 10, (k, 8))
        body[new, 0], body[new, 1] = CHARSET.index("M"), CHARSET.index("A")
        body[new, 2:] = rng.integers(0, len(chars), (int(new.sum()), 6))
        body8 = concat(*chars[body].T)
        first17 = concat("91", district[todo], body8, org_check_characters(body8))
        codes = concat(first17, check_characters(first17))
        s = pd.Series(codes)
        dup = (s.duplicated() | s.isin(seen)).to_numpy()
        out[todo[~dup]] = codes[~dup]
        seen.update(codes[~dup].tolist())
        todo = todo[dup]
    return out
