"""Data-quality checks against the served schema."""

from __future__ import annotations

import numpy as np
import pandas as pd

from gitml.monitor.quality import check_quality
from gitml.serve.schema import ServedSchema

SCHEMA = ServedSchema.from_dict({"columns": [
    {"name": "age", "dtype": "int", "min": 0, "max": 120},
    {"name": "income", "dtype": "float", "min": 0.0, "nullable": True},
    {"name": "plan", "dtype": "category", "categories": ["basic", "pro"]},
    {"name": "rooms", "dtype": "int", "min": 1, "max": 9},
]})
_I = np.arange(200)
REFERENCE = pd.DataFrame({"age": 18 + _I % 60, "income": np.where(_I % 4 == 0, np.nan, _I * 10.0),
                          "plan": np.where(_I % 2 == 0, "basic", "pro"), "rooms": 1 + _I % 3})


def _breaches(current: pd.DataFrame) -> dict[tuple[str, str], str]:
    return {(q.feature, q.check): q.detail for q in check_quality(current, SCHEMA, REFERENCE) if q.breach}


def test_clean_data_has_no_breach() -> None:
    assert _breaches(REFERENCE) == {}


def test_nulls_ranges_unseen_categories_and_missing_columns_are_breaches() -> None:
    n = 100
    current = pd.DataFrame({
        "age": np.r_[[130] * 5, [35] * (n - 5)],  # 5% above max
        "income": np.r_[[np.nan] * 40, np.ones(n - 40)],  # 40% nulls: training had 25%, +5% allowed
        "plan": ["enterprise"] * 3 + ["basic"] * (n - 3),  # unseen category
    })
    found = _breaches(current)
    assert set(found) == {("age", "out_of_range"), ("income", "null_rate"), ("plan", "unseen_category"),
                          ("rooms", "missing_column")}
    assert "5 values outside [0, 120]" in found[("age", "out_of_range")]
    assert "enterprise" in found[("plan", "unseen_category")]


def test_a_null_in_a_non_nullable_feature_and_an_unseen_level_of_a_small_int_feature() -> None:
    current = REFERENCE.copy()
    current.loc[0, "age"] = None
    current.loc[1:5, "rooms"] = 7  # in range, but never seen in training (2.5% of rows)
    found = _breaches(current)
    assert ("age", "null_rate") in found and "not nullable" in found[("age", "null_rate")]
    assert ("rooms", "unseen_category") in found and "7" in found[("rooms", "unseen_category")]
