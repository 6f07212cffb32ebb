"""`gitml monitor drift` and `gitml monitor performance`: load, compare, write JSON + Markdown (+ PNG)."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import numpy as np

from gitml import config as config_mod
from gitml.errors import GitmlError
from gitml.monitor import data as data_mod
from gitml.monitor import drift as drift_mod
from gitml.monitor import performance as perf_mod
from gitml.monitor import report
from gitml.monitor.quality import check_quality
from gitml.registry import api as registry

FORMAT_VERSION = 1


def _current(cfg: config_mod.Config, log: str | None, data_file: str | None, version: str | None,
             since: float | None, until: float | None = None, features: list[tuple[str, str]] | None = None) -> data_mod.Current:
    if data_file:
        frame = data_mod.read_table(data_file)
        return data_mod.Current(source=f"data file {data_file}", frame=frame)
    path = Path(log or cfg.serve.log)
    if not path.is_absolute():
        path = cfg.root / path
    return data_mod.read_prediction_log(path, version=version, since=since, until=until, features=features)


def drift(
    repo: str | os.PathLike[str],
    name: str,
    *,
    stage: str | None = "prod",
    version: str | None = None,
    log: str | None = None,
    data_file: str | None = None,
    only_version: str | None = None,
    since: float | None = None,
    until: float | None = None,
    out_dir: str | os.PathLike[str] | None = "reports/monitor",
    figures: bool = True,
    cache_dir: str | os.PathLike[str] | None = None,
) -> dict[str, Any]:
    """Drift, prediction drift and data quality of current data against the training data of the version in stage."""
    started = time.perf_counter()
    cfg = config_mod.load(repo)
    ref = data_mod.load_reference(cfg.root, name, stage=None if version else stage, version=version,
                                  schema_path=cfg.serve.schema, reference_path=cfg.monitor.reference, cache_dir=cache_dir)
    cur = _current(cfg, log, data_file, only_version, since, until,
                   [(f.name, f.dtype) for f in ref.model.schema.features])
    result, ref_scores, cur_scores = compare(ref, cur, cfg.monitor)
    out = None if out_dir is None else (Path(out_dir) if Path(out_dir).is_absolute() else cfg.root / out_dir)
    return finish(result, ref.frame, cur.frame, ref_scores, cur_scores, out, figures=figures, started=started)


def compare(ref: data_mod.Reference, cur: data_mod.Current,
            mcfg: config_mod.MonitorConfig) -> tuple[dict[str, Any], np.ndarray, np.ndarray | None]:
    """The drift result of cur against ref (and the reference and current predicted scores)."""
    schema = ref.model.schema
    name = ref.model.name
    features = [(f.name, f.dtype) for f in schema.features]
    feats = drift_mod.feature_drift(ref.frame, cur.frame, features, bins=mcfg.bins, psi_threshold=mcfg.psi,
                                    ks_pvalue=mcfg.ks_pvalue, ks_statistic=mcfg.ks_statistic, min_rows=mcfg.min_rows)
    quality = check_quality(cur.frame, schema, ref.frame, null_rate=mcfg.null_rate, out_of_range=mcfg.out_of_range,
                            unseen_category=mcfg.unseen_category)
    enough = cur.rows >= mcfg.min_rows
    ref_scores = data_mod.positive_scores(ref.model.predict(ref.frame)[1])
    cur_scores: np.ndarray | None = None
    if cur.probabilities is not None:
        cur_scores = data_mod.positive_scores(cur.probabilities)
    elif all(n in cur.frame.columns for n in schema.names):
        usable = cur.frame[schema.names].dropna()
        if len(usable):
            cur_scores = data_mod.positive_scores(ref.model.predict(usable)[1])
    prediction = None
    if cur_scores is not None:
        prediction = drift_mod.score_drift(ref_scores, cur_scores, bins=mcfg.bins, psi_threshold=mcfg.prediction_psi,
                                           ks_statistic=mcfg.ks_statistic, ks_pvalue=mcfg.ks_pvalue, min_rows=mcfg.min_rows)
    drifted = [f.name for f in feats if f.drifted]
    quality_breaches = [q for q in quality if q.breach] if enough else []
    breach = bool(drifted or quality_breaches or (prediction and prediction["drifted"]))
    parts = [f"{len(drifted)} of {len(feats)} features drifted" + (f" ({', '.join(drifted[:8])}{', ...' if len(drifted) > 8 else ''})" if drifted else "")]
    if prediction is not None:
        parts.append("prediction drifted" if prediction["drifted"] else "predictions stable")
    parts.append(f"{len(quality_breaches)} data-quality breach(es)")
    if not enough:
        parts.append(f"only {cur.rows} current rows (< {mcfg.min_rows}): not judged")
    result: dict[str, Any] = {
        "version": FORMAT_VERSION,
        "kind": "drift",
        "model": name,
        "model_version": ref.version,
        "stage": ref.model.stage,
        "commit": ref.commit,
        "reference": {"path": ref.path, "ref": ref.tag, "rows": len(ref.frame)},
        "current": {"source": cur.source, "rows": cur.rows,
                    "versions": dict(zip(*np.unique(cur.versions, return_counts=True))) if cur.versions is not None and cur.rows else {}},
        "thresholds": {k: getattr(mcfg, k) for k in ("psi", "ks_pvalue", "ks_statistic", "prediction_psi", "null_rate",
                                                     "out_of_range", "unseen_category", "min_rows", "bins")},
        "features": [f.as_dict() for f in feats],
        "prediction": prediction,
        "quality": [q.as_dict() for q in quality],
        "drifted_features": drifted,
        "breach": breach,
        "summary": "; ".join(parts),
        "generated_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    result["current"]["versions"] = {str(k): int(v) for k, v in result["current"]["versions"].items()}
    return result, ref_scores, cur_scores


def finish(result: dict[str, Any], ref_frame: Any, cur_frame: Any, ref_scores: np.ndarray, cur_scores: np.ndarray | None,
           out: Path | None, *, figures: bool = True, started: float | None = None) -> dict[str, Any]:
    """Write drift.json, drift.md and the figures to out (when given)."""
    started = time.perf_counter() if started is None else started
    if out is not None:
        figs = report.histogram_figures(ref_frame, cur_frame, result, out / "figures", ref_scores, cur_scores) if figures else []
        result["figures"] = figs
        result["seconds"] = round(time.perf_counter() - started, 3)
        result["outputs"] = report.write_outputs(out, "drift", result, report.drift_markdown(result, figs))
    else:
        result["seconds"] = round(time.perf_counter() - started, 3)
    return result


def performance(
    repo: str | os.PathLike[str],
    name: str,
    labels: str,
    *,
    log: str | None = None,
    since: float | None = None,
    out_dir: str | os.PathLike[str] | None = "reports/monitor",
) -> dict[str, Any]:
    """Live metrics per model version from labels joined to the prediction log, against each version's offline metrics."""
    cfg = config_mod.load(repo)
    cur = _current(cfg, log, None, None, since)
    labels_frame = data_mod.read_table(labels)
    shown = registry.show(cfg.root, name)
    offline = {v["version"]: v.get("metrics", {}) for v in shown["versions"]}
    served_versions = sorted(set(cur.versions.tolist())) if cur.versions is not None else []
    unknown = [v for v in served_versions if v not in offline]
    if unknown:
        raise GitmlError(f"the log holds predictions of {name} {unknown[0]}, which the registry does not know",
                         hint="fetch the registry tags (git fetch --tags) in this clone")
    classes = _classes(cfg, name, served_versions[-1] if served_versions else None)
    result = perf_mod.performance(cur, labels_frame, classes, offline, max_drop=cfg.monitor.max_metric_drop,
                                  min_rows=cfg.monitor.min_rows, gate=cfg.gate)
    result = {"version": FORMAT_VERSION, "kind": "performance", "model": name, "labels": labels,
              "current": {"source": cur.source, "rows": cur.rows}, **result,
              "generated_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    if out_dir is not None:
        out = Path(out_dir) if Path(out_dir).is_absolute() else cfg.root / out_dir
        result["outputs"] = report.write_outputs(out, "performance", result, report.performance_markdown(result))
    return result


def _classes(cfg: config_mod.Config, name: str, version: str | None) -> list[Any]:
    """The class labels, in probability order, of the served model (from its served schema)."""
    if version is None:
        return [0, 1]
    from gitml.serve.loader import prepare_version

    return list(prepare_version(cfg.root, name, version, schema_path=cfg.serve.schema).classes)
