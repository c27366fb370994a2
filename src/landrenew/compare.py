"""Compare two analyses: who entered or left each list, whose class or recommended path changed.

Works on stored runs (`diff_runs`) and on in-memory results (`diff_results`, used by what-if).
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
from sqlalchemy import Engine, select

from landrenew.store.models import AnalysisRun, RunCase, RunFirm, RunParcel

TAGS = "危污乱散低"


@dataclass
class Comparison:
    """The differences between a base and another analysis."""

    #: per tag: parcels on the list in each, how many entered and left
    lists: pd.DataFrame
    #: one row per parcel and tag that changed: parcel_key, tag, change ("entered" / "left")
    parcels: pd.DataFrame
    #: firms whose class changed: uscc, name, class_a, class_b
    firms: pd.DataFrame
    #: firm class transitions: rows = class in A, columns = class in B
    transitions: pd.DataFrame
    #: parcels whose recommended path changed: parcel_key, path_a, path_b
    paths: pd.DataFrame


def parcel_paths(cases: pd.DataFrame) -> pd.Series:
    """Each parcel's recommended path (path_zh) from a case table with ';'-joined parcel_keys."""
    keys = cases["parcel_keys"].str.split(";")
    exploded = cases.assign(parcel_key=keys).explode("parcel_key")
    return exploded.set_index("parcel_key")["path_zh"]


def compare(tags_a: pd.Series, tags_b: pd.Series, firms_a: pd.DataFrame, firms_b: pd.DataFrame,
            paths_a: pd.Series | None = None, paths_b: pd.Series | None = None) -> Comparison:
    """``tags_*``: tag string ("污散低") by parcel key; ``firms_*``: uscc, name, class;
    ``paths_*``: recommended path by parcel key (see :func:`parcel_paths`)."""
    def long(tags: pd.Series) -> pd.DataFrame:
        t = tags[tags.fillna("") != ""]
        exploded = t.map(list).explode()
        return pd.DataFrame({"parcel_key": exploded.index, "tag": exploded.to_numpy()})

    a, b = long(tags_a), long(tags_b)
    both = a.merge(b, how="outer", on=["parcel_key", "tag"], indicator=True)
    change = both["_merge"].map({"left_only": "left", "right_only": "entered", "both": "same"})
    parcels = both.assign(change=change)[["parcel_key", "tag", "change"]]
    lists = (parcels.groupby(["tag", "change"]).size().unstack(fill_value=0)
             .reindex(index=list(TAGS), columns=["same", "entered", "left"], fill_value=0))
    lists.insert(0, "in_a", lists["same"] + lists["left"])
    lists.insert(1, "in_b", lists["same"] + lists["entered"])
    f = firms_a[["uscc", "name", "class"]].merge(firms_b[["uscc", "class"]], on="uscc", how="outer",
                                                 suffixes=("_a", "_b"))
    changed = f[f["class_a"].fillna("—") != f["class_b"].fillna("—")]
    transitions = pd.crosstab(f["class_a"].fillna("—"), f["class_b"].fillna("—"))
    paths = pd.DataFrame(columns=["parcel_key", "path_a", "path_b"])
    if paths_a is not None and paths_b is not None:
        p = pd.concat([paths_a.rename("path_a"), paths_b.rename("path_b")], axis=1).fillna("—")
        paths = p[p["path_a"] != p["path_b"]].rename_axis("parcel_key").reset_index()
    return Comparison(lists.reset_index(), parcels[parcels["change"] != "same"].reset_index(drop=True),
                      changed.reset_index(drop=True), transitions, paths)


def diff_runs(engine: Engine, a: int, b: int) -> Comparison:
    """Compare two stored runs by id."""
    with engine.connect() as conn:
        known = set(conn.execute(select(AnalysisRun.id).where(AnalysisRun.id.in_([a, b]))).scalars())
        missing = {a, b} - known
        if missing:
            raise LookupError(f"没有分析批次 / no such run: {', '.join(map(str, sorted(missing)))}")
        frames = []
        for run in (a, b):
            p = pd.DataFrame(conn.execute(select(RunParcel.parcel_key, RunParcel.tags)
                                          .where(RunParcel.run_id == run)).all(), columns=["parcel_key", "tags"])
            f = pd.DataFrame(conn.execute(select(RunFirm.uscc, RunFirm.name, RunFirm.firm_class)
                                          .where(RunFirm.run_id == run)).all(), columns=["uscc", "name", "class"])
            c = pd.DataFrame(conn.execute(select(RunCase.parcel_keys, RunCase.path_zh)
                                          .where(RunCase.run_id == run)).all(), columns=["parcel_keys", "path_zh"])
            frames.append((p.set_index("parcel_key")["tags"], f, parcel_paths(c)))
    (ta, fa, pa), (tb, fb, pb) = frames
    return compare(ta, tb, fa, fb, pa, pb)
