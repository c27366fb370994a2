"""Column functions computed once per distinct value: delivered columns repeat (268,000 parcels hold
a few hundred land-use codes and a dozen district names), and string cleaning costs per row."""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd

#: below this share of distinct values the work is done per distinct value
DISTINCT_SHARE = 0.5


def per_distinct(values: pd.Series, fn: Callable[[pd.Series], pd.Series]) -> pd.Series:
    """``fn(values)``, computed on the distinct values (and one missing value) and spread back to
    every row; ``fn`` must treat each row on its own (no row depends on another)."""
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    if len(uniques) > DISTINCT_SHARE * len(values):
        return fn(values)
    distinct = pd.Series(uniques, dtype=values.dtype)
    if (codes < 0).any():  # the missing value last: code -1 picks it
        distinct = pd.concat([distinct, pd.Series([None], dtype=values.dtype)], ignore_index=True)
    out = fn(distinct)
    return pd.Series(out.to_numpy()[codes], index=values.index, dtype=out.dtype, name=values.name)
