"""Stage evaluate: metrics, curve data in DVC plot formats, feature importance, PNG figures."""

from __future__ import annotations

import argparse

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from gitml.fsutil import write_json_atomic
from pipeline import params as params_mod
from pipeline import sources, stageio
from pipeline.params import EvaluateParams

CURVE_POINTS = 200  # enough for a smooth curve; keeps plot files small at 1M rows


@dataclass(frozen=True)
class Evaluation:
    metrics: dict[str, float]
    roc: list[dict[str, float]]
    prc: list[dict[str, float]]
    confusion: pd.DataFrame  # one row per test sample: actual, predicted
    importance: list[dict[str, Any]]


def _thin(rows: list[dict[str, float]], n: int = CURVE_POINTS) -> list[dict[str, float]]:
    """At most n points, evenly spread, always keeping both ends."""
    if len(rows) <= n:
        return rows
    idx = np.unique(np.linspace(0, len(rows) - 1, n).round().astype(int))
    return [rows[i] for i in idx]


def _r(x: float) -> float:
    return round(float(x), 6)


def evaluate(model: Any, test: pd.DataFrame, p: EvaluateParams, seed: int) -> Evaluation:
    from sklearn import metrics as m
    from sklearn.inspection import permutation_importance

    x = test.drop(columns=[sources.TARGET])
    y = test[sources.TARGET].to_numpy()
    proba = model.predict_proba(x)[:, 1]
    pred = (proba >= p.threshold).astype(int)
    scores = {
        "accuracy": m.accuracy_score(y, pred),
        "precision": m.precision_score(y, pred, zero_division=0),
        "recall": m.recall_score(y, pred, zero_division=0),
        "f1": m.f1_score(y, pred, zero_division=0),
        "roc_auc": m.roc_auc_score(y, proba),
        "average_precision": m.average_precision_score(y, proba),
        "log_loss": m.log_loss(y, np.clip(proba, 1e-15, 1 - 1e-15), labels=[0, 1]),
    }
    fpr, tpr, roc_thr = m.roc_curve(y, proba)
    precision, recall, prc_thr = m.precision_recall_curve(y, proba)
    roc = [{"fpr": _r(a), "tpr": _r(b), "threshold": _r(min(t, 1.0))} for a, b, t in zip(fpr, tpr, roc_thr)]
    prc = [
        {"recall": _r(r), "precision": _r(pr), "threshold": _r(t)}
        for r, pr, t in zip(recall[:-1], precision[:-1], prc_thr)
    ]
    rng = np.random.default_rng(seed)
    rows = rng.choice(len(x), size=min(p.importance_rows, len(x)), replace=False)
    perm = permutation_importance(
        model, x.iloc[np.sort(rows)], y[np.sort(rows)], scoring="roc_auc", n_repeats=3, random_state=seed, n_jobs=1
    )
    importance = sorted(
        ({"feature": f, "importance": _r(v)} for f, v in zip(x.columns, perm.importances_mean)),
        key=lambda d: (-d["importance"], d["feature"]),
    )
    return Evaluation(
        metrics={k: _r(v) for k, v in scores.items()},
        roc=_thin(roc),
        prc=_thin(prc),
        confusion=pd.DataFrame({"actual": y, "predicted": pred}),
        importance=importance,
    )


def draw_figures(ev: Evaluation, out: Path) -> None:
    """ROC, precision-recall, confusion matrix and importance as PNG files (no metadata: reproducible bytes)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    def save(fig: Any, name: str) -> None:
        fig.tight_layout()
        fig.savefig(out / name, dpi=100, metadata={"Software": None})
        plt.close(fig)

    fig, ax = plt.subplots(figsize=(5, 4))
    ax.plot([r["fpr"] for r in ev.roc], [r["tpr"] for r in ev.roc], label=f"AUC {ev.metrics['roc_auc']:.4f}")
    ax.plot([0, 1], [0, 1], ls="--", c="grey", lw=0.8)
    ax.set(xlabel="False positive rate", ylabel="True positive rate", title="ROC curve")
    ax.legend(loc="lower right")
    save(fig, "roc.png")

    fig, ax = plt.subplots(figsize=(5, 4))
    ax.plot([r["recall"] for r in ev.prc], [r["precision"] for r in ev.prc], label=f"AP {ev.metrics['average_precision']:.4f}")
    ax.set(xlabel="Recall", ylabel="Precision", title="Precision-recall curve", ylim=(0, 1.02))
    ax.legend(loc="lower left")
    save(fig, "prc.png")

    cm = pd.crosstab(ev.confusion["actual"], ev.confusion["predicted"]).reindex(index=[0, 1], columns=[0, 1], fill_value=0)
    fig, ax = plt.subplots(figsize=(4, 4))
    ax.imshow(cm.to_numpy(), cmap="Blues")
    for (i, j), v in np.ndenumerate(cm.to_numpy()):
        ax.text(j, i, str(v), ha="center", va="center")
    ax.set(xticks=[0, 1], yticks=[0, 1], xlabel="Predicted", ylabel="Actual", title="Confusion matrix")
    save(fig, "confusion.png")

    top = ev.importance[:15][::-1]
    fig, ax = plt.subplots(figsize=(6, 0.3 * len(top) + 1.2))
    ax.barh([d["feature"] for d in top], [d["importance"] for d in top])
    ax.set(xlabel="Permutation importance (ROC AUC drop)", title="Feature importance")
    save(fig, "importance.png")


def arg_parser() -> argparse.ArgumentParser:
    ap = stageio.parser(__doc__.splitlines()[0])
    ap.add_argument("--model", required=True, help="model file (from train)")
    ap.add_argument("--prepared", required=True, help="folder with test.parquet (from prepare)")
    ap.add_argument("--metrics", required=True, help="metrics JSON to write")
    ap.add_argument("--plots", required=True, help="folder for roc.json, prc.json, confusion.csv")
    ap.add_argument("--importance", required=True, help="feature importance JSON to write")
    ap.add_argument("--figures", required=True, help="folder for PNG figures")
    return ap


def main(argv: list[str] | None = None) -> int:
    args = arg_parser().parse_args(argv)

    def body() -> None:
        import joblib

        p = params_mod.load(args.params)
        ev = evaluate(joblib.load(args.model), stageio.read_table(f"{args.prepared}/test.parquet"), p.evaluate, p.seed)
        with stageio.atomic_dir(args.plots) as tmp:
            (tmp / "roc.json").write_text(json.dumps({"roc": ev.roc}, indent=1) + "\n")
            (tmp / "prc.json").write_text(json.dumps({"prc": ev.prc}, indent=1) + "\n")
            ev.confusion.to_csv(tmp / "confusion.csv", index=False)
        with stageio.atomic_dir(args.figures) as tmp:
            draw_figures(ev, tmp)
        write_json_atomic(args.importance, {"importance": ev.importance})
        write_json_atomic(args.metrics, ev.metrics)
        print("evaluate: " + ", ".join(f"{k}={v:.4f}" for k, v in ev.metrics.items()))

    return stageio.run_main(body)


if __name__ == "__main__":
    raise SystemExit(main())
