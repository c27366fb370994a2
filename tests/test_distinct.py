"""per_distinct: computing a column function once per distinct value gives what computing it per row gives."""

from __future__ import annotations

import pandas as pd
from hypothesis import given
from hypothesis import strategies as st

from landrenew.codes.landuse import _dlbm, _normalize_each
from landrenew.distinct import per_distinct
from landrenew.intake.validate import _text_each

CELLS = st.one_of(st.none(), st.sampled_from(["0601", "601", " 05h1 ", "0601工业用地", "１００１", "9", "", "x",
                                              "2.0", "０６０１ 工业用地"]), st.text(max_size=6))


@given(st.lists(CELLS, max_size=60), st.sampled_from(["object", "string"]))
def test_per_distinct_equals_the_row_by_row_result(cells, dtype):
    values = pd.Series(cells * 3, dtype=dtype, index=pd.RangeIndex(5, 5 + 3 * len(cells)))  # repeats, odd index
    for fn in (_text_each, lambda v: _normalize_each(v, _dlbm().index)):
        expected, got = fn(values), per_distinct(values, fn)
        assert got.index.equals(values.index) and got.dtype == expected.dtype
        pd.testing.assert_series_equal(got, expected, check_names=False)


def test_per_distinct_takes_columns_without_missing_values_of_any_type():
    values = pd.Series([2023, 2024, 2023, 2023, 2024, 2023], dtype="int64")  # Excel's years: no NA possible
    pd.testing.assert_series_equal(per_distinct(values, _text_each), _text_each(values))
