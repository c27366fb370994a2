"""Names: companies, people, villages and the right holder of every parcel."""

from __future__ import annotations

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from landrenew.demo.common import DISTRICT_FULL, concat, pick

BRAND_CHARS = tuple("华达恒盛鑫泰新宏瑞丰远通祥永信金源诚光明伟德和安康宇天海立昌隆兴嘉福汇润凯博腾创顺益力捷峰宝亚迪科星奥强佳帆翔晨晟睿豪铭驰龙凤江南东方中正大元美特精协联合")
SURNAMES = tuple("王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘蒋蔡余杜叶程苏魏吕丁任沈姚卢钟汪")
GIVEN = tuple("建国华明伟芳军平勇杰娟强磊洋艳敏静丽涛超鹏辉刚红英兰秀云凤荣福海林春生志新文斌玉梅")
VILLAGE_CHARS = tuple("东西南北前后新旧大小上下塘桥湾港庄埠墅河圩巷家园浜坝岗林泾溪渎湖堰沟")
#: place prefixes of company names by district (weights 0.45, 0.25, 0.2, 0.1)
COMPANY_PREFIXES = {
    "320402": ("常州市", "常州", "江苏"), "320404": ("常州市", "常州", "江苏"),
    "320411": ("常州市", "常州", "江苏", "常州市新北区"), "320412": ("常州市武进", "常州市", "江苏", "常州"),
    "320413": ("常州市金坛", "金坛", "江苏", "常州"), "320481": ("溧阳市", "溧阳", "江苏", "常州"),
}
#: company name terms of non-industrial holders by land use
COMPANY_TERMS = (
    (("05H1",), ("商贸", "商业管理", "酒店管理", "置业", "实业")),
    (("0508",), ("物流", "仓储", "供应链管理")),
    (("0701",), ("置业", "房地产开发", "地产")),
    (("0602",), ("矿业", "建材")),
)
#: public holders by land use; {d} = district full name, {v} = village (street) name
PUBLIC_HOLDERS = (
    ("08H1", ("{d}人民政府", "{d}机关事务管理局", "{d}公安分局", "{v}街道办事处")),
    ("08H2", ("{d}人民医院", "{d}教育局", "{v}小学", "{v}中学", "{d}文化馆")),
    ("0809", ("常州通用自来水有限公司", "国网江苏省电力有限公司常州供电分公司", "常州港华燃气有限公司",
              "常州市排水管理处")),
    ("0810", ("{d}城市管理局",)),
    ("09", ("{d}人民武装部", "常州市殡葬管理所", "{d}民族宗教事务局")),
    ("1001", ("中国铁路上海局集团有限公司",)),
    ("1003", ("常州市公路事业发展中心",)),
    ("1004", ("{d}交通运输局", "{d}住房和城乡建设局")),
    ("1005", ("常州市公共交通集团有限责任公司", "{d}交通运输局")),
    ("1201", ("{d}土地储备中心",)),
)


def company_names(rng: np.random.Generator, district: NDArray[np.object_], terms: NDArray[np.object_],
                  suffix: NDArray[np.object_], taken: set[str] | None = None) -> NDArray[np.object_]:
    """Unique plausible company names: place prefix + 2–3 character brand + term + suffix.

    Names in ``taken`` are avoided too.
    """
    n = len(district)
    pre = np.empty(n, dtype=object)
    for code, opts in COMPANY_PREFIXES.items():
        m = district == code
        pre[m] = pick(rng, opts, int(m.sum()), np.array([0.45, 0.25, 0.2, 0.1][:len(opts)]))
    brand = concat(pick(rng, BRAND_CHARS, n), pick(rng, BRAND_CHARS, n))
    names = concat(pre, brand, terms, suffix)
    seen = set(taken or ())
    for _ in range(20):
        s = pd.Series(names)
        dup = (s.duplicated() | s.isin(seen)).to_numpy()
        if not dup.any():
            break
        brand[dup] = concat(brand[dup], pick(rng, BRAND_CHARS, int(dup.sum())))
        names[dup] = concat(pre[dup], brand[dup], terms[dup], suffix[dup])
    return names


def person_names(rng: np.random.Generator, n: int) -> NDArray[np.object_]:
    """Surname plus a one- or two-character given name."""
    two = rng.random(n) < 0.7
    given = pick(rng, GIVEN, n)
    given[two] = concat(given[two], pick(rng, GIVEN, int(two.sum())))
    return concat(pick(rng, SURNAMES, n), given)


def right_holders(rng: np.random.Generator, dlbm: NDArray[np.object_], own: NDArray[np.object_],
                  district: NDArray[np.object_], subzone: NDArray[np.object_]) -> NDArray[np.object_]:
    """Right holder per parcel; None for industrial land (firms fill it).

    Collective land belongs to the village of its 地籍子区 (``subzone``), homesteads to
    people, commercial land to companies, public land to agencies and utilities.
    """
    n = len(dlbm)
    holder = np.empty(n, dtype=object)
    keys, inv = np.unique(subzone.astype(str), return_inverse=True)
    village = concat(pick(rng, VILLAGE_CHARS, len(keys)), pick(rng, VILLAGE_CHARS, len(keys)), "村")[inv]
    coll = own == "J"
    holder[coll] = concat(village[coll], pick(rng, ["村民委员会", "股份经济合作社"], int(coll.sum()),
                                              np.array([0.7, 0.3])))
    m = dlbm == "0702"
    holder[m] = person_names(rng, int(m.sum()))
    for codes, terms in COMPANY_TERMS:
        m = np.isin(dlbm, codes)
        k = int(m.sum())
        holder[m] = company_names(rng, district[m], pick(rng, terms, k), np.full(k, "有限公司", dtype=object))
    holder[(dlbm == "0701") & (rng.random(n) < 0.5)] = "全体业主"
    dfull = np.array([DISTRICT_FULL[c] for c in district], dtype=object)
    for code, templates in PUBLIC_HOLDERS:
        m = np.flatnonzero(dlbm == code)
        if len(m) == 0:
            continue
        holder[m] = [t.format(d=d, v=v.removesuffix("村"))
                     for t, d, v in zip(pick(rng, templates, len(m)), dfull[m], village[m], strict=True)]
    m = (dlbm == "1006") & ~coll
    holder[m] = concat(village[m], "村民委员会")
    holder[own == "Z"] = "权属争议"
    return holder
