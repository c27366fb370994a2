"""Constants and small vectorised helpers shared by the demo-city modules."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

MU_PER_M2 = 15.0 / 10000.0
#: the data are "as of" the end of 2024; firms are evaluated for 2023 and 2024
AS_OF = "2024-12-31"
EVAL_YEARS = (2023, 2024)
#: full names as used in agency and holder names
DISTRICT_FULL = {"320402": "常州市天宁区", "320404": "常州市钟楼区", "320411": "常州市新北区",
                 "320412": "常州市武进区", "320413": "常州市金坛区", "320481": "溧阳市"}


def pick(rng: np.random.Generator, options: Sequence[Any], n: int,
         p: NDArray[np.float64] | None = None) -> NDArray[np.object_]:
    """``n`` random choices from ``options`` (weights ``p``, normalised), as an object array."""
    arr = np.asarray(options, dtype=object)
    if p is None:
        return arr[rng.integers(0, len(arr), n)]
    return arr[rng.choice(len(arr), size=n, p=np.asarray(p, dtype=float) / np.sum(p))]


def concat(*parts: Any) -> NDArray[np.object_]:
    """Element-wise string concatenation of object arrays and scalars."""
    out: Any = ""
    for p in parts:
        out = out + (p if not isinstance(p, np.ndarray) else p.astype(object))
    return np.asarray(out, dtype=object)


def text(values: NDArray[Any]) -> NDArray[np.object_]:
    """Numbers as strings (object array)."""
    return pd.Series(values).astype(str).to_numpy(dtype=object)


def zfill(values: NDArray[np.integer], width: int) -> NDArray[np.object_]:
    """Integers as zero-padded strings (object array)."""
    return pd.Series(values).astype(str).str.zfill(width).to_numpy(dtype=object)


def running_number(keys: NDArray[np.object_]) -> NDArray[np.int64]:
    """1, 2, 3 … within each key, in array order."""
    return pd.Series(keys).groupby(keys, sort=False).cumcount().to_numpy() + 1


def day(iso: str) -> float:
    """An ISO date as days since 1970-01-01."""
    return float(np.datetime64(iso, "D").astype(float))


def year_start(year: NDArray[np.float64]) -> NDArray[np.float64]:
    """1 January of each (finite) year as days since 1970-01-01."""
    y = np.asarray(year, dtype=float)
    out = np.full(len(y), np.nan)
    ok = np.isfinite(y)
    out[ok] = (y[ok].astype(np.int64) - 1970).astype("datetime64[Y]").astype("datetime64[D]").astype(float)
    return out


def year_of(days: NDArray[np.float64]) -> NDArray[np.int64]:
    """Calendar year (approximate, by mean year length) of days since 1970-01-01."""
    return (1970 + days // 365.2425).astype(int)


def random_days(rng: np.random.Generator, start: str, end: str, n: int) -> NDArray[np.float64]:
    """``n`` uniform random whole days in [start, end)."""
    return np.floor(rng.uniform(day(start), day(end), n))


def date_series(days: NDArray[np.float64]) -> pd.Series:
    """Days since 1970-01-01 (NaN → NaT) as a datetime64[s] Series."""
    out = np.full(len(days), np.datetime64("NaT"), dtype="datetime64[D]")
    ok = np.isfinite(days)
    out[ok] = np.floor(days[ok]).astype("int64").astype("datetime64[D]")
    return pd.Series(out).astype("datetime64[s]")
