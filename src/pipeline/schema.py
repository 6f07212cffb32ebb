"""The declared schema of the raw data, and the check of a table against it.

A schema names every feature column with its type, allowed range and whether
missing values are allowed, plus the binary target column. Errors name the
column, the bad value (and its row) and what was expected.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from gitml.errors import GitmlError

DTYPES = ("float", "int")


class DataError(GitmlError):
    """The data does not match its declared schema."""


@dataclass(frozen=True)
class Column:
    name: str
    dtype: str = "float"
    min: float | None = None
    max: float | None = None
    nullable: bool = False


@dataclass(frozen=True)
class DataSchema:
    columns: tuple[Column, ...]
    target: str = "target"
    classes: tuple[int, int] = (0, 1)

    @property
    def feature_names(self) -> list[str]:
        return [c.name for c in self.columns]

    def to_dict(self) -> dict[str, Any]:
        return {
            "version": 1,
            "target": self.target,
            "classes": list(self.classes),
            "columns": [asdict(c) for c in self.columns],
        }

    @classmethod
    def from_dict(cls, d: Any, source: str = "schema") -> DataSchema:
        if not isinstance(d, dict) or not isinstance(d.get("columns"), list) or not d["columns"]:
            raise GitmlError(f"{source}: expected a mapping with a non-empty 'columns' list")
        cols = []
        for i, c in enumerate(d["columns"]):
            if not isinstance(c, dict) or not isinstance(c.get("name"), str):
                raise GitmlError(f"{source}: columns[{i}] must be a mapping with a 'name'")
            unknown = set(c) - {"name", "dtype", "min", "max", "nullable"}
            if unknown:
                raise GitmlError(f"{source}: columns[{i}] has unknown key {sorted(unknown)[0]!r}",
                                 hint="allowed: name, dtype, min, max, nullable")
            if c.get("dtype", "float") not in DTYPES:
                raise GitmlError(f"{source}: column {c['name']!r} has dtype {c.get('dtype')!r}; expected one of {DTYPES}")
            cols.append(Column(**c))
        classes = tuple(d.get("classes", (0, 1)))
        if len(classes) != 2:
            raise GitmlError(f"{source}: 'classes' must list exactly two labels, got {list(classes)}")
        return cls(columns=tuple(cols), target=str(d.get("target", "target")), classes=classes)  # type: ignore[arg-type]

    @classmethod
    def load(cls, path: str | Path) -> DataSchema:
        import yaml

        p = Path(path)
        if not p.exists():
            raise GitmlError(f"data schema {p} does not exist", hint="declare your columns there (see README)")
        return cls.from_dict(yaml.safe_load(p.read_text(encoding="utf-8")), source=str(p))


def _plain(value: object) -> object:
    """A numpy scalar as the Python value it holds, so messages read 7, not np.int64(7)."""
    return value.item() if isinstance(value, np.generic) else value


def _first_row(mask: np.ndarray) -> int:
    return int(np.flatnonzero(mask)[0])


def validate(df: pd.DataFrame, schema: DataSchema, source: str = "data") -> None:
    """Raise DataError on the first way df breaks schema; return None when it conforms."""
    if len(df) == 0:
        raise DataError(f"{source} is empty: expected rows with columns {', '.join(schema.feature_names[:5])}, ...")
    expected = [*schema.feature_names, schema.target]
    missing = [c for c in expected if c not in df.columns]
    if missing:
        raise DataError(f"{source}: missing column {missing[0]!r}", hint=f"expected columns: {', '.join(expected)}")
    extra = [c for c in df.columns if c not in expected]
    if extra:
        raise DataError(f"{source}: unexpected column {extra[0]!r}", hint="declare it in the schema or drop it")
    for col in schema.columns:
        values = df[col.name]
        numeric = pd.to_numeric(values, errors="coerce")
        bad_text = numeric.isna() & values.notna()
        if bad_text.any():
            row = _first_row(bad_text.to_numpy())
            raise DataError(
                f"{source}: column {col.name!r} row {row} has {_plain(values.iloc[row])!r}; expected a {col.dtype} number"
            )
        nulls = numeric.isna().to_numpy()
        if nulls.any() and not col.nullable:
            raise DataError(
                f"{source}: column {col.name!r} has {int(nulls.sum())} missing value(s), first at row {_first_row(nulls)}; "
                "expected no missing values",
                hint="fill or drop them, or mark the column nullable in the schema",
            )
        arr = numeric.to_numpy(dtype=float, na_value=np.nan)
        finite = ~np.isnan(arr)
        if np.isinf(arr).any():
            row = _first_row(np.isinf(arr))
            raise DataError(f"{source}: column {col.name!r} row {row} is {arr[row]}; expected a finite number")
        if col.dtype == "int" and (arr[finite] != np.round(arr[finite])).any():
            row = _first_row(finite & (arr != np.round(arr)))
            raise DataError(f"{source}: column {col.name!r} row {row} has {arr[row]}; expected an integer")
        for bound, op, word in ((col.min, np.less, ">="), (col.max, np.greater, "<=")):
            if bound is not None:
                out = finite & op(arr, bound)
                if out.any():
                    row = _first_row(out)
                    raise DataError(
                        f"{source}: column {col.name!r} row {row} has {arr[row]:g}; expected a value {word} {bound:g}"
                    )
    target = df[schema.target]
    bad = ~target.isin(schema.classes)
    if bad.any():
        row = _first_row(bad.to_numpy())
        raise DataError(
            f"{source}: target column {schema.target!r} row {row} has {_plain(target.iloc[row])!r}; "
            f"expected one of {list(schema.classes)}"
        )
    counts = target.value_counts()
    if len(counts) < 2:
        raise DataError(f"{source}: target column {schema.target!r} holds one class only; expected both {list(schema.classes)}")


def coerce(df: pd.DataFrame, schema: DataSchema) -> pd.DataFrame:
    """The validated table with features as float64 and the target as 0/1 (positive = classes[1])."""
    out = df[schema.feature_names].apply(pd.to_numeric).astype("float64")
    out[schema.target] = (df[schema.target] == schema.classes[1]).astype("int64")
    return out


