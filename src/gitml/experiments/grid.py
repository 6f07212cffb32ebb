"""Grid expansion: the cartesian product of the overrides' values, capped.

`train.random_forest.max_depth=4,8,16 featurize.scaler=standard,robust` is 3 x 2 = 6 variants,
in order (the first key varies slowest). The size is computed before anything is expanded, so a
grid of a billion variants is refused at once with a message that says how to shrink it.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from typing import Any

from gitml.experiments.grammar import Override, OverrideError, format_value

DEFAULT_CAP = 32


class GridTooLarge(OverrideError):
    """The grid expands to more variants than [tool.gitml.experiment].max_variants allows."""

    def __init__(self, overrides: Sequence[Override], size: int, cap: int) -> None:
        axes = [o for o in overrides if o.is_axis]
        shape = " × ".join(f"{len(o.values)} ({o.key})" for o in axes)
        super().__init__(
            f"the grid has {shape} = {size:,} variants, more than the cap of {cap}",
            hint=(f"each variant is a training run on a GPU runner, so one command may start at most {cap} "
                  "([tool.gitml.experiment].max_variants in pyproject.toml); drop some values, or split the grid "
                  "over several comments"),
        )
        self.size = size
        self.cap = cap


def check_keys(overrides: Sequence[Override]) -> None:
    """A key may appear once, and never together with a key inside it (`train` and `train.model`)."""
    seen: dict[str, Override] = {}
    for o in overrides:
        if o.key in seen:
            raise OverrideError(f"{o.key} is given twice", hint="give each key once; list grid values with commas")
        for other in seen:
            if o.key.startswith(other + ".") or other.startswith(o.key + "."):
                outer, inner = sorted((o.key, other), key=len)
                raise OverrideError(f"{outer} and {inner} overlap", hint=f"set {inner} alone, or all of {outer}")
        seen[o.key] = o


def size(overrides: Sequence[Override]) -> int:
    return math.prod(len(o.values) for o in overrides) if overrides else 0


def expand(overrides: Sequence[Override], cap: int = DEFAULT_CAP) -> list[dict[str, Any]]:
    """Every combination as {key: value}, in order; GridTooLarge past `cap` variants."""
    if cap < 1:
        raise OverrideError(f"the variant cap must be at least 1, not {cap}")
    check_keys(overrides)
    n = size(overrides)
    if n > cap:
        raise GridTooLarge(overrides, n, cap)
    keys = [o.key for o in overrides]
    return [dict(zip(keys, combo, strict=True)) for combo in itertools.product(*(o.values for o in overrides))]


def describe(variant: dict[str, Any]) -> str:
    """`key=value key=value` as the user would write it."""
    return " ".join(f"{k}={format_value(v)}" for k, v in variant.items())
