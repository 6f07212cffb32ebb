"""Grid expansion and its cap."""

from __future__ import annotations

import math
import time

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gitml.experiments import grid
from gitml.experiments.grammar import Override, OverrideError, parse_command


def _axes(text: str) -> list[Override]:
    command = parse_command("/experiment " + text)
    assert command is not None
    return list(command.overrides)


def test_expansion_is_the_product_in_order_first_key_slowest() -> None:
    variants = grid.expand(_axes("train.max_depth=4,8,16 train.learning_rate=0.05,0.1 seed=1"))
    assert variants == [
        {"train.max_depth": d, "train.learning_rate": lr, "seed": 1} for d in (4, 8, 16) for lr in (0.05, 0.1)
    ]
    assert grid.describe(variants[0]) == "train.max_depth=4 train.learning_rate=0.05 seed=1"


def test_a_single_variant_without_axes() -> None:
    assert grid.expand(_axes("a=1 b='x y'")) == [{"a": 1, "b": "x y"}]


@given(st.lists(st.integers(1, 4), min_size=1, max_size=4))
def test_the_number_of_variants_is_the_product_of_the_axes(sizes: list[int]) -> None:
    overrides = [Override(f"k{i}", tuple(range(n))) for i, n in enumerate(sizes)]
    variants = grid.expand(overrides, cap=256)
    assert len(variants) == math.prod(sizes) == grid.size(overrides)
    assert len({tuple(v.items()) for v in variants}) == len(variants)


def test_the_cap_is_explained() -> None:
    overrides = _axes("train.max_depth=2,4,8,16 featurize.scaler=standard,robust,none seed=1,2,3")
    with pytest.raises(grid.GridTooLarge) as info:
        grid.expand(overrides, cap=32)
    message = str(info.value)
    assert "4 (train.max_depth) × 3 (featurize.scaler) × 3 (seed) = 36 variants, more than the cap of 32" in message
    assert "max_variants" in message and "split the grid" in message
    assert len(grid.expand(overrides, cap=36)) == 36


def test_a_huge_grid_is_refused_without_expanding_it() -> None:
    overrides = [Override(f"k{i}", tuple(range(10))) for i in range(12)]  # 10**12 variants
    started = time.perf_counter()
    with pytest.raises(grid.GridTooLarge, match="1,000,000,000,000 variants"):
        grid.expand(overrides, cap=32)
    assert time.perf_counter() - started < 0.5


def test_keys_must_not_repeat_or_overlap() -> None:
    with pytest.raises(OverrideError, match="given twice"):
        grid.expand(_axes("a.b=1 a.b=2"))
    with pytest.raises(OverrideError, match="train and train.model overlap"):
        grid.expand(_axes("train.model=x train={model: y}"))
    with pytest.raises(OverrideError, match="at least 1"):
        grid.expand(_axes("a=1"), cap=0)
