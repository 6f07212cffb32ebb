"""Per-feature drift: population stability index (quantile bins of the reference) and two-sample Kolmogorov-Smirnov.

Everything is computed one feature at a time on whole numpy columns (no Python loop
over rows), so a million rows by thirty features takes a few seconds.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

_SMOOTH = 0.5  # added to every bin count, so an empty bin does not make PSI infinite


@dataclass
class FeatureDrift:
    name: str
    kind: str  # numeric | category
    psi: float
    ks_statistic: float | None
    ks_pvalue: float | None
    reference_mean: float | None
    current_mean: float | None
    reference_rows: int
    current_rows: int
    drifted: bool = False
    reasons: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def psi_from_counts(ref_counts: np.ndarray, cur_counts: np.ndarray) -> float:
    p = (ref_counts + _SMOOTH) / (ref_counts.sum() + _SMOOTH * len(ref_counts))
    q = (cur_counts + _SMOOTH) / (cur_counts.sum() + _SMOOTH * len(cur_counts))
    return float(np.sum((q - p) * np.log(q / p)))


def quantile_edges(ref: np.ndarray, bins: int) -> np.ndarray:
    """Inner bin edges at the reference's quantiles (ties merged)."""
    if ref.size == 0:
        return np.array([])
    return np.unique(np.quantile(ref, np.linspace(0, 1, bins + 1)[1:-1]))


def psi_numeric(ref: np.ndarray, cur: np.ndarray, bins: int = 10) -> float:
    edges = quantile_edges(ref, bins)
    nb = len(edges) + 1
    rc = np.bincount(np.searchsorted(edges, ref, side="right"), minlength=nb)
    cc = np.bincount(np.searchsorted(edges, cur, side="right"), minlength=nb)
    return psi_from_counts(rc, cc)


def psi_category(ref: np.ndarray, cur: np.ndarray) -> float:
    levels, ref_idx = np.unique(ref.astype(str), return_inverse=True)
    rc = np.bincount(ref_idx, minlength=len(levels) + 1)
    cur_s = cur.astype(str)
    pos = np.searchsorted(levels, cur_s)
    pos_clipped = np.minimum(pos, max(len(levels) - 1, 0))
    known = (pos < len(levels)) & (levels[pos_clipped] == cur_s) if len(levels) else np.zeros(len(cur_s), bool)
    cc = np.bincount(np.where(known, pos_clipped, len(levels)), minlength=len(levels) + 1)
    return psi_from_counts(rc, cc)


def ks_2samp(ref: np.ndarray, cur: np.ndarray) -> tuple[float, float]:
    """Two-sided two-sample KS statistic and its asymptotic p-value (as scipy's `ks_2samp(method="asymp")`)."""
    from scipy.stats import kstwo

    n, m = ref.size, cur.size
    if n == 0 or m == 0:
        return 0.0, 1.0
    a, b = np.sort(ref), np.sort(cur)
    # the largest gap between the two empirical CDFs is at a sample point; evaluate at each sample's own
    # (sorted) points, so every searchsorted gets sorted keys (fast) and no merged grid is built
    d_at_a = np.abs(np.searchsorted(a, a, side="right") / n - np.searchsorted(b, a, side="right") / m).max()
    d_at_b = np.abs(np.searchsorted(a, b, side="right") / n - np.searchsorted(b, b, side="right") / m).max()
    d = float(max(d_at_a, d_at_b))
    en = round(n * m / (n + m))
    return d, float(min(1.0, max(0.0, kstwo.sf(d, max(en, 1)))))


def _numeric_column(values: Any) -> np.ndarray:
    arr = np.asarray(values, dtype=np.float64)
    return arr[~np.isnan(arr)]


def feature_drift(
    reference: Any,
    current: Any,
    features: list[tuple[str, str]],
    *,
    bins: int = 10,
    psi_threshold: float = 0.2,
    ks_pvalue: float = 0.01,
    ks_statistic: float = 0.1,
    min_rows: int = 50,
) -> list[FeatureDrift]:
    """Drift of each (name, dtype) feature of current (a DataFrame) against reference (a DataFrame).

    A feature drifts when its PSI reaches psi_threshold, or when its KS p-value is below
    ks_pvalue divided by the number of features (Bonferroni) and its KS statistic reaches
    ks_statistic. With fewer than min_rows current rows nothing is flagged.
    """
    alpha = ks_pvalue / max(len(features), 1)

    def one(name: str, dtype: str) -> FeatureDrift:
        if dtype == "category":
            ref = reference[name].dropna().to_numpy()
            cur = current[name].dropna().to_numpy()
            fd = FeatureDrift(name, "category", psi_category(ref, cur), None, None, None, None, ref.size, cur.size)
        else:
            ref = _numeric_column(reference[name])
            cur = _numeric_column(current[name])
            d, p = ks_2samp(ref, cur)
            fd = FeatureDrift(name, "numeric", psi_numeric(ref, cur, bins), d, p,
                              float(ref.mean()) if ref.size else None, float(cur.mean()) if cur.size else None,
                              ref.size, cur.size)
        if cur.size >= min_rows:
            if fd.psi >= psi_threshold:
                fd.reasons.append(f"PSI {fd.psi:.3f} >= {psi_threshold}")
            if fd.ks_pvalue is not None and fd.ks_statistic is not None and fd.ks_pvalue < alpha and fd.ks_statistic >= ks_statistic:
                fd.reasons.append(f"KS {fd.ks_statistic:.3f} >= {ks_statistic} (p={fd.ks_pvalue:.2g} < {alpha:.2g})")
        fd.drifted = bool(fd.reasons)
        return fd

    todo = [(n, t) for n, t in features if n in current.columns and n in reference.columns]
    if len(current) < 50_000:
        return [one(n, t) for n, t in todo]
    # numpy's sort and searchsorted release the GIL: features run in parallel on the machine's cores
    with ThreadPoolExecutor(max_workers=min(os.cpu_count() or 1, 8)) as pool:
        return list(pool.map(lambda nt: one(*nt), todo))


def score_drift(ref_scores: np.ndarray, cur_scores: np.ndarray, *, bins: int = 10, psi_threshold: float = 0.2,
                ks_statistic: float = 0.1, ks_pvalue: float = 0.01, min_rows: int = 50) -> dict[str, Any]:
    """Drift of the predicted score (probability of the positive class) and of the positive rate."""
    ref, cur = _numeric_column(ref_scores), _numeric_column(cur_scores)
    psi = psi_numeric(ref, cur, bins)
    d, p = ks_2samp(ref, cur)
    reasons = []
    if cur.size >= min_rows:
        if psi >= psi_threshold:
            reasons.append(f"score PSI {psi:.3f} >= {psi_threshold}")
        if p < ks_pvalue and d >= ks_statistic:
            reasons.append(f"score KS {d:.3f} >= {ks_statistic} (p={p:.2g})")
    return {
        "psi": psi,
        "ks_statistic": d,
        "ks_pvalue": p,
        "reference_positive_rate": float((ref >= 0.5).mean()) if ref.size else None,
        "current_positive_rate": float((cur >= 0.5).mean()) if cur.size else None,
        "reference_mean_score": float(ref.mean()) if ref.size else None,
        "current_mean_score": float(cur.mean()) if cur.size else None,
        "rows": int(cur.size),
        "drifted": bool(reasons),
        "reasons": reasons,
    }
