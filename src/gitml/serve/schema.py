"""The served schema: the feature columns a model takes, and the check of a /predict payload against it.

The schema is the JSON file the pipeline recorded with the training data
(`[tool.gitml.serve].schema`), read at the model's own revision:

    {"version": 1, "target": "target", "classes": [0, 1],
     "columns": [{"name": "x", "dtype": "float", "min": 0.0, "max": null, "nullable": false}, ...]}

dtype is "float", "int" or "category" (strings; an optional "categories" list).
Every problem with a payload is a PayloadError whose message names the row, the
feature and what was expected.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from gitml.errors import GitmlError
from gitml.fsutil import read_json

DTYPES = ("float", "int", "category")
_NUMERIC = frozenset({float, int, type(None)})
_COLUMN_KEYS = {"name", "dtype", "min", "max", "nullable", "categories"}


class PayloadError(GitmlError):
    """A /predict payload does not match the served schema (an HTTP 422)."""

    def __init__(self, message: str, loc: tuple[str | int, ...] = ("body",), kind: str = "value_error") -> None:
        super().__init__(message)
        self.loc = loc
        self.kind = kind

    def detail(self) -> dict[str, Any]:
        return {"loc": list(self.loc), "msg": self.message, "type": self.kind}


@dataclass(frozen=True)
class Feature:
    name: str
    dtype: str = "float"
    min: float | None = None
    max: float | None = None
    nullable: bool = False
    categories: tuple[str, ...] | None = None


def _describe(value: Any) -> str:
    kind = {bool: "boolean", str: "string", dict: "object", list: "array", type(None): "null"}.get(type(value), type(value).__name__)
    shown = json.dumps(value)[:40] if isinstance(value, (str, bool, int, float)) else ""
    return f"{kind} {shown}".strip()


@dataclass(frozen=True)
class ServedSchema:
    features: tuple[Feature, ...]
    target: str = "target"
    classes: tuple[Any, ...] = (0, 1)

    @property
    def names(self) -> list[str]:
        return [f.name for f in self.features]

    @property
    def numeric(self) -> bool:
        return all(f.dtype != "category" for f in self.features)

    # -- loading ----------------------------------------------------------------

    @classmethod
    def from_dict(cls, d: Any, source: str = "schema") -> ServedSchema:
        if not isinstance(d, dict) or not isinstance(d.get("columns"), list) or not d["columns"]:
            raise GitmlError(f"{source}: expected an object with a non-empty 'columns' list",
                             hint="point [tool.gitml.serve].schema at the schema file the pipeline writes")
        features: list[Feature] = []
        for i, c in enumerate(d["columns"]):
            if not isinstance(c, dict) or not isinstance(c.get("name"), str) or not c["name"]:
                raise GitmlError(f"{source}: columns[{i}] must be an object with a 'name'")
            unknown = sorted(set(c) - _COLUMN_KEYS)
            if unknown:
                raise GitmlError(f"{source}: columns[{i}] has unknown key {unknown[0]!r}",
                                 hint=f"allowed: {', '.join(sorted(_COLUMN_KEYS))}")
            dtype = c.get("dtype", "float")
            if dtype not in DTYPES:
                raise GitmlError(f"{source}: column {c['name']!r} has dtype {dtype!r}; expected one of {DTYPES}")
            cats = c.get("categories")
            features.append(Feature(c["name"], dtype, c.get("min"), c.get("max"), bool(c.get("nullable", False)),
                                    tuple(str(x) for x in cats) if isinstance(cats, list) else None))
        names = [f.name for f in features]
        if len(set(names)) != len(names):
            raise GitmlError(f"{source}: a column is listed twice")
        classes = d.get("classes", [0, 1])
        if not isinstance(classes, list) or len(classes) < 2:
            raise GitmlError(f"{source}: 'classes' must list the class labels, got {classes!r}")
        return cls(tuple(features), str(d.get("target", "target")), tuple(classes))

    @classmethod
    def load(cls, path: str | Path) -> ServedSchema:
        data = read_json(path, "served schema", missing_hint="set [tool.gitml.serve].schema")
        return cls.from_dict(data, source=str(path))

    def to_dict(self) -> dict[str, Any]:
        cols = []
        for f in self.features:
            col: dict[str, Any] = {"name": f.name, "dtype": f.dtype, "min": f.min, "max": f.max, "nullable": f.nullable}
            if f.categories is not None:
                col["categories"] = list(f.categories)
            cols.append(col)
        return {"version": 1, "target": self.target, "classes": list(self.classes), "columns": cols}

    # -- OpenAPI ----------------------------------------------------------------

    def row_json_schema(self) -> dict[str, Any]:
        props: dict[str, Any] = {}
        for f in self.features:
            if f.dtype == "category":
                prop: dict[str, Any] = {"type": "string"}
            else:
                prop = {"type": "integer" if f.dtype == "int" else "number"}
            if f.nullable:
                prop = {"anyOf": [prop, {"type": "null"}]}
            props[f.name] = prop
        return {
            "type": "object",
            "properties": props,
            "required": self.names,
            "additionalProperties": False,
        }

    def request_json_schema(self, max_batch: int) -> dict[str, Any]:
        return {
            "type": "object",
            "properties": {"rows": {"type": "array", "minItems": 1, "maxItems": max_batch, "items": self.row_json_schema()}},
            "required": ["rows"],
            "additionalProperties": False,
        }

    # -- validation -------------------------------------------------------------

    def parse_payload(self, payload: Any, max_batch: int) -> Any:
        """The rows of a payload as a model input (a pandas DataFrame); PayloadError on the first problem."""
        if not isinstance(payload, dict):
            raise PayloadError(f"expected a JSON object with a 'rows' list, got {_describe(payload)}", ("body",), "type_error")
        extra = sorted(k for k in payload if k != "rows")
        if extra:
            raise PayloadError(f"unexpected field {extra[0]!r} in the request; expected only 'rows'", ("body", extra[0]), "extra_forbidden")
        if "rows" not in payload:
            raise PayloadError("missing field 'rows': a list of objects mapping feature name to value", ("body", "rows"), "missing")
        rows = payload["rows"]
        if not isinstance(rows, list):
            raise PayloadError(f"'rows' must be a list of objects, got {_describe(rows)}", ("body", "rows"), "type_error")
        if not rows:
            raise PayloadError(f"'rows' is empty: send 1 to {max_batch} rows", ("body", "rows"), "too_short")
        if len(rows) > max_batch:
            raise PayloadError(f"'rows' holds {len(rows)} rows; at most {max_batch} are allowed per request",
                               ("body", "rows"), "too_long")
        return self.rows_to_frame(rows)

    def rows_to_frame(self, rows: list[Any]) -> Any:
        import pandas as pd

        names = self.names
        keys = dict.fromkeys(names).keys()
        width = len(names)
        values: list[list[Any]] = []
        append = values.append
        numeric = self.numeric
        for i, row in enumerate(rows):
            if type(row) is not dict:
                raise PayloadError(f"rows[{i}] must be an object mapping feature name to value, got {_describe(row)}",
                                   ("body", "rows", i), "type_error")
            if len(row) != width or row.keys() != keys:
                self._key_error(i, row)
            vals = [row[n] for n in names]
            if numeric and not set(map(type, vals)) <= _NUMERIC:
                self._type_error(i, vals)
            append(vals)
        if not numeric:
            return self._mixed_frame(values)
        try:
            matrix = np.array(values, dtype=np.float64)
        except (OverflowError, ValueError, TypeError):
            for i, vals in enumerate(values):
                self._type_error(i, vals)
            raise
        self._check_numeric(matrix, values)
        return pd.DataFrame(matrix, columns=names, copy=False)

    def _key_error(self, i: int, row: dict[str, Any]) -> None:
        names = set(self.names)
        missing = [n for n in self.names if n not in row]
        if missing:
            raise PayloadError(f"rows[{i}]: missing feature {missing[0]!r}" + (f" (and {len(missing) - 1} more)" if len(missing) > 1 else ""),
                               ("body", "rows", i, missing[0]), "missing")
        extra = [k for k in row if k not in names]
        raise PayloadError(f"rows[{i}]: unexpected field {extra[0]!r}: not a feature of this model",
                           ("body", "rows", i, str(extra[0])), "extra_forbidden")

    def _type_error(self, i: int, vals: list[Any]) -> None:
        for f, v in zip(self.features, vals):
            loc = ("body", "rows", i, f.name)
            if v is None:
                if not f.nullable:
                    raise PayloadError(f"rows[{i}].{f.name}: null is not allowed (the feature is not nullable)", loc, "missing")
                continue
            if f.dtype == "category":
                if type(v) is not str:
                    raise PayloadError(f"rows[{i}].{f.name}: expected a string (category), got {_describe(v)}", loc, "string_type")
                continue
            if type(v) not in (int, float):
                want = "an integer" if f.dtype == "int" else "a number"
                raise PayloadError(f"rows[{i}].{f.name}: expected {want} ({f.dtype}), got {_describe(v)}", loc,
                                   "int_type" if f.dtype == "int" else "float_type")
            if isinstance(v, int) and abs(v) > 2**53:
                raise PayloadError(f"rows[{i}].{f.name}: {v} is too large to be represented exactly", loc, "value_error")

    def _check_numeric(self, matrix: np.ndarray, values: list[list[Any]]) -> None:
        finite = np.isfinite(matrix)
        if finite.all():
            bad_int = [j for j, f in enumerate(self.features) if f.dtype == "int"]
            if bad_int:
                sub = matrix[:, bad_int]
                frac = sub != np.floor(sub)
                if frac.any():
                    r, c = np.argwhere(frac)[0]
                    f = self.features[bad_int[c]]
                    raise PayloadError(f"rows[{r}].{f.name}: expected an integer (int), got {values[r][bad_int[c]]!r}",
                                       ("body", "rows", int(r), f.name), "int_type")
            return
        nan = np.isnan(matrix)
        for j, f in enumerate(self.features):
            if not f.nullable and nan[:, j].any():
                r = int(np.flatnonzero(nan[:, j])[0])
                raise PayloadError(f"rows[{r}].{f.name}: null is not allowed (the feature is not nullable)",
                                   ("body", "rows", r, f.name), "missing")
        inf = ~finite & ~nan
        if inf.any():
            r, c = np.argwhere(inf)[0]
            raise PayloadError(f"rows[{r}].{self.features[c].name}: the value is out of the range of a float",
                               ("body", "rows", int(r), self.features[c].name), "value_error")
        self._check_numeric(np.where(nan, 0.0, matrix), values)

    def _mixed_frame(self, values: list[list[Any]]) -> Any:
        import pandas as pd

        for i, vals in enumerate(values):
            self._type_error(i, vals)
        cols = list(zip(*values))
        data: dict[str, Any] = {}
        for f, col in zip(self.features, cols):
            if f.dtype == "category":
                data[f.name] = pd.Series(col, dtype=object)
            else:
                arr = np.array([np.nan if v is None else v for v in col], dtype=np.float64)
                if not np.isfinite(arr[~np.isnan(arr)]).all():
                    raise PayloadError(f"{f.name}: a value is out of the range of a float", ("body", "rows"), "value_error")
                data[f.name] = arr
        return pd.DataFrame(data)

    def probe_frame(self) -> Any:
        """One plausible row (mid-range values) to check that a model scores."""
        import pandas as pd

        row: dict[str, Any] = {}
        for f in self.features:
            if f.dtype == "category":
                row[f.name] = f.categories[0] if f.categories else ""
                continue
            lo = f.min if isinstance(f.min, (int, float)) and math.isfinite(f.min) else None
            hi = f.max if isinstance(f.max, (int, float)) and math.isfinite(f.max) else None
            v = (lo + hi) / 2 if lo is not None and hi is not None else (lo if lo is not None else (hi if hi is not None else 0.0))
            row[f.name] = float(round(v)) if f.dtype == "int" else float(v)
        return pd.DataFrame([row], columns=self.names)
