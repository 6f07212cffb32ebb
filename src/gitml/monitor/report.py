"""Rendering monitoring results: JSON (read by later steps), Markdown (the issue body, the job summary), PNG figures."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from gitml.fsutil import write_json_atomic, write_text_atomic

MAX_FIGURES = 8  # drifted features first, then the highest PSI, then the predicted score


def _fmt(x: Any, digits: int = 3) -> str:
    if x is None:
        return "–"
    if isinstance(x, float):
        return f"{x:.{digits}g}" if abs(x) < 1e-3 and x != 0 else f"{x:.{digits}f}"
    return str(x)


def drift_markdown(result: dict[str, Any], figures: list[str] | None = None) -> str:
    lines = [f"## Drift: {result['model']} {result['model_version']}" + (f" ({result['stage']})" if result.get("stage") else "")]
    lines.append("")
    lines.append(f"**{'BREACH' if result['breach'] else 'OK'}**: {result['summary']}")
    lines.append("")
    lines.append(f"- reference: `{result['reference']['path']}` at `{result['reference']['ref']}` "
                 f"({result['reference']['rows']} rows)")
    lines.append(f"- current: {result['current']['source']}, {result['current']['rows']} rows")
    pred = result.get("prediction")
    if pred:
        lines.append(f"- prediction: score PSI {_fmt(pred['psi'])}, KS {_fmt(pred['ks_statistic'])}, positive rate "
                     f"{_fmt(pred['reference_positive_rate'])} → {_fmt(pred['current_positive_rate'])}"
                     + (" **(drifted)**" if pred["drifted"] else ""))
    lines += ["", "| feature | PSI | KS | KS p-value | mean (ref → cur) | drift |", "|---|---:|---:|---:|---|---|"]
    feats = sorted(result["features"], key=lambda f: (not f["drifted"], -f["psi"]))
    for f in feats:
        means = f"{_fmt(f['reference_mean'])} → {_fmt(f['current_mean'])}" if f["reference_mean"] is not None else "–"
        lines.append(f"| `{f['name']}` | {_fmt(f['psi'])} | {_fmt(f['ks_statistic'])} | {_fmt(f['ks_pvalue'], 2)} | {means} | "
                     + ("**yes**: " + "; ".join(f["reasons"]) if f["drifted"] else "no") + " |")
    breaches = [q for q in result["quality"] if q["breach"]]
    lines += ["", f"### Data quality: {len(breaches)} breach(es)"]
    if breaches:
        lines += ["", "| feature | check | value | limit | detail |", "|---|---|---:|---:|---|"]
        for q in breaches:
            lines.append(f"| `{q['feature']}` | {q['check']} | {_fmt(q['value'])} | {_fmt(q['threshold'])} | {q['detail']} |")
    t = result["thresholds"]
    lines += ["", f"Thresholds: PSI ≥ {t['psi']}, KS p < {t['ks_pvalue']} (Bonferroni) with KS ≥ {t['ks_statistic']}, "
              f"nulls > {t['null_rate']}, out of range > {t['out_of_range']}, unseen categories > {t['unseen_category']}; "
              f"at least {t['min_rows']} rows."]
    if figures:
        lines += ["", "Figures (reference vs current): " + ", ".join(f"`{f}`" for f in figures)]
    return "\n".join(lines) + "\n"


def performance_markdown(result: dict[str, Any]) -> str:
    lines = [f"## Live performance: {result['model']}", ""]
    lines.append(f"**{'BREACH' if result['breach'] else 'OK'}**: {result['labelled_rows']} labelled rows"
                 f" ({result['unmatched_labels']} labels matched no logged prediction)")
    for v in result["versions"]:
        lines += ["", f"### {v['version']}: {v['rows']} rows" + ("" if v["enough_rows"] else f" (fewer than {result['min_rows']}: not judged)"),
                  "", "| metric | live | offline | worse by | skew |", "|---|---:|---:|---:|---|"]
        by_metric = {s["metric"]: s for s in v["skew"]}
        for metric, value in sorted(v["metrics"].items()):
            s = by_metric.get(metric)
            lines.append(f"| {metric} | {_fmt(value)} | {_fmt(s['offline']) if s else '–'} | {_fmt(s['worse_by']) if s else '–'} | "
                         + ("**breach**" if s and s["breach"] else "ok") + " |")
    lines += ["", f"A live metric worse than the offline evaluation by more than {result['max_drop']} is production skew."]
    return "\n".join(lines) + "\n"


def histogram_figures(reference: Any, current: Any, result: dict[str, Any], out_dir: Path,
                      ref_scores: np.ndarray | None = None, cur_scores: np.ndarray | None = None) -> list[str]:
    """PNG histograms, reference vs current: drifted features first, then the highest PSI, and the predicted score."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out_dir.mkdir(parents=True, exist_ok=True)
    written: list[str] = []
    feats = sorted(result["features"], key=lambda f: (not f["drifted"], -f["psi"]))
    chosen = [f for f in feats if f["kind"] == "numeric"][: MAX_FIGURES - 1]
    panels: list[tuple[str, np.ndarray, np.ndarray, str]] = []
    for f in chosen:
        panels.append((f["name"], _finite(reference[f["name"]]), _finite(current[f["name"]]),
                       f"PSI {f['psi']:.3f}" + (" drifted" if f["drifted"] else "")))
    if ref_scores is not None and cur_scores is not None and len(cur_scores):
        panels.append(("predicted score", _finite(ref_scores), _finite(cur_scores), "prediction"))
    for name, ref, cur, note in panels:
        fig, ax = plt.subplots(figsize=(5, 3.2), dpi=80)
        both = np.concatenate([ref, cur]) if ref.size + cur.size else np.array([0.0])
        lo, hi = np.quantile(both, [0.001, 0.999]) if both.size else (0.0, 1.0)
        bins = np.linspace(lo, hi if hi > lo else lo + 1, 41)
        ax.hist(ref, bins=bins, density=True, alpha=0.5, label="reference")
        ax.hist(cur, bins=bins, density=True, alpha=0.5, label="current")
        ax.set_title(f"{name}: {note}", fontsize=9)
        ax.legend(fontsize=7)
        fig.tight_layout()
        fname = "".join(c if c.isalnum() or c in "-_." else "_" for c in name) + ".png"
        fig.savefig(out_dir / fname)
        plt.close(fig)
        written.append(os.fspath(Path(out_dir.name) / fname))
    return written


_FIGURE_SAMPLE = 200_000  # a histogram of more values looks the same and costs more


def _finite(values: Any) -> np.ndarray:
    arr = np.asarray(values, dtype=np.float64)
    arr = arr[np.isfinite(arr)]
    return arr[:: -(-arr.size // _FIGURE_SAMPLE)] if arr.size > _FIGURE_SAMPLE else arr


def write_outputs(out_dir: str | os.PathLike[str], stem: str, result: dict[str, Any], markdown: str) -> dict[str, str]:
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    write_json_atomic(out / f"{stem}.json", result)
    write_text_atomic(out / f"{stem}.md", markdown)
    return {"json": os.fspath(out / f"{stem}.json"), "markdown": os.fspath(out / f"{stem}.md")}
