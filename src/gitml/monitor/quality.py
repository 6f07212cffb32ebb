"""Data-quality checks of current data against the served schema: missing columns, null rates, out-of-range values,
unseen categories."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from gitml.serve.schema import ServedSchema

_FEW_LEVELS = 20  # an int feature with at most this many values in the training data is checked for unseen values


@dataclass
class QualityCheck:
    feature: str
    check: str  # missing_column | null_rate | out_of_range | unseen_category
    value: float
    threshold: float
    breach: bool
    detail: str = ""

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def check_quality(current: Any, schema: ServedSchema, reference: Any, *, null_rate: float = 0.05,
                  out_of_range: float = 0.01, unseen_category: float = 0.01) -> list[QualityCheck]:
    checks: list[QualityCheck] = []
    n = len(current)
    for f in schema.features:
        if f.name not in current.columns:
            checks.append(QualityCheck(f.name, "missing_column", 1.0, 0.0, True, "the column is absent from the current data"))
            continue
        col = current[f.name]
        nulls = int(col.isna().sum())
        rate = nulls / n if n else 0.0
        ref_rate = float(reference[f.name].isna().mean()) if f.name in reference.columns and len(reference) else 0.0
        limit = ref_rate + null_rate if f.nullable else 0.0
        checks.append(QualityCheck(f.name, "null_rate", rate, limit, rate > limit,
                                   f"{nulls} of {n} values are null" + ("" if f.nullable else " (the feature is not nullable)")))
        in_ref = f.name in reference.columns
        levels = reference[f.name].nunique(dropna=True) if in_ref and f.dtype == "int" else 0
        if f.dtype == "category" or (0 < levels <= _FEW_LEVELS and len(reference) >= 10 * levels):
            values = col.dropna()
            if f.dtype == "category":
                values = values.astype(str)
                known = set(f.categories or ()) | (set(reference[f.name].dropna().astype(str)) if in_ref else set())
            else:
                values = values.astype(np.float64)
                known = set(reference[f.name].dropna().astype(np.float64))
            unseen = ~values.isin(known)
            share = float(unseen.mean()) if len(values) else 0.0
            examples = sorted(set(values[unseen].head(1000)))[:5]
            checks.append(QualityCheck(f.name, "unseen_category", share, unseen_category, share > unseen_category,
                                       f"values never seen in training: {', '.join(map(str, examples))}" if examples else ""))
        if f.dtype != "category" and (f.min is not None or f.max is not None):
            arr = np.asarray(col, dtype=np.float64)
            arr = arr[~np.isnan(arr)]
            low = arr < f.min if f.min is not None else np.zeros(arr.shape, bool)
            high = arr > f.max if f.max is not None else np.zeros(arr.shape, bool)
            bad = int(low.sum() + high.sum())
            share = bad / arr.size if arr.size else 0.0
            bounds = f"[{'' if f.min is None else f.min}, {'' if f.max is None else f.max}]"
            checks.append(QualityCheck(f.name, "out_of_range", share, out_of_range, share > out_of_range,
                                       f"{bad} values outside {bounds}"))
    extra = [c for c in current.columns if c not in set(schema.names) and c != schema.target]
    for c in extra[:20]:
        checks.append(QualityCheck(str(c), "unexpected_column", 1.0, 0.0, False, "not a feature of the model (ignored)"))
    return checks
