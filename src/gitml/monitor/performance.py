"""Live performance: ground-truth labels joined to the prediction log, metrics per model version, and the skew
against the offline evaluation recorded in the registry."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from gitml.config import GateConfig
from gitml.errors import GitmlError


def read_labels(frame: pd.DataFrame) -> pd.DataFrame:
    """Labels as (request_id, row, label); `row` (the row within a batch request) defaults to 0."""
    if "request_id" not in frame.columns or "label" not in frame.columns:
        raise GitmlError("the labels file needs columns request_id and label (and optionally row)",
                         hint="one line per scored row: request_id,row,label")
    out = pd.DataFrame({"request_id": frame["request_id"].astype(str),
                        "row": frame["row"].astype("int64") if "row" in frame.columns else 0,
                        "label": frame["label"]})
    return out.drop_duplicates(["request_id", "row"], keep="last")


def live_metrics(y: np.ndarray, proba: np.ndarray, classes: list[Any]) -> dict[str, float]:
    from sklearn import metrics as skm

    idx = np.asarray(proba).argmax(axis=1)
    pred = np.asarray(classes, dtype=object)[idx]
    y_obj = np.asarray(y, dtype=object)
    out: dict[str, float] = {"accuracy": float(skm.accuracy_score(y_obj.astype(str), pred.astype(str)))}
    if len(classes) == 2:
        pos = classes[1]
        y_bin = (y_obj.astype(str) == str(pos)).astype(int)
        p_bin = (pred.astype(str) == str(pos)).astype(int)
        out["precision"] = float(skm.precision_score(y_bin, p_bin, zero_division=0))
        out["recall"] = float(skm.recall_score(y_bin, p_bin, zero_division=0))
        out["f1"] = float(skm.f1_score(y_bin, p_bin, zero_division=0))
        if 0 < y_bin.sum() < len(y_bin):
            out["roc_auc"] = float(skm.roc_auc_score(y_bin, proba[:, 1]))
            out["log_loss"] = float(skm.log_loss(y_bin, np.clip(proba[:, 1], 1e-15, 1 - 1e-15), labels=[0, 1]))
    return out


def performance(current: Any, labels: pd.DataFrame, classes: list[Any], offline: dict[str, dict[str, float]], *,
                max_drop: float = 0.05, min_rows: int = 50, gate: GateConfig | None = None) -> dict[str, Any]:
    """Live metrics per version of the rows that have labels, and their skew against each version's offline metrics."""
    if current.request_ids is None:
        raise GitmlError("live performance needs the prediction log (request ids), not a data file")
    gate = gate or GateConfig()
    served = pd.DataFrame({"request_id": current.request_ids.astype(str), "row": current.row_in_request,
                           "version": current.versions, "i": np.arange(current.rows)})
    joined = served.merge(read_labels(labels), on=["request_id", "row"], how="inner")
    versions = []
    breach = False
    for version, part in sorted(joined.groupby("version"), key=lambda kv: str(kv[0])):
        proba = current.probabilities[part["i"].to_numpy()]
        live = live_metrics(part["label"].to_numpy(), proba, classes)
        skews = []
        for metric, value in live.items():
            ref = offline.get(str(version), {}).get(metric)
            if ref is None:
                continue
            worse = (ref - value) if gate.rule(metric).direction == "higher" else (value - ref)
            is_breach = len(part) >= min_rows and worse > max_drop
            breach |= is_breach
            skews.append({"metric": metric, "live": value, "offline": ref, "worse_by": worse, "breach": is_breach})
        versions.append({"version": str(version), "rows": int(len(part)), "metrics": live, "skew": skews,
                         "enough_rows": len(part) >= min_rows})
    return {
        "labelled_rows": int(len(joined)),
        "unmatched_labels": int(len(labels) - len(joined)),
        "versions": versions,
        "max_drop": max_drop,
        "min_rows": min_rows,
        "breach": breach,
    }
