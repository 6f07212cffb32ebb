"""Build the comparison of a pull request (the work tree, after reproducing) against its base revision.

The result is a plain dict with a `version` field: the report JSON that the Markdown
renderer, the figures and the gate status all read.
"""

from __future__ import annotations

import math
import time
from collections import Counter
from pathlib import Path
from typing import Any

from gitml import config as config_mod
from gitml.report import gate as gate_mod
from gitml.report.revision import Revision, Snapshot, plot_files, snapshot

REPORT_VERSION = 1
_SAME = 1e-12


def _change(direction: str, base: float | None, pr: float | None) -> str:
    if base is None:
        return "new"
    if pr is None:
        return "removed"
    if abs(pr - base) <= _SAME:
        return "same"
    better = pr > base if direction == "higher" else pr < base
    return "better" if better else "worse"


def metric_rows(cfg: config_mod.Config, base: dict[str, float] | None, pr: dict[str, float]) -> list[dict[str, Any]]:
    rows = []
    for name in sorted(set(pr) | set(base or {})):
        b = (base or {}).get(name)
        p = pr.get(name)
        direction = cfg.gate.rule(name).direction
        delta = None if b is None or p is None else p - b
        pct = None if delta is None or b == 0 else 100.0 * delta / abs(b)
        rows.append({"name": name, "base": b, "pr": p, "delta": delta, "delta_pct": pct,
                     "direction": direction, "change": _change(direction, b, p) if base is not None else "new"})
    return rows


def param_rows(base: dict[str, Any], pr: dict[str, Any]) -> list[dict[str, Any]]:
    missing = object()
    rows = []
    for key in sorted(set(base) | set(pr)):
        b, p = base.get(key, missing), pr.get(key, missing)
        if b != p:
            rows.append({"key": key, "base": None if b is missing else b, "pr": None if p is missing else p,
                         "added": b is missing, "removed": p is missing})
    return rows


def data_rows(base: Snapshot, pr: Snapshot) -> list[dict[str, Any]]:
    """Tracked data and outputs whose hash changed: stage inputs outside git and DVC outputs."""
    rows = []
    for kind, b_map, p_map in (("input", base.deps, pr.deps), ("output", base.outputs, pr.outputs)):
        for path in sorted(set(b_map) | set(p_map)):
            if kind == "input" and (path in pr.outputs or path in base.outputs or path.endswith(".py")):
                continue  # an output of another stage, or code (code changes show in the diff)
            b, p = b_map.get(path), p_map.get(path)
            if b is not None and p is not None and b.md5 == p.md5:
                continue
            rows.append({
                "path": path, "kind": kind,
                "base": b.md5.removesuffix(".dir") if b else None, "pr": p.md5.removesuffix(".dir") if p else None,
                "base_size": b.size if b else None, "pr_size": p.size if p else None,
                "base_files": b.nfiles if b else None, "pr_files": p.nfiles if p else None,
            })
    return rows


def stat_rows(base: dict[str, Any], pr: dict[str, Any]) -> list[dict[str, Any]]:
    rows = []
    for key in sorted(set(base) | set(pr)):
        b, p = base.get(key), pr.get(key)
        numeric = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in (b, p))
        rows.append({"key": key, "base": b, "pr": p, "delta": (p - b) if numeric else None, "changed": b != p})
    return rows


def _num(value: Any) -> float | None:
    try:
        f = float(value)
    except (TypeError, ValueError):
        return None
    return f if math.isfinite(f) else None


def plot_sets(dvc_yaml: dict[str, Any], base: Snapshot | None, pr: Snapshot) -> tuple[list[dict], list[dict]]:
    """Curves (x/y line plots) and confusion matrices defined by the top-level `plots:` of dvc.yaml."""
    curves, confusions = [], []
    for item in dvc_yaml.get("plots") or []:
        if not isinstance(item, dict):
            continue
        for title, spec in item.items():
            if not isinstance(spec, dict) or not isinstance(spec.get("y"), dict) or not spec.get("x"):
                continue
            x = str(spec["x"])
            for path, y in spec["y"].items():
                y = y[0] if isinstance(y, list) else str(y)
                sides = {"base": base.plots.get(path) if base else None, "pr": pr.plots.get(path)}
                if spec.get("template") == "confusion":
                    mats = {k: _confusion(v, actual=y, predicted=x) if v else None for k, v in sides.items()}
                    labels = sorted({lab for m in mats.values() if m for lab in m["labels"]}, key=_label_key)
                    confusions.append({"title": title, "file": path, "labels": labels,
                                       **{k: _matrix(m, labels) if m else None for k, m in mats.items()}})
                else:
                    pts = {k: _points(v, x, y) if v else None for k, v in sides.items()}
                    curves.append({"title": title, "file": path, "x": x, "y": y, **pts})
    return curves, confusions


def _label_key(label: str) -> tuple[int, float | str]:
    n = _num(label)
    return (0, n) if n is not None else (1, label)


def _points(rows: list[dict[str, Any]], x: str, y: str) -> list[list[float]]:
    pts = [[_num(r.get(x)), _num(r.get(y))] for r in rows]
    return [p for p in pts if p[0] is not None and p[1] is not None]  # type: ignore[misc]


def _confusion(rows: list[dict[str, Any]], *, actual: str, predicted: str) -> dict[str, Any]:
    counts = Counter((str(r.get(actual)), str(r.get(predicted))) for r in rows)
    labels = sorted({a for a, _ in counts} | {p for _, p in counts}, key=_label_key)
    return {"labels": labels, "counts": counts}


def _matrix(m: dict[str, Any], labels: list[str]) -> list[list[int]]:
    return [[int(m["counts"].get((a, p), 0)) for p in labels] for a in labels]


def build(root: str | Path, base_rev: str | None, *, stages: list[dict[str, Any]] | None = None,
          base_label: str | None = None, head_label: str | None = None, cfg: config_mod.Config | None = None,
          ) -> dict[str, Any]:
    """Compare the work tree at root with base_rev (None: no baseline, a first PR) and judge it with the gate."""
    started = time.perf_counter()
    cfg = cfg or config_mod.load(root)
    root = cfg.root
    head = Revision(root, None)
    dvc_yaml = head.dvc_yaml
    common = {"params_file": str(cfg.params), "metrics_file": str(cfg.metrics), "stats_files": cfg.report.stats,
              "plots": plot_files(dvc_yaml)}
    pr = snapshot(head, **common)
    base = snapshot(Revision(root, base_rev), **common) if base_rev else None
    baseline = base is not None and bool(base.metrics)
    base_metrics = base.metrics if baseline and base else None
    curves, confusions = plot_sets(dvc_yaml, base if baseline else None, pr)
    result = gate_mod.evaluate(cfg.gate, base_metrics, pr.metrics)
    return {
        "version": REPORT_VERSION,
        "base": {"rev": base_rev, "sha": base.sha if base else None, "label": base_label or base_rev},
        "head": {"sha": head.sha, "label": head_label},
        "baseline": baseline,
        "metrics_file": str(cfg.metrics),
        "metrics": metric_rows(cfg, base_metrics, pr.metrics),
        "params": param_rows(base.params if base else {}, pr.params) if base else [],
        "data": data_rows(base, pr) if base else [],
        "stats": stat_rows(base.stats if base else {}, pr.stats),
        "stages": list(stages or []),
        "curves": curves,
        "confusion": confusions,
        "gate": result.as_dict(),
        "missing": sorted({*(base.missing if base else []), *pr.missing}),
        "figures": [],
        "seconds": round(time.perf_counter() - started, 3),
    }
